"""python -m ipnet_mtj.gen.network_synth NETWORK [--bitstream]: synthesise the trained network's accelerator.

Yosys and nextpnr (YoWASP) for iCE40 UP5K and ECP5-25F on the pins-only top
(frames in, label out). One table: LUT, FF, block RAM, SPRAM, DSP, Fmax, cycles
per frame (measured in Amaranth simulation), the lanes' lower bound, the MAC
lower bound (MACs per frame / lanes), frames per second at Fmax, and whether it
fits. A design that needs more block RAM or DSPs than the device has is not
placed: its row gives what synthesis needs and says what is over. The report is
also written to build/<name>/synth/synth_report.json.

--seeds N places and routes each target with nextpnr seeds 1..N (seed s > 1 in
synth/seed<s>/): the table's Fmax and frames/s are then the median over the seeds,
and each seed's Fmax is printed beside it (make bench-fmax: the UP5K, 5 seeds).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli, write_atomically
from ipnet_mtj.sw.fpga import FPGAS

from .network import generate_network, load_network_design
from .report import write_report
from .synth import TARGETS, parse_targets, synthesise

__all__ = ["network_synth_table", "synthesise_seeds", "main"]


def network_synth_table(rows, cycles, lane_bound, mac_bound):
    from tabulate import tabulate
    table = []
    for r in rows:
        fps = r["fmax_mhz"] * 1e6 / cycles if not math.isnan(r["fmax_mhz"]) else float("nan")
        fits = "yes" if r["fits"] else "NO: " + ", ".join(r.get("over") or ["place and route"])
        table.append((r["target"], r["lut"], r["ff"], r["bram"], r["spram"], r["dsp"], r["fmax_mhz"],
                      cycles, lane_bound, mac_bound, fps, fits))
    return tabulate(table, headers=("target", "LUT", "FF", "BRAM", "SPRAM", "DSP", "Fmax MHz",
                                    "cycles/frame", "bound", "MACs/P", "frames/s", "fits"),
                    tablefmt="plain", numalign="right",
                    floatfmt=("", "", "", "", "", "", ".1f", "", "", ".0f", ".0f", "")).splitlines()


def fold_table(cfg):
    """The lines ``ipnet synth`` prints for ``lanes: auto``: every lane count's predicted
    resources, cycles and frames per second on the fold's device, and the choice."""
    from tabulate import tabulate

    from ipnet_mtj.hw.net_fold import choose_lanes
    fold = cfg.hardware.fold
    chosen, rows = choose_lanes(cfg)
    goal = (f"at least {fold.frames_per_second:g} frames/s" if fold.frames_per_second
            else "the most frames/s that fit")
    table = [(r.lanes, *(r.resources[k] for k in ("lut", "ff", "bram", "dsp")), r.cycles,
              r.frames_per_second, "yes" if r.fits else "NO: " + ", ".join(r.over),
              "<-" if r is chosen else "") for r in rows]
    return [f"lanes: auto for the {FPGAS[fold.device].name}, {goal} at {fold.clock_mhz:g} MHz "
            f"(predicted from the description, hw/net_fold.py):",
            *tabulate(table, headers=("lanes", "LUT", "FF", "BRAM", "DSP", "cycles/frame",
                                      "frames/s", "fits", "chosen"), tablefmt="plain",
                      floatfmt=".0f").splitlines(), ""]


def fold_outcome(fold, lanes, cycles, rows):
    """Whether the placed design meets the fold's goal: its device fits, and its frames per
    second at the placed Fmax reach the goal (no goal: the placed Fmax reaches the clock the
    choice assumed). ``rows``: synthesis rows by target key."""
    row = rows.get(fold.device)
    if row is None:
        return {"line": f"lanes: auto chose {lanes} lanes for {fold.device}, which was not "
                        f"synthesised (--targets)", "met": None}
    fps = row["fmax_mhz"] * 1e6 / cycles if not math.isnan(row["fmax_mhz"]) else float("nan")
    goal = fold.frames_per_second or fold.clock_mhz * 1e6 / cycles
    met = bool(row["fits"] and fps >= goal)
    return {"line": f"lanes: auto chose {lanes} lanes: placed on the {row['target']} at "
                    f"{row['fmax_mhz']:.1f} MHz, {fps:.0f} frames/s against the goal's {goal:.0f}: "
                    f"{'met' if met else 'NOT met'}",
            "lanes": lanes, "device": fold.device, "frames_per_second": fps, "goal": goal,
            "met": met}


