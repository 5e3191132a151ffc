"""The experiment config: which data, which models, how to train. Schema defined once, here.

It names a design YAML (relative to itself) whose device card and fixed
point the IPNet thermal neurons use, so the trained networks and the
hardware share one neuron definition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ipnet_mtj.sw.config import ConfigError, _positive, _spec, build_dataclass, load_config
from ipnet_mtj.sw.data.datasets import TASKS, DataConfig
from ipnet_mtj.sw.data.dvs import SensorNoise
from ipnet_mtj.sw.fixed import derive_fixed_point
from ipnet_mtj.sw.nets import MODELS

__all__ = ["Experiment", "load_experiment"]


def _names(allowed):
    def check(v):
        bad = [x for x in v if x not in allowed]
        return f"unknown {bad[0]!r} (allowed: {', '.join(allowed)})" if bad else None
    return check


@dataclass(frozen=True)
class Noise:
    contrast: float = _spec("DVS contrast threshold, log-intensity units", _positive)
    threshold_sigma: float = _spec("relative per-pixel threshold mismatch")
    background_rate: float = _spec("background-activity events per pixel per sub-step")
    hot_pixels: int = _spec("pixels that fire at every sub-step")


@dataclass(frozen=True)
class Data:
    size: int = _spec("frame side, pixels", _positive)
    steps: int = _spec("frames per sample", _positive)
    substeps: int = _spec("camera sub-steps per frame", _positive)
    train: int = _spec("training samples per task", _positive)
    test: int = _spec("test samples per task", _positive)
    ahead: int = _spec("digits_ahead: frames to look ahead", _positive)
    seed: int = _spec("data seed")
    noise: Noise = _spec("sensor noise")


@dataclass(frozen=True)
class Training:
    epochs: int = _spec("passes over the training set", _positive)
    batch: int = _spec("batch size", _positive)
    lr: float = _spec("Adam learning rate", _positive)
    seeds: list = _spec("one run per seed (mean and spread over them)")
    features: int = _spec("backbone feature width", _positive)


@dataclass(frozen=True)
class Ablation:
    task: str = _spec("task of the Memory-at-the-Frontier ablation")
    depths: list = _spec("depths of the thermal layer (1 = first convolution)")


@dataclass(frozen=True)
class Experiment:
    design: str = _spec("design YAML of the thermal neurons, relative to this file")
    data: Data = _spec("data generation")
    train: Training = _spec("training")
    tasks: list = _spec("tasks to run", _names(tuple(TASKS)))
    models: list = _spec("models run on every task", _names(MODELS))
    steering_only: list = _spec("models run on the steering task only", _names(MODELS))
    ablation: Ablation = _spec("thermal layer at each depth")
    source: str = field(default="<memory>", compare=False, metadata={"doc": "file"})

    def data_config(self):
        d = self.data
        return DataConfig(size=d.size, steps=d.steps, substeps=d.substeps, train=d.train,
                          test=d.test, ahead=d.ahead, seed=d.seed,
                          noise=SensorNoise(**vars(d.noise)))

    def design_path(self):
        return Path(self.source).parent / self.design


def load_experiment(path):
    """Read and check an experiment YAML; return (Experiment, design config, fixed point)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    exp = build_dataclass(Experiment, data, "", str(path))
    exp = Experiment(**{**vars(exp), "source": str(path)})
    if exp.ablation.task not in TASKS:
        raise ConfigError(f"{path}: ablation.task: unknown task {exp.ablation.task!r}")
    if any(d not in (1, 2, 3) for d in exp.ablation.depths):
        raise ConfigError(f"{path}: ablation.depths: depths are 1, 2 or 3, got {exp.ablation.depths}")
    if not exp.train.seeds:
        raise ConfigError(f"{path}: train.seeds: needs at least one seed")
    design = load_config(exp.design_path())
    return exp, design, derive_fixed_point(design)
