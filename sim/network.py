"""python -m ipnet_mtj.sim.network NETWORK: the trained network on Icarus and Verilator against its golden model.

Generates the accelerator of the network and its trained weights (gen.network),
takes test sequences of the task's data set, and runs the bench on each simulator:
on Verilator the native bench (sim/native.py: the clock and the sequence loop in C++,
Python comparing afterwards; ``--bench cocotb`` for the cocotb bench), on Icarus the
cocotb bench (sim/tb_network.py). Both compare every value of every layer, every heat,
logit, score and label, every frame, compared with the integer golden model.
It prints, per simulator, sequences, frames, values compared, mismatches, and
the hardware's accuracy beside the golden model's and the float accuracy
recorded at training; the report is also written (atomically) to
build/<name>/sim_report.json. Exit code 1 on any mismatch, 2 on bad input.

Verilator runs ``--sequences`` whole sequences (default: the whole test set); Icarus, about
15 times slower here, runs the first ``--icarus-sequences`` (default 2).
``--waves`` records every signal of the accelerator and its harness, Icarus as
FST and Verilator as VCD, into build/<name>/sim/<simulator>/; a wave file of a
whole run would be gigabytes, so with ``--waves`` the defaults shrink to the
first 2 frames of 1 sequence on each simulator (``--frames``, ``--icarus-frames``);
waves come from the cocotb bench.

The sequences are independent: each simulator's run is built once and its sequences run in
shards on the flow's job runner, one per worker (``--workers``, default the machine's cores;
``--cluster ADDRESS`` for a Ray cluster), and the shards' reports are merged into one (the
same figures as one unsharded run). ``--workers 1`` runs in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import numpy as np

from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.gen.report import write_report
from ipnet_mtj.sw import netref
from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli, write_atomically
from ipnet_mtj.sw.jobs.runner import add_runner_args, runner_from_args

from .runner import SIMULATORS, parse_simulators, run_network_bench, run_simulators, totals_line

__all__ = ["main", "load_test_sequences", "report_table"]


def load_test_sequences(design, count, runs_dir="build/networks", option="--sequences"):
    """The first ``count`` test sequences of the network's task (all when None), as input
    integers, and labels."""
    from ipnet_mtj.sw.data.datasets import load_split
    from ipnet_mtj.sw.train.experiment import load_experiment
    exp, _, _ = load_experiment(design.cfg.experiment_path())
    x, y = load_split(design.cfg.training.task, exp.data_config(), "test",
                      Path(runs_dir) / "data")
    count = len(x) if count is None else count
    if count > len(x):
        raise UsageError(f"{option}: the test set has {len(x)} sequences, asked for {count}")
    return netref.quantise_frames(design.net, x[:count]), np.asarray(y[:count])


def report_table(reports):
    """The per-simulator report as lines of a table."""
    from tabulate import tabulate
    keys = ("simulator", "sequences", "frames", "values_compared", "mismatches",
            "hardware_accuracy", "golden_accuracy", "same_prediction", "cycles_per_frame", "wall_s")
    head = ("simulator", "sequences", "frames", "compared", "mismatches", "hw acc", "golden", "same",
            "cycles/frame", "wall s")
    return tabulate([[r[k] for k in keys] for r in reports], headers=head, tablefmt="plain",
                    numalign="right",
                    floatfmt=("", "", "", "", "", ".4f", ".4f", "", ".0f", ".1f")).splitlines()


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet sim", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--sequences", type=int,
                        help="Verilator: test sequences (default: the whole test set)")
    parser.add_argument("--icarus-sequences", type=int, help="Icarus: test sequences (default 2)")
    parser.add_argument("--frames", type=int, help="Verilator: frames of each (default all)")
    parser.add_argument("--icarus-frames", type=int, help="Icarus: frames of each (default all)")
    parser.add_argument("--simulators", default=",".join(SIMULATORS))
    parser.add_argument("--bench", choices=("native", "cocotb"), default="native",
                        help="Verilator's bench: native (C++ clock, default) or cocotb")
    parser.add_argument("--no-stress", action="store_true",
                        help="no input gaps or output backpressure")
    parser.add_argument("--out", default="build")
    parser.add_argument("--runs", default="build/networks", help="data cache")
    parser.add_argument("--waves", action="store_true",
                        help="record every signal (see above); smaller default run")
    add_runner_args(parser, "shards of sequences run at once (default: the machine's cores)")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    defaults = ({"sequences": 1, "icarus_sequences": 1, "frames": 2, "icarus_frames": 2}
                if args.waves else
                {"sequences": None, "icarus_sequences": 2, "frames": None, "icarus_frames": None})
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    sims = parse_simulators(args.simulators)
    for name in ("sequences", "icarus_sequences", "frames", "icarus_frames"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}")

    design = load_network_design(args.network, args.weights)
    out = generate_network(design, args.out, log=print)
    if args.sequences is None:          # Verilator's default: the whole test set
        args.sequences = len(load_test_sequences(design, None, args.runs)[0])
    wanted = [(args.sequences if "verilator" in sims else 0, "--sequences"),
              (args.icarus_sequences if "icarus" in sims else 0, "--icarus-sequences")]
    count, option = max(wanted)
    x, y = load_test_sequences(design, count, args.runs, option)
    acc = design.provenance.get("accuracy", {})
    print(f"network {design.top}: {len(design.net.layers)} layers, {design.net.macs} MACs/frame, "
          f"{design.net.lanes} lanes; weights {design.weights_path} "
          f"(float {acc.get('float', float('nan')):.4f}, integer {acc.get('integer', float('nan')):.4f}"
          f" on the whole test set)")
    work = out / "sim"
    work.mkdir(parents=True, exist_ok=True)
    runner = runner_from_args(args)
    # sharded unless a single local worker is asked for, or waves (one short run) are
    shard = not args.waves and (runner.engine != "local" or runner.workers > 1)
    with contextlib.ExitStack() as stack:
        if shard:
            stack.enter_context(runner)
        reports, skipped = run_simulators(
            sims, lambda sim: _announce(sim, args, x, runner if shard else None),
            lambda sim: _bench(sim, args, out, _stimulus(sim, args, x, y, work), work,
                               runner if shard else None),
            work)
    print()
    print(f"hardware vs integer golden model ({design.top}, {args.network}):")
    print("\n".join(report_table(reports)))
    bad = sum(r["mismatches"] for r in reports)
    print(totals_line(reports, skipped, f"; float accuracy on the whole test set "
                                        f"{acc.get('float', float('nan')):.4f} (recorded at training)"))
    summary = {"network": design.top, "reports": reports, "float_accuracy_test_set": acc.get("float")}
    write_atomically(out / "sim_report.json",
                     lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2) + "\n"))
    page = write_report(out, design.net)
    print(f"report: {page} (open it: python -m webbrowser {page.resolve().as_uri()})")
    return 1 if bad else 0


def _native(sim, args):
    return sim == "verilator" and args.bench == "native" and not args.waves


def _bench(sim, args, out, stimulus, work, runner):
    """Run ``sim``'s bench: the native one on Verilator (unless --bench cocotb or --waves)."""
    if _native(sim, args):
        from .native import run_network_native
        return run_network_native(out, args.network, stimulus, work, stress=not args.no_stress,
                                  show_progress=True, runner=runner)
    return run_network_bench(sim, out, args.network, stimulus, work, stress=not args.no_stress,
                             show_progress=True, waves=args.waves, runner=runner)


def _sequences(sim, args, x, y):
    """The sequences (and labels) ``sim`` runs: Icarus, about 15 times slower, fewer."""
    if sim == "icarus":
        return x[:args.icarus_sequences, :args.icarus_frames], y[:args.icarus_sequences]
    return x[:args.sequences, :args.frames], y[:args.sequences]


def _stimulus(sim, args, x, y, work):
    """``sim``'s stimulus file (work/<sim>_stimulus.npz)."""
    xs, ys = _sequences(sim, args, x, y)
    path = work / f"{sim}_stimulus.npz"
    np.savez(path, x=xs, y=ys)
    return path


def _announce(sim, args, x, runner):
    xs, _ = _sequences(sim, args, x, x)
    count = min(len(xs), runner.workers) if runner is not None else 0
    shards = "" if runner is None else \
        f" in {count} shard{'s' if count != 1 else ''} ({runner.describe()})"
    bench = "native bench" if _native(sim, args) else "cocotb bench"
    return f"building and running {len(xs)} sequences of {xs.shape[1]} frames ({bench}){shards}"


if __name__ == "__main__":
    run_cli(main)
