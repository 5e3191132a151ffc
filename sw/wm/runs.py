"""One working-memory run end to end: data, model, training (resumable), test metrics.

Every model is trained the same way: Adam, the experiment's batch, learning rate and
epochs, a cosine schedule, gradient clipping (:mod:`sw.train.trainer`); the
validation split is scored after every epoch, the test split once at the end. For
IPNet, whose gain and offset first
get their data-dependent start (:meth:`sw.nets.models.IPNet.calibrate_current` on the
first training batch), the run also records, on the test split, the junction currents and
temperatures of its thermal neurons, and the same scores with the heat ignored
(gamma = 0: every threshold stays at its ambient value), which shows how much of
what it does is memory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import ConfigError, config_hash
from ipnet_mtj.sw.device import coefficients
from ipnet_mtj.sw.nets import build_model, count_parameters
from ipnet_mtj.sw.train.trainer import predict, train_run

from .data import load_wm_split, wm_task
from .experiment import design_for_tau, load_wm_experiment
from .metrics import interference_metrics, nback_metrics, recall_metrics

__all__ = ["WMSpec", "wm_grid", "execute_wm", "wm_paths", "wm_run_hash", "read_wm_metrics",
           "scores"]


@dataclass(frozen=True)
class WMSpec:
    task: str
    model: str
    seed: int
    tau_th_ns: float | None = None      #: IPNet's thermal time constant; None: the card's

    @property
    def name(self):
        tau = f"-tau{self.tau_th_ns:g}" if self.tau_th_ns is not None else ""
        return f"{self.task}-{self.model}{tau}-s{self.seed}"


def wm_grid(exp):
    """Every run: models x tasks x seeds, then IPNet's decay sweep on n-back and recall."""
    from .data import wm_tasks
    tasks = wm_tasks(exp)
    specs = [WMSpec(t, m, s) for t in tasks for m in exp.models for s in exp.train.seeds]
    if "ipnet" in exp.models:
        specs += [WMSpec(t, "ipnet", s, float(tau)) for tau in exp.decay.tau_th_ns
                  for t in tasks if t != "interference" for s in exp.train.seeds]
    return specs


def wm_paths(runs_dir, spec):
    base = Path(runs_dir) / spec.name
    return base.with_suffix(".pt"), base.with_suffix(".json")


def wm_run_hash(exp, design, spec):
    """What a run's checkpoint and metrics depend on (16 hex digits)."""
    d = {"spec": asdict(spec), "data": asdict(exp.data), "task": _task_params(exp, spec.task),
         "train": asdict(exp.train) | {"seeds": None},
         "ipnet": asdict(exp.ipnet) if spec.model == "ipnet" else None,
         "design": config_hash(design_for_tau(design, spec.tau_th_ns)[0])
         if spec.model == "ipnet" else None}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _task_params(exp, task):
    if task.startswith("nback"):
        return asdict(exp.nback) | {"ns": None}
    return asdict(exp.recall if task == "recall" else exp.interference)


def scores(task, logits, split):
    """The metrics of ``task`` from the test logits and the split's arrays."""
    if task.startswith("nback"):
        return nback_metrics(logits, split["y"])
    if task == "recall":
        return recall_metrics(logits, split["y"], split["length"], split["slot"], split["order"])
    return interference_metrics(logits, split["y"], split["condition"], split["similar"],
                                split["list_a"], split["list_b"])


def _physics(model, design, fp, x):
    """Junction current (units of I_c0, after the format's saturation) and temperature of the
    thermal neurons over ``x``: p99 and max of each."""
    i_max = 2.0 ** (fp.i_width - 1 - fp.i_frac)
    kappa = coefficients(design.device).kappa_K
    seen = {"current": [], "heat": []}

    def probe(current, heat):
        seen["current"].append(current.abs().clamp(max=i_max).flatten()[::7].numpy())
        seen["heat"].append(heat.flatten()[::7].numpy())
    model.probe = probe
    try:
        predict(model, torch.as_tensor(x))
    finally:
        model.probe = None
    cur, heat = np.concatenate(seen["current"]), np.concatenate(seen["heat"])
    temp = design.device.T0_K + kappa * heat
    return {"current_p99_ic0": float(np.quantile(cur, 0.99)), "current_max_ic0": float(cur.max()),
            "current_limit_ic0": i_max, "I_c0_uA": design.device.I_c0_uA,
            "temperature_p99_K": float(np.quantile(temp, 0.99)),
            "temperature_max_K": float(temp.max()), "Tc_K": design.device.Tc_K,
            "tau_th_ns": design.device.tau_th_ns}


def execute_wm(exp_path, spec, runs_dir, resume=True, progress=None):
    """Train (or resume) ``spec`` and write its metrics JSON; return the metrics."""
    torch.set_num_threads(1)
    exp, design = load_wm_experiment(exp_path)
    design, fp = design_for_tau(design, spec.tau_th_ns)
    task = wm_task(exp, spec.task)
    cache = Path(runs_dir) / "data"
    train, val, test = (load_wm_split(exp, spec.task, s, cache) for s in ("train", "val", "test"))
    torch.manual_seed(spec.seed)
    if spec.model == "ipnet":
        model = build_model("ipnet", task, fp=fp, depth=exp.ipnet.depth,
                            features=exp.train.features)
        model.calibrate_current(train["x"][:exp.train.batch], exp.ipnet.current_spread)
    else:
        model = build_model(spec.model, task, features=exp.train.features)
    ckpt, out = wm_paths(runs_dir, spec)
    tag = wm_run_hash(exp, design, spec)
    began = time.perf_counter()
    result = train_run(model, task, (train["x"], train["y"]), (val["x"], val["y"]),
                       exp.data.size, exp.train.epochs, exp.train.batch, exp.train.lr, spec.seed,
                       ckpt, resume=resume, progress=progress, schedule="cosine", tag=tag,
                       name=spec.name)
    logits = predict(model, torch.as_tensor(test["x"])).numpy()
    if not np.isfinite(logits).all():
        raise ConfigError(f"{spec.name}: the test outputs are not finite; lower the learning rate")
    metrics = {"task": spec.task, "model": spec.model, "seed": spec.seed,
               "tau_th_ns": spec.tau_th_ns, "run_hash": tag, "history": result["history"],
               "finished": result["finished"], "parameters": count_parameters(model),
               "scores": scores(spec.task, logits, test)}
    if spec.model == "ipnet":
        metrics["physics"] = _physics(model, design, fp, test["x"])
        model.fp = dataclasses.replace(fp, gamma=0)
        metrics["heat_ignored"] = scores(spec.task, predict(model, torch.as_tensor(test["x"]))
                                         .numpy(), test)
        model.fp = fp
    metrics["wall_s"] = time.perf_counter() - began
    write_atomically(out, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2) + "\n"))
    return metrics


def read_wm_metrics(path):
    """The metrics file of a run, or a one-line ConfigError naming it."""
    fix = "delete it and the run is trained again"
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{path}: not a metrics file (not valid JSON); {fix}") from None
    if not isinstance(metrics, dict) or not {"task", "model", "scores", "run_hash"} <= set(metrics):
        raise ConfigError(f"{path}: not a metrics file of a working-memory run; {fix}")
    return metrics
