"""``ipnet bench-rtl``: RTL verification speed, the cocotb bench beside the native one, in one run.

Both benches run the trained network's Verilog on Verilator with the same harness, the
same stimulus (the first ``--sequences`` test sequences, with the handshake stress) and
compare every value of every layer with the golden model. Each runs on one core (one
process, no shards) and is timed from its first sequence to its report, the Verilator
build excluded (reported apart): frames per second per core, and the ratio native over
cocotb. Then the native bench runs the whole test set in shards on every worker of the job
runner (``--workers``, default the machine's cores), timed from the start of the build to
its merged report. Results: a table, and ``<out>/bench_rtl.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli, write_atomically
from ipnet_mtj.sw.jobs.runner import add_runner_args, runner_from_args

__all__ = ["main", "bench_rows"]


def bench_rows(cocotb, native, whole, whole_wall_s, workers):
    """Rows ``(name, value, unit, ratio)`` from the three reports."""
    def rate(r):
        return r["frames"] / r["wall_s"]
    return [
        (f"cocotb bench, 1 core ({cocotb['sequences']} sequences, "
         f"{cocotb['values_compared']} values)", rate(cocotb), "frames/s", 1.0),
        (f"native bench, 1 core (same sequences, {native['values_compared']} values)",
         rate(native), "frames/s", rate(native) / rate(cocotb)),
        ("native bench, Verilator build", native["build_s"], "s", None),
        (f"native, all {whole['sequences']} test sequences on {workers} workers, build included "
         f"({whole['values_compared']} values, {whole['mismatches']} mismatches)",
         whole_wall_s, "s", None),
        ("  the same, per core", whole["frames"] / whole_wall_s / workers, "frames/s", None),
    ]


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet bench-rtl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", nargs="?", default="configs/network.yaml",
                        help="network YAML (default configs/network.yaml)")
    parser.add_argument("--sequences", type=int, default=8,
                        help="sequences each one-core bench runs (default 8)")
    parser.add_argument("--runs", default="build/networks", help="data cache")
    parser.add_argument("--out", default="build")
    add_runner_args(parser, "workers of the whole-test-set run (default: the machine's cores)")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    if args.sequences < 1:
        raise UsageError(f"--sequences: must be >= 1, got {args.sequences}")
    runner = runner_from_args(args)
    from ipnet_mtj.gen.network import generate_network, load_network_design

    from .native import run_network_native
    from .network import load_test_sequences
    from .runner import run_network_bench, simulator_available
    ok, why = simulator_available("verilator")
    if not ok:
        raise UsageError(f"verilator: {why}")
    design = load_network_design(args.network)
    out = generate_network(design, args.out)
    x, y = load_test_sequences(design, None, args.runs)
    work = out / "bench_rtl"
    work.mkdir(parents=True, exist_ok=True)
    few, whole = work / "few.npz", work / "whole.npz"
    np.savez(few, x=x[:args.sequences], y=y[:args.sequences])
    np.savez(whole, x=x, y=y)
    print(f"cocotb bench, {args.sequences} sequences on 1 core ...", flush=True)
    cocotb = run_network_bench("verilator", out, args.network, few, work / "cocotb")
    print(f"native bench, {args.sequences} sequences on 1 core ...", flush=True)
    native = run_network_native(out, args.network, few, work / "native1")
    for key in ("values_compared", "cycles", "predictions"):
        if cocotb[key] != native[key]:
            raise UsageError(f"the benches disagree on {key}: cocotb {cocotb[key]}, native "
                             f"{native[key]}")
    print(f"native bench, all {len(x)} test sequences on {runner.describe()} ...", flush=True)
    began = time.perf_counter()
    with runner:
        all_report = run_network_native(out, args.network, whole, work / "native_all",
                                        show_progress=True, runner=runner)
    wall = time.perf_counter() - began
    rows = bench_rows(cocotb, native, all_report, wall, runner.workers)
    print()
    print(tabulate([(n, v, u, f"{r:.3g}x" if r is not None else None) for n, v, u, r in rows],
                   headers=("benchmark", "value", "unit", "over cocotb"), tablefmt="plain",
                   floatfmt=("", ".4g", "", ""), missingval="-",
                   colalign=("left", "right", "left", "right")))
    path = Path(args.out) / "bench_rtl.json"
    text = json.dumps([dict(zip(("name", "value", "unit", "ratio"), r)) for r in rows],
                      indent=2) + "\n"
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
