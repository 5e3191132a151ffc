"""Energy of a gate-level netlist from the switching activity of its simulation.

The installed OpenSTA (Debian's, of 2019) cannot do this: it reads neither VCD nor SAIF,
and its ``set_power_activity -pins`` fails inside its own Tcl (it names a variable it never
sets), so per-net activity cannot be given to it. This module computes the energy from the
Liberty file's own power view (:mod:`gen.asic.liberty_power`) and the activity a simulator
recorded (:mod:`gen.asic.saif`), by the rules below (docs/asic.md, "Energy from
activity"); they are those of the Liberty power model, with each choice a tool must make
written down:

* **connectivity**: Yosys reads the simulated netlist (``netlist_sim.v``, hierarchical) and
  writes it as JSON; the hierarchy is flattened here bit by bit, so every cell instance
  has a path (its instance names from the top) and every net one identity across module
  boundaries. A cell's path under the simulated top is its SAIF scope;
* **a net's transitions** ``TC`` are those of the pins on it that the SAIF file holds (a
  zero-delay simulation gives every pin of a net the same count; any disagreement is an
  error, as it means the names were matched wrongly);
* **switching energy**: every transition of a net charges or discharges each input pin on
  it: ``TC x C_pin x V^2 / 2`` per input pin, charged to the cell the pin belongs to. There
  is no wire capacitance: the netlist is not placed;
* **internal energy of an output pin**: ``TC_out`` times the mean of the pin's rise and fall
  energy tables, at the net's load (the sum of its input pins' capacitance) and at the
  slew of the input the arc is related to; a pin with several arcs (a NAND2's output from
  A and from B) weights them by their related inputs' transitions (equally when those
  did not toggle);
* **internal energy of an input pin** (a flip-flop's clock and data pins): ``TC_in`` times
  the mean of its rise and fall tables at the net's slew;
* **slew** of a net: the mean of its driver's rise and fall transition tables at the
  net's load and at the slew of the driver's inputs, found in two passes (first with every
  input at the tables' smallest slew); a net driven by a port of the simulated top (the
  clock among them) has the tables' smallest slew, as an ideal clock would;
* **leakage**: every cell's ``cell_leakage_power`` over the simulated time;
* ``when`` conditions on internal power (none in the cells the flow uses) are not
  evaluated: such groups are averaged with the pin's others.

Cells inside instances the simulation did not simulate cell by cell (the network's RAM
macros, simulated by behavioural models) have no activity; :func:`activity_energy` leaves
them out and names them, and :mod:`sim.macro_energy` charges them by access.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .ffram import MACRO_PREFIX

__all__ = ["FlatNetlist", "flatten_json", "netlist_json", "activity_energy", "EnergyResult",
           "block_of"]


@dataclass
class FlatNetlist:
    """A hierarchical netlist flattened: every library cell with its path and its pins'
    nets (integers), the top's ports as nets, and every instance's module."""
    cells: list                      # (path tuple, cell type, {pin: net})
    ports: dict                      # top port name -> {bit index: net}
    modules: dict                    # instance path tuple -> module name
    nets: int


def netlist_json(netlist, top, liberty, work, run_yosys):
    """Yosys' JSON of the netlist ``netlist`` (library cells as black boxes); the names in
    it are those of the Verilog file, so they are the simulation's names."""
    work = Path(work)
    run_yosys([f"read_liberty -lib {Path(liberty).name}", f"read_verilog {Path(netlist).name}",
               f"hierarchy -top {top}", "write_json netlist_sim.json"], work, "power_netlist")
    return json.loads((work / "netlist_sim.json").read_text())


