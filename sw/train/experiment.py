"""The experiment config: which data, which models, how to train. Schema defined once, here.

It names a design YAML (relative to itself) whose device card and fixed
point the IPNet thermal neurons use, so the trained networks and the
hardware share one neuron definition.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path

from ipnet_mtj.sw.config import ConfigError, build_dataclass, load_config, read_yaml
from ipnet_mtj.sw.data.datasets import TASKS, DataConfig
from ipnet_mtj.sw.data.digits import GLYPH
from ipnet_mtj.sw.data.dvs import SensorNoise
from ipnet_mtj.sw.data.recordings.tasks import Recordings
from ipnet_mtj.sw.fixed import derive_fixed_point
from ipnet_mtj.sw.nets import MATCHED, MODELS
from ipnet_mtj.sw.schema import (between, integers, names, non_negative, numbers, one_of, positive,
                                  spec)

__all__ = ["Experiment", "load_experiment"]


@dataclass(frozen=True)
class Noise:
    contrast: float = spec("DVS contrast threshold, log-intensity units", positive)
    threshold_sigma: float = spec("relative per-pixel threshold mismatch", non_negative)
    background_rate: float = spec("background-activity events per pixel per sub-step "
                                  "(a probability)", between(0, 1))
    hot_pixels: int = spec("pixels that fire at every sub-step (at most size * size)",
                           non_negative)


@dataclass(frozen=True)
class RecordingsSpec:
    root: typing.Optional[str] = spec(
        "folder holding DVSGesture/, NMNIST/ and DDD20/, relative to this file; "
        "$IPNET_DATA_ROOT, when set, takes its place. Absent: $IPNET_DATA_ROOT must be set",
        default=None)
    binning: str = spec("events to frames: time (fixed duration) or count (fixed events)",
                        one_of("time", "count"), default="time")
    frame_us: typing.Optional[int] = spec(
        "time binning: frame length, microseconds. Absent: 1.5 s / steps (DVSGesture), "
        "300 ms / steps (NMNIST), 50 ms (DDD20)", between(1, 10**9), default=None)
    frame_events: typing.Optional[int] = spec(
        "count binning: events per frame (required there)", between(1, 10**9), default=None)
    denoise_us: int = spec("tonic's Denoise filter time, microseconds; 0: off",
                           between(0, 10**9), default=0)


@dataclass(frozen=True)
class Data:
    size: int = spec("frame side, pixels", positive)
    steps: int = spec("frames per sample", positive)
    substeps: int = spec("camera sub-steps per frame", positive)
    train: int = spec("training samples per task", positive)
    test: int = spec("test samples per task", positive)
    ahead: int = spec("digits_ahead: frames to look ahead", positive)
    seed: int = spec("data seed", non_negative)
    noise: Noise = spec("sensor noise")
    recordings: typing.Optional[RecordingsSpec] = spec(
        "recorded tasks (dvsgesture, dvsgesture22, nmnist, steering_ddd20): where the "
        "recordings are and how events become frames (docs/real-data.md). Absent: the data "
        "root from $IPNET_DATA_ROOT, time binning", default=None)


@dataclass(frozen=True)
class Training:
    """One protocol for every model (docs/results-method.md, "Protocol")."""
    max_epochs: int = spec("most passes over the training set; the cosine schedule spans them",
                           positive)
    patience: int = spec("early stopping: stop after this many epochs without a lower "
                         "validation loss", positive)
    validation: int = spec("samples carved from the end of the training split to choose the "
                           "epoch and the learning rate on (never the test split)", positive)
    batch: int = spec("batch size", positive)
    lrs: list = spec("Adam learning rates tried for every model and task; the one with the "
                     "lowest mean validation loss over seeds is reported",
                     numbers("positive numbers", lambda x: x > 0))
    seeds: list = spec("one run per seed (mean and spread over them)",
                       integers("integers >= 0", lambda x: x >= 0))
    features: int = spec("backbone feature width", positive)
    ipnet_seeds: typing.Optional[list] = spec(
        "IPNet's seeds (every IPNet cell: tasks, depths, variants). Absent: seeds",
        integers("integers >= 0", lambda x: x >= 0), default=None)
    restarts: int = spec("a seed whose run stalls or diverges is trained again from a new "
                         "initialisation (seed + 1000 k for restart k), at most this many "
                         "times; of its attempts the one with the lowest validation loss is "
                         "kept (docs/results-method.md, \"Restarts\"). 0: none",
                         between(0, 10), default=0)

    def seeds_of(self, model):
        """The seeds of ``model``'s runs."""
        return list(self.ipnet_seeds if model == "ipnet" and self.ipnet_seeds else self.seeds)


