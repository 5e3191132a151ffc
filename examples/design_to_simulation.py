"""A design from its YAML to a simulation of its Verilog, through the Python API.

    python examples/design_to_simulation.py [CONFIG] [--out DIR]

1. load the design (device card, fixed-point formats, layer size) and derive its integer
   constants;
2. run the integer reference model on a few random input steps;
3. generate the Verilog, ROM images and manifest into a build folder;
4. run the cocotb bench on every simulator found (Icarus, Verilator): every output and
   every heat of every step compared with the reference.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from ipnet_mtj.gen.design import generate, load_design
from ipnet_mtj.sim.runner import SIMULATORS, run_bench, simulator_available
from ipnet_mtj.sw import reference

ROOT = Path(__file__).resolve().parent.parent


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", default=str(ROOT / "configs" / "default.yaml"))
    parser.add_argument("--out", default="build/examples")
    parser.add_argument("--steps", type=int, default=20, help="input steps in the bench")
    args = parser.parse_args(argv)

    design = load_design(args.config)                               # 1
    fp = design.fp
    print(f"{design.top}: {fp.inputs} inputs, {fp.neurons} neurons, {fp.lanes} lanes, "
          f"output {fp.output}, dissipation {fp.decay}")

    rng = np.random.default_rng(0)                                  # 2
    lo, hi = -(1 << (fp.x_width - 1)), (1 << (fp.x_width - 1))
    x = rng.integers(lo, hi, size=(1, 5, fp.inputs))
    trace = reference.run(fp, design.weights, design.biases, x)
    print(f"reference: heat of neuron 0 over 5 steps: {trace.theta[0, :, 0].tolist()}")

    build = generate(design, args.out)                              # 3
    print(f"generated {build / (design.top + '.v')}")

    compared = bad = 0                                              # 4
    for sim in SIMULATORS:
        ok, why = simulator_available(sim)
        if not ok:
            print(f"{sim}: skipped ({why})")
            continue
        report = run_bench(sim, build, args.config, args.steps, 1, build / "sim")
        compared += report["values_compared"]
        bad += report["mismatches"]
        print(f"{sim}: {report['values_compared']} values compared, "
              f"{report['mismatches']} mismatches")
    print(f"total: {compared} values compared, {bad} mismatches")
    return 1 if bad or not compared else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
