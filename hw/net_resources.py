"""Memories and multipliers of the network accelerator, predicted from the description.

The resource half of auto-folding (the cycle half is :mod:`hw.net_cycles`): every memory
the generator instantiates, its depth and width from :class:`~hw.net_plan.NetPlan` and the
thermal layer's fixed point, and where Yosys's ``memory_libmap`` puts it on each device;
every multiplier and the DSP blocks Yosys's ``mul2dsp`` makes of it.

The memory rule restates the memory libraries Yosys ships (``share/ice40/brams.txt``;
``share/lattice/lutrams_trellis.txt`` and ``brams_16kd.txt`` for the ECP5) and
``memory_libmap``'s cost function (``passes/memory/memory_libmap.cc``): a memory of depth D
and width W in a configuration of depth d and data width u takes mult_a = ceil(D / d) rows
and ceil(mult_a * S / u) cells, S being W rounded up to the configuration's byte; it costs
the cells times the cell's cost, plus 0.5 per bit of read multiplexer ((mult_a - 1) * W),
0.5 per write-enable row (mult_a, written memories with mult_a > 1) and 2 for the read port
that is not shared with a write port. A memory goes to the cheapest kind whose cost is below
its bits in soft logic (1 per RAM bit, 1/16 per ROM bit, truncated to an integer): earlier
kinds and narrower configurations win ties, and a tie with logic stays in logic.
"""

import json
from dataclasses import dataclass
from math import ceil
from pathlib import Path

from .net_plan import NetPlan

__all__ = ["NetMemory", "net_memories", "MemoryKind", "LIBRARIES", "memory_cost", "map_memory",
           "predict_memories", "predict_bram", "ice40_blocks", "ice40_in_bram", "predict_ice40_bram",
           "Multiplier", "net_multipliers", "DSP_RULES", "dsp_blocks", "predict_dsp",
           "FIT_FILE", "fit_logic", "load_fit", "predict_logic", "predict_resources",
           "ICE40_RAM_SHAPES", "ICE40_BLOCK_COST", "LOGIC_COST_RAM", "LOGIC_COST_ROM"]

#: (depth, width) of one SB_RAM40_4K in each of its read/write configurations.
ICE40_RAM_SHAPES = ((2048, 2), (1024, 4), (512, 8), (256, 16))
#: memory_libmap's cost of one iCE40 block, and of one bit mapped to soft logic.
ICE40_BLOCK_COST, LOGIC_COST_RAM, LOGIC_COST_ROM = 64, 1.0, 1.0 / 16


@dataclass(frozen=True)
class NetMemory:
    """One memory of the generated accelerator: its instance name, words, bits per word,
    whether it is a ROM (initialised and never written), and a ROM's words when known."""
    name: str
    depth: int
    width: int
    rom: bool
    init: tuple = ()

    @property
    def live_width(self):
        """Bits per word Yosys keeps: a ROM's data bits that are not the same in every word
        (``opt_mem`` removes constant ones; words past ``init`` read 0). A RAM, or a ROM
        whose words are not known, keeps its width."""
        if not self.rom or not self.init:
            return self.width
        mask = (1 << self.width) - 1
        words = {v & mask for v in self.init} | ({0} if len(self.init) < self.depth else set())
        ones = zeros = 0
        for v in words:
            ones |= v
            zeros |= ~v & mask
        return bin(ones & zeros).count("1")

    @property
    def bits(self):
        return self.depth * self.live_width


@dataclass(frozen=True)
class MemoryKind:
    """One kind of memory cell of a Yosys memory library.

    ``ram`` and ``rom`` list its configurations for a written memory and for a ROM, each
    (depth, data width, byte): the byte is the granularity a word is padded to (1 for
    ROMs and for cells with per-bit write enables). An empty tuple: the kind cannot hold
    that memory (a LUT RAM with ``prune_rom``, a library without ROM use).
    """
    cell: str
    kind: str            #: "block" or "distributed"
    cost: int
    ram: tuple
    rom: tuple


