"""python -m ipnet_mtj.sim.bench CONFIG: throughput of every model of the layer, side by side, in one run.

Prints neuron updates per second of the integer reference and the float
model (one thread each), of the cocotb bench on each simulator, and the
emulator's cycles per time step against the lower bound max(N*M/P, N).
Figures are wall-clock on this machine: compare them within one run.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"          # "one core": before numpy and torch load

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

from ipnet_mtj.gen.design import generate, load_design  # noqa: E402
from ipnet_mtj.sw import reference  # noqa: E402
from ipnet_mtj.sw.cli import check_output_dir, run_cli  # noqa: E402
from ipnet_mtj.sw.fixed import sat_range  # noqa: E402

from .runner import SIMULATORS, run_bench, simulator_available  # noqa: E402

TARGET_INT_RATE = 10e6      # neuron-steps/s, integer reference, one core
TARGET_CYCLE_RATIO = 1.1    # cycles per step / lower bound


def _rate(fn, neuron_steps, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return neuron_steps / best


def integer_rate(design, batch, steps, seed=0):
    fp = design.fp
    lo, hi = sat_range(fp.x_width, True)
    x = np.random.default_rng(seed).integers(lo, hi + 1, size=(batch, steps, fp.inputs))
    return _rate(lambda: reference.run(fp, design.weights, design.biases, x),
                 batch * steps * fp.neurons)


def float_rate(design, batch, steps, seed=0):
    import torch
    from ipnet_mtj.sw.model import ThermalLayer
    torch.set_num_threads(1)
    fp = design.fp
    layer = ThermalLayer.from_integers(fp, design.weights, design.biases, dtype=torch.float32)
    x = torch.rand(batch, steps, fp.inputs, generator=torch.Generator().manual_seed(seed))

    def run():
        with torch.no_grad():
            layer(x)
    return _rate(run, batch * steps * fp.neurons)


def float_error(design, batch=8, steps=300, seed=1):
    """Measured max |float - integer| of heat and pre-activation (float64), beside the bound."""
    import torch
    from ipnet_mtj.sw.model import ThermalLayer, float_error_bound
    fp = design.fp
    lo, hi = sat_range(fp.x_width, True)
    x = np.random.default_rng(seed).integers(lo, hi + 1, size=(batch, steps, fp.inputs))
    x[:, steps // 3: steps // 2] = hi
    x[:, steps // 2:] = 0
    ref = reference.run(fp, design.weights, design.biases, x)
    with torch.no_grad():
        flt = ThermalLayer.from_integers(fp, design.weights, design.biases)(
            torch.tensor(x * 2.0 ** -fp.x_frac))
    bound = float_error_bound(fp)
    return {
        "theta": (np.abs(flt.theta.numpy() - ref.theta * 2.0 ** -fp.theta_frac).max(), bound["theta"]),
        "z": (np.abs(flt.z.numpy() - ref.z * 2.0 ** -fp.i_frac).max(), bound["z"]),
    }


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet bench", description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--out", default="build")
    parser.add_argument("--sim-steps", type=int, default=100,
                        help="time steps per cocotb run (default 100)")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")

    from ipnet_mtj.hw.cycles import lower_bound_cycles, measure_cycles_per_step
    design = load_design(args.config)
    fp = design.fp
    rows = []   # (name, value, unit, target or None, ratio or None)
    print("integer reference ...", flush=True)
    r = integer_rate(design, 256, 200)
    rows.append(("integer reference, B=256, 1 thread", r, "upd/s", TARGET_INT_RATE, r / TARGET_INT_RATE))
    r1 = integer_rate(design, 1, 400)
    rows.append(("integer reference, B=1, 1 thread", r1, "upd/s", None, None))
    print("float model ...", flush=True)
    f = float_rate(design, 256, 200)
    rows.append(("float model (torch f32), B=256, 1 thread", f, "upd/s", None, f / r))
    for name, (err, bound) in float_error(design).items():
        unit = "heat u." if name == "theta" else "I_c0"
        rows.append((f"float vs integer max |d{name}| (bound)", err, unit, bound, err / bound))
    out = generate(design, args.out)
    for sim in SIMULATORS:
        ok, why = simulator_available(sim)
        if not ok:
            print(f"skipping {sim}: {why}")
            continue
        print(f"cocotb on {sim} ...", flush=True)
        rep = run_bench(sim, out, args.config, args.sim_steps, 1, out / "bench")
        rate = rep["neuron_steps"] / rep["wall_s"]
        rows.append((f"cocotb + {sim}, {rep['cycles'] / rep['wall_s']:.3g} cycles/s", rate, "upd/s",
                     None, rate / r))
    cycles = measure_cycles_per_step(fp, design.weights, design.biases)
    bound = lower_bound_cycles(fp)
    rows.append((f"cycles per step (bound max(N*M/P, N) = {bound:.0f})", cycles, "cycles",
                 TARGET_CYCLE_RATIO * bound, cycles / bound))

    print()
    print(tabulate([(name, value, unit, target or None,
                     f"{ratio:.3g}x" if ratio is not None else None)
                    for name, value, unit, target, ratio in rows],
                   headers=("benchmark", "value", "unit", "target", "ratio"), tablefmt="plain",
                   floatfmt=("", ".4g", "", ".3g", ""), missingval="-",
                   colalign=("left", "right", "left", "right", "right")))
    print("ratios: integer rate / 10M target; float and cocotb rates / integer rate (B=256); "
          "float error / its bound (must be <= 1); cycles / lower bound (target <= 1.1)")
    (out / "bench.json").write_text(json.dumps(
        [dict(zip(("name", "value", "unit", "target", "ratio"), row)) for row in rows], indent=2) + "\n")


if __name__ == "__main__":
    run_cli(main)
