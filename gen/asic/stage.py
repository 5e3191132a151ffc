"""ipnet asic NETWORK|LAYER: the accelerator on OSU 0.18 um standard cells.

Synthesises the pins-only top (``<name>_top.v``, what ``ipnet synth`` puts on an FPGA) with
Yosys onto the OSU 0.18 um cells (:mod:`gen.asic.cells`), runs OpenSTA on the netlist at
the library's corner (:mod:`gen.asic.timing`) and prints:

* the area of every block (each module of the design; a module's memories apart, as
  ``<module>_memories``) and the memory inventory (what each memory is and how it is built);
* Fmax, the critical path's start and end, the cycles per frame (network) or per time step
  (layer) from the same design in Amaranth simulation, and frames or steps per second;
* power at Fmax from a vectorless activity (``--activity``), energy per frame and per
  neuron update, beside the energy one MTJ of the device card takes for one pulse at its
  critical current.

With ``--layout`` the netlist is then placed and routed (:mod:`gen.asic.layout_stage`,
``build/<name>/layout/``). Everything else lands in ``build/<name>/asic/`` (netlist.v,
Yosys and OpenSTA scripts and logs, asic_report.json), built in ``asic.partial/`` and put
in its place only when complete.
docs/asic.md says what each figure means.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time

from ipnet_mtj.sw.cli import UsageError, check_output_dir

from ..export import replace_build_folder

from .cells import ABC_DELAY_PS, synthesise_cells
from .ffram import ram_structure
from .layout_stage import add_layout_args, check_layout_args, run_layout
from .library import find_library, sta_available
from .timing import static_timing

__all__ = ["main_network", "main_layer", "run_network", "run_layer", "asic_parser", "tools",
           "asic_figures", "block_table", "memory_table", "replace_asic_folder"]


def asic_parser(kind):
    """The stage's options for a ``network`` or a ``layer``."""
    parser = argparse.ArgumentParser(prog="ipnet asic", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(kind, help=f"{kind} YAML")
    if kind == "network":
        parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--out", default="build", help="build root (default: build)")
    parser.add_argument("--activity", type=float, default=0.1,
                        help="toggles per net per cycle for the vectorless power (default 0.1)")
    add_layout_args(parser)
    return parser


def asic_figures(cells, timing, cycles, neuron_updates, mtj_energy_j):
    """The report's figures (a JSON-ready dict) from the netlist, the timing and the cycles
    per frame (or step) with its ``neuron_updates``."""
    f_hz = timing["fmax_mhz"] * 1e6
    power = timing["power"]["total_w"]
    frame_s = cycles / f_hz
    return {
        "area_um2": cells.area_um2, "area_mm2": cells.area_um2 * 1e-6,
        "blocks": cells.blocks, "memories": cells.memories, "cell_counts": cells.cell_counts,
        "timing": {k: v for k, v in timing.items() if k != "power"},
        "power_w": timing["power"],
        "cycles": cycles, "per_second": f_hz / cycles,
        "energy_per_frame_j": power * frame_s,
        "neuron_updates": neuron_updates,
        "energy_per_neuron_update_j": power * frame_s / neuron_updates,
        "mtj_pulse_energy_j": mtj_energy_j,
    }


def block_table(figures):
    """The area of every block, largest first, as lines."""
    from tabulate import tabulate
    total = figures["area_um2"]
    rows = sorted(figures["blocks"], key=lambda b: -b["area_um2"])
    return tabulate([(b["name"], "memories" if b["memories"] else "logic", b["cells"], b["ff"],
                      b["area_um2"] / 1e6, 100 * b["area_um2"] / total) for b in rows],
                    headers=("block", "kind", "cells", "FF", "area mm2", "%"),
                    tablefmt="plain", floatfmt=("", "", "", "", ".4f", ".1f")).splitlines()


def memory_table(figures):
    from tabulate import tabulate
    return tabulate([(m["module"].split(".")[-1], m["name"], m["kind"], m["words"], m["width"],
                      m["bits"], "logic (constants)" if m["kind"] == "ROM" else
                      "flip-flop RAM macro, {} bank(s) of {} rows".format(*ram_structure(m["words"])))
                     for m in figures["memories"]],
                    headers=("block", "memory", "kind", "words", "bits/word", "bits", "built as"),
                    tablefmt="plain").splitlines()


def _summary(figures, unit):
    t = figures["timing"]
    p = figures["power_w"]
    return [
        f"area {figures['area_mm2']:.3f} mm2 (cells only, before placement)",
        f"Fmax {t['fmax_mhz']:.1f} MHz (period {t['min_period_ns']:.2f} ns"
        + ("; ABC's delay target, met"
           if ABC_DELAY_PS / 1000 - 0.05 < t["min_period_ns"] <= ABC_DELAY_PS / 1000 else "") + f"); critical path {t['critical_start']} -> {t['critical_end']}",
        f"{figures['cycles']} cycles per {unit}: {figures['per_second']:.4g} {unit}s/s at Fmax",
        f"power at Fmax {p['total_w'] * 1e3:.3f} mW (vectorless, activity {t['activity']}): "
        f"internal {p['internal_w'] * 1e3:.3f}, switching {p['switching_w'] * 1e3:.3f}, "
        f"leakage {p['leakage_w'] * 1e6:.3f} uW",
        f"energy per {unit} {figures['energy_per_frame_j'] * 1e9:.4g} nJ; per neuron update "
        f"{figures['energy_per_neuron_update_j'] * 1e12:.4g} pJ "
        f"({figures['neuron_updates']} per {unit}); one MTJ pulse at I_c0: "
        f"{figures['mtj_pulse_energy_j'] * 1e15:.4g} fJ",
    ]


def _mtj_pulse_energy(device):
    """Joules of one junction driven at I_c0 for one pulse (the benchmarks' Joule model)."""
    from ipnet_mtj.sw.train.energy import thermal_joule_pj
    return thermal_joule_pj(1.0, 1, 1, device) * 1e-12


def tools():
    """The cell library, once OpenSTA is known to be there too; else one line."""
    library, why = find_library()
    if library is None:
        raise UsageError(why)
    ok, why = sta_available()
    if not ok:
        raise UsageError(why)
    return library


def _run(library, top, verilog, out, cycles, neuron_updates, device, unit, args):
    # built in asic.partial/ (cleared first; its logs stay there when a tool fails) and put
    # in the place of asic/ only when complete, so a failed run keeps the last good report
    began = time.monotonic()
    work = out / "asic.partial"
    shutil.rmtree(work, ignore_errors=True)
    print(f"{library.name} ({library.corner}): yosys onto the cells ...", flush=True)
    cells = synthesise_cells(verilog, top, library, work)
    print("OpenSTA: timing and power ...", flush=True)
    timing = static_timing(library, cells.netlist, top, work, activity=args.activity)
    figures = asic_figures(cells, timing, cycles, neuron_updates, _mtj_pulse_energy(device))
    figures["library"] = {"name": library.name, "corner": library.corner}
    figures["wall_s"] = time.monotonic() - began      # synthesis and timing, for the benchmark
    print()
    print("\n".join(block_table(figures)))
    print()
    print("\n".join(memory_table(figures)))
    print()
    print("\n".join(_summary(figures, unit)))
    print(f"synthesis and timing took {figures['wall_s']:.0f} s")
    text = json.dumps(figures, indent=2) + "\n"
    (work / "asic_report.json").write_text(text)
    final = replace_asic_folder(work, out)
    print(f"report: {final / 'asic_report.json'}")
    if args.layout:
        run_layout(library, top, out, args)
    return 0


def replace_asic_folder(work, out):
    """Put the finished ``work`` in the place of ``out/asic``; the layout of the netlist it
    replaces (``out/layout``) goes with it, so a build report never shows a layout of
    another netlist. ``out/asic``."""
    shutil.rmtree(out / "layout", ignore_errors=True)
    return replace_build_folder(work, out / "asic")


def main_network(argv):
    """``ipnet asic NETWORK``."""
    run_network(asic_parser("network").parse_args(argv))
    return 0


def run_network(args):
    """The stage on the network of parsed ``args``; returns its design and build folder."""
    _check(args)
    library = tools()
    from ipnet_mtj.gen.network import generate_network, load_network_design
    from ipnet_mtj.hw.net_cycles import measure_cycles_per_frame
    design = load_network_design(args.network, args.weights)
    out = generate_network(design, args.out)
    print("cycles per frame (Amaranth simulation) ...", flush=True)
    cycles = measure_cycles_per_frame(design.net, design.params)
    fp = design.net.thermal.fp
    _run(library, f"{design.top}_top", out / f"{design.top}_top.v", out, cycles,
         fp.neurons, design.net.design.device, "frame", args)
    from ..report import write_report
    page = write_report(out, design.net)
    print(f"build report: {page}")
    return design, out


def main_layer(argv):
    """``ipnet asic LAYER``."""
    run_layer(asic_parser("layer").parse_args(argv))
    return 0


def run_layer(args):
    """The stage on the layer of parsed ``args``; returns its design and build folder."""
    _check(args)
    library = tools()
    from ipnet_mtj.gen.design import generate, load_design
    from ipnet_mtj.hw.cycles import measure_cycles_per_step
    design = load_design(args.layer)
    out = generate(design, args.out)
    cycles = measure_cycles_per_step(design.fp, design.weights, design.biases)
    _run(library, f"{design.top}_top", out / f"{design.top}_top.v", out, cycles,
         design.fp.neurons, design.cfg.device, "step", args)
    return design, out


def _check(args):
    check_output_dir(args.out, "--out")
    if not 0.0 < args.activity <= 1.0:
        raise UsageError(f"--activity: must be in (0, 1], got {args.activity}")
    # the layout tools are checked after synthesis (gen.asic.layout_stage.run_layout): a
    # design above the cell limit stops before placement and does not need them
    check_layout_args(args)