_ICE40 = tuple((d, w, 1) for d, w in ICE40_RAM_SHAPES)
_DP16KD = ((16384, 1, 1), (8192, 2, 2), (4096, 4, 4), (2048, 9, 9), (1024, 18, 9))
_DP16KD_ROM = tuple((d, w, 1) for d, w, _ in _DP16KD)

#: The memory libraries synth_ice40 and synth_ecp5 give memory_libmap, in its order.
#: iCE40: SB_RAM40_4K (with per-bit enables at 16 bits, so no padding). ECP5: the LUT RAM
#: TRELLIS_DPR16X4 (16 x 4, written memories only), then DP16KD (16384 x 1 to 1024 x 18,
#: bytes of 9) and its pseudo-dual-port form PDPW16KD (down to 512 x 36; a written
#: memory's write port is then 36 wide, so its configurations start at 9 bits).
LIBRARIES = {
    "ice40": (MemoryKind("SB_RAM40_4K", "block", ICE40_BLOCK_COST, _ICE40, _ICE40),),
    "ecp5": (MemoryKind("TRELLIS_DPR16X4", "distributed", 4, ((16, 4, 4),), ()),
             MemoryKind("DP16KD", "block", 128, _DP16KD, _DP16KD_ROM),
             MemoryKind("PDPW16KD", "block", 128, ((2048, 9, 9), (1024, 18, 9), (512, 36, 9)),
                        _DP16KD_ROM + ((512, 36, 1),))),
}


def net_memories(net, params=None):
    """Every memory :class:`~hw.net_accel.NetAccelerator` instantiates for ``net``.

    Input buffer (two banks of the input frame; with event input instead the first layer's
    ring RAM of partial sums, :class:`hw.net_event_plan.EventPlan`), per lane a weight ROM
    and a bias ROM,
    the activation RAM, and in the neuron unit (one per thermal layer) the heat RAM, the
    activation LUT (unless the thermal layer outputs spikes) and the per-neuron ROMs of
    device spread and per-device time constants. The neuron unit's ROMs carry their words; the weight and
    bias ROMs carry theirs when the integer ``params`` are given.
    """
    from .net_rom_layout import bias_images, weight_images
    plan = NetPlan(net)
    w_img, b_img = ((weight_images(net, params), bias_images(net, params)) if params is not None
                    else ([()] * net.lanes, [()] * net.lanes))
    if plan.events:         # no input buffer: the first layer's ring RAM of partial sums
        ep = plan.event_plan
        mems = [NetMemory("parts", ep.depth, net.lanes * ep.part_width, False)]
    else:
        mems = [NetMemory("inbuf", 2 * plan.in_words, plan.in_width, False)]
    for lane in range(net.lanes):
        mems.append(NetMemory(f"wrom{lane}", plan.w_depth, plan.w_width, True, tuple(w_img[lane])))
        mems.append(NetMemory(f"brom{lane}", plan.b_depth, plan.b_width, True, tuple(b_img[lane])))
    mems.append(NetMemory("act", plan.act_depth, plan.act_width, False))
    for j, lf in enumerate(net.thermals):          # a neuron unit per thermal layer
        fp, sfx = lf.fp, (str(j) if j else "")
        mems.append(NetMemory("theta_mem" + sfx, fp.neurons, fp.theta_width, False))
        if fp.output != "spike":
            mems.append(NetMemory("lut" + sfx, 1 << fp.z_width, fp.y_width, True, tuple(fp.lut)))
        if fp.thr_offset:
            from ipnet_mtj.sw.fixed import offset_width
            mems.append(NetMemory("offset_rom" + sfx, fp.neurons, offset_width(fp), True,
                                  tuple(int(v) for v in fp.thr_offset)))
        if fp.devices:
            from ipnet_mtj.sw.fixed import gain_width
            mems.append(NetMemory("alpha_rom" + sfx, fp.neurons, fp.alpha_frac, True,
                                  tuple(a for a, _ in fp.devices)))
            mems.append(NetMemory("gain_rom" + sfx, fp.neurons, gain_width(fp), True,
                                  tuple(g for _, g in fp.devices)))
    return mems


