"""Generate a trained network's accelerator: Verilog, ROM images and manifest.

``python -m ipnet_mtj.gen.network NETWORK [--weights W.npz] [--out DIR]`` loads a network
description (configs/network.yaml) and its trained integer weights (default:
``configs/trained/<name>.npz``, written by ``ipnet train``) and writes,
atomically (a temporary folder renamed into place)::

    build/<name>/
        <name>.v          the accelerator with its monitor port (simulation)
        <name>_top.v      frames in, label out: the synthesis top
        <name>_axis.v     the accelerator behind AXI4-Stream (s_axis, m_axis, aresetn)
        lint.vlt          the Verilator lint waivers the Verilog needs (docs/integration.md)
        wrom<l>.hex       lane l's weight ROM, every layer, $readmemh words
        brom<l>.hex       lane l's bias ROM
        lut.hex           the thermal neurons' switching-probability LUT (lut1.hex, ... of
                          an all-MTJ network's further thermal layers; none for spikes)
        weights.npz       the integer weights and biases (w0, b0, ...), torch layouts
        manifest.json     layers, shapes, formats, ROM bases, ports, SHA-256 of every file,
                          the source checkpoint and its float and integer accuracy
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from ipnet_mtj.hw.net_accel import NetAccelerator
from ipnet_mtj.hw.net_cycles import lower_bound_cycles
from ipnet_mtj.hw.net_rom_layout import bias_bases, bias_images, weight_bases, weight_images
from ipnet_mtj.hw.net_synth_top import NetSynthTop
from ipnet_mtj.sw.cli import check_output_dir, run_cli
from ipnet_mtj.sw.config import config_hash
from ipnet_mtj.sw.jobs import content_hash, file_hash, tool_versions
from ipnet_mtj.sw.jobs.cache import stage_inputs
from ipnet_mtj.sw.network import derive_network, describe, load_network, software_lanes
from ipnet_mtj.sw.train.network_train import load_trained, network_hash, trained_paths

from .axis import axis_layout, integration_files
from .build_folder import arrays_hash, generate_folder
from .export import write_hex
from .ports import CLOCK, RESET, port_manifest
from .rom_files import (ROM_MODES, add_rom_arguments, check_rom_arguments, rom_folder,
                        write_verilog_files)

__all__ = ["NetDesign", "load_network_design", "emit_network_verilog", "generate_network",
           "build_inputs"]


@dataclass(frozen=True)
class NetDesign:
    """A loaded network: description, derived constants, trained integer weights."""
    cfg: object
    net: object
    params: list
    weights_path: Path
    provenance: dict

    @property
    def top(self):
        return self.cfg.name


def load_network_design(path, weights=None):
    """Load a network description and its trained weights (checked against it)."""
    from ipnet_mtj.hw.net_fold import resolve_lanes
    cfg = load_network(path)
    params = load_trained(cfg, derive_network(software_lanes(cfg)), weights)
    cfg = resolve_lanes(cfg)                # lanes: auto -> the lanes chosen for its fold
    net = derive_network(cfg)
    npz, js = trained_paths(cfg, weights)
    provenance = json.loads(js.read_text())     # load_trained checked it
    return NetDesign(cfg, net, params, npz, provenance)


def emit_network_verilog(design, synth=False, component=None):
    """Verilog of the accelerator (``synth``: the pins-only top). ``component`` is used instead
    of a new one when given."""
    if synth:
        return verilog.convert(component or NetSynthTop(design.net, design.params),
                               name=f"{design.top}_top", emit_src=False)
    return verilog.convert(component or NetAccelerator(design.net, design.params), name=design.top,
                           emit_src=False)


def _layers_manifest(net):
    rows = []
    for lf in net.layers:
        row = {k: v for k, v in dataclasses.asdict(lf).items() if k != "fp"}
        row.update(fan_in=lf.fan_in, window=lf.window, macs=lf.macs, outputs=lf.outputs)
        if lf.fp is not None:
            row["neurons"] = {k: v for k, v in vars(lf.fp).items()
                              if k not in ("lut", "quantisation")}
        rows.append(row)
    return rows


def build_inputs(design, roms="inline", rom_prefix=""):
    """The content hashes of what a network's build folder depends on (recorded in its
    manifest as ``inputs``): the description and its thermal design (their parsed content,
    wherever they were read from), the integer weights
    themselves (shapes and values) with the checkpoint they came from, the ROM options, the
    package's code and the tools (:func:`ipnet_mtj.sw.jobs.cache.stage_inputs`)."""
    checkpoint = {"file": str(Path(design.weights_path).resolve()),
                  "sha256": file_hash(design.weights_path),
                  "provenance": design.provenance}
    description = {k: v for k, v in dataclasses.asdict(design.cfg).items() if k != "source"}
    return stage_inputs(description=content_hash(description),
                        design=config_hash(design.net.design),
                        weights=arrays_hash(a for wb in design.params for a in wb),
                        checkpoint=checkpoint,
                        options={"roms": roms, "rom_prefix": rom_folder(rom_prefix)})


