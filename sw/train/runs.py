"""One training run end to end: data, model, training (resumable), evaluation, metrics file.

The protocol is the same for every model (docs/results-method.md, "Protocol"): the
validation split is carved from the training data; Adam with a cosine schedule over at
most ``max_epochs``, gradient clipping, early stopping once ``patience`` epochs bring no
lower validation loss; the test metric is that of the epoch with the lowest validation
loss, whose weights the model keeps. IPNet's runs also record its junction physics and its
accuracy with the heat ignored; its whole network in integers is :mod:`sw.train.qat`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import ConfigError, config_hash
from ipnet_mtj.sw.data.datasets import TASKS, load_split
from ipnet_mtj.sw.jobs import content_hash
from ipnet_mtj.sw.nets import MATCHED, build_model, count_parameters, matched_width

from .experiment import load_experiment, variant_design
from .physics import heat_ignored, junction_physics
from .trainer import Diverged, evaluate, stale_checkpoint, task_loss, train_run

__all__ = ["run_paths", "build_for", "trained_model", "cached_result", "variant_options", "run_design", "execute", "data_dir", "run_hash", "read_metrics", "run_lr",
           "split_validation", "constant_loss", "STALLED"]

#: keys of a metrics file that ``ipnet eval`` and ``ipnet results`` read
METRICS_KEYS = ("task", "model", "seed", "metric_name", "metric", "parameters", "finished")


def data_dir(runs_dir):
    return Path(runs_dir) / "data"


def run_paths(runs_dir, spec):
    """Checkpoint and metrics file of a run (its name holds a dot: lr0.01)."""
    base = Path(runs_dir)
    return base / f"{spec.name}.pt", base / f"{spec.name}.json"


def run_lr(exp, spec):
    """The learning rate of ``spec``: its own, or the experiment's first."""
    return float(spec.lr if spec.lr is not None else exp.train.lrs[0])


def run_hash(exp, design, spec):
    """SHA-256 (16 hex digits) of what a run's checkpoint depends on: the run and its learning
    rate, the data, the protocol (epochs, patience, validation split, batch, feature width),
    and for IPNet the design of its thermal neurons and its initialisation."""
    train = asdict(exp.train) | {"seeds": None, "lrs": None}
    # which seeds run, and whether a failed attempt is followed by restarts, do not change
    # the first attempt (:func:`execute`): its checkpoint is shared
    del train["ipnet_seeds"], train["restarts"]
    spec_d = asdict(spec) | {"lr": run_lr(exp, spec)}
    if spec.variant:                    # the variant's options, not only its name
        spec_d["variant"] = [spec.variant, variant_options(exp, spec)]
        own = variant_design(exp, spec.variant)
        if own is not None:             # its own card: that card's content, not its name
            design = own[0]
    else:
        del spec_d["variant"]           # runs before variants existed keep their hash
    d = {"spec": spec_d, "data": exp.data_config().describe(),
         "train": train, "protocol": 2,
         "design": config_hash(design) if spec.model == "ipnet" else None,
         "ipnet": _present(asdict(exp.ipnet)) if spec.model == "ipnet" else None}
    return content_hash(d, length=16)


def _present(options):
    """``options`` without the optional keys left absent (None): adding an optional key to the
    schema keeps the hash, and the checkpoints, of every run that does not set it."""
    return {k: v for k, v in options.items() if v is not None}


def split_validation(exp, train):
    """(train, validation): the last ``train.validation`` samples of the training split are
    held out. The split is the same for every model and seed."""
    x, y = train
    v = exp.train.validation
    if v >= len(x):      # a recorded task's split may hold fewer samples than data.train
        raise ConfigError(f"{exp.source}: train.validation: must be fewer than the training "
                          f"split's {len(x)} samples (the rest trains), got {v}")
    return (x[:-v], y[:-v]), (x[-v:], y[-v:])


def constant_loss(task, train, validation, size):
    """The validation loss of the best answer that ignores the input (a run whose loss stays
    near it has stalled): the training labels' frequencies (class), their mean (point,
    sequence)."""
    if task.kind not in ("class", "point", "sequence"):
        raise ValueError(f"no constant answer defined for {task.kind} tasks")
    y_train, y_val = (torch.as_tensor(a) for a in (train[1], validation[1]))
    if task.kind == "class":
        counts = torch.bincount(y_train, minlength=task.outputs).double() + 1.0
        logits = torch.log(counts / counts.sum()).expand(len(y_val), -1)
    else:
        mean = y_train.double().mean(0)
        if task.kind == "point":
            mean = mean / size
        logits = mean.expand(y_val.shape).clone() if task.kind == "sequence" else \
            mean.expand(len(y_val), *mean.shape)
    return task_loss(task.kind, logits.to(torch.float32), y_val, size).item()


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


def variant_options(exp, spec):
    """IPNet's options of the ablation variant ``spec.variant`` ({} for the default)."""
    if not spec.variant:
        return {}
    variants = exp.ablation.variants or {}
    if spec.variant not in variants:
        raise ConfigError(f"{exp.source}: ablation.variants: no variant {spec.variant!r}")
    return dict(variants[spec.variant])


