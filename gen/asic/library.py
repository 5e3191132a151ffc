"""The standard-cell library the ASIC stage maps onto, and where its files are.

The library is OSU 0.18 um (``osu018``; Oklahoma State University's cells for the TSMC
0.18 um / MOSIS SCMOS rules), as Debian's ``qflow-tech-osu018`` installs it under
``/usr/share/qflow/tech/osu018``: a Liberty file (timing and internal power at the typical
corner, 1.8 V, 25 C), LEF, SPICE and the cells' Verilog models with specify delays. It is
the one open library with timing and power views that installs from the package registries
on a fresh machine; the reasons, and what else was looked at, are in docs/asic.md.

``IPNET_ASIC_LIBRARY`` may name another folder holding the same four files, for a copy
installed elsewhere.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Library", "find_library", "sta_available", "DEFAULT_FOLDER"]

DEFAULT_FOLDER = Path("/usr/share/qflow/tech/osu018")


@dataclass(frozen=True)
class Library:
    """One standard-cell library: its name, corner and files.

    Attributes
    ----------
    name : str
    corner : str
        The Liberty file's process/voltage/temperature corner, as the report prints it.
    liberty, lef, verilog, spice : Path
    """
    name: str
    corner: str
    liberty: Path
    lef: Path
    verilog: Path
    spice: Path


def find_library():
    """The OSU 0.18 um library, or ``(None, reason)`` when its files are not installed.

    Returns
    -------
    (Library or None, str)
    """
    folder = Path(os.environ.get("IPNET_ASIC_LIBRARY") or DEFAULT_FOLDER)
    files = {kind: folder / f"osu018_stdcells.{ext}"
             for kind, ext in (("liberty", "lib"), ("lef", "lef"), ("verilog", "v"),
                               ("spice", "sp"))}
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        return None, (f"the OSU 0.18 um cell library is not installed ({', '.join(missing)} "
                      f"not in {folder}; Debian package qflow-tech-osu018)")
    return Library("osu018", "typical, 1.8 V, 25 C", **files), ""


def sta_available():
    """Whether OpenSTA (``sta``, Debian package opensta) can be run; the reason when not."""
    if shutil.which("sta"):
        return True, ""
    return False, "OpenSTA (sta) not found (Debian package opensta)"
