"""ipnet asic ... --layout: the stage's netlist placed and routed (:mod:`gen.asic.layout`).

Runs after synthesis and timing, in ``build/<name>/layout.partial/`` (put in the place of
``layout/`` when complete): the BLIF, qflow's project (``qflow/``, its logs in
``qflow/log/``), the routed ``<top>.def``, ``layout.png`` and ``layout_report.json``.
"""

from __future__ import annotations

import json
import shutil

from ipnet_mtj.sw.cli import UsageError

from ..export import replace_build_folder

from .cells import run_yosys
from .layout import (FILLER, GDS_STOP, blif_cells, block_of_cell, connectivity_errors, draw_layout,
                     layout_available, lef_sizes, netlist_blif, place_and_route, read_def)

__all__ = ["add_layout_args", "check_layout_args", "run_layout"]

def add_layout_args(parser):
    """The stage's place-and-route options."""
    parser.add_argument("--layout", action="store_true",
                        help="then place and route the netlist (qflow: GrayWolf, qrouter)")
    parser.add_argument("--layout-density", type=float, default=0.6,
                        help="cell area over core area for placement (default 0.6)")
    parser.add_argument("--layout-max-cells", type=int, default=10000,
                        help="stop before placement above this many cells (default 10000)")
    parser.add_argument("--layout-timeout", type=float, default=1800,
                        help="seconds for placement and routing together (default 1800)")


def check_layout_args(args):
    """One line for an option out of range."""
    if not 0.1 <= args.layout_density <= 0.95:
        raise UsageError(f"--layout-density: must be in [0.1, 0.95], got {args.layout_density}")
    if args.layout_max_cells < 1:
        raise UsageError(f"--layout-max-cells: must be at least 1, got {args.layout_max_cells}")
    if args.layout_timeout <= 0:
        raise UsageError(f"--layout-timeout: must be positive, got {args.layout_timeout}")


def run_layout(library, top, out, args):
    """Place and route ``out/asic/netlist_sim.v``; the report, or None where the flow stops
    before placement (one line printed, and kept as ``{"stopped": line}`` in the report
    file, so the build report says why there is no layout)."""
    asic = json.loads((out / "asic" / "asic_report.json").read_text())
    count = sum(asic["cell_counts"].values())
    work = out / "layout.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    if count > args.layout_max_cells:
        line = (f"place and route stops here: {count} cells, above --layout-max-cells "
                f"{args.layout_max_cells} (GrayWolf and qrouter would take more than about 15 "
                "minutes on 2 cores; docs/asic.md)")
        (work / "layout_report.json").write_text(json.dumps(
            {"stopped": line, "cells": count, "max_cells": args.layout_max_cells}) + "\n")
        replace_build_folder(work, out / "layout")
        print(line)
        return None
    ok, why = layout_available()
    if not ok:
        raise UsageError(why)
    print(f"place and route ({count} cells, density {args.layout_density}): qflow, "
          "GrayWolf, qrouter ...", flush=True)
    named = netlist_blif(library, out / "asic" / "netlist_sim.v", top, work, run_yosys)
    cells, ports = blif_cells(named)
    buffers = sum(1 for c in cells if not c.path)
    if len(cells) != count + buffers:
        raise UsageError(f"place and route: {named.name} has {len(cells) - buffers} cells and "
                         f"{buffers} net-alias buffers; the netlist has {count} cells")
    routed, seconds = place_and_route(work / f"{top}.blif", work / "layout_netlist.v", top,
                                      work / "qflow", args.layout_density, args.layout_timeout)
    layout = read_def(routed)
    errors = connectivity_errors(layout, cells, ports)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise UsageError(f"place and route: the routed DEF differs from the netlist: "
                         f"{errors[0]}{more}; see {routed}")
    report = layout_figures(layout, cells, lef_sizes(library.lef), asic, seconds)
    blocks = [b["name"] for b in asic["blocks"]]
    blocks_of = {c.path: block_of_cell(c.path, top, blocks) for c in cells}
    draw_layout(layout, cells, lef_sizes(library.lef), blocks_of, work / "layout.png",
                f"{top} on {library.name}: {report['die_mm2']:.3f} mm2 die, "
                f"{report['cells']} cells, {report['wire_mm']:.0f} mm of wire")
    shutil.copy(routed, work / f"{top}.def")
    report["gds"] = GDS_STOP
    (work / "layout_report.json").write_text(json.dumps(report, indent=2) + "\n")
    final = replace_build_folder(work, out / "layout")
    for line in layout_lines(report):
        print(line)
    print(GDS_STOP)
    print(f"layout: {final / f'{top}.def'}, picture {final / 'layout.png'}")
    return report


def layout_figures(layout, cells, sizes, asic, seconds):
    """The layout's figures: die, cell and filler area, wire per layer, time per step."""
    placed = [kind for kind, _, _ in layout.components.values()]
    area = sum(sizes[k][0] * sizes[k][1] for k in placed if k != FILLER)
    fill = sum(sizes[k][0] * sizes[k][1] for k in placed if k == FILLER)
    die = (layout.die[2] - layout.die[0]) * (layout.die[3] - layout.die[1])
    wire = {}
    for lay, x0, y0, x1, y1 in layout.wires:
        wire[lay] = wire.get(lay, 0.0) + abs(x1 - x0) + abs(y1 - y0)
    netlist_cells = sum(asic["cell_counts"].values())
    return {"cells": len(cells), "netlist_cells": netlist_cells,
            "alias_buffers": len(cells) - netlist_cells, "fillers": placed.count(FILLER),
            "cell_area_um2": area, "netlist_area_um2": asic["area_um2"],
            "filler_area_um2": fill, "die_um2": die, "die_mm2": die * 1e-6,
            "die_um": [layout.die[2] - layout.die[0], layout.die[3] - layout.die[1]],
            "utilisation": area / die, "wire_um_per_layer": wire,
            "wire_mm": sum(wire.values()) * 1e-3, "vias": layout.vias,
            "nets": len(layout.nets), "seconds": seconds}


def layout_lines(r):
    """The layout's figures as lines of text."""
    per_layer = ", ".join(f"{k} {v * 1e-3:.1f}" for k, v in sorted(r["wire_um_per_layer"].items()))
    return [f"die {r['die_um'][0]:.0f} x {r['die_um'][1]:.0f} um = {r['die_mm2']:.4f} mm2; "
            f"cells {r['cell_area_um2'] * 1e-6:.4f} mm2 ({r['utilisation'] * 100:.0f} %), "
            f"{r['cells']} cells ({r['alias_buffers']} buffers between a net's two names), "
            f"{r['fillers']} fillers",
            f"routed: {r['nets']} nets, 0 failed, {r['wire_mm']:.1f} mm of wire ({per_layer} mm), "
            f"{r['vias']} vias; the DEF transcribes the netlist (cells and pins, net for net)",
            f"placement {r['seconds']['place']:.0f} s, routing {r['seconds']['route']:.0f} s"]