@dataclass(frozen=True)
class IPNetInit:
    current_spread: float = spec("IPNet's gain and offset start so that the junction current "
                                 "has the ambient threshold as mean and this standard deviation "
                                 "(I_c0) over a training batch (IPNet.calibrate_current)",
                                 positive)
    firing_rate: typing.Optional[float] = spec(
        "then every offset moves by one common shift so that the thermal neurons' mean output "
        "over that batch's sequences, heat included, is this rate (IPNet.calibrate_current). "
        "Absent: the current stays centred on the ambient threshold", between(0.01, 0.99),
        default=None)
    surrogate_width: typing.Optional[typing.Union[float, str]] = spec(
        "width (I_c0) of the logistic whose gradient stands in for the switching curve's, or "
        "device: 2 times the card's 10-90 % switching width (sw.nets.ipnet."
        "device_surrogate_width). Absent: 0.25", lambda v: _surrogate(v), default=None)


#: IPNet's design choices an ablation variant may change: name -> (check, meaning)
IPNET_OPTIONS = {
    "surrogate_width": (lambda v: _surrogate(v) is None, "a number in (0, 2] (I_c0) or device"),
    "current": (lambda v: v in ("shared", "per_channel"), "shared or per_channel"),
    "heat_gradient": (lambda v: v in ("full", "cut"), "full or cut"),
    "train_spread": (lambda v: _number(v) and 0 <= v <= 0.5, "a number in [0, 0.5] (I_c0)"),
    "thermal_depths": (lambda v: isinstance(v, list) and v and len(set(v)) == len(v)
                       and all(d in (1, 2, 3) and not isinstance(d, bool) for d in v),
                       "a list of distinct depths 1, 2, 3 (the stages whose activation is "
                       "thermal too: all-MTJ)"),
    "read": (lambda v: v in ("none", "read", "both"),
             "none, read or both (the design needs fixed_point.read_bits)"),
    "design": (lambda v: isinstance(v, str) and v.endswith(".yaml"),
               "a design YAML relative to the experiment (another device card)"),
}


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _surrogate(v):
    """None when ``v`` is a surrogate width (a number in (0, 2] or ``device``), else what is
    wrong."""
    if v == "device" or (_number(v) and 0 < v <= 2):
        return None
    return "must be a number in (0, 2] (I_c0) or device"


def _variants(v):
    """{name: {option: value}}: names are lower-case identifiers (they name run files), each
    option one of IPNET_OPTIONS with an allowed value."""
    for name, options in v.items():
        if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
            return f"variant names must be lower-case identifiers: {name!r} is not"
        if not isinstance(options, dict) or not options:
            return f"variant {name!r} must map options to values"
        for key, value in options.items():
            if key not in IPNET_OPTIONS:
                return (f"variant {name!r}: unknown option {key!r} "
                        f"(allowed: {', '.join(IPNET_OPTIONS)})")
            check, what = IPNET_OPTIONS[key]
            if not check(value):
                return f"variant {name!r}: {key} must be {what}, got {value!r}"
    return None


@dataclass(frozen=True)
class Ablation:
    task: str = spec("task of the Memory-at-the-Frontier ablation", one_of(*TASKS))
    depths: list = spec("depths of the thermal layer (1 = first convolution)",
                        integers("depths 1, 2 or 3", lambda x: x in (1, 2, 3), empty=True))
    variants: dict = spec("IPNet's design space: each variant changes some of IPNet's "
                          "options (surrogate_width, current, heat_gradient, train_spread, "
                          "read, thermal_depths, design) "
                           "from their defaults, thermal layer at the frontier; each is a cell "
                           "with the whole learning-rate grid",
                           _variants, default=None)


@dataclass(frozen=True)
class Spread:
    sigmas: list = spec("device-to-device spread of the junctions' switching thresholds "
                        "(units of I_c0) that each trained IPNet is evaluated under",
                        numbers("numbers in (0, 0.5]", lambda x: 0 < x <= 0.5))
    chips: int = spec("simulated chips (independent draws of every neuron's offset) per "
                      "sigma and run", between(1, 100))
    thermal_sigmas: list = spec("relative spread of every junction's thermal resistance and "
                                "time constant that each trained IPNet is evaluated under",
                                numbers("numbers in (0, 0.3]", lambda x: 0 < x <= 0.3),
                                default=None)


@dataclass(frozen=True)
class Integer:
    epochs: int = spec("quantisation-aware epochs of each task's IPNet runs at the chosen "
                       "learning rate, from their best float weights (early stopping as in "
                       "training)", between(1, 100))
    lr: float = spec("Adam learning rate of the quantisation-aware epochs (cosine schedule)",
                     positive)
    weight_bits: int = spec("width of every layer's weights (the thermal layer's grows until "
                            "its weights reach the current's LSB)", between(2, 16))
    bias_bits: int = spec("width of every layer's biases", between(2, 32))
    activation_bits: int = spec("width of every ReLU layer's unsigned output", between(2, 16))
    logit_bits: int = spec("width of the signed logits (float32, the QAT model's type, holds "
                           "them exactly)", between(2, 24))
    lanes: int = spec("MAC lanes of the accelerator the description is derived for",
                      between(1, 64))
    variants: list = spec("ablation variants whose IPNet runs also become integer networks, "
                          "beside the main table's (their thermal neurons at the first "
                          "convolution with one gain and offset; a resistance read is "
                          "allowed)", default=())


