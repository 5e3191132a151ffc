"""All runs of a working-memory experiment on the flow's job runner (:mod:`ipnet_mtj.sw.jobs`:
local worker processes, or a Ray cluster).

Finished runs are read back from their metrics files (when their hash matches the
experiment), unfinished ones resume from their checkpoints: an interrupted
``make wm`` continues where it stopped.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .data import load_wm_split, wm_tasks
from .experiment import load_wm_experiment
from .runs import (chosen_lrs, execute_wm, read_wm_metrics, sweep_grid, validation_score,
                   wm_grid, wm_paths, wm_run_hash)

__all__ = ["run_wm_grid"]


def _data_job(exp_path, task, split, runs_dir):
    exp, _ = load_wm_experiment(exp_path)
    load_wm_split(exp, task, split, Path(runs_dir) / "data")
    return task, split


def _finished(exp, design, runs_dir, spec):
    """The metrics of ``spec`` if a finished run of this experiment left them, else None."""
    path = wm_paths(runs_dir, spec)[1]
    if path.exists():
        metrics = read_wm_metrics(path)
        if metrics.get("finished") and metrics["run_hash"] == wm_run_hash(exp, design, spec):
            return metrics
    return None


def run_wm_grid(exp_path, runs_dir, runner, log=None):
    """Generate the data and run every missing run; return {spec: metrics}.

    Two phases share one entered ``runner`` (:class:`ipnet_mtj.sw.jobs.JobRunner`): every
    model, task, learning rate and seed; and IPNet's decay sweep, each task's runs submitted as
    soon as the card's IPNet has all its runs on that task (the sweep uses the learning rate chosen for it). Progress: tqdm bars on stderr;
    ``log`` (default ``tqdm.write``) gets a summary line and one line per finished run.
    """
    from tqdm import tqdm
    if log is None:
        def log(line):
            tqdm.write(line)
            sys.stdout.flush()          # one line per run, also when stdout is a file
    exp_path, runs_dir = str(Path(exp_path).resolve()), str(Path(runs_dir).resolve())
    exp, design = load_wm_experiment(exp_path)
    first = wm_grid(exp)
    done = {}
    for spec in first:
        metrics = _finished(exp, design, runs_dir, spec)
        if metrics is not None:
            done[spec] = metrics
    todo = [s for s in first if s not in done]
    sweep_tasks = [t for t in wm_tasks(exp) if t != "interference"] \
        if "ipnet" in exp.models and exp.decay.tau_th_ns else []
    total = len(first) + len(sweep_tasks) * len(exp.decay.tau_th_ns) * len(exp.train.seeds)
    log(f"{total} runs: {len(done)} of the {len(first)} first-phase runs done, "
        f"{runner.describe()}")
    began = time.perf_counter()
    runner.map(_data_job, [(exp_path, t, split, runs_dir) for t in wm_tasks(exp)
                           for split in ("train", "val", "test")], progress="data")
    # IPNet runs are the slowest and the sweep waits for them: they go first
    todo.sort(key=lambda s: s.model != "ipnet")
    running = [runner.submit(execute_wm, exp_path, spec, runs_dir, key=spec) for spec in todo]
    pending_sweep = list(sweep_tasks)
    with tqdm(total=total, initial=len(done), desc="runs", unit="run") as bar:
        while True:
            for task in list(pending_sweep):
                if all(s in done for s in first if s.task == task and s.model == "ipnet"):
                    pending_sweep.remove(task)
                    lrs = chosen_lrs(exp, {s: m for s, m in done.items() if s.task == task})
                    for spec in sweep_grid(exp, lrs, tasks=[task]):
                        metrics = _finished(exp, design, runs_dir, spec)
                        if metrics is not None:
                            done[spec] = metrics
                            bar.update()
                        else:
                            running.append(runner.submit(execute_wm, exp_path, spec, runs_dir,
                                                         key=spec))
            if not running:
                break
            finished, running = runner.wait(running)
            for job in finished:
                spec = job.key
                metrics = done[spec] = job.result()
                log(f"  {spec.name}: validation score {validation_score(metrics):.4f} "
                    f"({metrics['wall_s']:.0f} s; total {time.perf_counter() - began:.0f} s)")
                bar.set_postfix_str(spec.name, refresh=False)
                bar.update()
    return done
