"""``ipnet bench-asic``: the ASIC flow's speed, side by side, in one run.

Two figures the ASIC half of the flow is judged by, measured on this machine in one run:

* the wall time of ``make asic`` on the network: ``ipnet asic NETWORK --layout`` in a
  process of its own (synthesis onto the cells, OpenSTA, and placement's stop line: the
  network is above the cell limit), timed from start to exit;
* the speed of gate-level simulation beside RTL simulation: ``ipnet asic LAYER
  --gate-level`` runs the layer's synthesised netlist and then its RTL on the same stimulus
  in the same bench, and its report gives each one's simulated cycles per second of wall
  time; the ratio is RTL over gate level.

The network's own gate-level speed is in its gate report (``make asic-gate``: hours, not a
benchmark). Results: printed as a table and written to ``<out>/bench_asic.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from tabulate import tabulate

from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli, write_atomically

__all__ = ["main", "bench_rows", "bench_table"]


def _ipnet(args, what):
    """Run ``ipnet`` with ``args`` in a process of its own; its wall time in seconds. One line
    when it fails (its last line of output named)."""
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", *args], capture_output=True,
                          text=True)
    wall = time.monotonic() - began
    if proc.returncode:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise UsageError(f"{what} failed (exit {proc.returncode}): {last}")
    return wall


def bench_rows(asic_wall_s, gate_report, network, layer):
    """The benchmark's rows ``(name, value, unit, ratio)`` from the timed ``make asic`` and
    the layer's gate report (``gate_report.json``, read)."""
    rows = [(f"make asic: ipnet asic {network} --layout", asic_wall_s, "s", None)]
    for run in gate_report["simulations"]:
        sim = run["simulator"]
        rows.append((f"gate level, {sim} ({layer}, {run['cycles']} cycles)",
                     run["cycles_per_s"], "cycles/s", None))
        rows.append((f"RTL, {sim}, same stimulus and bench", run["rtl_cycles_per_s"],
                     "cycles/s", run["rtl_cycles_per_s"] / run["cycles_per_s"]))
    return rows


def bench_table(rows):
    """The rows as a plain table, the ratio as ``<r>x``."""
    return tabulate([(n, v, u, f"{r:.3g}x" if r is not None else None) for n, v, u, r in rows],
                    headers=("benchmark", "value", "unit", "RTL / gate"), tablefmt="plain",
                    floatfmt=("", ".4g", "", ""), missingval="-",
                    colalign=("left", "right", "left", "right"))


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet bench-asic", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="configs/network.yaml",
                        help="the network timed as make asic (default configs/network.yaml)")
    parser.add_argument("--layer", default="configs/layer_small.yaml",
                        help="the layer simulated at gate level and as RTL "
                             "(default configs/layer_small.yaml)")
    parser.add_argument("--simulators", default="verilator",
                        help="gate-level simulators (default verilator)")
    parser.add_argument("--neuron-steps", type=int, default=2560,
                        help="the layer's neuron updates (default 2560)")
    parser.add_argument("--out", default="build")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    for option, path in (("--network", args.network), ("--layer", args.layer)):
        if not Path(path).is_file():
            raise UsageError(f"{option}: {path} does not exist")
    if args.neuron_steps < 1:
        raise UsageError(f"--neuron-steps: must be >= 1, got {args.neuron_steps}")
    from ipnet_mtj.gen.design import load_design
    top = load_design(args.layer).top            # a layer design, checked before the runs
    print(f"make asic: ipnet asic {args.network} --layout ...", flush=True)
    wall = _ipnet(["asic", args.network, "--layout", "--out", args.out], "ipnet asic")
    print(f"gate level and RTL: ipnet asic {args.layer} --gate-level ...", flush=True)
    _ipnet(["asic", args.layer, "--gate-level", "--simulators", args.simulators,
            "--neuron-steps", str(args.neuron_steps), "--out", args.out], "ipnet asic --gate-level")
    gate = json.loads((Path(args.out) / top / "gate" / "gate_report.json").read_text())
    rows = bench_rows(wall, gate, args.network, args.layer)
    print()
    print(bench_table(rows))
    print("RTL / gate: the RTL's simulated cycles per second over the netlist's, same stimulus")
    path = Path(args.out) / "bench_asic.json"
    text = json.dumps([dict(zip(("name", "value", "unit", "ratio"), r)) for r in rows],
                      indent=2) + "\n"
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    run_cli(main)
