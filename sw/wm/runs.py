"""One working-memory run end to end: data, model, training (resumable), test metrics.

Every model is trained the same way: Adam, the experiment's batch and epochs, each learning
rate of its grid (the report keeps the one with the best mean validation score over seeds,
:func:`chosen_lrs`), a cosine schedule, gradient clipping (:mod:`sw.train.trainer`); the
validation split is scored after every epoch, the test split once at the end. For IPNet,
whose gain and offset first get their data-dependent start
(:meth:`sw.nets.ipnet.IPNet.calibrate_current` on the first training batch), the run also
records, on the test split, the junction currents and temperatures of its thermal neurons,
and the same scores with the heat ignored (gamma = 0: every threshold stays at its ambient
value), which shows how much of what it does is memory.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import ConfigError, config_hash, load_config
from ipnet_mtj.sw.jobs import content_hash
from ipnet_mtj.sw.nets import MATCHED, build_model, count_parameters, matched_width
from ipnet_mtj.sw.train.physics import heat_ignored, junction_physics
from ipnet_mtj.sw.train.runs import read_metrics
from ipnet_mtj.sw.train.trainer import Diverged, predict, train_run

from .data import DATA_VERSION, binary_task, load_wm_split, task_params, wm_task
from .experiment import design_for_tau, load_wm_experiment
from .metrics import interference_metrics, nback_metrics, recall_metrics

__all__ = ["WMSpec", "wm_grid", "sweep_grid", "chosen_lrs", "validation_score", "execute_wm",
           "wm_paths", "wm_run_hash", "read_wm_metrics",
           "scores"]


@dataclass(frozen=True)
class WMSpec:
    task: str
    model: str
    seed: int
    lr: float
    tau_th_ns: float | None = None      #: IPNet's thermal time constant; None: the card's

    @property
    def name(self):
        tau = f"-tau{self.tau_th_ns:g}" if self.tau_th_ns is not None else ""
        return f"{self.task}-{self.model}{tau}-lr{self.lr:g}-s{self.seed}"


def wm_grid(exp):
    """The first phase: models x tasks x learning rates x seeds."""
    from .data import wm_tasks
    return [WMSpec(t, m, s, lr=float(lr)) for t in wm_tasks(exp) for m in exp.models
            for lr in exp.train.lrs for s in exp.train.seeds]


def validation_score(metrics):
    """The validation score after the last epoch (what the learning rate is chosen on)."""
    return metrics["history"][-1]["test"] if metrics["history"] else float("-inf")


def chosen_lrs(exp, done):
    """{(task, model): learning rate} with the best mean validation score over seeds (the
    first in the config's order on a tie), for every (task, model) of the first phase."""
    means = {}
    for spec, m in done.items():
        if spec.tau_th_ns is None:
            means.setdefault((spec.task, spec.model), {}).setdefault(spec.lr, []).append(
                validation_score(m))
    return {key: max(exp.train.lrs, key=lambda lr: (float(np.mean(by_lr.get(float(lr), [-1]))),
                                                    -exp.train.lrs.index(lr)))
            for key, by_lr in means.items()}


def sweep_grid(exp, lrs, tasks=None):
    """The second phase: IPNet's decay sweep on n-back and recall (or on ``tasks``), each
    task at the learning rate chosen for the card's IPNet (``lrs`` from :func:`chosen_lrs`)."""
    from .data import wm_tasks
    if "ipnet" not in exp.models:
        return []
    tasks = [t for t in wm_tasks(exp) if t != "interference" and (tasks is None or t in tasks)]
    return [WMSpec(t, "ipnet", s, lr=float(lrs[(t, "ipnet")]), tau_th_ns=float(tau))
            for tau in exp.decay.tau_th_ns for t in tasks for s in exp.train.seeds]


def wm_paths(runs_dir, spec):
    """Checkpoint and metrics file of a run (the name may hold a dot: tau 2.5 ns)."""
    base = Path(runs_dir)
    return base / f"{spec.name}.pt", base / f"{spec.name}.json"


def model_design(exp, design, model):
    """The design config of ``model``'s thermal neurons: ``design`` (the experiment's, as
    loaded) for ipnet, the one ``ipnet_earlier`` names for that model, None for the others."""
    if model == "ipnet":
        return design
    if model == "ipnet_earlier":
        return load_config(exp.design_path(model))
    return None


def matched_features(exp, design, task_name, cell):
    """The feature width of a ``cell`` baseline at IPNet's size on ``task_name``
    (``sw.nets.matched_width``: the widest, at most the experiment's width, whose trainable
    parameters do not exceed those of the experiment's IPNet on that task)."""
    task = wm_task(exp, task_name)
    fp = design_for_tau(design, None)[1]
    target = count_parameters(build_model("ipnet", task, fp=fp, depth=exp.ipnet.depth,
                                          features=exp.train.features))
    width = matched_width(task, cell, target, exp.train.features)
    if width is None:
        raise ConfigError(f"{exp.source}: models: {cell}_matched: even a width of 1 has more "
                          f"parameters than IPNet's {target} on {task_name}")
    return width


def build_wm_model(exp, design, spec, seed, fp=None):
    """The untrained model of ``spec``, its weights drawn after ``torch.manual_seed(seed)``
    (``design``: the experiment's; ``fp``: the thermal neurons' formats, for IPNet)."""
    task = wm_task(exp, spec.task)
    name, features = spec.model, exp.train.features
    if name in MATCHED:
        name, features = MATCHED[name], matched_features(exp, design, spec.task, MATCHED[name])
    torch.manual_seed(seed)
    if name.startswith("ipnet"):
        return build_model("ipnet", task, fp=fp, depth=exp.ipnet_choice(name).depth,
                           features=features)
    return build_model(name, task, features=features)


def wm_run_hash(exp, design, spec):
    """What a run's checkpoint and metrics depend on (16 hex digits)."""
    thermal = spec.model.startswith("ipnet")
    d = {"spec": asdict(spec), "data": asdict(exp.data), "data_version": DATA_VERSION,
         "task": task_params(exp, spec.task),
         "train": asdict(exp.train) | {"seeds": None, "lrs": None},
         "ipnet": {k: v for k, v in asdict(exp.ipnet_choice(spec.model)).items()
                   if v is not None and k != "design"} if thermal else None,
         "design": config_hash(design_for_tau(model_design(exp, design, spec.model),
                                              spec.tau_th_ns)[0]) if thermal else None}
    if spec.model in MATCHED:
        d["features"] = matched_features(exp, design, spec.task, MATCHED[spec.model])
    return content_hash(d, length=16)


def scores(task, logits, split):
    """The metrics of ``task`` from the test logits and the split's arrays."""
    if binary_task(task):
        return nback_metrics(logits, split["y"])
    if task == "recall":
        return recall_metrics(logits, split["y"], split["length"], split["slot"], split["order"])
    return interference_metrics(logits, split["y"], split["condition"], split["similar"],
                                split["list_a"], split["list_b"])


def execute_wm(exp_path, spec, runs_dir, resume=True, progress=None):
    """Train (or resume) ``spec`` and write its metrics JSON; return the metrics."""
    torch.set_num_threads(1)
    exp, exp_design = load_wm_experiment(exp_path)
    tag = wm_run_hash(exp, exp_design, spec)
    thermal = spec.model.startswith("ipnet")
    design, fp = design_for_tau(model_design(exp, exp_design, spec.model) or exp_design,
                                spec.tau_th_ns)
    model = build_wm_model(exp, exp_design, spec, spec.seed, fp=fp if thermal else None)
    task = wm_task(exp, spec.task)
    cache = Path(runs_dir) / "data"
    train, val, test = (load_wm_split(exp, spec.task, s, cache) for s in ("train", "val", "test"))
    if thermal:
        choice = exp.ipnet_choice(spec.model)
        model.calibrate_current(train["x"][:exp.train.batch], choice.current_spread,
                                choice.firing_rate)
    ckpt, out = wm_paths(runs_dir, spec)
    began = time.perf_counter()
    try:
        result = train_run(model, task, (train["x"], train["y"]), (val["x"], val["y"]),
                           exp.data.size, exp.train.epochs, exp.train.batch, spec.lr, spec.seed,
                           ckpt, resume=resume, progress=progress, schedule="cosine", tag=tag,
                           name=spec.name)
    except Diverged as exc:       # this rate loses the choice; the grid goes on
        metrics = {"task": spec.task, "model": spec.model, "seed": spec.seed, "lr": spec.lr,
                   "tau_th_ns": spec.tau_th_ns, "run_hash": tag, "history": [],
                   "finished": True, "diverged": str(exc), "scores": None,
                   "wall_s": time.perf_counter() - began}
        write_atomically(out, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2)))
        return metrics
    logits = predict(model, torch.as_tensor(test["x"])).numpy()
    if not np.isfinite(logits).all():
        raise ConfigError(f"{spec.name}: the test outputs are not finite; lower the learning rate")
    metrics = {"task": spec.task, "model": spec.model, "seed": spec.seed, "lr": spec.lr,
               "tau_th_ns": spec.tau_th_ns, "run_hash": tag, "history": result["history"],
               "finished": result["finished"], "parameters": count_parameters(model),
               "scores": scores(spec.task, logits, test)}
    if thermal:
        metrics["physics"] = junction_physics(model, design, fp, test["x"])
        model.fp = heat_ignored(fp)
        metrics["heat_ignored"] = scores(spec.task, predict(model, torch.as_tensor(test["x"]))
                                         .numpy(), test)
        model.fp = fp
    metrics["wall_s"] = time.perf_counter() - began
    write_atomically(out, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2) + "\n"))
    return metrics


def read_wm_metrics(path):
    """The metrics file of a working-memory run, or a one-line ConfigError naming it."""
    return read_metrics(path, ("task", "model", "scores", "run_hash"), "a working-memory run")
