"""The working-memory experiment config (configs/wm.yaml). Schema defined once, here.

It names the design YAML (relative to itself) whose device card and fixed point
IPNet's thermal neurons use; the decay sweep takes that design with other thermal
time constants (:func:`design_for_tau`): the menu of junctions from which each task's
IPNet row takes the one with the best validation score. ``ipnet_earlier`` (optional) is a
second IPNet with its own card and set-up, kept as a row (the report's earlier
configuration).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ipnet_mtj.sw.config import ConfigError, build_dataclass, load_config, read_yaml
from ipnet_mtj.sw.data.dvs import SensorNoise
from ipnet_mtj.sw.data.wm import WMData
from ipnet_mtj.sw.device import coefficients
from ipnet_mtj.sw.fixed import derive_fixed_point
from ipnet_mtj.sw.schema import between, integers, names, non_negative, numbers, positive, spec
from ipnet_mtj.sw.train.experiment import Noise

__all__ = ["WMExperiment", "load_wm_experiment", "design_for_tau", "WM_MODELS"]

#: lstm_matched, gru_matched: the cell at IPNet's parameter count (sw.wm.runs.matched_features)
WM_MODELS = ("ipnet", "ipnet_earlier", "lstm", "gru", "rnn", "lstm_matched", "gru_matched",
             "framesum")


@dataclass(frozen=True)
class Data:
    size: int = spec("frame side, pixels (at least 8)",
                     lambda v: None if v >= 8 else "must be >= 8")
    substeps: int = spec("camera sub-steps per frame (at least 2: an item comes and goes "
                         "within its frame)", lambda v: None if v >= 2 else "must be >= 2")
    vocabulary: int = spec("items (an even number: pairs for interference)",
                           lambda v: None if v >= 4 and v % 2 == 0 else "must be even and >= 4")
    density: float = spec("fraction of pixels an item lights", between(0.01, 0.9))
    pair_overlap: float = spec("fraction of lit pixels a pair-mate shares (list similarity)",
                               between(0, 1))
    train: int = spec("training samples per task", positive)
    val: int = spec("validation samples per task (monitored every epoch)", positive)
    test: int = spec("test samples per task (every reported figure)", positive)
    seed: int = spec("data seed", non_negative)
    noise: Noise = spec("sensor noise")


@dataclass(frozen=True)
class NBack:
    ns: list = spec("the n of each n-back task", integers("integers >= 1", lambda x: x >= 1))
    items: int = spec("items per sequence", positive)
    slot: int = spec("frames per item", positive)
    target_rate: float = spec("probability that an item repeats the one n back",
                              between(0.05, 0.95))


@dataclass(frozen=True)
class Recognition:
    ks: list = spec("the k of each recognition task: was this item among the last k?",
                    integers("integers >= 1", lambda x: x >= 1))
    items: int = spec("items per sequence", positive)
    slot: int = spec("frames per item", positive)
    target_rate: float = spec("probability that an item is one of the k before it",
                              between(0.05, 0.95))


@dataclass(frozen=True)
class Recall:
    lengths: list = spec("list lengths (mixed in training, reported apart)",
                         integers("integers >= 1", lambda x: x >= 1))
    slots: list = spec("frames per item: the presentation rates (mixed, reported apart)",
                       integers("integers >= 1", lambda x: x >= 1))


@dataclass(frozen=True)
class Interference:
    length: int = spec("items per list", positive)
    slot: int = spec("frames per item", positive)


@dataclass(frozen=True)
class Training:
    epochs: int = spec("passes over the training set", positive)
    batch: int = spec("batch size", positive)
    lrs: list = spec("Adam learning rates (cosine schedule to 0) tried for every model and "
                     "task; the one with the best mean validation score is reported",
                     numbers("positive numbers", lambda x: x > 0))
    seeds: list = spec("one run per seed (mean and spread over them)",
                       integers("integers >= 0", lambda x: x >= 0))
    features: int = spec("backbone feature width", positive)


@dataclass(frozen=True)
class Decay:
    tau_th_ns: list = spec("IPNet's thermal time constants besides the card's (the sweep)",
                           numbers("positive numbers", lambda x: x > 0))


@dataclass(frozen=True)
class IPNetChoice:
    depth: int = spec("depth of the thermal neurons (1 = first convolution, 3 = the dense "
                      "features, where the recurrent models keep their state)",
                       lambda v: None if v in (1, 2, 3) else "must be 1, 2 or 3")
    current_spread: float = spec("initial standard deviation of the junction current, I_c0 "
                                 "(set from the first training batch)", between(0.001, 2))
    firing_rate: typing.Optional[float] = spec(
        "then every offset moves by one common shift so that the thermal neurons' mean output "
        "over that batch's sequences, heat included, is this rate: the current starts centred "
        "on the threshold the junctions have while they work (IPNet.calibrate_current). "
        "Absent: centred on the ambient threshold", between(0.01, 0.99), default=None)
    design: typing.Optional[str] = spec(
        "design YAML of this IPNet's thermal neurons, relative to the experiment; absent: the "
        "experiment's design",
        lambda v: None if v.endswith(".yaml") else "must name a .yaml file", default=None)


@dataclass(frozen=True)
class WMExperiment:
    design: str = spec("design YAML of IPNet's thermal neurons, relative to this file")
    data: Data = spec("data generation")
    nback: NBack = spec("n-back tasks")
    recall: Recall = spec("free recall")
    interference: Interference = spec("proactive and retroactive interference")
    train: Training = spec("training, the same for every model")
    models: list = spec("models run on every task", names(WM_MODELS))
    ipnet: IPNetChoice = spec("where IPNet's thermal neurons sit and how their current starts")
    decay: Decay = spec("IPNet's menu of thermal time constants besides the card's (the decay "
                        "sweep, on every task but interference); each task's IPNet row takes "
                        "the one with the best mean validation score")
    ipnet_earlier: typing.Optional[IPNetChoice] = spec(
        "the model ipnet_earlier: a second IPNet kept as a row (its own card, depth and start; "
        "the card's time constant only)", default=None)
    recognition: typing.Optional[Recognition] = spec(
        "recognition tasks (absent: none)", default=None)
    source: str = field(default="<memory>", compare=False, metadata={"doc": "file"})

    def data_config(self):
        d = self.data
        return WMData(size=d.size, substeps=d.substeps, vocabulary=d.vocabulary,
                      density=d.density, pair_overlap=d.pair_overlap, seed=d.seed,
                      noise=SensorNoise(**vars(d.noise)))

    def design_path(self, model="ipnet"):
        """The design YAML of ``model``'s thermal neurons (ipnet or ipnet_earlier)."""
        choice = self.ipnet_choice(model)
        return Path(self.source).parent / (choice.design or self.design)

    def ipnet_choice(self, model):
        """The :class:`IPNetChoice` of ``model`` (ipnet or ipnet_earlier)."""
        return self.ipnet_earlier if model == "ipnet_earlier" else self.ipnet


