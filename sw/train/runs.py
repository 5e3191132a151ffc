"""One training run end to end: data, model, training (resumable), evaluation, metrics file."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import ConfigError, config_hash
from ipnet_mtj.sw.data.datasets import TASKS, load_split
from ipnet_mtj.sw.nets import build_model, count_parameters

from .experiment import load_experiment
from .quantise import quantise_ipnet
from .trainer import evaluate, train_run

__all__ = ["run_paths", "build_for", "execute", "data_dir", "run_hash", "read_metrics"]

#: keys of a metrics file that ``ipnet eval`` and ``ipnet results`` read
METRICS_KEYS = ("task", "model", "seed", "metric_name", "metric", "parameters", "finished")


def data_dir(runs_dir):
    return Path(runs_dir) / "data"


def run_paths(runs_dir, spec):
    base = Path(runs_dir) / spec.name
    return base.with_suffix(".pt"), base.with_suffix(".json")


def run_hash(exp, design, spec):
    """SHA-256 (16 hex digits) of what a run's checkpoint depends on: the run, the data, the
    batch, learning rate and feature width, and for IPNet the design of its thermal neurons.
    Not the epochs: the learning rate is constant, so more epochs continue the same run."""
    d = {"spec": asdict(spec), "data": asdict(exp.data_config()), "batch": exp.train.batch,
         "lr": exp.train.lr, "features": exp.train.features,
         "design": config_hash(design) if spec.model == "ipnet" else None}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def read_metrics(path, keys=METRICS_KEYS, made_by="ipnet train"):
    """The metrics file of a run, or a one-line ConfigError naming it (truncated, foreign).

    ``keys`` must all be present; ``made_by`` names what writes such files, for the message.
    """
    fix = "delete it and train the run again"
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError:              # not UTF-8, or not JSON
        raise ConfigError(f"{path}: not a metrics file (not valid JSON); {fix}") from None
    missing = [k for k in keys if k not in metrics] if isinstance(metrics, dict) else [keys[0]]
    if missing:
        raise ConfigError(f"{path}: not a metrics file of {made_by} (no {missing[0]!r}); {fix}")
    return metrics


def build_for(exp, fp, spec):
    torch.manual_seed(spec.seed)
    return build_model(spec.model, TASKS[spec.task], fp=fp, depth=spec.depth,
                       features=exp.train.features)


def execute(exp_path, spec, runs_dir, epochs=None, resume=True, progress=None, quantised=True):
    """Train (or resume) ``spec`` and write its metrics JSON; return the metrics."""
    torch.set_num_threads(1)
    exp, design, fp = load_experiment(exp_path)
    dc = exp.data_config()
    task = TASKS[spec.task]
    train = load_split(spec.task, dc, "train", data_dir(runs_dir))
    test = load_split(spec.task, dc, "test", data_dir(runs_dir))
    model = build_for(exp, fp, spec)
    ckpt, out = run_paths(runs_dir, spec)
    began = time.perf_counter()
    tag = run_hash(exp, design, spec)
    result = train_run(model, task, train, test, dc.size, epochs or exp.train.epochs, exp.train.batch,
                       exp.train.lr, spec.seed, ckpt, resume=resume, progress=progress, tag=tag,
                       name=spec.name)
    metrics = {"task": spec.task, "model": spec.model, "seed": spec.seed, "depth": spec.depth,
               "run_hash": tag,
               "metric_name": task.metric, "metric": result["metric"], "history": result["history"],
               "parameters": count_parameters(model), "finished": result["finished"]}
    if spec.model == "ipnet":
        model.record = []
        evaluate(model, task, *test, dc.size)
        metrics["mean_square_current"] = float(np.mean(model.record))
        metrics["thermal_neurons"] = model.thermal_neurons()
        model.record = None
        if quantised:
            qnet = quantise_ipnet(model, train[0])
            metrics["integer_metric"] = evaluate(qnet, task, *test, dc.size)
            metrics["weights_clipped"] = qnet.w_clipped
    metrics["wall_s"] = time.perf_counter() - began
    write_atomically(out, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2) + "\n"))
    return metrics
