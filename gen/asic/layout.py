"""Place and route: the ASIC stage's netlist through qflow's placer (GrayWolf) and router (qrouter).

The netlist the stage synthesised (``netlist_sim.v``, hierarchical) is flattened by Yosys
into the BLIF qflow reads, every cell kept (:func:`netlist_blif`); qflow 1.3 (Debian
``qflow``) then places it with GrayWolf at the ``--layout-density`` cell density (filler
cells make up the rest), adds the power stripes and routes it with qrouter on the library's
six metal layers (:func:`place_and_route`), which must end with every net routed
(qrouter's ``Final: No failed routes!``). The routed DEF is read back (:func:`read_def`)
and checked to transcribe the netlist: the same cells, no others but fillers, and each net
joining the same cell pins (:func:`connectivity_errors`), an independent reading of what
the placer and router wrote back, so a cell dropped or a pin moved to another net is
caught. The wires' geometry is not checked here: that every route is complete is
qrouter's own report. The picture (:func:`draw_layout`) colours each cell by the block of
the area table.

Stops, each one line (docs/asic.md): a design with more cells than ``--layout-max-cells``
(GrayWolf and qrouter would take longer than about 15 minutes on 2 cores), a run over
``--layout-timeout``, a route left with failed nets, and GDS: the OSU 0.18 um package ships
no cell layouts (no GDS of the cells), so the routed DEF is the last product.

DEF is read here rather than with a library: no DEF reader is packaged on PyPI for Python
3.11 without OpenROAD; the subset qrouter writes (UNITS, DIEAREA, COMPONENTS, NETS with
ROUTED wires, SPECIALNETS skipped) is small and its rules are in docs/asic.md.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError

__all__ = ["layout_available", "netlist_blif", "place_and_route", "read_def", "Def",
           "blif_cells", "connectivity_errors", "lef_sizes", "block_of_cell", "draw_layout",
           "GDS_STOP", "FILLER", "CONSTANT_NETS"]

#: qflow's filler cell: placed in the rows' gaps, in no net
FILLER = "FILL"

GDS_STOP = ("GDS: not written: the OSU 0.18 um package ships no cell layouts (no GDS of its "
            "cells), so the routed DEF is the layout's last product")


def layout_available():
    """Whether qflow, GrayWolf and qrouter can be run; the reason when not."""
    missing = [t for t in ("qflow", "graywolf", "qrouter") if shutil.which(t) is None]
    if missing:
        return False, (f"place and route needs {', '.join(missing)} (Debian packages qflow, "
                       "graywolf, qrouter)")
    return True, ""


def netlist_blif(library, netlist_sim, top, work, run_yosys):
    """Write ``work/<top>.blif`` (for qflow) and ``work/<top>_named.blif`` (the same with
    each cell's hierarchical name on a ``.cname`` line) from the stage's netlist.

    Private cell names are enumerated before flattening so each flattened name keeps its
    instance path (the block). Every cell is kept (``keep``), as the area table counts them.
    Where a net is known by two names that must both stay (an output port and the net that
    drives it, as ``y__payload[k]`` and ``layer.y__payload$25[k]``, or a port tied to a
    constant), BLIF needs a cell between them, and Yosys writes a buffer (``-buf BUFX2 A Y``)
    with no ``.cname`` line: :func:`blif_cells` marks them. Constants (Yosys' ``$false``,
    ``$true``, ``$undef``) are joined to ``gnd`` and ``vdd`` (:data:`CONSTANT_NETS`).
    """
    work = Path(work)
    shutil.copyfile(library.liberty, work / "layout_cells.lib")
    shutil.copyfile(netlist_sim, work / "layout_netlist.v")
    run_yosys(["read_liberty -lib layout_cells.lib", "read_verilog layout_netlist.v",
               f"hierarchy -top {top}", "rename -enumerate -pattern c%",
               "setattr -set keep 1 t:*", "flatten", "opt_clean -purge",
               f"write_blif -gates -impltf -cname -buf BUFX2 A Y {top}_named.blif"],
              work, "layout_blif")
    named = _tie_constants((work / f"{top}_named.blif").read_text())
    (work / f"{top}_named.blif").write_text(named)
    (work / f"{top}.blif").write_text(re.sub(r"^\.cname .*\n", "", named, flags=re.M))
    return work / f"{top}_named.blif"


#: Yosys' constant nets (``-impltf``: not defined) and the power net each is tied to
CONSTANT_NETS = {"$false": "gnd", "$undef": "gnd", "$true": "vdd"}


def _tie_constants(blif):
    """The BLIF with Yosys' constant nets joined to the power nets, as qflow's own synthesis
    script does for a library without tie cells (OSU 0.18 um has none): a pin tied to 0 (or
    left undefined) joins ``gnd``, a pin tied to 1 ``vdd``."""
    def tie(m):
        return CONSTANT_NETS[m.group(1)]
    return re.sub(r"(?<==)(\$false|\$true|\$undef)(?=\s|$)", tie, blif, flags=re.M)


@dataclass
class Cell:
    """One cell of the BLIF: its type, qflow's instance name, its hierarchical name and
    ``{pin: net}``."""
    kind: str
    name: str
    path: str
    pins: dict


def blif_cells(path):
    """The cells of a ``-cname`` BLIF in order, named as qflow names them: ``<type>_<k>``,
    k counting from 1 per type in file order, and the top's ports ``(inputs, outputs)``.
    A cell with no ``.cname`` line is one of Yosys' net-alias buffers (:func:`netlist_blif`):
    its ``path`` is empty."""
    cells, counts, ports = [], {}, {"inputs": [], "outputs": []}
    text = Path(path).read_text().replace("\\\n", " ")
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] in (".inputs", ".outputs"):
            ports[words[0][1:]] += words[1:]
        elif words[0] == ".gate":
            counts[words[1]] = counts.get(words[1], 0) + 1
            pins = dict(w.split("=", 1) for w in words[2:])
            cells.append(Cell(words[1], f"{words[1]}_{counts[words[1]]}", "", pins))
        elif words[0] == ".cname" and cells:
            cells[-1].path = words[1]
        elif words[0] in (".names", ".subckt", ".latch"):
            raise UsageError(f"{path}: '{words[0]}' in the layout BLIF: only library cells "
                             "can be placed")
    return cells, ports


@dataclass
class Def:
    """What :func:`read_def` reads from a DEF file (lengths in um).

    Attributes
    ----------
    die : tuple
        ``(x0, y0, x1, y1)``.
    components : dict
        ``{name: (cell type, x, y)}``, the lower-left corner.
    nets : dict
        ``{net: [(instance or "PIN", pin), ...]}``.
    wires : list
        ``(layer, x0, y0, x1, y1)`` segments of the routed nets.
    vias : int
    """
    die: tuple
    components: dict = field(default_factory=dict)
    nets: dict = field(default_factory=dict)
    wires: list = field(default_factory=list)
    vias: int = 0


def _section(tokens, name):
    """The tokens of section ``name``: after ``NAME count ;``, up to ``END NAME``."""
    starts = [i for i, t in enumerate(tokens) if t == name and (i == 0 or tokens[i - 1] != "END")]
    if not starts:
        return []
    for j in range(starts[0] + 1, len(tokens) - 1):
        if tokens[j] == "END" and tokens[j + 1] == name:
            return tokens[starts[0] + 3:j]
    raise ValueError(f"{name}: no END {name}")


def _entries(section, name):
    """A section's ``- ... ;`` entries as token lists (the ``-`` and ``;`` left out)."""
    out, entry = [], None
    for t in section:
        if entry is None:
            if t != "-":
                raise ValueError(f"{name}: expected '-', got {t!r}")
            entry = []
        elif t == ";":
            out.append(entry)
            entry = None
        else:
            entry.append(t)
    if entry is not None:
        raise ValueError(f"{name}: the last entry has no ';'")
    return out


def _component(entry, unit):
    """(name, (type, x, y)) of a COMPONENTS entry; a component must be placed."""
    name, kind = entry[0], entry[1]
    for k, t in enumerate(entry):
        if t in ("PLACED", "FIXED", "COVER") and entry[k + 1] == "(":
            return name, (kind, float(entry[k + 2]) / unit, float(entry[k + 3]) / unit)
    raise ValueError(f"component {name} is not placed")


def _net(entry, unit, out):
    """Read a NETS entry into ``out`` (its pins, wires and vias); its pins."""
    name, i, pins = entry[0], 1, []
    while i < len(entry) and entry[i] == "(":
        if entry[i + 3] != ")":
            raise ValueError(f"net {name}: a pin is not '( instance pin )'")
        pins.append((entry[i + 1], entry[i + 2]))
        i += 4
    layer = last = None
    after_point = False
    while i < len(entry):
        t = entry[i]
        if t in ("ROUTED", "FIXED", "COVER", "NEW"):
            layer, last, after_point = entry[i + 1], None, False
            i += 2
        elif t == "(" and layer is not None:
            raw = entry[i + 1], entry[i + 2]
            if "*" in raw and last is None:
                raise ValueError(f"net {name}: '*' with no point before it")
            x = last[0] if raw[0] == "*" else float(raw[0]) / unit
            y = last[1] if raw[1] == "*" else float(raw[1]) / unit
            if last is not None and (x, y) != last:
                out.wires.append((layer, last[0], last[1], x, y))
            last, after_point = (x, y), True
            i = entry.index(")", i) + 1          # a third value (the extension) is ignored
        elif t == "(":
            raise ValueError(f"net {name}: a point before ROUTED")
        else:
            out.vias += after_point and t != "+"      # the word right after a point: a via
            after_point = False
            i += 1
    return name, pins


def read_def(path):
    """Read the subset of DEF 5.x that qrouter writes; a malformed file gives one line
    naming the file and what is wrong."""
    text = Path(path).read_text()
    tokens = re.sub(r"#[^\n]*", "", text).replace("(", " ( ").replace(")", " ) ") \
        .replace(";", " ; ").split()
    try:
        unit = float(tokens[tokens.index("MICRONS", tokens.index("UNITS")) + 1])
        d = tokens.index("DIEAREA")
        die = tuple(float(tokens[d + i]) / unit for i in (2, 3, 6, 7))
    except (ValueError, IndexError):
        raise UsageError(f"{path}: no UNITS DISTANCE MICRONS or DIEAREA") from None
    out = Def(die)
    where = "COMPONENTS"
    try:
        for entry in _entries(_section(tokens, "COMPONENTS"), "COMPONENTS"):
            name, placed = _component(entry, unit)
            if name in out.components:
                raise ValueError(f"component {name} twice")
            out.components[name] = placed
        where = "NETS"
        for entry in _entries(_section(tokens, "NETS"), "NETS"):
            name, pins = _net(entry, unit, out)
            if name in out.nets:
                raise ValueError(f"net {name} twice")
            out.nets[name] = pins
    except IndexError:
        raise UsageError(f"{path}: malformed DEF: {where}: an entry ends early") from None
    except (ValueError, TypeError) as err:
        raise UsageError(f"{path}: malformed DEF: {err}") from None
    return out


def connectivity_errors(layout, cells, ports, limit=5):
    """How the DEF transcribes the BLIF, as a list of differences (empty when it agrees): the
    same cell type for every instance, no other cell than fillers, and each net as the set
    of (instance, pin) it joins (the top's ports as ``("PIN", name)``), no pin on two nets.
    Net names are not compared, only what each net joins. This checks the netlist the
    placer and router were given and wrote back, not the wires' geometry: that every route
    is complete is qrouter's ``Final: No failed routes!`` (:func:`place_and_route`)."""
    errors = []
    placed = {n: c[0] for n, c in layout.components.items()}
    names = {c.name for c in cells}
    for c in cells:
        if placed.get(c.name) != c.kind:
            errors.append(f"cell {c.name} ({c.path or 'a buffer'}): "
                          f"{placed.get(c.name, 'not placed')} in the DEF")
    for n, kind in sorted(placed.items()):
        if n not in names and kind != FILLER:
            errors.append(f"DEF cell {n} ({kind}) is not in the netlist")
    seen = {}
    for net, pins in layout.nets.items():
        for pin in pins:
            seen.setdefault(pin, []).append(net)
    for pin, nets in sorted(seen.items()):
        if len(nets) > 1:
            errors.append(f"pin {pin[0]} {pin[1]} is on {len(nets)} DEF nets: {sorted(nets)[:4]}")
    expected = {}
    for c in cells:
        for pin, net in c.pins.items():
            expected.setdefault(net, set()).add((c.name, pin))
    for p in ports["inputs"] + ports["outputs"]:
        expected.setdefault(p, set()).add(("PIN", p))
    want = {frozenset(v) for v in expected.values() if len(v) > 1}
    got = {frozenset(v) for v in layout.nets.values() if len(v) > 1}
    missing = sorted(want - got, key=lambda v: sorted(v))
    extra = sorted(got - want, key=lambda v: sorted(v))
    errors += [f"net joining {sorted(net)[:4]} not in the DEF" for net in missing[:limit]]
    errors += [f"DEF net joining {sorted(net)[:4]} not in the netlist" for net in extra[:limit]]
    return errors


def lef_sizes(lef):
    """``{cell: (width, height)}`` in um from a LEF file's ``MACRO ... SIZE w BY h``."""
    text = Path(lef).read_text()
    return {m.group(1): (float(m.group(2)), float(m.group(3))) for m in re.finditer(
        r"^MACRO\s+(\S+).*?^\s*SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", text, re.M | re.S)}


def block_of_cell(path, top, blocks):
    """The area table's block of a cell's hierarchical name: the longest block name that
    begins the instance path after its last ``<top>.`` (where a module's memories begin)."""
    inst = path.rsplit(".", 1)[0] if "." in path else ""
    inst = inst.rsplit(f"{top}.", 1)[-1]
    best = "(top)"
    for b in blocks:
        if (inst == b or inst.startswith(b + ".")) and (best == "(top)" or len(b) > len(best)):
            best = b
    return best


def place_and_route(blif, verilog, top, work, density, timeout_s):
    """qflow's ``place`` and ``route`` on ``blif`` in the project folder ``work``; returns the
    routed DEF and the seconds each took. One line when a step fails or runs out of time.
    (qflow wants the design's Verilog in ``source/`` too: ``verilog``, the netlist.)"""
    work = Path(work)
    for d in ("source", "synthesis", "layout", "log"):
        (work / d).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(verilog, work / "source" / f"{top}.v")
    shutil.copy(blif, work / "synthesis" / f"{top}.blif")
    (work / "synthesis" / f"{top}_powerground").write_text("set vddnet=vdd\nset gndnet=gnd\n")
    (work / "project_vars.sh").write_text(f"set initial_density = {density}\n")
    seconds = {}
    began = time.monotonic()
    for step in ("place", "route"):
        t0 = time.monotonic()
        left = timeout_s - (t0 - began)
        log = work / f"qflow_{step}.out"
        with open(log, "w") as fh:
            proc = subprocess.Popen(["qflow", "-T", "osu018", step, top], cwd=work, stdout=fh,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                proc.wait(timeout=max(left, 1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise UsageError(f"place and route: {step} ran over --layout-timeout "
                                 f"{timeout_s:.0f} s; see {log}") from None
        seconds[step] = time.monotonic() - t0
        step_log = work / "log" / f"{step}.log"
        text = step_log.read_text(errors="replace") if step_log.exists() else ""
        if proc.returncode or "error condition" in text or not step_log.exists():
            raise UsageError(f"place and route: qflow {step} failed; see "
                             f"{step_log if step_log.exists() else log}")
    routed = work / "layout" / f"{top}.def"
    route_log = work / "log" / "route.log"
    if not routed.exists():
        raise UsageError(f"place and route: qflow route wrote no {routed.name}; see {route_log}")
    log = route_log.read_text(errors="replace")
    final = re.findall(r"^Final: .*$", log, re.M)
    if not final or final[-1].strip() != "Final: No failed routes!":
        said = final[-1].strip() if final else "no final line"
        raise UsageError(f"place and route: qrouter did not route every net ({said}); lower "
                         f"--layout-density; see {work / 'log' / 'route.log'}")
    return routed, seconds


def draw_layout(layout, cells, sizes, blocks_of, path, title):
    """A PNG of the routed layout: cells coloured by block, filler grey, wires per layer."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import Rectangle
    block = {c.name: blocks_of[c.path] for c in cells}
    names = sorted(set(block.values()))
    cmap = plt.get_cmap("tab10")
    colour = {b: cmap(i % 10) for i, b in enumerate(names)}
    fig, ax = plt.subplots(figsize=(9, 9 * (layout.die[3] - layout.die[1])
                                    / max(layout.die[2] - layout.die[0], 1) + 0.8))
    rects, faces = [], []
    for name, (kind, x, y) in layout.components.items():
        w, h = sizes.get(kind, (0.0, 0.0))
        rects.append(Rectangle((x, y), w, h))
        faces.append(colour[block[name]] if name in block else (0.85, 0.85, 0.85, 1.0))
    ax.add_collection(PatchCollection(rects, facecolors=faces, edgecolors="none"))
    layers = sorted({w[0] for w in layout.wires})
    greys = {lay: (0, 0, 0, 0.15 + 0.5 * k / max(len(layers) - 1, 1))
             for k, lay in enumerate(layers)}
    for lay in layers:
        segs = [((w[1], w[2]), (w[3], w[4])) for w in layout.wires if w[0] == lay]
        ax.add_collection(LineCollection(segs, colors=[greys[lay]], linewidths=0.15))
    ax.set_xlim(layout.die[0], layout.die[2])
    ax.set_ylim(layout.die[1], layout.die[3])
    ax.set_aspect("equal")
    ax.set_xlabel("um")
    ax.set_title(title, fontsize=9)
    handles = [Rectangle((0, 0), 1, 1, color=colour[b]) for b in names]
    ax.legend(handles, names, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
