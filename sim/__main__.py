"""python -m ipnet_mtj.sim CONFIG: generate the design, run the cocotb bench on Icarus and Verilator,
print the hardware-vs-golden report.

The report counts every value compared (outputs and per-neuron thermal
states, at every step) and the mismatches; it is also written to
build/<name>/sim_report.json.
"""

import argparse
import json
import math
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli, write_atomically
from ipnet_mtj.gen.design import generate, load_design

from .runner import SIMULATORS, parse_simulators, run_bench, run_simulators, totals_line


def report_table(reports):
    """The per-simulator report as lines of a table."""
    from tabulate import tabulate
    keys = ("simulator", "steps", "neuron_steps", "outputs_compared", "states_compared",
            "values_compared", "mismatches", "resets", "cycles", "wall_s")
    head = ("simulator", "steps", "neuron-steps", "outputs", "states", "compared", "mismatches",
            "resets", "cycles", "wall s")
    return tabulate([[r[k] for k in keys] for r in reports], headers=head, tablefmt="plain",
                    numalign="right", floatfmt=[""] * 9 + [".1f"]).splitlines()


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet sim", description=__doc__)
    parser.add_argument("config", help="design YAML, e.g. configs/default.yaml")
    parser.add_argument("--neuron-steps", type=int, default=100_000,
                        help="at least this many neuron updates per simulator (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--simulators", default=",".join(SIMULATORS),
                        help="comma-separated subset of icarus,verilator")
    parser.add_argument("--out", default="build")
    parser.add_argument("--waves", action="store_true",
                        help="record every signal: build/<name>/sim/<simulator>/<top>.fst|.vcd")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    sims = parse_simulators(args.simulators)
    if args.neuron_steps < 1:
        raise UsageError(f"--neuron-steps: must be >= 1, got {args.neuron_steps}")

    design = load_design(args.config)
    out = generate(design, args.out, log=print)
    steps = math.ceil(args.neuron_steps / design.fp.neurons)
    print(f"design {design.top}: M={design.fp.inputs} N={design.fp.neurons} P={design.fp.lanes}, "
          f"output {design.fp.output}, decay {design.fp.decay}; weights: {design.weights_origin}")
    reports, skipped = run_simulators(
        sims, lambda sim: f"building and running {steps} steps",
        lambda sim: run_bench(sim, out, args.config, steps, args.seed, out / "sim",
                              show_progress=True, waves=args.waves),
        out / "sim")
    print()
    print(f"hardware vs integer reference ({design.top}, {args.config}):")
    print("\n".join(report_table(reports)))
    bad = sum(r["mismatches"] for r in reports)
    print(totals_line(reports, skipped))
    write_atomically(out / "sim_report.json",
                     lambda tmp: Path(tmp).write_text(json.dumps(reports, indent=2) + "\n"))
    return 1 if bad else 0


if __name__ == "__main__":
    run_cli(main)
