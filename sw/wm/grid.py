"""All runs of a working-memory experiment through a pool of worker processes.

Finished runs are read back from their metrics files (when their hash matches the
experiment), unfinished ones resume from their checkpoints: an interrupted
``make wm`` continues where it stopped.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .data import load_wm_split, wm_tasks
from .experiment import load_wm_experiment
from .runs import execute_wm, read_wm_metrics, wm_grid, wm_paths, wm_run_hash

__all__ = ["run_wm_grid"]


def _data_job(exp_path, task, split, runs_dir):
    exp, _ = load_wm_experiment(exp_path)
    load_wm_split(exp, task, split, Path(runs_dir) / "data")
    return task, split


def run_wm_grid(exp_path, runs_dir, workers=2, log=None):
    """Generate the data and run every missing run; return {spec: metrics}.

    Progress: tqdm bars on stderr (data splits, then runs); ``log`` (default ``tqdm.write``)
    gets a summary line and one line per finished run.
    """
    from tqdm import tqdm
    if log is None:
        def log(line):
            tqdm.write(line)
            sys.stdout.flush()          # one line per run, also when stdout is a file
    exp, design = load_wm_experiment(exp_path)
    specs = wm_grid(exp)
    done, todo = {}, []
    for spec in specs:
        path = wm_paths(runs_dir, spec)[1]
        if path.exists():
            metrics = read_wm_metrics(path)
            if metrics.get("finished") and metrics["run_hash"] == wm_run_hash(exp, design, spec):
                done[spec] = metrics
                continue
        todo.append(spec)
    log(f"{len(specs)} runs: {len(done)} done, {len(todo)} to run, {workers} workers")
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        tasks = [t for t in wm_tasks(exp) if any(s.task == t for s in todo)]
        jobs = [pool.submit(_data_job, exp_path, t, split, runs_dir)
                for t in tasks for split in ("train", "val", "test")]
        if jobs:
            with tqdm(total=len(jobs), desc="data", unit="split") as bar:
                for job in as_completed(jobs):
                    bar.set_postfix_str(" ".join(job.result()), refresh=False)
                    bar.update()
        # IPNet runs are the slowest: start them first, so that the pool ends together
        todo.sort(key=lambda s: s.model != "ipnet")
        jobs = {pool.submit(execute_wm, exp_path, spec, runs_dir): spec for spec in todo}
        if jobs:
            with tqdm(total=len(jobs), desc="runs", unit="run") as bar:
                for job in as_completed(jobs):
                    spec = jobs[job]
                    metrics = done[spec] = job.result()
                    val = metrics["history"][-1]["test"] if metrics["history"] else float("nan")
                    log(f"  {spec.name}: validation accuracy {val:.4f} ({metrics['wall_s']:.0f} s; "
                        f"total {time.perf_counter() - began:.0f} s)")
                    bar.set_postfix_str(spec.name, refresh=False)
                    bar.update()
    return {s: done[s] for s in specs}