def flatten_json(netlist, top, library_cells):
    """Flatten the Yosys JSON ``netlist`` from module ``top`` into a :class:`FlatNetlist`.

    Raises
    ------
    ValueError
        When a cell is neither a library cell nor a module of the netlist.
    """
    modules = netlist["modules"]
    parent = {}

    def find(k):
        root = k
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(k, k) != root:
            parent[k], k = root, parent[k]
        return root

    def union(a, b):
        a, b = find(a), find(b)
        if a != b:
            parent[a] = b

    undriven = iter(range(1 << 62))

    def key(path, bit):
        # "0" and "1" are the two constant nets; an "x" or "z" bit connects to nothing
        if isinstance(bit, str):
            return ("const", bit) if bit in ("0", "1") else ("open", next(undriven))
        return (path, bit)

    raw_cells, instances = [], {(): top}
    stack = [((), top)]
    while stack:
        path, name = stack.pop()
        for cname, cell in modules[name].get("cells", {}).items():
            kind = cell["type"].lstrip("\\")
            conns = cell["connections"]
            if kind in library_cells:
                raw_cells.append((path + (cname,), kind,
                                  {p: key(path, bits[0]) for p, bits in conns.items() if bits}))
            elif kind in modules and not modules[kind].get("attributes", {}).get("blackbox"):
                child = path + (cname,)
                instances[child] = kind
                for port, bits in conns.items():
                    for a, b in zip(modules[kind]["ports"][port]["bits"], bits):
                        union(key(child, a), key(path, b))
                stack.append((child, kind))
            else:
                raise ValueError(f"cell {'/'.join(path + (cname,))} is of type {kind}, "
                                 f"neither a library cell nor a module of the netlist")
    ids = {}

    def net(k):
        return ids.setdefault(find(k), len(ids))
    cells = [(p, t, {pin: net(k) for pin, k in pins.items()}) for p, t, pins in raw_cells]
    ports = {}
    for name, port in modules[top]["ports"].items():
        # bit names as the simulator writes them: name[offset], ..., MSB first when upto
        nets = [net(key((), b)) for b in port["bits"]]
        offset = port.get("offset", 0)
        indices = [offset + i for i in range(len(nets))]
        if port.get("upto"):
            indices = indices[::-1]
        ports[name] = dict(zip(indices, nets))
    return FlatNetlist(cells, ports, instances, len(ids))


@dataclass
class EnergyResult:
    """Energy over the simulated window, in joules."""
    duration_s: float
    switching_j: float
    internal_j: float
    leakage_j: float
    blocks: dict = field(default_factory=dict)      # block -> {switching, internal, leakage}
    macros: dict = field(default_factory=dict)      # unsimulated macro instance -> module
    macro_j: dict = field(default_factory=dict)     # simulated macro instance -> dynamic J
    cells_simulated: int = 0
    cells_not_simulated: int = 0
    nets_with_activity: int = 0
    nets_without_activity: int = 0

    @property
    def total_j(self):
        return self.switching_j + self.internal_j + self.leakage_j


def block_of(path, instances, top):
    """The block a cell belongs to: the innermost enclosing instance that is not a RAM
    macro or a macro's part, named by its module without the top's prefix."""
    for k in range(len(path) - 1, -1, -1):
        module = instances.get(path[:k])
        if module is None or module.startswith(MACRO_PREFIX):
            continue
        if module == top:
            return "(top)"
        return module[len(top) + 1:] if module.startswith(top + ".") else module
    return "(top)"


def _macro_of(path, instances):
    for k in range(1, len(path)):
        module = instances.get(path[:k])
        if module is not None and module.startswith(MACRO_PREFIX):
            return path[:k]
    return None


def _static(flat, top, lib):
    """What of the energy does not depend on the activity, per cell of ``flat`` (computed
    once per netlist, kept on it): (block, macro instance or None, leakage W, [(net,
    switching J per transition)] over its input pins, [(net, internal J per transition)]
    over its input pins with energy tables, [(net, [(related net, J per transition)])] over
    its output pins with energy tables)."""
    cached = getattr(flat, "_static", None)
    if cached is not None and cached[0] is lib and cached[1] == top:
        return cached[2]
    v2 = lib.voltage ** 2
    # every net's load and its driver (over all cells: a macro's pins load its nets too)
    load = defaultdict(float)
    driver = {}
    for path, kind, pins in flat.cells:
        cell = lib.cells[kind]
        for pin, n in pins.items():
            if pin in cell.inputs:
                load[n] += cell.inputs[pin]
            elif pin in cell.outputs:
                driver[n] = (cell, pins, pin)
    floor = min((t.slew[0] for c in lib.cells.values() for arcs in c.transition.values()
                 for a in arcs for t in (a.rise,) if t.slew), default=0.0)
    slew = {}
    for _ in range(2):
        new = {}
        for n, (cell, pins, pin) in driver.items():
            arcs = cell.transition.get(pin) or []
            if arcs:
                new[n] = sum(a.mean(load[n], slew.get(pins.get(a.related), floor))
                             for a in arcs) / len(arcs)
        slew = new
    out = []
    for path, kind, pins in flat.cells:
        cell = lib.cells[kind]
        sw, inputs, outputs = [], [], []
        for pin, n in pins.items():
            if pin in cell.inputs:
                sw.append((n, 0.5 * cell.inputs[pin] * v2))
            arcs = cell.energy.get(pin)
            if not arcs:
                continue
            if pin in cell.outputs:
                outputs.append((n, [(pins.get(a.related),
                                     a.mean(load[n], slew.get(pins.get(a.related), floor)))
                                    for a in arcs]))
            else:
                inputs.append((n, sum(a.mean(0.0, slew.get(n, floor)) for a in arcs)
                               / len(arcs)))
        out.append((block_of(path, flat.modules, top), _macro_of(path, flat.modules),
                    cell.leakage_w, sw, inputs, outputs))
    flat._static = (lib, top, out)
    return out