def run_design(exp, design, fp, spec):
    """(design, fp) of a run: the experiment's, or its ablation variant's own card."""
    own = variant_design(exp, spec.variant) if spec.variant else None
    return own if own is not None else (design, fp)


def ipnet_options(exp, spec):
    """IPNet's options of ``spec``: the experiment's ``ipnet.surrogate_width`` where set, then
    its ablation variant's options (which win)."""
    base = {} if exp.ipnet.surrogate_width is None else {
        "surrogate_width": exp.ipnet.surrogate_width}
    return base | variant_options(exp, spec)


def matched_features(exp, fp, task_name, cell):
    """The feature width of a ``cell`` baseline at the parameter count of the experiment's
    IPNet (thermal layer at the frontier) on ``task_name`` (``sw.nets.matched_width``)."""
    task = TASKS[task_name]
    budget = count_parameters(build_model("ipnet", task, fp=fp, features=exp.train.features))
    width = matched_width(task, cell, budget, exp.train.features)
    if width is None:
        raise ConfigError(f"{exp.source}: models: {cell}_matched: even a width of 1 has more "
                          f"parameters than IPNet's {budget} on {task_name}")
    return width


def build_for(exp, fp, spec, seed=None):
    """The model of ``spec``, its weights drawn after ``torch.manual_seed(seed)`` (default
    ``spec.seed``; a restart draws from another); ``fp`` is the experiment's design (a variant
    with its own design uses that one). ``lstm_matched`` and ``gru_matched`` are their cell
    at IPNet's parameter count (:func:`matched_features`)."""
    name, features = spec.model, exp.train.features
    if name in MATCHED:
        name, features = MATCHED[name], matched_features(exp, fp, spec.task, MATCHED[name])
    torch.manual_seed(spec.seed if seed is None else seed)
    options = ipnet_options(exp, spec) if name == "ipnet" else {}
    if "design" in options:
        fp = variant_design(exp, spec.variant)[1]
        del options["design"]
    return build_model(name, TASKS[spec.task], fp=fp, depth=spec.depth, features=features,
                       **options)


def kept_checkpoint(runs_dir, spec):
    """The checkpoint of a finished run's kept attempt: the run's own, or with restarts
    (``train.restarts``) that of the attempt its metrics name (``init_seed``)."""
    ckpt, out = run_paths(runs_dir, spec)
    k = 0
    if Path(out).exists():
        metrics = json.loads(Path(out).read_text(encoding="utf-8"))
        k = (metrics.get("init_seed", spec.seed) - spec.seed) // 1000
    return ckpt if k == 0 else attempt_path(ckpt, k)


def trained_model(exp, fp, spec, runs_dir):
    """The model of a finished run with the weights it kept (its best validation epoch, of
    the attempt it kept: :func:`kept_checkpoint`)."""
    model = build_for(exp, fp, spec)
    state = torch.load(kept_checkpoint(runs_dir, spec), weights_only=True)
    model.load_state_dict(state["best"] if state.get("best") is not None else state["model"])
    return model


def cached_result(path, key):
    """The JSON result at ``path`` if it was made under ``key`` (its ``key`` entry), else None:
    the per-run caches beside a run (spread sweeps, integer networks)."""
    if not Path(path).exists():
        return None
    try:
        cached = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return cached if isinstance(cached, dict) and cached.get("key") == key else None


#: a run has stalled when its best validation loss is above this fraction of the loss of
#: the best constant answer (:func:`constant_loss`)
STALLED = 0.95


