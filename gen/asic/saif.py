"""Reading a SAIF file (IEEE 1801 Switching Activity Interchange Format, backward SAIF).

A SAIF file holds, for every net of every instance scope a simulator traced, the time the
net spent at 0 (``T0``) and at 1 (``T1``) and its number of transitions (``TC``) over the
run (``DURATION``, in ``TIMESCALE`` units). Verilator writes one with ``--trace-saif``.
Nothing on PyPI reads SAIF, so this module does; it reads the grammar's parts a power
estimate needs (``DURATION``, ``TIMESCALE``, nested ``INSTANCE`` scopes and their ``NET``
and ``PORT`` entries) and skips every other group (``DIVIDER`` among them: hierarchy is
taken from the nesting of ``INSTANCE`` scopes, never from names). Names may escape any
character with a backslash (``data\\[3\\]``); the escapes are removed, so a bus bit reads
``data[3]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Activity", "Saif", "read_saif", "merge_saifs"]

_TOKEN = re.compile(r'\(|\)|"[^"]*"|(?:\\.|[^\s()\\"])+')
_UNESCAPE = re.compile(r"\\(.)")
_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}


@dataclass(frozen=True)
class Activity:
    """One net over the run: time high and low (in the file's time unit), transitions."""
    t0: int
    t1: int
    tc: int


@dataclass
class Saif:
    """A SAIF file's contents: the run's duration in seconds, and every scope's nets.

    ``scopes`` maps a scope's path (a tuple of instance names, from the outermost) to
    ``{net name: Activity}``.
    """
    duration_s: float
    timescale_s: float
    scopes: dict = field(default_factory=dict)


# a whole net entry in the common form, "(name (T0 a) (T1 b) ... (TC c))", as one token: a
# large file is mostly these, and reading each as a dozen tokens is what takes the time
_ENTRY = re.compile(r'\(\s*((?:\\.|[^\s()\\"])+)((?:\s*\(\s*[A-Z][A-Z0-9]*\s+[-+\d.eE]+\s*\))+)\s*\)'
                    r'|(\()|(\))|("[^"]*"|(?:\\.|[^\s()\\"])+)')
_VALUE = re.compile(r"\(\s*([A-Z][A-Z0-9]*)\s+([-+\d.eE]+)\s*\)")


def _tokens(text):
    """Tokens: "(", ")", atoms, and (name, {key: number}) for a net entry of the common
    form (any other form is read token by token)."""
    out = []
    for m in _ENTRY.finditer(text):
        name, values, opening, closing, atom = m.groups()
        if name is not None:
            try:
                out.append((name, {k: round(float(v)) for k, v in _VALUE.findall(values)}))
                continue
            except ValueError:              # not a number after all: the token-by-token path
                out.extend(_TOKEN.findall(m.group(0)))
                continue
        out.append(opening or closing or atom)
    return out


def read_saif(path):
    """Read the SAIF file ``path``.

    Raises
    ------
    ValueError
        When the file is not SAIF (no ``SAIFILE`` group, no ``DURATION``) or a group is
        not closed; the message names the file.
    """
    path = Path(path)
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text(), flags=re.S)   # comments
    tokens = _tokens(text)
    if len(tokens) < 2 or tokens[0] != "(" or tokens[1] != "SAIFILE":
        raise ValueError(f"{path}: not a SAIF file (it does not begin with (SAIFILE)")
    timescale, duration, scopes = 1e-9, None, {}
    i, n = 2, len(tokens)

    def skip(i):                        # past the group whose "(" is tokens[i - 1]
        depth = 1
        while depth:
            if i >= n:
                raise ValueError(f"{path}: a group is not closed")
            token = tokens[i]
            depth += 1 if token == "(" else -1 if token == ")" else 0
            i += 1
        return i

    def nets(i, into):                  # (NET|PORT (name (T0 a) (T1 b) (TC c) ...) ...)
        while True:
            if isinstance(tokens[i], tuple):
                name, values = tokens[i]
                into[_UNESCAPE.sub(r"\1", name)] = Activity(
                    values.get("T0", 0), values.get("T1", 0), values.get("TC", 0))
                i += 1
                continue
            if tokens[i] != "(":
                break
            name = _UNESCAPE.sub(r"\1", tokens[i + 1])
            if name in ("(", ")"):
                raise ValueError(f"{path}: a net without a name")
            i += 2
            values = {}
            while tokens[i] == "(":
                key = tokens[i + 1]
                if tokens[i + 3] != ")":
                    i = skip(i + 1)
                    continue
                try:
                    values[key] = round(float(tokens[i + 2]))
                except ValueError:
                    raise ValueError(f"{path}: net {name}: {key} {tokens[i + 2]!r} is not a "
                                     "number") from None
                i += 4
            into[name] = Activity(values.get("T0", 0), values.get("T1", 0), values.get("TC", 0))
            i += 1                      # the net's ")"
        return i + 1                    # the NET group's ")"

    def instance(i, scope):             # after "(INSTANCE": [type] name, then groups
        name = tokens[i]
        i += 1
        if tokens[i] not in ("(", ")"):         # (INSTANCE "type" name ...)
            name = tokens[i]
            i += 1
        path_ = scope + (_UNESCAPE.sub(r"\1", name.strip('"')),)
        own = scopes.setdefault(path_, {})
        while tokens[i] == "(":
            key = tokens[i + 1]
            if key in ("NET", "PORT"):
                i = nets(i + 2, own)
            elif key == "INSTANCE":
                i = instance(i + 2, path_)
            else:
                i = skip(i + 1)
        return i + 1

    try:
        while i < n and tokens[i] == "(":
            key = tokens[i + 1]
            if key == "DURATION":
                duration = float(tokens[i + 2])
                i += 4
            elif key == "TIMESCALE":
                value = "".join(tokens[i + 2:tokens.index(")", i)])
                m = re.fullmatch(r"(\d+(?:\.\d*)?)?\s*([munpf]?s)", value)
                if not m:
                    raise ValueError(f"{path}: TIMESCALE {value!r} is not a time")
                timescale = float(m.group(1) or 1) * _SCALE[m.group(2)]
                i = skip(i + 1)
            elif key == "INSTANCE":
                i = instance(i + 2, ())
            else:
                i = skip(i + 1)
    except IndexError:
        raise ValueError(f"{path}: the file ends inside a group") from None
    if duration is None:
        raise ValueError(f"{path}: no DURATION")
    return Saif(duration * timescale, timescale, scopes)


def merge_saifs(saifs):
    """One :class:`Saif` from several runs of the same design (shards of one bench): the
    durations, times high and low and transitions added, net by net."""
    saifs = list(saifs)
    if not saifs:
        raise ValueError("no SAIF file to merge")
    out = Saif(sum(s.duration_s for s in saifs), saifs[0].timescale_s, {})
    for s in saifs:
        scale = s.timescale_s / out.timescale_s
        for scope, nets in s.scopes.items():
            own = out.scopes.setdefault(scope, {})
            for name, a in nets.items():
                b = own.get(name, Activity(0, 0, 0))
                own[name] = Activity(b.t0 + round(a.t0 * scale), b.t1 + round(a.t1 * scale),
                                     b.tc + a.tc)
    return out
