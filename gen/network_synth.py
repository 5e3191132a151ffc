"""python -m ipnet_mtj.gen.network_synth NETWORK [--bitstream]: synthesise the trained network's accelerator.

Yosys and nextpnr (YoWASP) for iCE40 UP5K and ECP5-25F on the pins-only top
(frames in, label out). One table: LUT, FF, block RAM, SPRAM, DSP, Fmax, cycles
per frame (measured in Amaranth simulation), the lanes' lower bound, the MAC
lower bound (MACs per frame / lanes), frames per second at Fmax, and whether it
fits. A design that needs more block RAM or DSPs than the device has is not
placed: its row gives what synthesis needs and says what is over. The report is
also written to build/<name>/synth/synth_report.json.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ipnet_mtj.sw.cli import check_output_dir, run_cli, write_atomically

from .network import generate_network, load_network_design
from .report import write_report
from .synth import TARGETS, parse_targets, synthesise

__all__ = ["network_synth_table", "main"]


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


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet synth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--out", default="build")
    parser.add_argument("--targets", default="ice40_up5k,ecp5_25f")
    parser.add_argument("--freq", type=float, default=30.0, help="clock constraint, MHz")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    keys = parse_targets(args.targets)

    from ipnet_mtj.hw.net_cycles import lower_bound_cycles, measure_cycles_per_frame
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
        rows.append(synthesise(k, out / f"{top}.v", top, out / "synth", args.freq))
    print()
    print("\n".join(network_synth_table(rows, cycles, lane_bound, mac_bound)))
    print(f"cycles/frame over the MAC bound: {cycles / mac_bound:.3f} "
          f"({net.macs} MACs per frame, {net.lanes} lanes)")
    text = json.dumps({"cycles_per_frame": cycles, "lane_bound": lane_bound,
                       "mac_bound": mac_bound, "targets": rows}, indent=2) + "\n"
    write_atomically(out / "synth" / "synth_report.json", lambda tmp: Path(tmp).write_text(text))
    page = write_report(out, net)
    print(f"report: {page} (open it: python -m webbrowser {page.resolve().as_uri()})")
    return 0 if all(r["fits"] for r in rows) else 1


if __name__ == "__main__":
    run_cli(main)