@dataclass(frozen=True)
class Experiment:
    design: str = spec("design YAML of the thermal neurons, relative to this file")
    data: Data = spec("data generation")
    train: Training = spec("training")
    tasks: list = spec("tasks to run", names(tuple(TASKS)))
    models: list = spec("models run on every task; lstm_matched and gru_matched are the cell "
                        "at IPNet's parameter count (sw.nets.matched_width)",
                        names((*MODELS, *MATCHED)))
    steering_only: list = spec("models run on the steering task only", names(MODELS, empty=True))
    ablation: Ablation = spec("thermal layer at each depth")
    ipnet: IPNetInit = spec("IPNet's initialisation")
    spread: Spread = spec("IPNet's accuracy against device-to-device spread")
    integer: typing.Optional[Integer] = spec(
        "IPNet's whole network in integers (quantisation-aware training, the golden model's "
        "accuracy beside float). Absent: no integer network", default=None)
    source: str = field(default="<memory>", compare=False, metadata={"doc": "file"})

    def data_config(self):
        d = self.data
        rec = None
        if d.recordings is not None:
            r = d.recordings
            root = None if r.root is None else str(Path(self.source).parent / r.root)
            rec = Recordings(root=root, binning=r.binning, frame_us=r.frame_us,
                             frame_events=r.frame_events, denoise_us=r.denoise_us)
        return DataConfig(size=d.size, steps=d.steps, substeps=d.substeps, train=d.train,
                          test=d.test, ahead=d.ahead, seed=d.seed,
                          noise=SensorNoise(**vars(d.noise)), recordings=rec)

    def design_path(self):
        return Path(self.source).parent / self.design


def load_experiment(path):
    """Read and check an experiment YAML; return (Experiment, design config, fixed point)."""
    path = Path(path)
    exp = build_dataclass(Experiment, read_yaml(path), "", str(path))
    exp = Experiment(**{**vars(exp), "source": str(path)})
    digits = [t for t in (*exp.tasks, exp.ablation.task) if t.startswith("digits")]
    if digits and exp.data.size <= GLYPH:
        raise ConfigError(f"{path}: data.size: must be > {GLYPH} (the side of a digit glyph) for "
                          f"task {digits[0]}, got {exp.data.size}")
    pixels = exp.data.size * exp.data.size
    if exp.data.noise.hot_pixels > pixels:
        raise ConfigError(f"{path}: data.noise.hot_pixels: must be at most size * size = {pixels}, "
                          f"got {exp.data.noise.hot_pixels}")
    if exp.train.validation >= exp.data.train:
        raise ConfigError(f"{path}: train.validation: must be fewer than data.train = "
                          f"{exp.data.train} (the rest trains), got {exp.train.validation}")
    rec = exp.data.recordings
    if rec is not None and rec.binning == "count" and rec.frame_events is None:
        raise ConfigError(f"{path}: data.recordings.frame_events: required by count binning")
    for name in (exp.integer.variants if exp.integer else ()):
        options = (exp.ablation.variants or {}).get(name)
        if options is None:
            raise ConfigError(f"{path}: integer.variants: {name!r} is not a variant of "
                              f"ablation.variants")
        layout = [k for k in ("current", "thermal_depths") if k in options]
        if layout:
            raise ConfigError(f"{path}: integer.variants: {name} sets {layout[0]}; the integer "
                              f"network needs thermal neurons at the first convolution with one "
                              f"gain and offset")
    design = load_config(exp.design_path())
    _check_benchmark_design(path, "design", design)
    for name, options in (exp.ablation.variants or {}).items():   # refuse a bad card at once
        if "design" in options:
            own = load_config(Path(exp.source).parent / options["design"])
            _check_benchmark_design(path, f"ablation.variants.{name}.design", own)
    return exp, design, derive_fixed_point(design)


def _check_benchmark_design(path, key, design):
    """The benchmark IPNets draw their own device spread (``spread:``) and map devices to
    channels: a card with a spread, or with devices that do not divide the thermal layer's
    channels, is refused before any training."""
    from ipnet_mtj.sw.nets.backbone import CHANNELS
    dev = design.device
    for name in ("threshold_sigma_ic0", "thermal_sigma_rel"):
        if getattr(dev, name):
            raise ConfigError(f"{path}: {key}: {design.source} has a device spread ({name}); "
                              "the benchmark IPNets are evaluated under spread by the spread: "
                              f"section instead, got {getattr(dev, name)!r}")
    k = len(dev.tau_th_ns_devices or [])
    if k and CHANNELS[0] % k:
        raise ConfigError(f"{path}: {key}: {design.source} has {k} devices, which must divide "
                          f"the thermal layer's {CHANNELS[0]} channels, got {k}")


def variant_design(exp, variant):
    """The design Config and FixedPoint of an ablation variant that names its own design
    YAML, or None."""
    options = (exp.ablation.variants or {}).get(variant) or {}
    if "design" not in options:
        return None
    design = load_config(Path(exp.source).parent / options["design"])
    return design, derive_fixed_point(design)