def design_for_tau(design, tau_ns):
    """``design`` with the thermal time constant ``tau_ns`` (None: unchanged), its heat format
    widened where needed so that the heat bound (i_max**2 / (1 - alpha) heat units, the same
    temperature for every tau) fits without saturating, and the linear view's gamma format
    widened where a faster junction's larger gamma needs it (gamma.frac kept); returns
    (design, fixed point)."""
    if tau_ns is None:
        return design, derive_fixed_point(design)
    design = dataclasses.replace(design, device=dataclasses.replace(design.device,
                                                                    tau_th_ns=float(tau_ns)))
    fpc = design.fixed_point
    i_max = 2.0 ** (fpc.i.width - 1 - fpc.i.frac)
    alpha = math.exp(-design.device.dt_ns / design.device.tau_th_ns)
    need = math.ceil(math.log2(i_max ** 2 / (1.0 - alpha) + 1)) + fpc.theta.frac
    if need > fpc.theta.width:
        design = dataclasses.replace(design, fixed_point=dataclasses.replace(
            fpc, theta=dataclasses.replace(fpc.theta, width=need)))
        fpc = design.fixed_point
    gamma = round(coefficients(design.device).gamma * 2 ** fpc.gamma.frac)
    if gamma.bit_length() > fpc.gamma.width:
        design = dataclasses.replace(design, fixed_point=dataclasses.replace(
            fpc, gamma=dataclasses.replace(fpc.gamma, width=gamma.bit_length())))
    return design, derive_fixed_point(design)