def execute(exp_path, spec, runs_dir, epochs=None, resume=True, progress=None,
            record_divergence=False, retrain_stale=False):
    """Train (or resume) ``spec`` under the experiment's protocol and write its metrics JSON;
    return the metrics. A run that diverges raises :class:`~sw.train.trainer.Diverged`, or,
    with ``record_divergence`` (the grid: that rate loses the choice), is recorded as such
    (``diverged``: the message). A checkpoint of another experiment or protocol is refused,
    or with ``retrain_stale`` (the grid, a cache) trained again from the start.

    With ``train.restarts`` = R > 0, an attempt that stalls or diverges is followed by another
    from a new initialisation (:func:`restart_seed`; its checkpoint :func:`attempt_path`), at
    most R more; of the attempts that did not diverge the one with the lowest validation loss
    is kept (:func:`kept_checkpoint` finds its checkpoint; each attempt keeps its own), so the
    choice never sees the test split. The
    metrics then list every ``attempts`` entry (seed, validation loss, stalled; or diverged),
    ``restarts`` (attempts after the first) and ``init_seed`` (the kept one's). The run
    diverges only when every attempt did."""
    torch.set_num_threads(1)
    exp, design, fp = load_experiment(exp_path)
    design, fp = run_design(exp, design, fp, spec)
    dc = exp.data_config()
    task = TASKS[spec.task]
    train, val = split_validation(exp, load_split(spec.task, dc, "train", data_dir(runs_dir)))
    test = load_split(spec.task, dc, "test", data_dir(runs_dir))
    ckpt, out = run_paths(runs_dir, spec)
    began = time.perf_counter()
    tag = run_hash(exp, design, spec)
    if epochs is not None and epochs != exp.train.max_epochs:   # another schedule: another run
        tag += f"-e{epochs}"
    lr = run_lr(exp, spec)
    spent = _time_spent(out, tag) if resume else 0.0
    base = {"task": spec.task, "model": spec.model, "seed": spec.seed, "depth": spec.depth,
            "lr": lr, "run_hash": tag, "metric_name": task.metric}
    if spec.variant:
        base["variant"] = spec.variant
    baseline = constant_loss(task, train, val, dc.size)
    attempts, chosen, failure = [], None, None
    for k in range(exp.train.restarts + 1):
        seed = restart_seed(spec.seed, k)
        path = ckpt if k == 0 else attempt_path(ckpt, k)
        model = build_for(exp, fp, spec, seed)
        if spec.model == "ipnet":
            model.calibrate_current(train[0][:exp.train.batch], exp.ipnet.current_spread,
                                    exp.ipnet.firing_rate)
        fresh = not resume or (retrain_stale and path.exists() and stale_checkpoint(path, tag))
        try:
            result = train_run(model, task, train, test, dc.size, epochs or exp.train.max_epochs,
                               exp.train.batch, lr, seed, path, resume=not fresh,
                               progress=progress, schedule="cosine", tag=tag, name=spec.name,
                               validation=val, patience=exp.train.patience,
                               test_each_epoch=False)
        except Diverged as exc:         # this attempt failed: restart, or the rate loses
            failure = exc
            attempts.append({"seed": seed, "diverged": str(exc)})
            continue
        bad = result["val_loss"] > STALLED * baseline
        attempts.append({"seed": seed, "val_loss": result["val_loss"], "stalled": bad})
        if chosen is None or result["val_loss"] < chosen[2]["val_loss"]:
            chosen = (k, model, result)
        if not bad:
            break
    if chosen is None:
        if not record_divergence:
            raise failure
        metrics = base | {"metric": float("nan"), "history": [], "finished": True,
                          "diverged": str(failure), "wall_s": time.perf_counter() - began,
                          "parameters": count_parameters(model)}
        if exp.train.restarts:
            metrics["attempts"] = attempts
        write_atomically(out, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2) + "\n"))
        return metrics
    k, model, result = chosen
    if spec.model in MATCHED:
        base["features"] = matched_features(exp, fp, spec.task, MATCHED[spec.model])
    metrics = base | {"parameters": count_parameters(model),
                      "metric": result["metric"], "history": result["history"],
                      "finished": result["finished"], "best_epoch": result["best_epoch"],
                      "stopped_early": result["stopped_early"], "val_loss": result["val_loss"],
                      "val_metric": result["val_metric"], "constant_val_loss": baseline,
                      "stalled": result["val_loss"] > STALLED * baseline}
    if exp.train.restarts:
        metrics.update(attempts=attempts, restarts=len(attempts) - 1, init_seed=attempts[k]["seed"])
    if spec.model == "ipnet":
        metrics["metric"] = evaluate(model, task, *test, dc.size)    # the best epoch's weights
        metrics["thermal_neurons"] = model.thermal_neurons(dc.size)
        # with the energy's mean (I/I_c0)^2 of the current the datapath saturates at the limit
        metrics["physics"] = junction_physics(model, design, fp, test[0])
        model.fp = heat_ignored(fp)
        metrics["heat_ignored_metric"] = evaluate(model, task, *test, dc.size)
        model.fp = fp
    metrics["wall_s"] = spent + time.perf_counter() - began
    write_atomically(out, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2) + "\n"))
    return metrics


def needs_restart(exp, metrics):
    """Whether a finished run's metrics lack restarts the experiment asks for: it stalled or
    diverged in every attempt it made, and made fewer than ``1 + train.restarts``."""
    failed = "diverged" in metrics or metrics.get("stalled")
    return bool(failed) and len(metrics.get("attempts", [None])) < 1 + exp.train.restarts


def restart_seed(seed, k):
    """The initialisation seed of restart ``k`` of a run of ``seed`` (0: the run's own)."""
    return seed + 1000 * k


def attempt_path(ckpt, k):
    """The checkpoint of restart ``k`` (k >= 1) beside the run's own."""
    return ckpt.with_name(f"{ckpt.stem}.r{k}{ckpt.suffix}")


def _time_spent(out, tag):
    """Seconds a finished run of ``tag`` already recorded in ``out`` (0 without one): a run
    evaluated again from its finished checkpoint keeps its training time in ``wall_s``."""
    if not out.exists():
        return 0.0
    prior = read_metrics(out)
    return float(prior.get("wall_s", 0.0)) if (prior.get("run_hash") == tag
                                               and prior.get("finished")) else 0.0