def memory_cost(mem, kind, config):
    """(cost, cells) of ``mem`` in one ``config`` (depth, width, byte) of ``kind``."""
    depth, unit, byte = config
    rows = ceil(mem.depth / depth)
    padded = ceil(mem.live_width / byte) * byte
    cells = ceil(rows * padded / unit)
    cost = kind.cost * cells + 0.5 * (rows - 1) * mem.live_width + 2     # read mux, read port
    if not mem.rom and rows != 1:
        cost += 0.5 * rows                                          # write-enable demux
    return cost, cells


def map_memory(mem, device):
    """Where Yosys puts ``mem`` on ``device`` ("ice40" or "ecp5"): (kind, cell, cells), with
    kind "block", "distributed" or "logic" (cell None, cells 0)."""
    best, chosen = int(mem.bits * (LOGIC_COST_ROM if mem.rom else LOGIC_COST_RAM)), None
    for kind in LIBRARIES[device]:
        configs = kind.rom if mem.rom else kind.ram
        kind_best = None
        for config in configs:       # memory_libmap keeps its best as an int: ties go earlier
            cost, cells = memory_cost(mem, kind, config)
            if kind_best is None or cost < kind_best[0]:
                kind_best = (int(cost), cells, cost)
        if kind_best is not None and kind_best[2] < best:
            best, chosen = kind_best[2], (kind.kind, kind.cell, kind_best[1])
    return chosen or ("logic", None, 0)


def predict_memories(net, device, params=None):
    """``[(memory, (kind, cell, cells))]`` for every memory of ``net`` on ``device``."""
    return [(m, map_memory(m, device)) for m in net_memories(net, params)]


def predict_bram(net, device, params=None):
    """Block RAM cells of the accelerator for ``net`` (with its integer ``params`` when
    known) on ``device``: SB_RAM40_4K on the iCE40, DP16KD and PDPW16KD on the ECP5."""
    return sum(cells for _, (kind, _, cells) in predict_memories(net, device, params)
               if kind == "block")


def ice40_blocks(depth, width):
    """SB_RAM40_4K blocks for a ``depth`` x ``width`` memory in its cheapest configuration."""
    mem = NetMemory("", depth, width, True)
    kind = LIBRARIES["ice40"][0]
    return min((memory_cost(mem, kind, c) for c in kind.rom), key=lambda cc: cc[0])[1]


def ice40_in_bram(mem):
    """True when Yosys maps ``mem`` to iCE40 block RAM."""
    return map_memory(mem, "ice40")[0] == "block"


def predict_ice40_bram(net, params=None):
    """SB_RAM40_4K blocks of the accelerator for ``net``."""
    return predict_bram(net, "ice40", params)


@dataclass(frozen=True)
class Multiplier:
    """One multiplier of the accelerator: its operands' widths (a constant's bits after
    Yosys's ``wreduce``)."""
    name: str
    a_width: int
    b_width: int


def net_multipliers(net):
    """Every multiplier the accelerator for ``net`` has.

    One per lane (weight times the operand, which is unsigned and so gains a sign bit);
    in the neuron unit (one per thermal layer) the squared current, the product with the neuron's heat gain (per-
    device time constants), the threshold slope (linear threshold) and the dissipation
    (multiply mode: the card's constant, or the neuron's alpha from its ROM).
    """
    plan = NetPlan(net)
    mults = [Multiplier(f"lane{lane}", plan.w_width, plan.x_width + 1) for lane in range(net.lanes)]
    for j, lf in enumerate(net.thermals):          # a neuron unit per thermal layer
        fp, sfx = lf.fp, (f" {lf.name}" if j else "")
        mults.append(Multiplier("joule i*i" + sfx, fp.i_width, fp.i_width))
        if fp.devices:
            from ipnet_mtj.sw.fixed import gain_width
            mults.append(Multiplier("joule gain" + sfx, 2 * fp.i_width, gain_width(fp) + 1))
        if fp.threshold != "table":
            mults.append(Multiplier("threshold slope" + sfx, fp.theta_width,
                                    fp.gamma.bit_length()))
        if fp.decay != "shift":
            alpha = fp.alpha_frac if fp.devices else fp.alpha_mult.bit_length()
            mults.append(Multiplier("dissipation" + sfx, fp.theta_width, alpha))
    return mults


