"""``ipnet bench-resources NETWORK``: iCE40 block RAM predicted from the description beside Yosys's.

For each lane count of ``--lanes`` the trained network is generated with that many lanes
(the weights do not depend on it) and synthesised with ``synth_ice40 -dsp``; one row per
design: the block RAM :func:`hw.net_resources.predict_ice40_bram` predicts, the
SB_RAM40_4K cells Yosys made, their ratio, and the LUTs, flip-flops and DSPs synthesis
reports (not modelled yet). Synthesis only, no place and route: about 25 s per design.
The table is also written to ``<out>/resource_bench.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli, write_atomically
from ipnet_mtj.sw.network import derive_network

from .network import generate_network, load_network_design
from .synth import synthesis_resources

__all__ = ["with_lanes", "main"]


def with_lanes(design, lanes):
    """``design`` with ``lanes`` MAC lanes: its description re-derived, the same weights."""
    cfg = dataclasses.replace(design.cfg,
                              hardware=dataclasses.replace(design.cfg.hardware, lanes=lanes))
    return dataclasses.replace(design, cfg=cfg, net=derive_network(cfg))


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet bench-resources", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--lanes", default="1,2,4,8", help="comma-separated lane counts")
    parser.add_argument("--out", default="build/bench-resources")
    args = parser.parse_args(argv)
    try:
        lanes = [int(v) for v in args.lanes.split(",")]
    except ValueError:
        raise UsageError(f"--lanes must be comma-separated integers, not {args.lanes!r}") from None
    if not lanes or min(lanes) < 1:
        raise UsageError(f"--lanes must be positive integers, not {args.lanes!r}")
    check_output_dir(args.out, "--out")

    from tabulate import tabulate
    from tqdm import tqdm

    from ipnet_mtj.hw.net_resources import predict_ice40_bram
    base = load_network_design(args.network, args.weights)
    designs = [with_lanes(base, p) for p in lanes]      # a lane count the network refuses: now
    rows = []
    for p, design in zip(tqdm(lanes, desc="yosys", unit="design"), designs):
        out = generate_network(design, Path(args.out) / f"lanes{p}")
        top = f"{design.top}_top"
        cells = synthesis_resources("ice40_up5k", f"{top}.v", top, out)
        rows.append({"lanes": p, "bram_predicted": predict_ice40_bram(design.net),
                     "bram_yosys": cells["bram"], "lut": cells["lut"], "ff": cells["ff"],
                     "dsp": cells["dsp"]})
    table = [(r["lanes"], r["bram_predicted"], r["bram_yosys"],
              r["bram_predicted"] / r["bram_yosys"] if r["bram_yosys"] else float("nan"),
              r["lut"], r["ff"], r["dsp"]) for r in rows]
    print(tabulate(table, headers=("lanes", "BRAM predicted", "BRAM yosys", "ratio", "LUT", "FF",
                                   "DSP"), tablefmt="plain", floatfmt=".3f"))
    text = json.dumps({"network": str(args.network), "designs": rows}, indent=2) + "\n"
    write_atomically(Path(args.out) / "resource_bench.json", lambda tmp: Path(tmp).write_text(text))
    return 0 if all(r["bram_predicted"] == r["bram_yosys"] for r in rows) else 1


if __name__ == "__main__":
    run_cli(main)