def generate_network(design, out_root="build", roms="inline", rom_prefix="", log=None):
    """Write the build folder of a trained network; return its path.

    ``roms``: ``"inline"`` (the ROM contents in the Verilog) or ``"file"`` (loaded with
    ``$readmemh("<rom_prefix>/<name>.hex")``, see :mod:`gen.rom_files`; ``rom_prefix`` is a
    folder). Every Verilog file gets the time-zero kick of :mod:`gen.verilog_start`, so it
    starts correctly on any simulator.

    A build folder whose manifest records the same inputs (:func:`build_inputs`) and whose
    files all still have the SHA-256 it records is kept as it is, not generated again.
    ``log`` (a function of one line), when given, hears which it was and why.
    """
    if roms not in ROM_MODES:
        raise ValueError(f"roms must be one of {', '.join(ROM_MODES)}, got {roms!r}")
    rom_prefix = rom_folder(rom_prefix)
    net = design.net
    final = Path(out_root) / design.top
    inputs = build_inputs(design, roms, rom_prefix)

    def fill(tmp):
        files = [tmp / f"{design.top}.v", tmp / f"{design.top}_top.v"]
        accel = NetAccelerator(net, design.params)
        ports = port_manifest(accel)
        texts = [emit_network_verilog(design, component=accel),
                 emit_network_verilog(design, synth=True)]
        w_width = max(lf.w_width for lf in net.layers)
        b_width = max(lf.b_width for lf in net.layers)
        for lane, (wi, bi) in enumerate(zip(weight_images(net, design.params),
                                            bias_images(net, design.params))):
            for kind, words, width in (("wrom", wi, w_width), ("brom", bi, b_width)):
                path = tmp / f"{kind}{lane}.hex"
                write_hex(path, words, width)
                files.append(path)
        for j, lf in enumerate(net.thermals):       # each neuron unit's LUT (hw.net_post)
            if lf.fp.output != "spike":
                files.append(tmp / f"lut{j or ''}.hex")
                write_hex(files[-1], lf.fp.lut, lf.fp.y_width)
        files.append(tmp / "weights.npz")
        with open(files[-1], "wb") as fh:
            np.savez(fh, **{f"{k}{i}": np.asarray(a, dtype=np.int64)
                            for i, (w, b) in enumerate(design.params) for k, a in (("w", w), ("b", b))})
        rom_names = [f.stem for f in files if f.suffix == ".hex"]
        write_verilog_files(files[:len(texts)], texts, tmp, rom_names, roms, rom_prefix, final)
        files += integration_files(tmp, design.top, ports)
        prov = design.provenance
        manifest = {
            "network": design.top,
            "network_file": design.cfg.source,
            "network_hash": network_hash(design.cfg),
            "design_file": str(design.cfg.design_path()),
            "design_hash": config_hash(net.design),
            "lanes": net.lanes,
            "classes": net.classes,
            "score_width": net.score_width,
            "macs_per_frame": net.macs,
            "layers": _layers_manifest(net),
            "roms": {"weight_width": w_width, "bias_width": b_width,
                     "weight_bases": weight_bases(net)[0], "weight_depth": weight_bases(net)[1],
                     "bias_bases": bias_bases(net)[0], "bias_depth": bias_bases(net)[1],
                     "load": roms, "prefix": rom_prefix if roms == "file" else None,
                     "images": rom_names},
            "ports": ports,
            "axis": axis_layout({"network": design.top, "ports": ports}),
            "clock": CLOCK,
            "reset": {**RESET, "clear_cycles": max(lf.neurons for lf in net.thermals)},
            "timing": {"beats_in_per_frame": int(np.prod(net.input_shape)),
                       "beats_out_per_frame": net.classes,
                       "cycles_per_frame_lower_bound": lower_bound_cycles(net),
                       "note": "make synth measures cycles per frame (Amaranth simulation) "
                               "and writes it to synth/synth_report.json; after reset the "
                               "thermal neurons' heat RAM clears for clear_cycles, input is "
                               "taken meanwhile"},
            "checkpoint": {"file": str(design.weights_path),
                           "sha256": hashlib.sha256(Path(design.weights_path).read_bytes()).hexdigest(),
                           "commit": prov.get("commit"), "command": prov.get("command"),
                           "task": prov.get("task"), "accuracy": prov.get("accuracy"),
                           "physics": prov.get("physics")},
            "tools": tool_versions(),
            "inputs": inputs,
            "files": {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    # ROMs loaded by file: always made again, so the images under the prefix are checked
    return generate_folder(out_root, design.top, inputs, fill, log, reuse=roms != "file")


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet verilog", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--out", default="build", help="build root (default: build)")
    add_rom_arguments(parser)
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    check_rom_arguments(args)
    design = load_network_design(args.network, args.weights)
    out = generate_network(design, args.out, args.roms, args.rom_prefix, log=print)
    print("\n".join(describe(design.net)))
    acc = design.provenance.get("accuracy", {})
    if acc:
        print(f"trained weights {design.weights_path}, accuracy recorded at training: float "
              f"{acc.get('float', float('nan')):.4f}, integer {acc.get('integer', float('nan')):.4f}")
    print(f"build folder {out}/ ({design.top}.v, {design.top}_top.v, {design.top}_axis.v, ROM images"
          f"{' loaded by $readmemh' if args.roms == 'file' else ''}, lint.vlt, manifest.json)")
    return 0


if __name__ == "__main__":
    run_cli(main)
