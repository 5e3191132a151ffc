"""The runs of an experiment and their schedule: the grid of (task, model, depth, variant,
learning rate, seed) runs, the learning rate each cell chooses on validation, and the jobs that
train, sweep and quantise them on the flow's job runner (:mod:`ipnet_mtj.sw.jobs`).

Finished runs are read back from their metrics files when their run hash matches the
experiment, and unfinished ones resume from their checkpoints, so an interrupted ``make
results`` continues where it stopped, on whichever engine it is started again.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ipnet_mtj.sw.data.datasets import load_split

from .experiment import load_experiment
from .runs import data_dir, execute, needs_restart, read_metrics, run_hash, run_paths
from .trainer import RunSpec

__all__ = ["grid", "chosen_lrs", "chosen_runs", "run_grid", "spread_specs", "run_spread",
           "integer_specs", "run_integer", "run_line"]


def grid(exp):
    """All runs of an experiment: models x tasks x learning rates x seeds (IPNet's own seeds
    where ``train.ipnet_seeds`` is set), steering-only models, ablation depths and variants
    (each a cell with the whole learning-rate grid)."""
    cells = []
    for task in exp.tasks:
        models = list(exp.models) + (list(exp.steering_only) if task == "steering" else [])
        cells += [(task, m, 1, "") for m in models]
    cells += [(exp.ablation.task, "ipnet", d, "") for d in exp.ablation.depths
              if d != 1 or (exp.ablation.task, "ipnet", 1, "") not in cells]
    cells += [(exp.ablation.task, "ipnet", 1, v) for v in exp.ablation.variants or {}]
    return [RunSpec(t, m, s, d, float(lr), variant=v) for t, m, d, v in cells
            for lr in exp.train.lrs for s in exp.train.seeds_of(m)]


def chosen_lrs(exp, done):
    """{(task, model, depth): learning rate}: per cell, the rate whose seeds reach the lowest
    mean validation loss; a rate with a diverged seed loses (unless every rate has one); the
    first in the config's order wins a tie. Test figures play no part."""
    by_cell = {}
    for spec, m in done.items():
        by_cell.setdefault(spec.cell, {}).setdefault(spec.lr, []).append(m)

    def score(runs):        # fewest diverged seeds first, then the mean validation loss
        ok = [m["val_loss"] for m in runs if "diverged" not in m]
        return (len(runs) - len(ok), float(np.mean(ok)) if ok else math.inf)
    order = [float(lr) for lr in exp.train.lrs]
    return {cell: min(by_lr, key=lambda lr: (*score(by_lr[lr]), order.index(lr)))
            for cell, by_lr in by_cell.items()}


def chosen_runs(exp, done):
    """{spec: metrics} of the runs at each cell's chosen learning rate."""
    lrs = chosen_lrs(exp, done)
    return {s: m for s, m in done.items() if s.lr == lrs[s.cell]}


def _data_job(exp_path, task, split, runs_dir):
    exp, _, _ = load_experiment(exp_path)
    load_split(task, exp.data_config(), split, data_dir(runs_dir))
    return task, split


def _run_job(exp_path, spec, runs_dir):
    return execute(exp_path, spec, runs_dir, record_divergence=True, retrain_stale=True)


def run_grid(exp_path, runs_dir, runner, log=None):
    """Generate data and run every missing run on ``runner``; return {spec: metrics}.

    Progress is two tqdm bars on stderr (data splits, then runs); ``log`` (default
    ``tqdm.write``, stdout, above the bar) gets the summary line and one line per finished run.

    Parameters
    ----------
    exp_path, runs_dir : path
        The experiment YAML and the runs folder (resolved to absolute paths for the jobs).
    runner : ipnet_mtj.sw.jobs.JobRunner
        An entered runner (local processes or Ray).
    """
    from tqdm import tqdm
    log = log or tqdm.write
    exp_path, runs_dir = str(Path(exp_path).resolve()), str(Path(runs_dir).resolve())
    exp, design, _ = load_experiment(exp_path)
    specs = grid(exp)
    done, todo = _cached(exp, design, specs, runs_dir)
    variants = sum(1 for s in specs if s.variant)
    log(f"{len(specs)} runs ({variants} of them ablation variants): {len(done)} done, "
        f"{len(todo)} to run, {runner.describe()}")
    tasks = sorted({s.task for s in todo})
    runner.map(_data_job, [(exp_path, t, split, runs_dir) for t in tasks
                           for split in ("train", "test")], progress="data")
    began = time.perf_counter()

    def finished(item, metrics):
        spec = item[1]
        done[spec] = metrics
        log(f"  {spec.name}: {run_line(metrics)} ({metrics['wall_s']:.0f} s; "
            f"total {time.perf_counter() - began:.0f} s)")
    runner.map(_run_job, [(exp_path, spec, runs_dir) for spec in todo], progress="runs",
               on_result=finished)
    return done