def synthesise_seeds(key, verilog, top, work, freq_mhz, seeds):
    """:func:`gen.synth.synthesise` with seeds 1..``seeds``; Fmax is their median.

    Resources come from seed 1 (synthesis does not depend on the seed). The row gets
    ``fmax_seeds``, every seed's Fmax in seed order.
    """
    runs = [synthesise(key, verilog, top, work if s == 1 else Path(work) / f"seed{s}", freq_mhz,
                       seed=s) for s in range(1, seeds + 1)]
    row = runs[0]
    fmax = [r["fmax_mhz"] for r in runs]
    if not any(math.isnan(f) for f in fmax):
        row = {**row, "fmax_mhz": statistics.median(fmax), "fmax_seeds": fmax,
               "fits": all(r["fits"] for r in runs)}
    return row


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet synth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--out", default="build")
    parser.add_argument("--targets", default="ice40_up5k,ecp5_25f")
    parser.add_argument("--freq", type=float, default=None,
                        help="clock constraint, MHz (default: the description's fold.clock_mhz "
                             "with lanes: auto, else 30)")
    parser.add_argument("--seeds", type=int, default=1,
                        help="nextpnr seeds 1..N; Fmax is their median (default 1)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        raise UsageError(f"--seeds must be at least 1, not {args.seeds}")
    check_output_dir(args.out, "--out")
    keys = parse_targets(args.targets)

    from ipnet_mtj.hw.net_cycles import (lower_bound_cycles, measure_cycles_per_frame,
                                         predict_cycles_per_frame)
    design = load_network_design(args.network, args.weights)
    fold = design.cfg.hardware.fold
    freq = args.freq or (fold.clock_mhz if fold else 30.0)
    if fold:
        print("\n".join(fold_table(design.cfg)), flush=True)
    out = generate_network(design, args.out)
    net = design.net
    print("cycles per frame (Amaranth simulation) ...", flush=True)
    if net.input_mode == "events":
        # event input: the cost follows the events; this is the worst case, every word set
        import numpy as np
        from ipnet_mtj.hw.net_cycles import measure_frame_cycles
        cycles = measure_frame_cycles(net, design.params,
                                      np.ones((3, *net.input_shape), dtype=np.int64))[-1]
        print("event input: cycles per frame at 100 % density (fewer events, fewer cycles)")
    else:
        cycles = measure_cycles_per_frame(net, design.params)
    lane_bound = lower_bound_cycles(net)
    mac_bound = net.macs / net.lanes
    top = f"{design.top}_top"
    rows = []
    for k in keys:
        print(f"{TARGETS[k].name}: yosys + nextpnr ...", flush=True)
        rows.append(synthesise_seeds(k, out / f"{top}.v", top, out / "synth", freq, args.seeds))
    print()
    print("\n".join(network_synth_table(rows, cycles, lane_bound, mac_bound)))
    for r in rows:
        if len(r.get("fmax_seeds", ())) > 1:
            print(f"{r['target']}: Fmax over nextpnr seeds 1-{len(r['fmax_seeds'])}: "
                  + ", ".join(f"{f:.2f}" for f in r["fmax_seeds"])
                  + f" MHz; median {r['fmax_mhz']:.2f} MHz")
    print(f"cycles/frame over the MAC bound: {cycles / mac_bound:.3f} "
          f"({net.macs} MACs per frame, {net.lanes} lanes)")
    if net.input_mode == "dense":
        predicted = predict_cycles_per_frame(net)
        print(f"cycles/frame predicted from the description (hw/net_cycles.py): {predicted} "
              f"({'equal to' if predicted == cycles else 'NOT equal to'} the simulated {cycles})")
    else:
        from ipnet_mtj.hw.net_cycles import full_frame_macs, predict_event_cycles
        predicted = predict_event_cycles(net, full_frame_macs(net))
        print(f"cycles/frame of a full frame predicted from the description (hw/net_cycles.py, "
              f"an upper bound): {predicted}, {predicted - cycles:+d} over the simulated "
              f"{cycles}")
    from ipnet_mtj.hw.net_resources import predict_resources
    predicted_resources = {}
    for k, r in zip(keys, rows):
        pred = predict_resources(net, TARGETS[k].family, design.params)
        predicted_resources[k] = pred
        print(f"{r['target']}: predicted from the description (hw/net_resources.py) / synthesis: "
              + ", ".join(f"{n.upper()} {pred[n]}/{r[n]}" for n in ("lut", "ff", "bram", "dsp")))
    fold_report = None
    if fold:
        fold_report = fold_outcome(fold, net.lanes, cycles, dict(zip(keys, rows)))
        print(fold_report["line"])
    text = json.dumps({"cycles_per_frame": cycles, "fold": fold_report, "predicted_cycles_per_frame": predicted,
                       "predicted_resources": predicted_resources,
                       "lane_bound": lane_bound,
                       "mac_bound": mac_bound, "targets": rows}, indent=2) + "\n"
    write_atomically(out / "synth" / "synth_report.json", lambda tmp: Path(tmp).write_text(text))
    page = write_report(out, net)
    print(f"report: {page} (open it: python -m webbrowser {page.resolve().as_uri()})")
    met = fold_report is None or fold_report["met"] is not False
    return 0 if all(r["fits"] for r in rows) and met else 1


if __name__ == "__main__":
    run_cli(main)
