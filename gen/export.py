"""Export a layer's integer weights: $readmemh ROM images, an .npz and a manifest.

The ROM images come from :mod:`hw.rom_layout`, the same function that gives
the Amaranth memories their ``init``, so the hex files and the Verilog agree
word for word.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ipnet_mtj.hw.rom_layout import bias_rom, weight_rom
from ipnet_mtj.sw.config import config_hash, config_to_dict
from ipnet_mtj.sw.jobs import tool_versions

__all__ = ["write_hex", "export_roms", "write_manifest", "replace_build_folder"]


def write_hex(path, words, width):
    """One two's-complement word per line, as $readmemh reads it."""
    digits = (width + 3) // 4
    mask = (1 << width) - 1
    Path(path).write_text("".join(f"{int(w) & mask:0{digits}x}\n" for w in words))


def export_roms(fp, weights, biases, out_dir):
    """Write wrom<lane>.hex, brom<lane>.hex, lut.hex and weights.npz; return the paths."""
    out_dir = Path(out_dir)
    paths = []
    for lane in range(fp.lanes):
        for kind, words, width in (("wrom", weight_rom(fp, weights, lane), fp.w_width),
                                   ("brom", bias_rom(fp, biases, lane), fp.b_width)):
            path = out_dir / f"{kind}{lane}.hex"
            write_hex(path, words, width)
            paths.append(path)
    path = out_dir / "lut.hex"
    write_hex(path, fp.lut, fp.y_width)
    paths.append(path)
    path = out_dir / "weights.npz"
    np.savez(path, weights=np.asarray(weights, dtype=np.int64), biases=np.asarray(biases, dtype=np.int64))
    paths.append(path)
    return paths


def write_manifest(cfg, fp, files, out_dir, weights_origin, ports=None, roms=None, inputs=None):
    """manifest.json: config and its hash, derived formats, the ports (``ports``, from
    :func:`gen.ports.port_manifest`), clock, reset, timing, tools, the inputs' content hashes
    (``inputs``, :mod:`gen.build_folder`), files with SHA-256."""
    from .axis import axis_layout
    from .ports import CLOCK, RESET
    out_dir = Path(out_dir)
    fmt = {k: v for k, v in vars(fp).items() if k not in ("lut", "quantisation")}
    manifest = {
        "design": cfg.name,
        "config_file": cfg.source,
        "config_hash": config_hash(cfg),
        "config": config_to_dict(cfg),
        "fixed_point": fmt,
        "quantisation": [dict(zip(("name", "device", "fixed_point", "rel_error"), row))
                         for row in fp.quantisation],
        "weights": weights_origin,
        "ports": ports or [],
        "roms": roms,
        "axis": axis_layout({"design": cfg.name, "ports": ports}) if ports else None,
        "clock": CLOCK,
        "reset": {**RESET, "clear_cycles": fp.neurons},
        "timing": {"beats_in_per_step": fp.inputs, "beats_out_per_step": fp.neurons,
                   "cycles_per_step": max(fp.neurons * fp.inputs // fp.lanes, fp.neurons),
                   "note": "cycles_per_step with x offered every cycle and y always taken "
                           "(tests/test_hw.py measures it); after reset the neuron unit "
                           "clears its heat RAM for clear_cycles, taking input meanwhile"},
        "tools": tool_versions(),
        "inputs": inputs,
        "files": {Path(f).name: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files},
    }
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def _keep_results(old, new):
    """Move the results of runs (simulation, synthesis, report) from the build folder ``old``
    into its regenerated ``new`` when every generated file is the same, so ``make verilog``,
    ``make lint`` or ``make synth`` after ``make sim`` keep the simulation's report; when
    anything differs the results describe other hardware and go with the old folder."""
    try:
        before = json.loads((old / "manifest.json").read_text())
    except (OSError, ValueError):
        return
    after = json.loads((new / "manifest.json").read_text())
    if before.get("files") != after.get("files"):
        return
    for entry in old.iterdir():
        if not (new / entry.name).exists():
            entry.rename(new / entry.name)


def replace_build_folder(tmp, final):
    """Put the finished build folder ``tmp`` in the place of ``final``, keeping ``final``'s
    results when the generated files are unchanged; ``final``."""
    tmp, final = Path(tmp), Path(final)
    _keep_results(final, tmp)
    # Swap: the old folder moves aside, the new one takes its name, then the old one goes.
    old = None
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}-old-", dir=final.parent))
        final.rename(old / final.name)
    tmp.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final