def activity_energy(flat, top, lib, saif, scope):
    """The energy of ``flat`` (:class:`FlatNetlist` of module ``top``) over the run of
    ``saif`` (:class:`gen.asic.saif.Saif`), whose scope ``scope`` (a tuple of instance
    names) is the netlist's top. ``lib``: :class:`gen.asic.liberty_power.PowerLibrary`.

    Cells whose scope the SAIF file lacks are not simulated; they must all lie inside RAM
    macro instances (listed in the result's ``macros``). Nets no pin of which the SAIF file
has are counted (``nets_without_activity``) and taken as still.

    Raises
    ------
    ValueError
        When a net's pins disagree on its transitions, when cells outside RAM macros have
        no activity, or when the SAIF file has no scope ``scope``.
    """
    scope = tuple(scope)
    if scope not in saif.scopes:
        raise ValueError(f"the SAIF file has no scope {'/'.join(scope)}")
    tc = {}                      # net -> transitions

    def note(net, count, where):
        old = tc.setdefault(net, count)
        if old != count:
            raise ValueError(f"the SAIF file gives {where} {count} transitions and another "
                             f"pin of its net {old}: its names do not match the netlist's")

    top_nets = saif.scopes[scope]
    for name, bits in flat.ports.items():
        for i, n in bits.items():
            a = top_nets.get(f"{name}[{i}]")
            if a is None and len(bits) == 1:
                a = top_nets.get(name)
            if a is not None:
                note(n, a.tc, f"port {name}[{i}]")
    simulated, simulated_index, skipped, macros = [], [], 0, {}
    for index, (path, kind, pins) in enumerate(flat.cells):
        nets = saif.scopes.get(scope + path)
        if nets is None:
            macro = _macro_of(path, flat.modules)
            if macro is None:
                raise ValueError(f"cell {'/'.join(path)} ({kind}) has no activity in the SAIF "
                                 "file, and it is not part of a RAM macro")
            macros[macro] = flat.modules[macro]
            skipped += 1
            continue
        for pin, n in pins.items():
            a = nets.get(pin)
            if a is not None:
                note(n, a.tc, f"{'/'.join(path)}/{pin}")
        simulated.append((path, kind, pins))
        simulated_index.append(index)
    static = _static(flat, top, lib)
    blocks = defaultdict(lambda: {"switching_j": 0.0, "internal_j": 0.0, "leakage_j": 0.0})
    duration = saif.duration_s
    macro_j = defaultdict(float)
    for index in simulated_index:
        block, macro, leakage, sw, inputs, outputs = static[index]
        b = blocks[block]
        b["leakage_j"] += leakage * duration
        switching = sum(tc.get(n, 0) * coef for n, coef in sw)
        internal = sum(tc.get(n, 0) * e for n, e in inputs)
        for n, arcs in outputs:
            count = tc.get(n, 0)
            if not count:
                continue
            related = [tc.get(r, 0) for r, _ in arcs]
            total = sum(related)
            if total:
                internal += count * sum(t * e for t, (_, e) in zip(related, arcs)) / total
            else:
                internal += count * sum(e for _, e in arcs) / len(arcs)
        b["switching_j"] += switching
        b["internal_j"] += internal
        if macro is not None:
            macro_j[macro] += switching + internal
    still = {n for _, _, pins in simulated for n in pins.values()} - set(tc)
    blocks = dict(sorted(blocks.items()))
    return EnergyResult(duration, sum(b["switching_j"] for b in blocks.values()),
                        sum(b["internal_j"] for b in blocks.values()),
                        sum(b["leakage_j"] for b in blocks.values()), blocks, macros,
                        dict(macro_j), len(simulated), skipped, len(tc), len(still))
