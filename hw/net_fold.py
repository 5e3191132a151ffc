"""``lanes: auto``: the lane count chosen for a device and a goal, before synthesis.

FINN's folding and hls4ml's reuse factor derive parallelism from a target; here the one
parallel dimension is the MAC lanes P (one time-shared array: P output channels at a time,
P dividing the thermal layer's channels). For every P the description accepts, the
resource model (:mod:`hw.net_resources`: LUT and flip-flop fit, block RAM and DSP from the
memories and multipliers, the weights' words unknown so every ROM at its full width) and
the cycle model (:func:`hw.net_cycles.predict_cycles_per_frame`) predict the design; it
fits when no count exceeds the device's (:data:`sw.fpga.FPGAS`), and its frames per second
are the clock (``fold.clock_mhz``) over its cycles per frame: with dense input
:func:`hw.net_cycles.predict_cycles_per_frame`; with event input
:func:`hw.net_cycles.predict_event_cycles` (an upper bound) for ``fold.event_density`` times
the scatter commands of a full frame, rounded up (no density: the full frame).

Goal ``frames_per_second``: the fewest lanes that fit and reach it. No goal: the most frames
per second that fit (the fewer lanes on a tie). Neither possible: a one-line
:class:`~sw.errors.ConfigError` naming the key and the best the device allows.
"""

import dataclasses
import math
from dataclasses import dataclass

from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.fpga import FPGAS
from ipnet_mtj.sw.network import AUTO, derive_network, with_lanes

from .net_cycles import full_frame_macs, predict_cycles_per_frame, predict_event_cycles
from .net_resources import predict_resources

__all__ = ["FoldCandidate", "fold_candidates", "choose_lanes", "resolve_lanes", "predicted_cycles",
           "MAX_LANES"]

#: The largest lane count a description may give (``hardware.lanes``).
MAX_LANES = 64


@dataclass(frozen=True)
class FoldCandidate:
    """One lane count: the predicted resources (lut, ff, bram, spram, dsp), cycles and
    frames per second, and what exceeds the device (empty when it fits)."""
    lanes: int
    resources: dict
    cycles: int
    frames_per_second: float
    over: tuple

    @property
    def fits(self):
        return not self.over


def predicted_cycles(net, fold):
    """Cycles per frame the fold counts for ``net``: dense input's, or event input's at the
    fold's event density (every word when it gives none)."""
    if net.input_mode != "events":
        return predict_cycles_per_frame(net)
    density = 1.0 if fold.event_density is None else fold.event_density
    return predict_event_cycles(net, math.ceil(density * full_frame_macs(net)))


def fold_candidates(cfg):
    """A :class:`FoldCandidate` for every lane count ``cfg``'s layers accept, for the device
    and clock of ``cfg.hardware.fold``."""
    fold = cfg.hardware.fold
    fpga = FPGAS[fold.device]
    rows = []
    for lanes in range(1, MAX_LANES + 1):
        if any(s.activation == "thermal" and s.outputs % lanes for s in cfg.layers):
            continue                       # the thermal layer's channels are split into lanes
        net = derive_network(with_lanes(cfg, lanes))
        used = predict_resources(net, fpga.family)
        cycles = predicted_cycles(net, fold)
        rows.append(FoldCandidate(lanes, used, cycles, fold.clock_mhz * 1e6 / cycles,
                                  tuple(fpga.over(used))))
    return rows


def choose_lanes(cfg):
    """(the chosen :class:`FoldCandidate`, every candidate) for ``cfg``'s fold.

    Raises
    ------
    ConfigError
        When no lane count fits the device, or none that fits reaches the goal.
    """
    fold = cfg.hardware.fold
    fpga = FPGAS[fold.device]
    rows = fold_candidates(cfg)
    fitting = [r for r in rows if r.fits]
    if not fitting:
        raise ConfigError(f"{cfg.source}: hardware.fold.device: no lane count fits the "
                          f"{fpga.name} (1 lane needs {', '.join(rows[0].over)})")
    fastest = max(fitting, key=lambda r: (r.frames_per_second, -r.lanes))
    if fold.frames_per_second is None:
        return fastest, rows
    reach = [r for r in fitting if r.frames_per_second >= fold.frames_per_second]
    if not reach:
        raise ConfigError(
            f"{cfg.source}: hardware.fold.frames_per_second: {fold.frames_per_second:g} is out "
            f"of reach on the {fpga.name} at {fold.clock_mhz:g} MHz: the fastest design that "
            f"fits, {fastest.lanes} lanes, gives {fastest.frames_per_second:.0f}")
    return min(reach, key=lambda r: r.lanes), rows


def resolve_lanes(cfg):
    """``cfg`` with ``lanes: auto`` replaced by the chosen lane count (its fold kept, for
    reports); any other ``cfg`` as it is."""
    if cfg.hardware.lanes != AUTO:
        return cfg
    chosen, _ = choose_lanes(cfg)
    return dataclasses.replace(cfg, hardware=dataclasses.replace(cfg.hardware, lanes=chosen.lanes))