def load_wm_experiment(path):
    """Read and check a working-memory YAML; return (WMExperiment, design config)."""
    path = Path(path)
    exp = build_dataclass(WMExperiment, read_yaml(path), "", str(path))
    exp = WMExperiment(**{**vars(exp), "source": str(path)})
    if exp.data.noise.hot_pixels > exp.data.size ** 2:
        raise ConfigError(f"{path}: data.noise.hot_pixels: must be at most size * size = "
                          f"{exp.data.size ** 2}, got {exp.data.noise.hot_pixels}")
    if 4 * exp.interference.length > exp.data.vocabulary:
        raise ConfigError(f"{path}: interference.length: lists of {exp.interference.length} need "
                          f"a vocabulary of at least {4 * exp.interference.length} items (data."
                          f"vocabulary is {exp.data.vocabulary}), got {exp.interference.length}")
    if max(exp.recall.lengths) < 5:
        raise ConfigError(f"{path}: recall.lengths: primacy and recency need a list of at least "
                          f"5 items, got {max(exp.recall.lengths)} at most")
    pixels = exp.data.size ** 2
    lit = max(1, round(exp.data.density * pixels))
    if lit - round(exp.data.pair_overlap * lit) > pixels - lit:
        raise ConfigError(f"{path}: data.pair_overlap: a pair-mate of {lit} lit pixels sharing "
                          f"{exp.data.pair_overlap:g} of them needs more unlit pixels than the "
                          f"{pixels - lit} left (lower data.density), "
                          f"got {exp.data.pair_overlap!r}")
    cells = max(8, len(exp.recall.lengths) * len(exp.recall.slots))
    for split in ("val", "test"):
        if getattr(exp.data, split) < cells:
            raise ConfigError(f"{path}: data.{split}: must hold every condition of every task at "
                              f"least once ({cells} samples), got {getattr(exp.data, split)}")
    if max(exp.recall.lengths) > exp.data.vocabulary:
        raise ConfigError(f"{path}: recall.lengths: a list holds distinct items, at most data."
                          f"vocabulary = {exp.data.vocabulary}, got {max(exp.recall.lengths)}")
    if exp.recognition is not None:
        if max(exp.recognition.ks) >= exp.data.vocabulary:
            raise ConfigError(f"{path}: recognition.ks: an item new to the last k needs k below "
                              f"data.vocabulary = {exp.data.vocabulary}, "
                              f"got {max(exp.recognition.ks)}")
        if max(exp.recognition.ks) >= exp.recognition.items:
            raise ConfigError(f"{path}: recognition.ks: k must be below recognition.items = "
                              f"{exp.recognition.items}, got {max(exp.recognition.ks)}")
    if "ipnet_earlier" in exp.models and exp.ipnet_earlier is None:
        raise ConfigError(f"{path}: ipnet_earlier: missing (the model ipnet_earlier is in "
                          f"models)")
    if max(exp.nback.ns) >= exp.nback.items:
        raise ConfigError(f"{path}: nback.ns: n must be below nback.items = {exp.nback.items}, "
                          f"got {max(exp.nback.ns)}")
    for model in ("ipnet_earlier",) if "ipnet_earlier" in exp.models else ():
        where = exp.design_path(model)
        if not where.is_file():
            raise ConfigError(f"{path}: ipnet_earlier.design: no file {where}")
        load_config(where)
    design = load_config(exp.design_path())
    if design.device.tau_th_ns in exp.decay.tau_th_ns:
        raise ConfigError(f"{path}: decay.tau_th_ns: the card's own {design.device.tau_th_ns:g} "
                          f"ns is always on the menu; list only other time constants, "
                          f"got {exp.decay.tau_th_ns!r}")
    for tau in exp.decay.tau_th_ns:
        try:
            design_for_tau(design, tau)
        except ConfigError as exc:
            raise ConfigError(f"{path}: decay.tau_th_ns: {tau!r} gives no usable design "
                              f"({str(exc).split(': ', 1)[-1]})") from None
    return exp, design
