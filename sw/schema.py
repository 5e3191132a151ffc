"""The building blocks of every config schema: a documented field and its value checks.

A schema is a frozen dataclass whose fields are made with :func:`spec`; the field's ``check``
returns ``None`` for a good value or the reason it is refused, which
:func:`sw.config.build_dataclass` puts in the one-line :class:`~sw.errors.ConfigError`.
The design (:mod:`sw.config`), the network (:mod:`sw.network`) and the experiments
(:mod:`sw.train.experiment`, :mod:`sw.wm.experiment`) use the same checks.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field

__all__ = ["spec", "positive", "non_negative", "between", "one_of", "names", "integers",
           "numbers"]


def spec(doc, check=None, default=dataclasses.MISSING):
    """A schema field with its documentation and its check (and its default, if optional)."""
    meta = {"doc": doc, "check": check}
    if default is dataclasses.MISSING:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def positive(v):
    return None if v > 0 else "must be > 0"


def non_negative(v):
    return None if v >= 0 else "must be >= 0"


def between(lo, hi):
    def check(v):
        return None if lo <= v <= hi else f"must be between {lo} and {hi}"
    return check


def one_of(*choices):
    def check(v):
        return None if v in choices else f"must be one of {', '.join(choices)}"
    return check


def _twice(v):
    """The first item of ``v`` given twice, as a one-element list (hashable items), or []."""
    seen = set()
    for x in v:
        if x in seen:
            return [x]
        seen.add(x)
    return []


def names(allowed, empty=False):
    """A list of distinct names from ``allowed``; non-empty unless ``empty``."""
    def check(v):
        if not v and not empty:
            return "needs at least one"
        bad = [x for x in v if not isinstance(x, str) or x not in allowed]
        if bad:
            return f"unknown {bad[0]!r} (allowed: {', '.join(allowed)})"
        twice = _twice(v)
        return f"{twice[0]!r} is given twice" if twice else None
    return check


def integers(what, allowed, empty=False):
    """A list of distinct integers for which ``allowed(x)``; non-empty unless ``empty``."""
    def check(v):
        if not v and not empty:
            return "needs at least one"
        bad = [x for x in v if isinstance(x, bool) or not isinstance(x, int) or not allowed(x)]
        if bad:
            return f"must hold {what}: {bad[0]!r} is not"
        twice = _twice(v)
        return f"{twice[0]!r} is given twice" if twice else None
    return check


def numbers(what, allowed):
    """A list of distinct finite numbers for which ``allowed(x)``; non-empty."""
    def check(v):
        if not v:
            return "needs at least one"
        bad = [x for x in v if isinstance(x, bool) or not isinstance(x, (int, float))
               or not math.isfinite(x) or not allowed(x)]
        if bad:
            return f"must hold {what}: {bad[0]!r} is not"
        return f"{v[0]!r} is given twice" if len(set(v)) < len(v) else None
    return check
