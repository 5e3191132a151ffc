"""Zero-delay Verilog models of the library's cells, written from its Liberty file.

The library's own Verilog models (``osu018_stdcells.v``) describe each cell with gate
primitives, a sequential UDP for the flip-flops and a ``specify`` block of delays.
Icarus simulates them as they are. Verilator does not: it takes neither the sequential
UDPs nor the ``specparam``s, and a zero-delay cycle simulation has no use for either. This
module writes a second set of models from the Liberty file instead, the cells' logic as
the timing and power views define it:

* a combinational output pin's ``function`` becomes a continuous assignment (Liberty's
  operators: ``!`` and postfix ``'`` invert, ``^`` is XOR, ``&``, ``*`` or a space is AND,
  ``+`` or ``|`` is OR, in that order of precedence; ``0`` and ``1`` are constants);
* an ``ff`` group becomes a register loaded with ``next_state`` on the edge ``clocked_on``
  names (``CLK`` rising, ``(!CLK)`` falling), with ``clear`` and ``preset`` as
  asynchronous inputs (a pin or its inversion; clear wins when both are active, as
  ``clear_preset_var1 : L`` says for the one cell that has both). Releasing one while
  the other stays active is not modelled (the register keeps the value of the one
  released): the accelerator resets synchronously, so its netlists hold no such cell;
* a ``latch`` group becomes a level-sensitive register (``data_in`` while ``enable``);
* a cell with a three-state output (``three_state``) or without a function is left out:
  synthesis does not use them, and a netlist that did would fail to elaborate.

The two sets of models are checked against each other, pin for pin, on every input
combination of every combinational cell and on a clocked sequence for the registers
(tests/test_asic.py), so a netlist that passes on Verilator with these models and on
Icarus with the library's is simulated by two independent descriptions of the cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["LibertyCell", "read_cells", "buffer_cell", "function_to_verilog", "verilator_models"]


@dataclass
class LibertyCell:
    """What a zero-delay model needs of one Liberty cell."""
    name: str
    area: float = 0.0
    inputs: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)       # pin -> function
    three_state: bool = False
    ff: dict | None = None                            # vars, next_state, clocked_on, ...
    latch: dict | None = None


def _groups(text, keyword):
    """(argument, body) of each ``keyword (arg) { ... }`` group at any depth."""
    out = []
    for m in re.finditer(rf"\b{keyword}\s*\(([^)]*)\)\s*\{{", text):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out.append((m.group(1).strip().strip('"'), text[m.end():i - 1]))
    return out


def _attribute(body, name):
    m = re.search(rf"\b{name}\s*:\s*\"?([^\";]*)\"?\s*;", body)
    return m.group(1).strip() if m else None


def read_cells(liberty_text):
    """The cells of a Liberty file, with their pins' directions and functions.

    Returns
    -------
    list of LibertyCell
    """
    text = re.sub(r"/\*.*?\*/", "", liberty_text, flags=re.S)
    text = re.sub(r"\\\n", " ", text)
    cells = []
    for name, body in _groups(text, "cell"):
        area = re.search(r"\barea\s*:\s*([\d.eE+-]+)", body)
        cell = LibertyCell(name, float(area.group(1)) if area else 0.0)
        for kind in ("ff", "latch"):
            groups = _groups(body, kind)
            if groups:
                var, group = groups[0]
                attrs = {k: _attribute(group, k) for k in
                         ("next_state", "clocked_on", "clear", "preset", "data_in", "enable")}
                attrs["vars"] = [v.strip() for v in var.split(",")]
                setattr(cell, kind, attrs)
        for pin, pbody in _groups(body, "pin"):
            direction = _attribute(pbody, "direction")
            if direction == "input":
                cell.inputs.append(pin)
            elif direction == "output":
                cell.outputs[pin] = _attribute(pbody, "function")
                cell.three_state |= _attribute(pbody, "three_state") is not None
        cells.append(cell)
    return cells


def buffer_cell(cells):
    """The library's strongest plain buffer: (cell, input pin, output pin).

    Among the cells with one input and one output whose function is that input (clock
    buffers, named ``CLK...``, left out), the one with the largest area.

    Raises
    ------
    ValueError
        When the library has none.
    """
    found = [c for c in cells if len(c.inputs) == 1 and len(c.outputs) == 1
             and not c.three_state and not c.name.upper().startswith("CLK")
             and (next(iter(c.outputs.values())) or "").strip("() ") == c.inputs[0]]
    if not found:
        raise ValueError("the library has no buffer cell (a cell whose output is its input)")
    best = max(found, key=lambda c: c.area)
    return best.name, best.inputs[0], next(iter(best.outputs))


_TOKEN = re.compile(r"\s*([A-Za-z_][\w\[\]]*|[01]|[()!'^&*+|])")


def function_to_verilog(function):
    """A Liberty boolean function as a Verilog expression (fully parenthesised).

    >>> function_to_verilog("(!((S A) + (!S B)))")
    '(~((S & A) | ((~S) & B)))'
    """
    tokens, pos = [], 0
    function = function.strip()
    while pos < len(function):
        m = _TOKEN.match(function, pos)
        if not m:
            raise ValueError(f"Liberty function {function!r}: cannot read at {pos}")
        tokens.append(m.group(1))
        pos = m.end()
        while pos < len(function) and function[pos].isspace():
            pos += 1
    i = 0

    def peek():
        return tokens[i] if i < len(tokens) else None

    def take():
        nonlocal i
        if i >= len(tokens):
            raise ValueError(f"Liberty function {function!r}: ends too early")
        i += 1
        return tokens[i - 1]

    def primary():
        t = take()
        if t == "!":
            return f"(~{primary()})"
        if t == "(":
            e = disjunction()
            if take() != ")":
                raise ValueError(f"Liberty function {function!r}: unbalanced parentheses")
            out = e
        elif t in ("0", "1"):
            out = f"1'b{t}"
        elif re.fullmatch(r"[A-Za-z_][\w\[\]]*", t):
            out = t
        else:
            raise ValueError(f"Liberty function {function!r}: unexpected {t!r}")
        while peek() == "'":
            take()
            out = f"(~{out})"
        return out

    def xor():
        e = primary()
        while peek() == "^":
            take()
            e = f"({e} ^ {primary()})"
        return e

    def conjunction():
        e = xor()
        while peek() is not None and peek() not in ("+", "|", ")"):
            if peek() in ("&", "*"):
                take()
            e = f"({e} & {xor()})"
        return e

    def disjunction():
        e = conjunction()
        while peek() in ("+", "|"):
            take()
            e = f"({e} | {conjunction()})"
        return e

    out = disjunction()
    if i != len(tokens):
        raise ValueError(f"Liberty function {function!r}: unexpected {tokens[i]!r}")
    return out


def _edge(expression, what):
    """``posedge X`` or ``negedge X`` for a pin or its inversion."""
    e = expression.replace(" ", "")
    m = re.fullmatch(r"\(?(!)?([A-Za-z_]\w*)\)?", e) or re.fullmatch(r"\(?([A-Za-z_]\w*)(')\)?", e)
    if not m:
        raise ValueError(f"{what} {expression!r}: only a pin or its inversion is modelled")
    inverted = "!" in e or "'" in e
    pin = next(g for g in m.groups() if g and g not in ("!", "'"))
    return ("negedge " if inverted else "posedge ") + pin, function_to_verilog(expression)


def _model(cell):
    pins = cell.inputs + list(cell.outputs)
    lines = [f"module {cell.name} ({', '.join(pins)});"]
    lines += [f"  input {p};" for p in cell.inputs]
    lines += [f"  output {p};" for p in cell.outputs]
    state = cell.ff or cell.latch
    if state:
        q, *qn = state["vars"]
        lines.append(f"  reg {q};")
        if qn:
            lines.append(f"  wire {qn[0]} = ~{q};")
    if cell.ff:
        ff = cell.ff
        clock, _ = _edge(ff["clocked_on"], f"{cell.name} clocked_on")
        events, arms = [clock], []
        for kind, value in (("clear", "1'b0"), ("preset", "1'b1")):
            if ff[kind]:
                edge, active = _edge(ff[kind], f"{cell.name} {kind}")
                events.append(edge)
                arms.append((active, value))
        body = "".join(f"if ({a}) {q} <= {v}; else " for a, v in arms)
        lines.append(f"  always @({' or '.join(events)}) "
                     f"{body}{q} <= {function_to_verilog(ff['next_state'])};")
    if cell.latch:
        la = cell.latch
        lines.append(f"  always @* if ({function_to_verilog(la['enable'])}) "
                     f"{q} = {function_to_verilog(la['data_in'])};")
    for pin, function in cell.outputs.items():
        lines.append(f"  assign {pin} = {function_to_verilog(function)};")
    lines.append("endmodule")
    return lines


def verilator_models(liberty_text):
    """Verilog models of every cell of the Liberty file that has a function and no
    three-state output, for a zero-delay simulation (Verilator)."""
    lines = ["// Zero-delay cell models written from the Liberty file by",
             "// ipnet_mtj.gen.asic.cell_models (docs/asic.md)",
             "/* verilator lint_off UNUSEDSIGNAL */",
             "/* verilator lint_off LATCH */",
             "/* verilator lint_off COMBDLY */", ""]
    for cell in read_cells(liberty_text):
        if cell.three_state or not cell.outputs or any(f is None for f in cell.outputs.values()):
            continue
        lines += _model(cell) + [""]
    return "\n".join(lines)
