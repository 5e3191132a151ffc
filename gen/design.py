"""Generate a design's build folder from its YAML: Verilog, ROM images, manifest.

``python -m ipnet_mtj.gen CONFIG [--out DIR]`` writes, atomically (a temporary folder
renamed into place, so a failure leaves nothing half-written)::

    build/<name>/
        <name>.v            the IP layer with its state monitor (simulation)
        <name>_top.v        the IP layer behind pins only (synthesis)
        wrom*.hex brom*.hex lut.hex weights.npz
        manifest.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from ipnet_mtj.hw.layer import IPLayer
from ipnet_mtj.hw.synth_top import SynthTop
from ipnet_mtj.sw.config import config_hash, load_config
from ipnet_mtj.sw.fixed import derive_fixed_point
from ipnet_mtj.sw.weights import seeded_weights

from ipnet_mtj.sw.jobs import content_hash
from ipnet_mtj.sw.jobs.cache import stage_inputs

from .build_folder import arrays_hash, generate_folder
from .export import export_roms, write_manifest
from .ports import port_manifest
from .axis import integration_files
from .rom_files import ROM_MODES, rom_folder, write_verilog_files

__all__ = ["Design", "load_design", "generate", "build_inputs"]


@dataclass(frozen=True)
class Design:
    """A loaded design: config, integer constants and weights."""
    cfg: object
    fp: object
    weights: np.ndarray
    biases: np.ndarray
    weights_origin: str

    @property
    def top(self):
        return self.cfg.name


def load_design(config_path):
    """Load a config and the weights it names (the seeded generator, for now)."""
    cfg = load_config(config_path)
    fp = derive_fixed_point(cfg)
    w, b = seeded_weights(fp, cfg.layer.weight_seed)
    return Design(cfg, fp, w, b, f"seeded generator, seed {cfg.layer.weight_seed} (illustrative)")


def emit_verilog(design, synth=False, component=None):
    """Verilog text of the layer (``synth``: the pins-only top); ``component``: an already
    built one."""
    fp = design.fp
    if synth:
        return verilog.convert(component or SynthTop(fp, design.weights, design.biases),
                               name=f"{design.top}_top", emit_src=False)
    return verilog.convert(component or IPLayer(fp, design.weights, design.biases),
                           name=design.top, emit_src=False)


def build_inputs(design, roms="inline", rom_prefix=""):
    """The content hashes of what a layer's build folder depends on (its manifest's
    ``inputs``): the design (its parsed content, wherever it was read from), the integer weights and biases with their origin, the ROM
    options, the package's code and the tools."""
    return stage_inputs(design=config_hash(design.cfg),
                        weights=arrays_hash([design.weights, design.biases]),
                        origin=content_hash(design.weights_origin),
                        options={"roms": roms, "rom_prefix": rom_folder(rom_prefix)})


def generate(design, out_root="build", roms="inline", rom_prefix="", log=None):
    """Write the build folder of ``design``; return its path. ``roms``: ``"inline"`` or
    ``"file"`` (the Verilog loads its ROMs with ``$readmemh``, see :mod:`gen.rom_files`).
    The folder is kept while its inputs (:func:`build_inputs`) are unchanged and its files
    intact (:func:`gen.build_folder.generate_folder`); ``log`` hears which it was."""
    if roms not in ROM_MODES:
        raise ValueError(f"roms must be one of {', '.join(ROM_MODES)}, got {roms!r}")
    rom_prefix = rom_folder(rom_prefix)
    final = Path(out_root) / design.top
    inputs = build_inputs(design, roms, rom_prefix)

    def fill(tmp):
        files = [tmp / f"{design.top}.v", tmp / f"{design.top}_top.v"]
        layer = IPLayer(design.fp, design.weights, design.biases)
        ports = port_manifest(layer)
        texts = [emit_verilog(design, component=layer), emit_verilog(design, synth=True)]
        images = export_roms(design.fp, design.weights, design.biases, tmp)
        rom_names = [Path(f).stem for f in images if Path(f).suffix == ".hex"]
        write_verilog_files(files, texts, tmp, rom_names, roms, rom_prefix, final)
        files += images + integration_files(tmp, design.top, ports)
        write_manifest(design.cfg, design.fp, files, tmp, design.weights_origin, ports,
                       {"load": roms, "prefix": rom_prefix if roms == "file" else None,
                        "images": rom_names}, inputs=inputs)

    # ROMs loaded by file: always made again, so the images under the prefix are checked
    return generate_folder(out_root, design.top, inputs, fill, log, reuse=roms != "file")
