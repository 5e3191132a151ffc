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
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ipnet_mtj.hw.net_rom_layout import weight_images
from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli
from ipnet_mtj.sw.train.network_train import network_hash

from .bram_patch import Image, _all_unique, image_pairs, patch
from .export import replace_build_folder
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


def _stage(out_root, name):
    """A temporary sibling folder in ``out_root`` in which a product is built whole before
    it replaces the old one (``os.replace``/rename), so an interrupted or refused build
    leaves the old product as it was."""
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{name}-new-", dir=out_root))


def build_base(design, out_root="build", freq=30.0, seed=1):
    """Place and route the accelerator with placeholder weights; return the base folder.

    The new base is built in a temporary sibling of ``<out>/<name>-base/`` and replaces the
    kept one only when it is complete (placed, routed, packed, ``base.json`` written): an
    interrupted or failed rebuild keeps the old base."""
    base_root, _ = _dirs(design, out_root)
    params, used = placeholder_params(design.net, design.params, seed)
    ph = dataclasses.replace(design, params=params)
    stage = _stage(out_root, base_root.name)
    try:
        build = generate_network(ph, stage)
        top = f"{design.top}_top"
        result = synthesise("ice40_up5k", build / f"{top}.v", top, build / "synth", freq,
                            bitstream=True)
        if not result["fits"]:
            raise UsageError(f"{design.cfg.source}: does not fit the iCE40 UP5K "
                             f"({', '.join(result['over']) or 'place and route failed'})")
        (build / "base.json").write_text(json.dumps(
            {"network_hash": network_hash(design.cfg), "lanes": design.net.lanes,
             "placeholder_seed": used,
             "fmax_mhz": result["fmax_mhz"], "utilization": result["utilization"]}, indent=2)
            + "\n")
        replace_build_folder(stage, base_root)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return base_root / design.top


def _base_info(path):
    """The base's record (``base.json``), or a one-line UsageError naming it."""
    rebuild = "rebuild the base (make bitstream REBUILD=1)"
    if path.exists() and not path.is_file():
        raise UsageError(f"{path}: not a regular file; {rebuild}")
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: missing (the base's record of its network and lanes); "
                         f"{rebuild}") from None
    except (OSError, ValueError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not valid JSON"
        raise UsageError(f"{path}: unreadable ({detail}: truncated or foreign); {rebuild}") \
            from None
    if not isinstance(info, dict) or "network_hash" not in info:
        raise UsageError(f"{path}: not a base record (no 'network_hash'); {rebuild}")
    return info


def patch_weights(design, out_root="build"):
    """Patch ``design``'s trained weight images into the kept base; return the patch summary.

    Nothing is replaced until everything succeeded: the new build folder and the patched
    bitstream are made in a temporary sibling folder; then the bitstream files and
    ``<out>/<name>/`` replace the old ones. A refused or interrupted patch leaves the old
    build folder and bitstream as they were. Every lane's weight ROM must be in the base:
    a missing image is an error naming it, never a partial patch."""
    base_root, out_dir = _dirs(design, out_root)
    base = base_root / design.top
    asc = base / "synth" / "ice40_up5k.asc"
    if not asc.exists():
        raise UsageError(f"{asc}: no base bitstream; build it first (make bitstream)")
    info = _base_info(base / "base.json")
    if info["network_hash"] != network_hash(design.cfg) or info.get("lanes") != design.net.lanes:
        raise UsageError(f"{base / 'base.json'}: the base was built for another description or "
                         f"other lanes; rebuild it (make bitstream REBUILD=1)")
    lanes = design.net.lanes
    for kind in ("wrom", "brom"):
        for k in range(lanes):
            if not (base / f"{kind}{k}.hex").is_file():
                have = len([k2 for k2 in range(lanes) if (base / f"{kind}{k2}.hex").is_file()])
                raise UsageError(f"{base / f'{kind}{k}.hex'}: missing from the base (it has "
                                 f"{have} of the {lanes} {'weight' if kind == 'wrom' else 'bias'} "
                                 f"ROM images); rebuild the base (make bitstream REBUILD=1)")
    stage = _stage(out_root, design.top)
    try:
        build = generate_network(design, stage)
        for k in range(lanes):
            name = f"brom{k}.hex"
            if (base / name).read_text() != (build / name).read_text():
                raise UsageError(f"{design.weights_path}: the biases ({name}) differ from the "
                                 f"base bitstream's; biases sit in logic, so rebuild the base "
                                 f"(make bitstream REBUILD=1)")
        names = [f"wrom{k}.hex" for k in range(lanes)]
        pairs = image_pairs(base, build, ",".join(names))
        if sorted(old.path.name for old, _ in pairs) != sorted(names):    # pragma: no cover
            raise UsageError(f"{base}: the base does not hold every lane's weight ROM")
        summary = patch(pairs, asc, stage / "bitstream")
        out_dir.mkdir(parents=True, exist_ok=True)
        final = out_dir / f"{design.top}_top.bin"
        final_asc = out_dir / f"{design.top}_top.asc"
        os.replace(summary["config"], final_asc)
        os.replace(summary["packed"], final)
        replace_build_folder(build, Path(out_root) / design.top)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    summary["packed"], summary["config"] = str(final), str(final_asc)
    return summary


def main(argv):
    stage = "ipnet patch-weights" if "--patch-only" in argv else "ipnet bitstream"
    parser = argparse.ArgumentParser(prog=stage, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    parser.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    parser.add_argument("--out", default="build")
    parser.add_argument("--freq", type=float, default=30.0, help="clock constraint, MHz")
    parser.add_argument("--rebuild", action="store_true", help="build a new base first")
    parser.add_argument("--patch-only", action="store_true",
                        help="never build a base: patch the kept one or stop")
    args = parser.parse_args(argv)
    if args.rebuild and args.patch_only:
        raise UsageError("--rebuild: patch-weights never places and routes; make bitstream "
                         "REBUILD=1 (ipnet bitstream NETWORK --rebuild) builds a new base")
    check_output_dir(args.out, "--out")
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
