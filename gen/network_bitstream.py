"""python -m ipnet_mtj.gen.network_bitstream NETWORK: the UP5K bitstream of a trained network, patchable.

``make bitstream`` builds the iCE40 UP5K bitstream of the trained network with
its trained ROMs, in two steps, so that a user who retrains does not place and
route again:

1. **base** (once; kept in ``build/<name>-base/``): the accelerator with random
   placeholder words in its weight ROMs (every bit slice unique, so icebram can
   find each ROM; :func:`gen.bram_patch.placeholder_images`) and the trained
   biases, synthesised, placed and routed (yosys, nextpnr, icepack).
2. **patch**: the trained weight images (``wrom<l>.hex`` of ``gen.network``)
   replace the placeholders in the base's block RAM (icebram), the result is
   packed and read back (:func:`gen.bram_patch.patch`), and written to
   ``build/<name>-bitstream/<name>_top.{asc,bin}``.

``make patch-weights WEIGHTS=new.npz`` runs step 2 alone on the kept base: new
weights in seconds. The biases are small ROMs that yosys puts into logic,
where no tool can patch them: when retrained biases differ from the base's,
the command stops with one line saying so, and ``--rebuild`` (``make bitstream
REBUILD=1``) builds a new base with them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np

from ipnet_mtj.hw.net_rom_layout import weight_images
from ipnet_mtj.sw.cli import UsageError, run_cli
from ipnet_mtj.sw.train.network_train import network_hash

from .bram_patch import Image, _all_unique, image_pairs, patch
from .network import generate_network, load_network_design
from .synth import synthesise

__all__ = ["placeholder_params", "build_base", "patch_weights", "main"]


def placeholder_params(net, params, seed=1):
    """``params`` with random full-range weights whose lane ROM images all patch; biases kept.

    Raises
    ------
    UsageError
        When no seed within 100 gives every bit slice of every lane's ROM once (ROMs too
        shallow), or a weight width is not a multiple of 4.
    """
    width = max(lf.w_width for lf in net.layers)
    if width % 4:
        raise UsageError(f"weight width {width} is not a multiple of 4: icebram reads whole hex "
                         "digits, so always-zero padding bits cannot be matched")
    mask = (1 << width) - 1
    for attempt in range(seed, seed + 100):
        rng = np.random.default_rng(attempt)
        out = [(rng.integers(-(1 << (lf.w_width - 1)), 1 << (lf.w_width - 1), size=np.shape(w)),
                np.asarray(b)) for lf, (w, b) in zip(net.layers, params)]
        images = [Image(Path(), tuple(v & mask for v in words), width // 4)
                  for words in weight_images(net, out)]
        if _all_unique(images):
            return out, attempt
    raise UsageError("could not draw placeholder weights with unique bit slices "
                     "(the weight ROMs are too shallow for block RAM)")


def _dirs(design, out_root):
    out_root = Path(out_root)
    return out_root / f"{design.top}-base", out_root / f"{design.top}-bitstream"


def build_base(design, out_root="build", freq=30.0, seed=1):
    """Place and route the accelerator with placeholder weights; return the base folder."""
    base_root, _ = _dirs(design, out_root)
    params, used = placeholder_params(design.net, design.params, seed)
    ph = dataclasses.replace(design, params=params)
    if base_root.exists():
        shutil.rmtree(base_root)
    build = generate_network(ph, base_root)
    top = f"{design.top}_top"
    result = synthesise("ice40_up5k", build / f"{top}.v", top, build / "synth", freq, bitstream=True)
    if not result["fits"]:
        shutil.rmtree(base_root, ignore_errors=True)
        raise UsageError(f"{design.cfg.source}: does not fit the iCE40 UP5K "
                         f"({', '.join(result['over']) or 'place and route failed'})")
    (build / "base.json").write_text(json.dumps(
        {"network_hash": network_hash(design.cfg), "lanes": design.net.lanes,
         "placeholder_seed": used,
         "fmax_mhz": result["fmax_mhz"], "utilization": result["utilization"]}, indent=2) + "\n")
    return build


def patch_weights(design, out_root="build"):
    """Patch ``design``'s trained weight images into the kept base; return the patch summary."""
    base_root, out_dir = _dirs(design, out_root)
    base = base_root / design.top
    asc = base / "synth" / "ice40_up5k.asc"
    if not asc.exists():
        raise UsageError(f"{asc}: no base bitstream; build it first (make bitstream)")
    info = json.loads((base / "base.json").read_text())
    if info["network_hash"] != network_hash(design.cfg) or info.get("lanes") != design.net.lanes:
        raise UsageError(f"{base / 'base.json'}: the base was built for another description or "
                         f"other lanes; rebuild it (make bitstream REBUILD=1)")
    build = generate_network(design, out_root)
    for k in range(design.net.lanes):
        name = f"brom{k}.hex"
        if (base / name).read_text() != (build / name).read_text():
            raise UsageError(f"{build / name}: the biases differ from the base bitstream's; biases "
                             f"sit in logic, so rebuild the base (make bitstream REBUILD=1)")
    pairs = image_pairs(base, build, "wrom*.hex")
    summary = patch(pairs, asc, out_dir)
    final = out_dir / f"{design.top}_top.bin"
    Path(summary["packed"]).replace(final)
    Path(summary["config"]).replace(out_dir / f"{design.top}_top.asc")
    summary["packed"], summary["config"] = str(final), str(out_dir / f"{design.top}_top.asc")
    return summary


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m ipnet_mtj.gen.network_bitstream", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--out", default="build")
    parser.add_argument("--freq", type=float, default=30.0, help="clock constraint, MHz")
    parser.add_argument("--rebuild", action="store_true", help="build a new base first")
    parser.add_argument("--patch-only", action="store_true",
                        help="never build a base: patch the kept one or stop")
    args = parser.parse_args(argv)
    design = load_network_design(args.network, args.weights)
    base = _dirs(design, args.out)[0] / design.top / "synth" / "ice40_up5k.asc"
    if args.rebuild or (not base.exists() and not args.patch_only):
        began = time.perf_counter()
        print("base: placeholder weight ROMs, yosys + nextpnr + icepack (iCE40 UP5K) ...", flush=True)
        build = build_base(design, args.out, args.freq)
        info = json.loads((build / "base.json").read_text())
        print(f"base: {build} ({time.perf_counter() - began:.0f} s, Fmax {info['fmax_mhz']:.1f} MHz)")
    began = time.perf_counter()
    summary = patch_weights(design, args.out)
    print(f"patched {len(summary['patched'])} weight ROMs into the base in "
          f"{time.perf_counter() - began:.1f} s (read back and checked; no place and route)")
    print(f"bitstream: {summary['packed']}")
    return 0


if __name__ == "__main__":
    run_cli(main)
