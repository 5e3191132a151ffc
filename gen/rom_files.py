"""Verilog whose ROMs load from the exported ``$readmemh`` images instead of inline values.

Amaranth (through Yosys' ``write_verilog``) writes a memory's initial contents as an
``initial begin name[0] = ...; ... end`` block. :func:`roms_from_files` replaces each such
block of the named ROMs with ``initial $readmemh("<prefix><name>.hex", name);``, so an
integrator swaps weights by replacing the ``.hex`` files, with no new Verilog. Each image
must hold exactly the memory's depth of words of its width; :func:`check_images` says so
before anything is rewritten.

``$readmemh`` resolves a relative path against the simulator's working directory (Icarus,
Verilator, most commercial simulators); Yosys also looks next to the Verilog file. The
``prefix`` (``--rom-prefix``) is the *folder* the images are loaded from: :func:`rom_folder`
adds the ``/`` it lacks and refuses characters a Verilog string cannot hold. Empty means the
simulator's working directory.

A missing image is an error, not a warning: outside synthesis (``ifndef SYNTHESIS``; Yosys
defines ``SYNTHESIS``) each ROM first opens its file with ``$fopen`` and, when it cannot,
prints ``error: <path>: cannot open the ROM image of <rom> ...`` and stops with ``$finish``
at time 0, before any clock edge, on every simulator (Icarus and Verilator would otherwise
warn and run on with zero or X weights). The generators also check, before writing, that
the images under an absolute prefix exist and fit (:func:`check_images`).
"""

from __future__ import annotations

import re
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError

from .verilog_start import time_zero_kick

__all__ = ["ROM_MODES", "rom_memories", "check_images", "roms_from_files", "rom_folder",
           "check_prefix_images", "add_rom_arguments", "check_rom_arguments", "write_verilog_files"]

ROM_MODES = ("inline", "file")     #: where the generated Verilog takes its ROM contents from

_MEMORY = re.compile(r"^(  reg \[(\d+):0\] (\w+) \[(\d+):0\];\n)  initial begin\n"
                     r"((?:    \3\[\d+\] = [^\n]*\n)*)  end\n", re.M)


def rom_memories(text):
    """``{name: (width, depth)}`` of every memory in ``text`` with inline initial values."""
    return {m.group(3): (int(m.group(2)) + 1, int(m.group(4)) + 1) for m in _MEMORY.finditer(text)}


def rom_folder(prefix):
    """``--rom-prefix`` as the folder the ROM images are loaded from: ``""`` (the simulator's
    working directory) or a path ending in ``/`` (added when missing).

    Raises
    ------
    UsageError
        When the prefix holds a character that cannot stand in a Verilog string literal
        (``"``, ``\\``, a control character or anything outside printable ASCII).
    """
    prefix = str(prefix or "")
    for c in prefix:
        if not " " <= c <= "~" or c in '"\\':
            raise UsageError(f"--rom-prefix: {prefix!r} holds {c!r}, which cannot stand in a "
                             f"Verilog string; use printable ASCII without \" and \\")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def check_prefix_images(text, folder, names, build):
    """Before a file-ROM build is written: when ``folder`` (the prefix) is absolute and not the
    build folder ``build`` itself (whose images are being written), every image must exist
    there and fit its ROM. Raises UsageError naming the missing or unfit file."""
    if not folder or not Path(folder).is_absolute() or Path(folder) == Path(build):
        return
    for name in names:
        path = Path(folder) / f"{name}.hex"
        if not path.is_file():
            raise UsageError(f"--rom-prefix: {path}: no such ROM image (the Verilog would load "
                             f"{name} from it); write the images there or drop --rom-prefix")
    try:
        check_images(text, folder, names)
    except ValueError as exc:
        raise UsageError(f"--rom-prefix: {folder}{exc}") from None


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
        path = f"{prefix}{name}.hex"
        return (f"{m.group(1)}`ifdef SYNTHESIS\n"
                f'  initial $readmemh("{path}", {name});\n'
                f"`else\n"
                f"  initial begin : load_{name}\n"
                f"    integer fd;\n"
                f'    fd = $fopen("{path}", "r");\n'
                f"    if (fd == 0) begin\n"
                f'      $display("error: %0s: cannot open the ROM image of {name} (a relative '
                f'path is read from the working directory)", "{path}");\n'
                f"      $finish;\n"
                f"    end\n"
                f"    $fclose(fd);\n"
                f'    $readmemh("{path}", {name});\n'
                f"  end\n"
                f"`endif\n")

    out = _MEMORY.sub(load, text)
    missing = set(names) - done
    if missing:
        raise ValueError(f"ROMs not found in the Verilog: {', '.join(sorted(missing))}")
    return out


def add_rom_arguments(parser):
    """``--roms`` and ``--rom-prefix``, as ``ipnet verilog`` takes them for either target."""
    parser.add_argument("--roms", choices=ROM_MODES, default="inline",
                        help="file: the Verilog loads its ROMs from the .hex images "
                             "($readmemh), so new weights need new images only")
    parser.add_argument("--rom-prefix", default="",
                        help="with --roms file: the folder the Verilog loads the images from "
                             "(default: the simulator's working directory)")


def check_rom_arguments(args):
    """One line for a ``--rom-prefix`` without ``--roms file`` or that Verilog cannot hold."""
    if args.rom_prefix and args.roms != "file":
        raise UsageError("--rom-prefix: only with --roms file (inline ROMs load nothing)")
    rom_folder(args.rom_prefix)


def write_verilog_files(paths, texts, tmp, rom_names, roms, rom_prefix, final):
    """Write the generated Verilog ``texts`` to ``paths`` (in the temporary folder ``tmp``
    that becomes ``final``), each started correctly on any simulator
    (:func:`gen.verilog_start.time_zero_kick`). With ``roms == "file"`` the ROMs
    ``rom_names`` load from their images under ``rom_prefix``, which are checked first: the
    ones just written to ``tmp``, and those already under an absolute prefix."""
    if roms == "file":
        check_images(texts[0], tmp, rom_names)
        check_prefix_images(texts[0], rom_prefix, rom_names, Path(final).resolve())
        texts = [roms_from_files(text, rom_names, rom_prefix) for text in texts]
    for path, text in zip(paths, texts, strict=True):
        path.write_text(time_zero_kick(text))
