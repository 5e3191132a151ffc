"""ipnet asic ... --gate-level: the synthesised netlist in the benches, against the golden model.

The ASIC stage (:mod:`gen.asic.stage`) synthesises the pins-only top for its figures. With
``--gate-level`` this module then synthesises the design the benches drive (``<name>.v``,
with its monitor port) onto the same cells, with the same script, and runs the bench of
the RTL on that netlist instead of the RTL:

* **cell models**: on Icarus, the library's own Verilog models; on Verilator, the models
  written from the Liberty file (:mod:`gen.asic.cell_models`; Verilator takes neither the
  library's sequential UDPs nor its ``specify`` blocks). The two are checked against each
  other in the tests;
* **RAM macros**: the layer is simulated with every cell of its flip-flop RAM macros. The
  network's macros (62.7 kbit, about 370,000 cells) are simulated by their behavioural
  models (:func:`gen.asic.ffram.macro_models`), as an SRAM macro's model stands in for it in
  a tape-out's gate-level simulation; every other cell of the network is simulated. Each of
  the network's macro shapes is then checked on its own (:func:`check_macros`): its cells
  on Icarus against its model, every word written and then random reads and writes, every
  read compared;
* the network runs ``--sequences`` test sequences (default 20, every frame), the layer
  ``--neuron-steps`` neuron updates (default 2560) of the regression bench; the RTL runs
  the same stimulus in the same bench right after, and the report puts the two speeds
  (simulated cycles per second of wall time) side by side: the benchmark of gate-level
  simulation against RTL simulation.

Results: ``build/<name>/gate/gate_report.json`` (built in ``gate.partial/``, put in place
when complete), shown in the build report; docs/asic.md.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from ipnet_mtj.gen.asic.cell_models import verilator_models
from ipnet_mtj.gen.asic.cells import synthesise_cells
from ipnet_mtj.gen.asic.ffram import (MACRO_PREFIX, macro_models, macro_name, ram_structure,
                                      without_macros)
from ipnet_mtj.gen.asic.stage import asic_parser, run_layer, run_network, tools
from ipnet_mtj.gen.export import replace_build_folder
from ipnet_mtj.sw.cli import UsageError
from ipnet_mtj.sw.jobs.runner import add_runner_args, runner_from_args

from .energy_record import write_energy_record
from .runner import kept_report, parse_simulators, simulator_available

__all__ = ["main_network", "main_layer", "simulation_files", "check_macros", "macro_shapes"]

MACRO_RANDOM_CYCLES = 2000
#: the RAM macros' energy characterisations, kept beside the build folders (by content hash)
MACRO_ENERGY_CACHE = ".cache/macro_energy"


def _add_gate_level_args(parser, kind):
    parser.add_argument("--gate-level", action="store_true",
                        help="also simulate the synthesised netlist against the golden model")
    default = "verilator" if kind == "network" else "icarus,verilator"
    parser.add_argument("--simulators", default=default,
                        help=f"gate-level simulators (default {default})")
    if kind == "network":
        parser.add_argument("--sequences", type=int, default=20,
                            help="gate-level: test sequences (default 20)")
        add_runner_args(parser, "gate-level: shards of sequences run at once (default: the "
                                "machine's cores)")
        parser.add_argument("--activity-frames", type=int, default=4, metavar="N",
                            help="gate-level: measure the energy over the first N frames of "
                                 "the first sequence, in a run of its own (default 4)")
        parser.add_argument("--record", metavar="JSON",
                            help="gate-level: also write the neuron unit's measured energy to "
                                 "this file (docs/asic-energy.json: a row of docs/results.md)")
    else:
        parser.add_argument("--neuron-steps", type=int, default=2560,
                            help="gate-level: neuron updates (default 2560)")
    return parser


def simulation_files(sim, library, netlist, folder, macros_as_models):
    """The Verilog files that take the place of the design's in ``sim``'s bench: the cells'
    models, the netlist, and with ``macros_as_models`` the RAM macros' behavioural models in
    place of their cells. Written into ``folder``."""
    folder = Path(folder)
    if sim == "verilator":
        cells = folder / "cells_verilator.v"
        try:
            cells.write_text(verilator_models(library.liberty.read_text()))
        except ValueError as err:
            raise UsageError(f"{library.liberty}: {err}") from None
    else:
        cells = library.verilog
    if not macros_as_models:
        return [cells, netlist]
    text = Path(netlist).read_text()
    logic = folder / "netlist_logic.v"
    logic.write_text(without_macros(text))
    models = folder / "ffram_models.v"
    models.write_text(macro_models(macro_shapes(text)))
    return [cells, logic, models]


def macro_shapes(netlist_text):
    """The (words, width) of every RAM macro a netlist defines."""
    return sorted({(int(a), int(b)) for a, b in
                   re.findall(rf"^module {MACRO_PREFIX}(\d+)x(\d+)\b", netlist_text, re.M)})


def _macro_testbench(words, width, cycles, seed):
    ab = max(1, (words - 1).bit_length())
    name = macro_name(words, width)
    return f"""`timescale 1ns/1ps
module macro_tb;
  reg clk = 0, we = 0, re = 0;
  reg [{ab - 1}:0] wa = 0, ra = 0;
  reg [{width - 1}:0] wd = 0;
  wire [{width - 1}:0] q_cells, q_model;
  {name} cells (.clk(clk), .we(we), .wa(wa), .wd(wd), .re(re), .ra(ra), .rd(q_cells));
  model_{name} model (.clk(clk), .we(we), .wa(wa), .wd(wd), .re(re), .ra(ra), .rd(q_model));
  always #5 clk = ~clk;
  integer i, seed = {seed}, compared = 0, errors = 0;
  initial begin
    @(negedge clk);
    for (i = 0; i < {words}; i = i + 1) begin              // every word written once
      we = 1; wa = i; wd = $random(seed); re = 0;
      @(negedge clk);
    end
    for (i = 0; i < {cycles}; i = i + 1) begin              // then random reads and writes
      // writes over the whole address space: one beyond the last word must change nothing
      we = $random(seed); wa = $unsigned($random(seed)) % {1 << ab}; wd = $random(seed);
      re = $random(seed); ra = $unsigned($random(seed)) % {words};
      if (i % 4 == 0) ra = wa;                 // a read of the word written at that edge
      @(negedge clk);
      if (^q_model !== 1'bx) begin
        compared = compared + 1;
        if (q_cells !== q_model) errors = errors + 1;
      end
    end
    $display("RESULT %0d %0d", compared, errors);
    $finish;
  end
endmodule
"""


def check_macros(shapes, library, netlist, folder, cycles=MACRO_RANDOM_CYCLES, seed=1):
    """Each RAM macro of ``shapes``, its cells from ``netlist`` with the library's own cell
    models on Icarus, against its behavioural model: every word written, then ``cycles``
    random reads and writes, the read data compared after each clock edge.

    Returns
    -------
    list of dict
        ``macro``, ``words``, ``width``, ``banks``, ``compared``, ``mismatches``, ``wall_s``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    models = re.sub(rf"^module ({MACRO_PREFIX}\w+)", r"module model_\1",
                    macro_models(shapes), flags=re.M)
    (folder / "ffram_models_renamed.v").write_text(models)
    out = []
    for words, width in shapes:
        t0 = time.monotonic()
        tb = folder / f"tb_{words}x{width}.v"
        tb.write_text(_macro_testbench(words, width, cycles, seed))
        vvp = folder / f"tb_{words}x{width}.vvp"
        cmd = ["iverilog", "-g2005", "-s", "macro_tb", "-o", str(vvp), str(tb),
               str(folder / "ffram_models_renamed.v"), str(netlist), str(library.verilog)]
        build = subprocess.run(cmd, capture_output=True, text=True)
        if build.returncode:
            raise UsageError(f"iverilog failed on the macro check of {words} x {width}: "
                               f"{build.stderr.strip().splitlines()[0]}")
        run = subprocess.run(["vvp", "-n", str(vvp)], capture_output=True, text=True)
        result = re.search(r"^RESULT (\d+) (\d+)", run.stdout, re.M)
        if not result:
            raise UsageError(f"the macro check of {words} x {width} printed no result; see {vvp}")
        out.append({"macro": macro_name(words, width), "words": words, "width": width,
                    "banks": ram_structure(words)[0], "compared": int(result.group(1)),
                    "mismatches": int(result.group(2)), "wall_s": time.monotonic() - t0})
    return out


def _gate_start(out, top, macros_as):
    """The library, the work folder ``gate.partial/`` (emptied), the netlist of ``<top>.v``
    for simulation, and the report begun."""
    library = tools()
    work = out / "gate.partial"
    shutil.rmtree(work, ignore_errors=True)
    print(f"gate level: yosys onto the cells ({top}.v, with its monitor port) ...", flush=True)
    netlist = synthesise_cells(out / f"{top}.v", top, library, work).netlist \
        .with_name("netlist_sim.v")
    report = {"design": top, "netlist": f"gate/{netlist.name}", "macros_as": macros_as,
              "simulations": []}
    return library, work, netlist, report


def _finish(out, work, report):
    (work / "gate_report.json").write_text(json.dumps(report, indent=2) + "\n")
    final = replace_build_folder(work, out / "gate")
    print(f"gate-level report: {final / 'gate_report.json'}")
    bad = sum(r["mismatches"] for r in report["simulations"] + report.get("macros", [])
              + ([report["activity"]] if "activity" in report else []))
    return 1 if bad else 0


def _check_sims(args, macros=False):
    sims = parse_simulators(args.simulators)
    if macros and shutil.which("iverilog") is None:
        raise UsageError("--gate-level: the RAM macros are checked on Icarus, and iverilog is "
                         "not installed (Debian package iverilog)")
    for sim in sims:
        ok, why = simulator_available(sim)
        if not ok:
            raise UsageError(f"--simulators: {why}")
    return sims


def main_network(argv):
    """``ipnet asic NETWORK [--gate-level]``."""
    args = _add_gate_level_args(asic_parser("network"), "network").parse_args(argv)
    if args.sequences < 1:
        raise UsageError(f"--sequences: must be >= 1, got {args.sequences}")
    if args.activity_frames < 1:
        raise UsageError(f"--activity-frames: must be >= 1, got {args.activity_frames}")
    if args.record is not None:
        if not args.gate_level:
            raise UsageError("--record: the energy comes from the gate-level run; add --gate-level")
        folder = Path(args.record).resolve().parent
        if not folder.is_dir():
            raise UsageError(f"--record: folder {folder} does not exist")
        if "verilator" not in parse_simulators(args.simulators):
            raise UsageError("--record: the energy comes from the Verilator run; --simulators "
                             "must include verilator")
    sims = _check_sims(args, macros=True) if args.gate_level else []
    design, out = run_network(args)
    if not args.gate_level:
        return 0
    import numpy as np
    from ipnet_mtj.gen.report import write_report
    from .network import load_test_sequences
    from .runner import run_network_bench
    library, work, netlist, report = _gate_start(
        out, design.top, "behavioural models (checked on their own below)")
    x, y = load_test_sequences(design, args.sequences)
    if args.activity_frames > x.shape[1]:
        raise UsageError(f"--activity-frames: a test sequence has {x.shape[1]} frames, asked "
                         f"for {args.activity_frames}")
    stimulus = work / "stimulus.npz"
    np.savez(stimulus, x=x, y=y)
    runner = runner_from_args(args)
    activity = None
    for sim in sims:
        print(f"gate level on {sim}: {len(x)} sequences of {x.shape[1]} frames "
              f"({runner.describe()}) ...", flush=True)
        files = simulation_files(sim, library, netlist, work, macros_as_models=True)
        # the activity, for the energy: a window of its own (tracing slows Verilator 6x)
        window = args.activity_frames if sim == "verilator" else None
        with runner:
            rep = _kept(sim, work / "sim", lambda: run_network_bench(
                sim, out, args.network, stimulus, work / "sim", stress=True,
                show_progress=True, netlist=files, runner=runner, activity_frames=window))
        if window and rep.get("activity", {}).get("saif"):
            activity = rep.pop("activity")
            print(f"  activity run: {activity['frames']} frames, {activity['values_compared']} "
                  f"values compared, {activity['mismatches']} mismatches", flush=True)
            report["activity"] = {k: activity[k] for k in (
                "simulator", "sequences", "frames", "values_compared", "mismatches", "cycles",
                "wall_s")}
        with runner:
            rtl = run_network_bench(sim, out, args.network, stimulus, work / "rtl",
                                    stress=True, show_progress=True, runner=runner)
        report["simulations"].append(_summary(rep, rtl))
        _print(sim, report["simulations"][-1])
    shapes = macro_shapes(netlist.read_text())
    print(f"RAM macros, cells against model on Icarus: {shapes} ...", flush=True)
    report["macros"] = check_macros(shapes, library, netlist, work / "macros")
    for m in report["macros"]:
        print(f"  {m['macro']}: {m['compared']} reads compared, {m['mismatches']} mismatches")
    if activity is not None:
        from .harness import HARNESS_TOP
        neurons = design.net.thermal.fp.neurons
        report["energy"] = _energy(out, library, netlist, design.top, activity["saif"],
                                   (HARNESS_TOP, "dut"), work, activity["frames"] * neurons,
                                   activity["frames"] * design.net.macs, activity["frames"])
    code = _finish(out, work, report)
    if args.record and "energy" in report:
        write_energy_record(args.record, report, design, library, neurons, activity,
                            "ipnet asic " + " ".join(argv))
    write_report(out, design.net)
    return code


def main_layer(argv):
    """``ipnet asic LAYER [--gate-level]``."""
    args = _add_gate_level_args(asic_parser("layer"), "layer").parse_args(argv)
    if args.neuron_steps < 1:
        raise UsageError(f"--neuron-steps: must be >= 1, got {args.neuron_steps}")
    sims = _check_sims(args) if args.gate_level else []
    design, out = run_layer(args)
    if not args.gate_level:
        return 0
    from .harness import LAYER_HARNESS_TOP
    from .runner import run_regress_bench
    library, work, netlist, report = _gate_start(out, design.top, "cells")
    activity = None
    for sim in sims:
        print(f"gate level on {sim}: {args.neuron_steps} neuron updates ...", flush=True)
        files = simulation_files(sim, library, netlist, work, macros_as_models=False)
        waves = "saif" if sim == "verilator" else False      # the activity, for the energy
        rep = _kept(sim, work / "sim", lambda: run_regress_bench(
            sim, out, args.layer, args.neuron_steps, 1, work / "sim", show_progress=True,
            netlist=files, waves=waves))
        if waves and rep.get("saif"):
            activity = rep
        rtl = run_regress_bench(sim, out, args.layer, args.neuron_steps, 1, work / "rtl",
                                show_progress=True)
        report["simulations"].append(_summary(rep, rtl))
        _print(sim, report["simulations"][-1])
    if activity is not None:
        report["energy"] = _energy(out, library, netlist, design.top, activity["saif"],
                                   (LAYER_HARNESS_TOP, "dut"), work, activity["neuron_steps"],
                                   activity["neuron_steps"] * design.fp.inputs)
    return _finish(out, work, report)


def _energy(out, library, netlist, top, saif_files, scope, work, neuron_updates, macs,
            frames=None):
    """The energy figures of the Verilator run, printed and returned (:mod:`sim.gate_energy`)."""
    from .gate_energy import gate_energy
    asic = json.loads((out / "asic" / "asic_report.json").read_text())
    print("energy from the Verilator run's switching activity ...", flush=True)
    e = gate_energy(library, netlist, top, saif_files, scope, work,
                    fmax_mhz=asic["timing"]["fmax_mhz"], neuron_updates=neuron_updates,
                    macs=macs, frames=frames, mtj_pulse_j=asic["mtj_pulse_energy_j"],
                    cache_dir=Path(out).resolve().parent / MACRO_ENERGY_CACHE)
    for line in energy_lines(e):
        print(f"  {line}")
    return e


def energy_lines(e):
    """The energy figures as lines of text."""
    lines = [f"{e['simulated_cycles']} cycles simulated: {e['energy_per_cycle_j'] * 1e12:.4g} pJ "
             f"per cycle, {e['power_at_fmax_w'] * 1e3:.4g} mW at Fmax {e['fmax_mhz']:.1f} MHz "
             f"(switching {e['switching_j'] / e['dynamic_j'] * 100:.0f} %, internal "
             f"{e['internal_j'] / e['dynamic_j'] * 100:.0f} %, RAM macros by their model "
             f"{e['macro_model_j'] / e['dynamic_j'] * 100:.0f} %)"]
    if "energy_per_frame_j" in e:
        lines.append(f"energy per frame {e['energy_per_frame_j'] * 1e6:.4g} uJ "
                     f"({e['frames']} frames)")
    lines += [f"energy per MAC {e['energy_per_mac_j'] * 1e12:.4g} pJ, per neuron update "
              f"{e['energy_per_neuron_update_j'] * 1e9:.4g} nJ (whole accelerator)",
              f"thermal neuron unit (read-cool-heat-write, heat RAM included): "
              f"{e['neuron_unit_per_update_j'] * 1e12:.4g} pJ per update; one MTJ pulse at "
              f"I_c0: {e['mtj_pulse_energy_j'] * 1e15:.4g} fJ"]
    for m in e["macro_check"]:
        above = m["above_idle_model_over_cells"]
        lines.append(f"RAM macro {m['instance']}: {m['cells_j'] * 1e9:.4g} nJ from its cells, "
                     f"{m['model_j'] * 1e9:.4g} nJ by its access model "
                     f"({m['model_over_cells']:.2f}x; above idle "
                     + (f"{above:.2f}x)" if above is not None else "-)"))
    return lines


def _kept(sim, work, run):
    """A bench's report; when the bench fails on mismatches, the report it kept (a mismatch
    is a result, written and shown); when it failed otherwise, one line."""
    try:
        return run()
    except RuntimeError as err:
        report = kept_report(work, sim)
        if report is None:
            raise UsageError(f"gate level on {sim}: {err}") from None
        return report


def _summary(rep, rtl):
    """The gate-level run's figures, with the RTL's speed on the same stimulus beside it."""
    keys = ("simulator", "sequences", "frames", "neuron_steps", "values_compared", "mismatches",
            "cycles", "wall_s")
    out = {k: rep[k] for k in keys if k in rep}
    out["cycles_per_s"] = rep["cycles"] / rep["wall_s"]
    out["rtl_values_compared"] = rtl["values_compared"]
    out["rtl_mismatches"] = rtl["mismatches"]
    out["rtl_cycles_per_s"] = rtl["cycles"] / rtl["wall_s"]
    out["rtl_over_gate"] = out["rtl_cycles_per_s"] / out["cycles_per_s"]
    return out


def _print(sim, r):
    print(f"  {sim}: {r['values_compared']} values compared, {r['mismatches']} mismatches; "
          f"{r['cycles_per_s']:.4g} cycles/s at gate level, {r['rtl_cycles_per_s']:.4g} for the "
          f"RTL on the same stimulus ({r['rtl_over_gate']:.1f}x)", flush=True)
