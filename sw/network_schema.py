"""The schema of a network description (configs/network.yaml): what its YAML may say.

Frozen dataclasses whose fields carry their documentation and their check, read by
:func:`sw.network.parse_network` through :func:`sw.config.build_dataclass`; what the
description means (shapes, formats, shifts) is derived in :mod:`sw.network`, which
re-exports these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import Format
from .fpga import FPGAS
from .schema import between, non_negative, one_of, positive, spec

__all__ = ["AUTO", "InputSpec", "LayerSpec", "NetFold", "NetHardware", "NetTraining", "NetworkConfig"]


@dataclass(frozen=True)
class InputSpec:
    """Event frames: unsigned event counts per channel and pixel."""
    channels: int = spec("channels per frame (2: ON and OFF events)", between(1, 64))
    size: int = spec("frame side, pixels (frames are size x size)", between(1, 1024))
    width: int = spec("bits of one event count; larger counts saturate", between(1, 16))


@dataclass(frozen=True)
class LayerSpec:
    """One layer: a convolution (with optional sum pooling) or a dense layer, then an activation."""
    name: str = spec("layer name (a Python identifier)")
    kind: str = spec("conv or dense", one_of("conv", "dense"))
    outputs: int = spec("output channels (conv) or features (dense)", between(1, 4096))
    activation: str = spec("relu, thermal (MTJ neurons of the design) or none (logits, last layer)",
                           one_of("relu", "thermal", "none"))
    weight: Format = spec("weight format, signed")
    bias: Format = spec("bias format, signed")
    out: Format = spec("output format: unsigned after relu, signed logits after none; "
                       "absent for thermal (the design's LUT output)", default=None)
    kernel: int = spec("conv: square kernel side", between(1, 15), default=1)
    stride: int = spec("conv: stride", between(1, 8), default=1)
    padding: int = spec("conv: zero padding on every side", between(0, 7), default=0)
    pool: int = spec("conv: sum pooling pool x pool, stride pool (average pooling in float); "
                     "a power of 2", between(1, 8), default=1)
    read: str = spec("thermal: what the next layer takes of each neuron: none (its output), "
                     "read (its resistance read, the design's fixed_point.read_bits) or both "
                     "(output and read, interleaved: twice the channels)",
                     one_of("none", "read", "both"), default="none")


#: ``hardware.lanes`` value that lets the generator choose the lanes (:mod:`hw.net_fold`).
AUTO = "auto"


def _lanes(v):
    if v == AUTO:
        return None
    if isinstance(v, str):
        return f"must be an integer between 1 and 64 or {AUTO}"
    return between(1, 64)(v)


@dataclass(frozen=True)
class NetFold:
    """What ``lanes: auto`` chooses the lanes for."""
    device: str = spec("the FPGA the design must fit: " + ", ".join(FPGAS), one_of(*FPGAS))
    frames_per_second: float | None = spec(
        "frames per second to reach at clock_mhz (with input: events, at event_density): the "
        "fewest lanes that reach it; absent: the most frames per second that fit", positive,
        default=None)
    clock_mhz: float = spec("the clock frames per second are counted at, MHz (the clock "
                            "constraint of ipnet synth)", positive, default=30.0)
    event_density: float | None = spec(
        "with input: events, the fraction of the frame's words that are non-zero (each "
        "independently) the frames per second are counted at; absent: 1, every word (the "
        "slowest frame). Only with input: events", between(0, 1), default=None)


@dataclass(frozen=True)
class NetHardware:
    """Parameters of the generated accelerator."""
    lanes: int | str = spec(f"P, MAC lanes: output channels computed in parallel (1 to 64), or "
                            f"{AUTO}: chosen for the device and goal of fold", _lanes)
    fold: NetFold | None = spec(f"with lanes: {AUTO}, the device and the goal the lanes are "
                                f"chosen for", default=None)
    input: str = spec("how frames arrive: dense (every word of the frame, C*H*W beats) or "
                      "events (only the non-zero words, in address order; the first layer "
                      "scatters each one into the outputs it touches, so its cycles follow "
                      "the events)", one_of("dense", "events"), default="dense")


@dataclass(frozen=True)
class NetTraining:
    """How ``ipnet train`` trains the network (float epochs, then quantisation-aware)."""
    experiment: str = spec("experiment YAML whose data section generates the task's data, "
                           "relative to this file")
    task: str = spec("task the network is trained for (a class task)")
    epochs: int = spec("float epochs", positive)
    qat_epochs: int = spec("quantisation-aware epochs after the float ones", non_negative)
    batch: int = spec("batch size", positive)
    lr: float = spec("Adam learning rate of the float epochs", positive)
    qat_lr: float = spec("Adam learning rate of the quantisation-aware epochs", positive)
    seed: int = spec("seed of initialisation and data order", non_negative)
    start: str = spec("how the thermal layers' gain and offset start: fixed (gain 1, offset "
                      "the ambient threshold) or calibrated (from the first training batch, "
                      "layer by layer: the current centred on the threshold with a spread of "
                      "0.25 I_c0, then shifted to a mean output of 0.5; what an all-MTJ "
                      "network needs)", one_of("fixed", "calibrated"), default="fixed")


@dataclass(frozen=True)
class NetworkConfig:
    """A complete network description."""
    name: str = spec("network name, used for build folders and the Verilog top")
    design: str = spec("design YAML of the thermal neurons (device card, i/theta/gamma/LUT "
                       "formats, modes), relative to this file")
    input: InputSpec = spec("event frames")
    layers: list = spec("the layers, input to output")
    hardware: NetHardware = spec("accelerator parameters")
    training: NetTraining = spec("training recipe")
    source: str = field(default="<memory>", compare=False, metadata={"doc": "file it came from"})

    def design_path(self):
        return Path(self.source).parent / self.design

    def experiment_path(self):
        return Path(self.source).parent / self.training.experiment
