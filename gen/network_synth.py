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
    parser.add_argument("--freq", type=float, default=30.0, help="clock constraint, MHz")
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
    out = generate_network(design, args.out)
    net = design.net
    print("cycles per frame (Amaranth simulation) ...", flush=True)
    cycles = measure_cycles_per_frame(net, design.params)
    lane_bound = lower_bound_cycles(net)
    mac_bound = net.macs / net.lanes
    top = f"{design.top}_top"
    rows = []
    for k in keys:
        print(f"{TARGETS[k].name}: yosys + nextpnr ...", flush=True)
        rows.append(synthesise_seeds(k, out / f"{top}.v", top, out / "synth", args.freq,
                                     args.seeds))
    print()
    print("\n".join(network_synth_table(rows, cycles, lane_bound, mac_bound)))
    for r in rows:
        if len(r.get("fmax_seeds", ())) > 1:
            print(f"{r['target']}: Fmax over nextpnr seeds 1-{len(r['fmax_seeds'])}: "
                  + ", ".join(f"{f:.2f}" for f in r["fmax_seeds"])
                  + f" MHz; median {r['fmax_mhz']:.2f} MHz")
    print(f"cycles/frame over the MAC bound: {cycles / mac_bound:.3f} "
          f"({net.macs} MACs per frame, {net.lanes} lanes)")
    predicted = predict_cycles_per_frame(net)
    print(f"cycles/frame predicted from the description (hw/net_cycles.py): {predicted} "
          f"({'equal to' if predicted == cycles else 'NOT equal to'} the simulated {cycles})")
    from ipnet_mtj.hw.net_resources import predict_ice40_bram
    bram = predict_ice40_bram(net)
    for k, r in zip(keys, rows):
        if k.startswith("ice40"):
            print(f"{r['target']}: block RAM predicted from the description (hw/net_resources.py): "
                  f"{bram} ({'equal to' if bram == r['bram'] else 'NOT equal to'} synthesis's "
                  f"{r['bram']})")
    text = json.dumps({"cycles_per_frame": cycles, "predicted_cycles_per_frame": predicted,
                       "predicted_ice40_bram": bram,
                       "lane_bound": lane_bound,
                       "mac_bound": mac_bound, "targets": rows}, indent=2) + "\n"
    write_atomically(out / "synth" / "synth_report.json", lambda tmp: Path(tmp).write_text(text))
    page = write_report(out, net)
    print(f"report: {page} (open it: python -m webbrowser {page.resolve().as_uri()})")
    return 0 if all(r["fits"] for r in rows) else 1


if __name__ == "__main__":
    run_cli(main)