def _cached(exp, design, specs, runs_dir):
    """({spec: metrics} of the finished runs of this experiment, [specs still to run])."""
    done, todo = {}, []
    for spec in specs:
        path = run_paths(runs_dir, spec)[1]
        if path.exists():
            metrics = read_metrics(path)
            # another experiment's metrics are not reused: the run resumes (or refuses to);
            # a failed run that lacks the restarts this experiment asks for makes them
            if (metrics["finished"] and metrics.get("run_hash") == run_hash(exp, design, spec)
                    and not _lacks_limited_current(metrics) and not needs_restart(exp, metrics)):
                done[spec] = metrics
                continue
        todo.append(spec)
    return done, todo


def _lacks_limited_current(metrics):
    """An IPNet run recorded before its physics held the limited current's mean square (the
    energy's). It goes back to the pool: its checkpoint is finished, so no epoch is trained
    again and only the evaluation of the kept weights runs (added to its ``wall_s``)."""
    return (metrics.get("model") == "ipnet" and "diverged" not in metrics
            and "current_mean_square_ic0" not in metrics.get("physics", {}))


def _spread_job(exp_path, spec, runs_dir):
    from .spread import evaluate_spread
    return evaluate_spread(exp_path, spec, runs_dir)


def spread_specs(exp, done):
    """The runs the device-spread sweep evaluates: every IPNet at its chosen learning rate
    (every task; the ablation's depths and variants), diverged seeds left out."""
    return sorted((s for s, m in chosen_runs(exp, done).items()
                   if s.model == "ipnet" and "diverged" not in m),
                  key=lambda s: (s.task, s.depth, s.variant, s.seed))


def _per_run(job, exp_path, runs_dir, specs, runner, desc):
    """{spec: job(exp_path, spec, runs_dir)} over ``specs`` on ``runner``, with a progress
    bar."""
    exp_path, runs_dir = str(Path(exp_path).resolve()), str(Path(runs_dir).resolve())
    out = runner.map(job, [(exp_path, s, runs_dir) for s in specs], progress=desc)
    return dict(zip(specs, out))


def run_spread(exp_path, runs_dir, done, runner):
    """Each trained IPNet on simulated chips with device spread (:mod:`sw.train.spread`);
    {spec: sweep}, evaluated where not cached."""
    exp, _, _ = load_experiment(exp_path)
    return _per_run(_spread_job, exp_path, runs_dir, spread_specs(exp, done), runner,
                    "device spread")


def _integer_job(exp_path, spec, runs_dir):
    from .qat import integer_run
    return integer_run(exp_path, spec, runs_dir)


def integer_specs(exp, done):
    """The runs whose whole network goes into integers: the main table's IPNet (thermal layer at
    the frontier, default options) on every task, and the ablation variants of
    ``integer.variants``, at their chosen learning rate, every seed that did not diverge."""
    if exp.integer is None:
        return []
    extra = set(exp.integer.variants)
    return sorted((s for s, m in chosen_runs(exp, done).items()
                   if s.model == "ipnet" and s.depth == 1 and "diverged" not in m
                   and ((not s.variant and s.task in exp.tasks) or s.variant in extra)),
                  key=lambda s: (s.task, s.variant or "", s.seed))


def run_integer(exp_path, runs_dir, done, runner):
    """Each main-table IPNet as one integer network, trained quantisation-aware and measured by
    the golden model (:mod:`sw.train.qat`); {spec: result}, trained where not cached."""
    exp, _, _ = load_experiment(exp_path)
    return _per_run(_integer_job, exp_path, runs_dir, integer_specs(exp, done), runner,
                    "integer networks (QAT)")


def run_line(m):
    """One line about a finished run for the log."""
    if "diverged" in m:
        return f"diverged ({m['diverged']})"
    restarted = f", {m['restarts']} restart(s), kept seed {m['init_seed']}" if m.get("restarts") else ""
    extra = ""
    if "heat_ignored_metric" in m:
        extra += f", heat ignored {m['heat_ignored_metric']:.4g}"
    stalled = ", STALLED" if m.get("stalled") else ""
    return (f"{m['metric_name']} {m['metric']:.4g}{extra} at epoch {m['best_epoch'] + 1} of "
            f"{len(m['history'])}{stalled}{restarted}")
