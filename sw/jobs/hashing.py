"""The flow's one content hash: what a cached product depends on, as a short hex digest.

A value is hashed through its canonical JSON form: ``json.dumps(value, sort_keys=True)`` with
Python's default separators (``", "`` and ``": "``), encoded as UTF-8, then SHA-256; the first
``length`` hex digits are kept (16 by default: 64 bits, collision-free for any cache this flow
keeps). Keys are sorted at every depth, so a dict's insertion order never changes the hash; a
key absent and a key present with ``None`` hash differently, and tuples hash like lists.
Every run cache, data cache and build record of the flow uses this function, so two stages
that depend on the same inputs agree on their key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["content_hash", "file_hash"]


def content_hash(value, length=16):
    """SHA-256 of ``value``'s canonical JSON form, its first ``length`` hex digits.

    Parameters
    ----------
    value : JSON-serialisable
        Dicts, lists, strings, numbers, booleans and None (nested).
    length : int or None
        Hex digits kept; None keeps all 64.

    Examples
    --------
    >>> content_hash({"b": 1, "a": [1, 2]}) == content_hash({"a": [1, 2], "b": 1})
    True
    >>> content_hash({"a": 1})
    'f9d86028c6e0d64e'
    """
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
    return digest if length is None else digest[:length]


def file_hash(path, length=None):
    """SHA-256 of a file's bytes, its first ``length`` hex digits (all 64 when None)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return digest if length is None else digest[:length]
