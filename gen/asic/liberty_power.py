"""The power and slew views of a Liberty file: pin capacitances, internal energy tables,
output transition tables and leakage, in SI units.

What :mod:`gen.asic.power` needs to turn switching activity into energy. Units come from
the library's header (``capacitive_load_unit``, ``time_unit``, ``leakage_power_unit``,
``voltage_unit``); internal energy tables are in capacitance unit x voltage unit squared
(pF x V^2 = pJ for OSU 0.18 um), as the Liberty reference defines them. A table's axes
are named by its template (``power_lut_template`` / ``lu_table_template``:
``total_output_net_capacitance``, ``input_transition_time`` or ``input_net_transition``).
Lookups interpolate linearly on each axis and clamp at the table's edges (no
extrapolation: a load or slew outside the characterised range takes the edge value).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from .cell_models import _attribute, _groups

__all__ = ["Table", "PowerArc", "PowerCell", "PowerLibrary", "read_power_library"]

_UNITS = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0}
_LOAD = "total_output_net_capacitance"
_SLEW = ("input_transition_time", "input_net_transition")


def _numbers(text):
    return [float(v) for v in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text)]


def _index(body, k):
    m = re.search(rf"\bindex_{k}\s*\(\s*\"([^\"]*)\"", body)
    return _numbers(m.group(1)) if m else None


@dataclass
class Table:
    """A lookup table over load (SI farads) and/or input slew (SI seconds)."""
    load: list | None             # axis values, or None when the table has no load axis
    slew: list | None
    values: list                  # values[i][j]: load index i (or 0), slew index j (or 0)

    def __call__(self, load, slew):
        def axis(points, x):
            if points is None or len(points) == 1:
                return 0, 0, 0.0
            if x <= points[0]:
                return 0, 0, 0.0
            if x >= points[-1]:
                return len(points) - 1, len(points) - 1, 0.0
            k = bisect.bisect_right(points, x) - 1
            return k, k + 1, (x - points[k]) / (points[k + 1] - points[k])
        i0, i1, fi = axis(self.load, load)
        j0, j1, fj = axis(self.slew, slew)
        v = self.values
        top = v[i0][j0] * (1 - fj) + v[i0][j1] * fj
        bottom = v[i1][j0] * (1 - fj) + v[i1][j1] * fj
        return top * (1 - fi) + bottom * fi


@dataclass
class PowerArc:
    """An internal-energy (or transition) arc of a pin: rise and fall tables, the related
    input pin (None for an input pin's own energy)."""
    related: str | None
    rise: Table
    fall: Table

    def mean(self, load, slew):
        """Energy (or slew) averaged over the rising and the falling transition."""
        return 0.5 * (self.rise(load, slew) + self.fall(load, slew))


@dataclass
class PowerCell:
    name: str
    leakage_w: float = 0.0
    inputs: dict = field(default_factory=dict)       # pin -> capacitance (F)
    outputs: list = field(default_factory=list)
    energy: dict = field(default_factory=dict)       # pin -> [PowerArc] (J per transition)
    transition: dict = field(default_factory=dict)   # output pin -> [PowerArc] (s)


@dataclass
class PowerLibrary:
    voltage: float
    cells: dict


def _unit(text, default):
    """A unit attribute's value in SI (``"1ns"`` -> 1e-9); ``default`` when it is absent."""
    m = re.fullmatch(r"\s*\"?\s*(\d*\.?\d*)\s*([fpnum]?)\w*\s*\"?\s*", text or "")
    if text is None or not m:
        return default
    return float(m.group(1) or 1) * _UNITS[m.group(2)]


def read_power_library(liberty_text):
    """The power view of a Liberty file.

    Raises
    ------
    ValueError
        When a table names a template the library does not define, or its values do not
        fill its axes.
    """
    text = re.sub(r"/\*.*?\*/", "", liberty_text, flags=re.S)
    text = re.sub(r"\\\n", " ", text)
    first_cell = re.search(r"\bcell\s*\(", text)
    header = text[:first_cell.start()] if first_cell else text
    cap_m = re.search(r"capacitive_load_unit\s*\(\s*([\d.]+)\s*,\s*(\w+)\s*\)", header)
    cap_unit = float(cap_m.group(1)) * _UNITS[cap_m.group(2)[:-1].lower()] if cap_m else 1e-12
    time_unit = _unit(_attribute(header, "time_unit"), 1e-9)
    volt_unit = _unit(_attribute(header, "voltage_unit"), 1.0)
    leak_unit = _unit(_attribute(header, "leakage_power_unit"), 1e-9)
    voltage = float(_attribute(header, "nom_voltage") or 0) * volt_unit
    energy_unit = cap_unit * volt_unit ** 2
    templates = {}
    for kind in ("power_lut_template", "lu_table_template"):
        for name, body in _groups(header, kind):
            templates[name] = ([_attribute(body, f"variable_{k}") for k in (1, 2)],
                               [_index(body, k) for k in (1, 2)])

    def table(tname, body, scale):
        if tname not in templates:
            raise ValueError(f"table template {tname!r} is not defined in the library")
        variables, defaults = templates[tname]
        # a table's own index_1/index_2, else its template's
        idx = [own if own is not None else default
               for own, default in zip((_index(body, k) for k in (1, 2)), defaults)]
        idx = [i for i in idx if i is not None]
        found = re.search(r"\bvalues\s*\((.*?)\)\s*;", body, re.S)
        if not found:
            raise ValueError(f"a {tname} table has no values")
        values = _numbers(found.group(1))
        axes = {}
        for var, points in zip(variables, idx):
            if var == _LOAD:
                axes["load"] = [p * cap_unit for p in points]
            elif var in _SLEW:
                axes["slew"] = [p * time_unit for p in points]
        rows = len(axes.get("load") or [0]) if variables[0] == _LOAD else \
            len(axes.get("slew") or [0])
        cols = len(values) // max(rows, 1)
        if rows * cols != len(values):
            raise ValueError(f"a {tname} table has {len(values)} values for {rows} x {cols}")
        grid = [[v * scale for v in values[r * cols:(r + 1) * cols]] for r in range(rows)]
        if variables[0] != _LOAD:               # store as [load][slew]
            grid = [list(col) for col in zip(*grid)] if axes.get("load") else \
                [[row[0] for row in grid]]
        return Table(axes.get("load"), axes.get("slew"), grid)

    def arcs(body, group, rise_key, fall_key, scale):
        out = []
        for _, g in _groups(body, group):
            rise = _groups(g, rise_key)
            fall = _groups(g, fall_key)
            if rise and fall:
                out.append(PowerArc(_attribute(g, "related_pin"),
                                    table(rise[0][0], rise[0][1], scale),
                                    table(fall[0][0], fall[0][1], scale)))
        return out

    cells = {}
    for name, body in _groups(text, "cell"):
        cell = PowerCell(name)
        leak = re.search(r"\bcell_leakage_power\s*:\s*([\d.eE+-]+)", body)
        cell.leakage_w = float(leak.group(1)) * leak_unit if leak else 0.0
        for pin, pbody in _groups(body, "pin"):
            direction = _attribute(pbody, "direction")
            if direction == "input":
                cell.inputs[pin] = float(_attribute(pbody, "capacitance") or 0) * cap_unit
            elif direction == "output":
                cell.outputs.append(pin)
                cell.transition[pin] = arcs(pbody, "timing", "rise_transition",
                                            "fall_transition", time_unit)
            energy = arcs(pbody, "internal_power", "rise_power", "fall_power", energy_unit)
            if energy:
                cell.energy[pin] = energy
        cells[name] = cell
    return PowerLibrary(voltage, cells)
