"""``ipnet wm CONFIG``: every working-memory run, then the report.

    ipnet wm configs/wm.yaml [--runs build/wm] [--out docs] [--workers N] [--cluster ADDRESS]

Resumable: finished runs are reused, unfinished ones continue from their checkpoints.
"""

from __future__ import annotations

import argparse

from ipnet_mtj.sw.cli import check_output_dir, run_cli
from ipnet_mtj.sw.jobs.runner import add_runner_args, runner_from_args


def main(argv=None):
    p = argparse.ArgumentParser(prog="ipnet wm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", help="working-memory YAML, e.g. configs/wm.yaml")
    p.add_argument("--runs", default="build/wm", help="runs, checkpoints and data cache")
    p.add_argument("--out", default="docs", help="folder of working-memory.md and its figures")
    add_runner_args(p)
    args = p.parse_args(argv)
    check_output_dir(args.out, "--out")
    check_output_dir(args.runs, "--runs")
    from .experiment import load_wm_experiment
    load_wm_experiment(args.config)            # a bad config fails before any work
    from .grid import run_wm_grid
    from .report import write_wm_report
    with runner_from_args(args) as runner:
        done = run_wm_grid(args.config, args.runs, runner)
    for path in write_wm_report(args.config, done, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
