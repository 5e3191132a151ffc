"""The generate stage's build folder, for the network and the single layer alike: kept while
its inputs are unchanged, otherwise made whole in a temporary sibling folder and swapped in.

:func:`generate_folder` is the one place both generators (:func:`gen.network.generate_network`,
:func:`gen.design.generate`) make their folder. Its manifest records the content hashes of
the folder's inputs (``inputs``: the target's YAML files, the integer weights, the options,
the package's code and the tools; :mod:`ipnet_mtj.sw.jobs.cache`) and the SHA-256 of every
file it wrote (``files``). The folder is kept, and the stage says so, when both still hold.
Otherwise it says what changed and makes the folder again. The old folder stays in place until
the new one is complete (:func:`gen.export.replace_build_folder`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ipnet_mtj.sw.jobs.cache import changed_inputs, intact

from .export import replace_build_folder

__all__ = ["generate_folder", "arrays_hash", "why_generate"]


def arrays_hash(arrays):
    """Content hash (16 hex digits) of integer arrays, by shape and int64 values, in order."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.int64)
        digest.update(repr(a.shape).encode() + a.tobytes())
    return digest.hexdigest()[:16]


def why_generate(final, inputs):
    """Why the folder ``final`` must be made (a phrase), or "" when it can be kept."""
    path = Path(final) / "manifest.json"
    if not path.is_file():
        return "no build yet"
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return "its manifest is unreadable"
    if not isinstance(manifest, dict):
        return "its manifest is unreadable"
    changed = changed_inputs(manifest.get("inputs"), inputs)
    if changed:
        return "changed: " + ", ".join(changed)
    if not intact(final, manifest.get("files")):
        return "its files differ from the manifest"
    return ""


def generate_folder(out_root, name, inputs, fill, log=None, reuse=True):
    """``out_root/name``, kept or made again.

    Parameters
    ----------
    inputs : dict
        {input: content hash} (:func:`ipnet_mtj.sw.jobs.cache.stage_inputs`).
    fill : callable
        ``fill(tmp)`` writes the folder's files and its manifest into the empty folder
        ``tmp``; the manifest must record ``inputs`` and the SHA-256 of every file.
    log : callable, optional
        Hears one line: kept (up to date) or made, and why.
    reuse : bool
        False: made again whatever the inputs (a folder whose files depend on something
        outside it, such as ROM images under another folder).
    """
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / name
    why = why_generate(final, inputs) if reuse else "made on every call"
    if not why:
        if log:
            log(f"{final}: up to date ({', '.join(sorted(inputs))} unchanged); not generated "
                f"again")
        return final
    if log:
        log(f"generating {final} ({why})")
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_root))
    try:
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return replace_build_folder(tmp, final)
