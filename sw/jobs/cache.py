"""A stage's product kept while its inputs are unchanged: the flow's one rule for reusing work.

A stage that writes a product (a build folder, a run's metrics) records beside it the content
hashes of its inputs (:func:`stage_inputs`): the description, the weights, the options, the
package's own source code and the tools' versions. Run again, the stage compares the
recorded inputs with the current ones (:func:`changed_inputs`) and checks that the product's
files are still the ones it wrote (:func:`intact`, by SHA-256). Only when both hold is the
product reused, and the stage says so; otherwise it names what changed and runs.

The package's source code is an input because a product depends on the code that made it:
:func:`source_hash` hashes every ``.py`` file of the package (and its package data) by path
and bytes, so any edit, committed or not, makes the product stale.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from .hashing import content_hash
from .provenance import tool_versions

__all__ = ["source_hash", "stage_inputs", "changed_inputs", "intact"]

_PACKAGE = Path(__file__).resolve().parents[2]
_SOURCE_DIRS = ("sw", "hw", "gen", "sim", "flow")
_SOURCE_SUFFIXES = (".py", ".vlt", ".j2")


@lru_cache(maxsize=1)
def source_hash():
    """Content hash of the package's source: every ``.py``, ``.vlt`` and ``.j2`` file below
    its folders, by relative path and SHA-256 of its bytes (16 hex digits)."""
    files = {}
    for folder in _SOURCE_DIRS:
        root = _PACKAGE / folder
        for path in sorted(root.rglob("*")):
            if path.suffix in _SOURCE_SUFFIXES and "__pycache__" not in path.parts:
                files[str(path.relative_to(_PACKAGE))] = \
                    hashlib.sha256(path.read_bytes()).hexdigest()
    return content_hash(files)


def stage_inputs(**inputs):
    """{name: content hash} of a stage's inputs, with ``code`` (:func:`source_hash`) and
    ``tools`` (the tools' versions) added. Values that are not strings are hashed."""
    out = {name: value if isinstance(value, str) else content_hash(value)
           for name, value in inputs.items()}
    out["code"] = source_hash()
    out["tools"] = content_hash(tool_versions())
    return out


def changed_inputs(recorded, current):
    """The names of the inputs whose hashes differ between ``recorded`` and ``current`` (one
    missing from either counts as changed), sorted; [] when the product can be reused."""
    recorded = recorded if isinstance(recorded, dict) else {}
    return sorted(k for k in set(recorded) | set(current) if recorded.get(k) != current.get(k))


def intact(folder, files):
    """Whether every file of ``files`` ({name: SHA-256}) is in ``folder`` with those bytes."""
    folder = Path(folder)
    if not isinstance(files, dict) or not files:
        return False
    for name, digest in files.items():
        path = folder / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return False
    return True
