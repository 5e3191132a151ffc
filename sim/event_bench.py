"""``ipnet bench-events``: the event design's cycles and frames/s against event density, beside its dense twin.

The network (``hardware.input: events``) runs on Verilator's native bench (no handshake
stress, so the cycles are the design's own) over

* a density sweep: one sequence of ``--frames`` frames per density, each frame with
  ``round(density * C * H * W)`` non-zero input words at positions drawn uniformly without
  replacement and counts drawn uniformly from 1 to the input's largest value (seed
  ``--seed``); a word is one event beat, so the density is the fraction of words sent;
* each task's test set (``--tasks``, default the network's own; the first
  ``--test-sequences``, default all), with its measured density (the mean fraction of
  non-zero words per frame) and events per frame;

and every value of every layer is compared with the integer golden model. Icarus runs
the densities ``--icarus-densities`` for ``--icarus-frames`` frames (the cocotb bench) and
must report the same frame cycles as Verilator. A frame's cycles are the gap between the
cycles of its last label beat and the previous frame's (``end.hex``, :mod:`sim.harness`):
a frame's cost while input keeps coming. The first frame of a sequence (it includes the
pipeline's latency) is left out.

The dense twin (``--dense``: the same description with ``hardware.input: dense``; checked)
runs the sweep's emptiest and fullest densities the same way: its cycles do not depend on
the input. Both designs are synthesised and placed on ``--targets`` (nextpnr seeds
1..``--seeds``, median Fmax), and frames/s = Fmax / cycles per frame for each. It prints
the sweep, the test sets, the ratios the issue's targets name (the UP5K's event frames/s at
the test set's density over the dense design's; event over dense cycles at 100 % density),
and writes ``<out>/<name>/bench_events.json`` and ``bench_events.png``.
``--no-synth`` skips place and route (cycles only).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli, write_atomically
from ipnet_mtj.sw.jobs.runner import add_runner_args, runner_from_args

from .event_report import plot, table
from .event_report import ratios as ratios_of

__all__ = ["main", "density_frames", "word_density", "steady_cycles", "twin_difference"]

DENSITIES = "0,1,2,5,10,20,30,40,50,60,70,80,90,100"


def density_frames(shape, density, frames, xmax, rng):
    """``frames`` input frames of ``shape`` (C, H, W) with ``round(density * C*H*W)``
    non-zero words each, at uniform positions, values uniform in 1..``xmax``."""
    words = int(np.prod(shape))
    active = int(round(density * words))
    out = np.zeros((frames, words), dtype=np.int64)
    for f in range(frames):
        where = rng.choice(words, size=active, replace=False)
        out[f, where] = rng.integers(1, xmax + 1, size=active)
    return out.reshape(frames, *shape)


def word_density(x):
    """Mean fraction of non-zero input words per frame of ``x`` (..., C, H, W), and the
    mean non-zero words (event beats) per frame."""
    x = np.asarray(x)
    per_frame = (x.reshape(-1, int(np.prod(x.shape[-3:]))) != 0).sum(axis=1)
    return float(per_frame.mean() / np.prod(x.shape[-3:])), float(per_frame.mean())


def steady_cycles(frame_cycles):
    """The cycles of every frame after the first of each sequence (``frame_cycles``: a list
    per sequence, :func:`sim.harness.frame_cycles`)."""
    return [c for seq in frame_cycles for c in seq[1:]]


def predicted_cycles(net, x, frame_cycles):
    """The cycle model beside the measurement: (mean predicted cycles per frame, smallest and
    largest excess over the measured cycles) over every frame but each sequence's first
    (whose figure is the pipeline's latency), from :func:`hw.net_cycles.predict_event_cycles`
    of each frame's scatter commands."""
    from ipnet_mtj.hw.net_cycles import event_frame_macs, predict_event_cycles
    pred, excess = [], []
    for seq, cycles in zip(x, frame_cycles):
        for frame, got in zip(seq[1:], cycles[1:]):
            p = predict_event_cycles(net, event_frame_macs(net, frame))
            pred.append(p)
            excess.append(p - got)
    return float(np.mean(pred)), int(min(excess)), int(max(excess))


def twin_difference(events_net, dense_net):
    """What differs between two derived networks besides the input mode (None: twins)."""
    if events_net.input_mode != "events":
        return f"{events_net.name} has hardware.input: {events_net.input_mode}, not events"
    if dense_net.input_mode != "dense":
        return f"{dense_net.name} has hardware.input: {dense_net.input_mode}, not dense"
    for key in ("input_width", "input_shape", "lanes", "layers"):
        a, b = getattr(events_net, key), getattr(dense_net, key)
        if a != b:
            return f"{key} differs"
    return None


def _parse_densities(text, option):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{option}: expected percentages separated by commas, got {text!r}") \
            from None
    bad = [v for v in values if not 0 <= v <= 100]
    if not values or bad:
        raise UsageError(f"{option}: percentages must lie in 0..100, got {text!r}")
    return values


def _native(design, out, path, x, work, runner):
    from .native import run_network_native
    work.mkdir(parents=True, exist_ok=True)
    stim = work / "stimulus.npz"
    np.savez(stim, x=x, y=np.zeros(len(x), dtype=np.int64))
    return run_network_native(out, path, stim, work, stress=False, show_progress=True,
                              runner=runner)


def _summary(report):
    cycles = steady_cycles(report["frame_cycles"])
    return {"cycles_per_frame": float(np.mean(cycles)), "cycles_min": int(min(cycles)),
            "cycles_max": int(max(cycles)), "frames_measured": len(cycles),
            "values_compared": report["values_compared"], "mismatches": report["mismatches"]}


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet bench-events", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML with hardware.input: events")
    parser.add_argument("--dense", help="its dense twin's YAML (hardware.input: dense)")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--densities", default=DENSITIES,
                        help=f"percent of non-zero words (default {DENSITIES})")
    parser.add_argument("--frames", type=int, default=6, help="frames per density (default 6)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tasks", help="test sets, comma-separated (default the network's task)")
    parser.add_argument("--test-sequences", type=int, help="per task (default all)")
    parser.add_argument("--icarus-densities", default="0,5,100",
                        help="densities Icarus runs too (default 0,5,100; empty: none)")
    parser.add_argument("--icarus-frames", type=int, default=3)
    parser.add_argument("--targets", default="ice40_up5k,ecp5_25f")
    parser.add_argument("--seeds", type=int, default=1, help="nextpnr seeds 1..N (median Fmax)")
    parser.add_argument("--freq", type=float, default=30.0, help="clock constraint, MHz")
    parser.add_argument("--no-synth", action="store_true", help="cycles only, no place and route")
    parser.add_argument("--runs", default="build/networks", help="data cache")
    parser.add_argument("--out", default="build")
    add_runner_args(parser, "shards of sequences run at once (default: the machine's cores)")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    for name in ("frames", "icarus_frames", "seeds"):
        if getattr(args, name) < 2 - (name == "seeds"):
            raise UsageError(f"--{name.replace('_', '-')}: must be >= {2 - (name == 'seeds')}, "
                             f"got {getattr(args, name)}")
    if args.test_sequences is not None and args.test_sequences < 1:
        raise UsageError(f"--test-sequences: must be >= 1, got {args.test_sequences}")
    densities = _parse_densities(args.densities, "--densities")
    icarus = (_parse_densities(args.icarus_densities, "--icarus-densities")
              if args.icarus_densities.strip() else [])
    missing = [d for d in icarus if d not in densities]
    if missing:
        raise UsageError(f"--icarus-densities: {missing} not among --densities")
    from ipnet_mtj.gen.network import generate_network, load_network_design
    from ipnet_mtj.gen.synth import parse_targets
    from ipnet_mtj.sw import netref
    from ipnet_mtj.sw.data.datasets import load_split
    from ipnet_mtj.sw.train.experiment import load_experiment

    from .runner import run_network_bench, simulator_available
    keys = [] if args.no_synth else parse_targets(args.targets)
    ok, why = simulator_available("verilator")
    if not ok:
        raise UsageError(f"verilator: {why}")
    design = load_network_design(args.network, args.weights)
    net = design.net
    if net.input_mode != "events":
        raise UsageError(f"{args.network}: hardware.input is {net.input_mode}; bench-events "
                         f"needs a network with hardware.input: events")
    twin = None
    if args.dense:
        twin = load_network_design(args.dense, args.weights)
        why = twin_difference(net, twin.net)
        if why:
            raise UsageError(f"--dense {args.dense}: not the dense twin of {args.network}: {why}")
    exp, _, _ = load_experiment(design.cfg.experiment_path())
    tasks = args.tasks.split(",") if args.tasks else [design.cfg.training.task]
    test_sets = {}
    for task in tasks:
        if task not in exp.tasks:
            raise UsageError(f"--tasks: unknown task {task!r} (known: {', '.join(exp.tasks)})")
        x, _ = load_split(task, exp.data_config(), "test", Path(args.runs) / "data")
        if tuple(x.shape[2:]) != tuple(net.input_shape):
            raise UsageError(f"--tasks: {task}'s frames are {tuple(x.shape[2:])}, the network "
                             f"takes {tuple(net.input_shape)}")
        n = len(x) if args.test_sequences is None else min(args.test_sequences, len(x))
        test_sets[task] = netref.quantise_frames(net, x[:n])

    out = generate_network(design, args.out, log=print)
    work = out / "bench_events"
    rng = np.random.default_rng(args.seed)
    xmax = (1 << net.input_width) - 1
    sweep_x = np.stack([density_frames(net.input_shape, d / 100, args.frames, xmax, rng)
                        for d in densities])
    runner = runner_from_args(args)
    try:
        with runner:
            print(f"Verilator (native): the sweep, {len(densities)} densities x {args.frames} "
                  f"frames ...", flush=True)
            sweep_report = _native(design, out, args.network, sweep_x, work / "sweep", runner)
            test_reports = {}
            for task, x in test_sets.items():
                print(f"Verilator (native): {task}, {len(x)} test sequences of {x.shape[1]} "
                      f"frames ...", flush=True)
                test_reports[task] = _native(design, out, args.network, x, work / task, runner)
            dense_report = None
            if twin:
                dense_out = generate_network(twin, args.out, log=print)
                ends = np.stack([sweep_x[0], sweep_x[-1]])
                print("Verilator (native): the dense twin, the emptiest and fullest "
                      "densities ...", flush=True)
                dense_report = _native(twin, dense_out, args.dense, ends,
                                       dense_out / "bench_events", runner)
        icarus_report = None
        if icarus:
            ok, why = simulator_available("icarus")
            if not ok:
                print(f"icarus: skipped ({why})")
            else:
                rows = [densities.index(d) for d in icarus]
                stim = work / "icarus_stimulus.npz"
                np.savez(stim, x=sweep_x[rows, :args.icarus_frames],
                         y=np.zeros(len(rows), dtype=np.int64))
                print(f"Icarus (cocotb): densities {icarus}, {args.icarus_frames} frames ...",
                      flush=True)
                icarus_report = run_network_bench("icarus", out, args.network, stim,
                                                  work / "icarus", stress=False)
                want = [sweep_report["frame_cycles"][r][:args.icarus_frames] for r in rows]
                if icarus_report["frame_cycles"] != want:
                    print(f"error: Icarus's frame cycles {icarus_report['frame_cycles']} differ "
                          f"from Verilator's {want}")
                    return 1
    except RuntimeError as exc:             # a build failed or a value mismatched
        print(f"error: {exc}")
        return 1

    sweep = []
    for d, seq in zip(densities, sweep_report["frame_cycles"]):
        density, events = word_density(sweep_x[densities.index(d)])
        k = densities.index(d)
        pred, lo, hi = predicted_cycles(net, sweep_x[k:k + 1], [seq])
        sweep.append({"density": density, "events_per_frame": events,
                      "cycles_per_frame": float(np.mean(seq[1:])), "cycles_min": min(seq[1:]),
                      "cycles_max": max(seq[1:]), "predicted_cycles_per_frame": pred,
                      "predicted_excess": [lo, hi]})
    tests = []
    for task, report in test_reports.items():
        density, events = word_density(test_sets[task])
        pred, lo, hi = predicted_cycles(net, test_sets[task], report["frame_cycles"])
        tests.append({"task": task, "sequences": len(test_sets[task]), "density": density,
                      "events_per_frame": events, **_summary(report),
                      "predicted_cycles_per_frame": pred, "predicted_excess": [lo, hi]})
    dense = _summary(dense_report) if dense_report else None
    if dense:
        from ipnet_mtj.hw.net_cycles import predict_cycles_per_frame
        dense["predicted_cycles_per_frame"] = predict_cycles_per_frame(twin.net)
    excess = [e for r in sweep + tests for e in r["predicted_excess"]]

    synth_rows, fmax_of = {}, {}
    if keys:
        from ipnet_mtj.gen.network_synth import synthesise_seeds
        from ipnet_mtj.gen.synth import TARGETS
        for label, d in (("events", design), ("dense", twin)):
            if d is None:
                continue
            folder = Path(args.out) / d.top
            for k in keys:
                print(f"{TARGETS[k].name}, {label} design: yosys + nextpnr ...", flush=True)
                row = synthesise_seeds(k, folder / f"{d.top}_top.v", f"{d.top}_top",
                                       folder / "synth", args.freq, args.seeds)
                synth_rows[f"{label}/{k}"] = row
        fmax_of = {label: {k: synth_rows[f"{label}/{k}"]["fmax_mhz"] for k in keys}
                   for label in ("events", "dense") if f"{label}/{keys[0]}" in synth_rows}

    lines = table(sweep, tests, dense, fmax_of, keys)
    ratios = ratios_of(sweep, tests, dense, fmax_of, keys, densities)
    print()
    print("\n".join(lines + [""] + [r["line"] for r in ratios]))
    print(f"cycle model (hw/net_cycles.py predict_event_cycles, from each frame's events): "
          f"{min(excess)} to {max(excess)} cycles above the measured frames"
          + ("" if min(excess) >= 0 else "; BELOW on some frame: not an upper bound"))
    record = {"network": design.top, "dense_twin": twin.top if twin else None,
              "seed": args.seed, "frames": args.frames, "sweep": sweep, "tests": tests,
              "dense": dense, "fmax_mhz": fmax_of, "synthesis": synth_rows,
              "ratios": [{k: v for k, v in r.items() if k != "line"} for r in ratios],
              "values_compared": sweep_report["values_compared"]
              + sum(r["values_compared"] for r in test_reports.values())
              + (dense_report["values_compared"] if dense_report else 0)
              + (icarus_report["values_compared"] if icarus_report else 0),
              "icarus_values_compared": icarus_report["values_compared"] if icarus_report else 0}
    text = json.dumps(record, indent=2) + "\n"
    write_atomically(out / "bench_events.json", lambda tmp: Path(tmp).write_text(text))
    plot(out / "bench_events.png", sweep, tests, dense, fmax_of)
    print(f"values compared with the golden model: {record['values_compared']:,} "
          f"(Icarus {record['icarus_values_compared']:,}), 0 mismatches")
    print(f"written: {out / 'bench_events.json'}, {out / 'bench_events.png'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
