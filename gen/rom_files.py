"""Verilog whose ROMs load from the exported ``$readmemh`` images instead of inline values.

Amaranth (through Yosys' ``write_verilog``) writes a memory's initial contents as an
``initial begin name[0] = ...; ... end`` block. :func:`roms_from_files` replaces each such
block of the named ROMs with ``initial $readmemh("<prefix><name>.hex", name);``, so an
integrator swaps weights by replacing the ``.hex`` files, with no new Verilog. Each image
must hold exactly the memory's depth of words of its width; :func:`check_images` says so
before anything is rewritten.

``$readmemh`` resolves a relative path against the simulator's working directory (Icarus,
Verilator, most commercial simulators); Yosys also looks next to the Verilog file. The
``prefix`` (for example an absolute folder ending in ``/``) fixes where they are found.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["ROM_MODES", "rom_memories", "check_images", "roms_from_files"]

ROM_MODES = ("inline", "file")     #: where the generated Verilog takes its ROM contents from

_MEMORY = re.compile(r"^(  reg \[(\d+):0\] (\w+) \[(\d+):0\];\n)  initial begin\n"
                     r"((?:    \3\[\d+\] = [^\n]*\n)*)  end\n", re.M)


def rom_memories(text):
    """``{name: (width, depth)}`` of every memory in ``text`` with inline initial values."""
    return {m.group(3): (int(m.group(2)) + 1, int(m.group(4)) + 1) for m in _MEMORY.finditer(text)}


def check_images(text, folder, names):
    """Raise ValueError unless ``folder/<name>.hex`` fits memory ``name`` for every name."""
    memories = rom_memories(text)
    for name in names:
        if name not in memories:
            raise ValueError(f"no ROM named {name!r} with inline contents in the Verilog")
        width, depth = memories[name]
        words = [w for w in (Path(folder) / f"{name}.hex").read_text().split()
                 if not w.startswith(("//", "@"))]
        if len(words) != depth:
            raise ValueError(f"{name}.hex: {len(words)} words, the ROM holds {depth}")
        if any(len(w) > -(-width // 4) or int(w, 16) >> width for w in words):
            raise ValueError(f"{name}.hex: a word wider than the ROM's {width} bits")


def roms_from_files(text, names, prefix=""):
    """``text`` with the ROMs ``names`` loaded by ``$readmemh("<prefix><name>.hex")``."""
    done = set()

    def load(m):
        name = m.group(3)
        if name not in names:
            return m.group(0)
        done.add(name)
        return f'{m.group(1)}  initial $readmemh("{prefix}{name}.hex", {name});\n'

    out = _MEMORY.sub(load, text)
    missing = set(names) - done
    if missing:
        raise ValueError(f"ROMs not found in the Verilog: {', '.join(sorted(missing))}")
    return out