#: mul2dsp's parameters in synth_ice40 -dsp (SB_MAC16) and synth_ecp5 (MULT18X18D):
#: (widest A, widest B, narrowest operand, narrowest product).
DSP_RULES = {"ice40": (16, 16, 2, 11), "ecp5": (18, 18, 2, 0)}


def _chunks(width, most):
    """mul2dsp's split of an operand: full chunks of ``most`` bits from the LSB, then the rest."""
    return [most] * (width // most) + ([width % most] if width % most else [])


def dsp_blocks(mult, device):
    """DSP blocks of one multiplier, the way ``mul2dsp`` splits it: A and B each cut into
    chunks of the DSP's widest operand (from the LSB), one partial product per pair of
    chunks, and a partial product goes to a DSP when both chunks reach the narrowest
    operand and their widths sum to the narrowest product (the rest stay in logic)."""
    a_max, b_max, min_operand, min_product = DSP_RULES[device]
    a, b = max(mult.a_width, mult.b_width), min(mult.a_width, mult.b_width)
    return sum(1 for ca in _chunks(a, a_max) for cb in _chunks(b, b_max)
               if min(ca, cb) >= min_operand and ca + cb >= min_product)


def predict_dsp(net, device):
    """DSP blocks of the accelerator for ``net`` on ``device``."""
    return sum(dsp_blocks(m, device) for m in net_multipliers(net))


# -- LUTs and flip-flops: affine in the lanes, fitted to synthesis ----------------------------

#: The fitted LUT and flip-flop coefficients (``ipnet bench-resources --fit`` writes it).
FIT_FILE = Path(__file__).with_name("resource_fit.json")


def fit_logic(rows):
    """Least-squares ``{device: {"lut": [a, b], "ff": [a, b]}}`` of count = a + b * lanes
    over ``rows`` (dicts with device, lanes, lut, ff), one line per device.

    Raises
    ------
    ValueError
        When a device has fewer than two distinct lane counts (the slope is undetermined).
    """
    import numpy as np
    fit = {}
    for device in sorted({r["device"] for r in rows}):
        mine = [r for r in rows if r["device"] == device]
        counts = sorted({r["lanes"] for r in mine})
        if len(counts) < 2:
            raise ValueError(f"{device}: a fit needs at least two lane counts, got {counts}")
        lanes = np.array([r["lanes"] for r in mine], dtype=float)
        x = np.stack([np.ones_like(lanes), lanes], axis=1)
        fit[device] = {k: [round(float(c), 3) for c in np.linalg.lstsq(
            x, np.array([r[k] for r in mine], dtype=float), rcond=None)[0]] for k in ("lut", "ff")}
    return fit


def load_fit(path=FIT_FILE):
    """The fit file: ``{"tool": ..., "designs": [...], "coefficients": {device: ...}}``."""
    return json.loads(Path(path).read_text())


def predict_logic(net, device, fit=None):
    """(LUTs, flip-flops) of the accelerator for ``net`` on ``device``: a + b * lanes with
    the fitted coefficients (``fit``, default the shipped :data:`FIT_FILE`), rounded."""
    coef = (fit or load_fit())["coefficients"][device]
    return tuple(round(coef[k][0] + coef[k][1] * net.lanes) for k in ("lut", "ff"))


def predict_resources(net, device, params=None, fit=None):
    """Everything the model predicts for ``net`` on ``device``: ``lut``, ``ff``, ``bram``,
    ``spram`` (the generator uses none) and ``dsp``."""
    lut, ff = predict_logic(net, device, fit)
    return {"lut": lut, "ff": ff, "bram": predict_bram(net, device, params), "spram": 0,
            "dsp": predict_dsp(net, device)}
