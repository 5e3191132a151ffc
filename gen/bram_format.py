"""ROM images and the block RAM of textual bitstreams, as the patch tools see them.

:mod:`gen.bram_patch` patches new ROM images into a placed-and-routed bitstream with
``icebram`` (iCE40) or ``ecpbram`` (ECP5); this module reads both sides of that: the hex
images (:func:`read_image`, :class:`Image` and its bit slices) and the initialised block RAMs
of an iCE40 ``.asc`` or ECP5 ``.config`` (:func:`parse_brams`), finds where an image lies
(:func:`locate`) and reads it back (:func:`read_back`), refusing what the tools would get wrong.

What icebram needs (icestorm ``icebram/icebram.cc``); checked here before it
runs, so that failures name the file:

* Hex files: whitespace-separated hex words, every word of the old file with
  the same number of digits; the word width is 4 x digits, so a ROM whose
  width is not a multiple of 4 has always-zero padding bits, which cannot
  be matched (below). No ``//`` comments and no ``@address``.
* The number of words must be a multiple of 256 (ecpbram: 512); shorter
  images are padded here with zero words, which is what block RAM holds
  past a ROM's end.
* icebram matches *bit slices*: for each bit of the word and each run of 256
  consecutive words, the 256 bits are a key, looked up among the 16 slices
  of every initialised SB_RAM40_4K read in its configured read mode (256x16,
  512x8, 1024x4, 2048x2). So any width and depth works, yosys may split a
  ROM over several block RAMs and permute its data bits (it does: 512x8
  mode stores bit 1 in slice 4), but every slice of the old image must occur
  **exactly once**. Repeated bit columns (sign-extension bits of small
  weights), constant or all-zero columns (they match unused block-RAM bits)
  and two ROMs with the same contents (two lanes with identical weights)
  make the match ambiguous: icebram stops with "Conflicting from pattern"
  or "Found some bitslices up to N times". Trained or seeded 8-bit weights
  nearly always repeat their sign bit, so the bitstream must be built with
  unique random placeholders (``base``); the *new* images may be anything.
* ecpbram (prjtrellis) matches 512-word slices under all six DP16KD widths
  of every block RAM and does not check the count at all: a wrong or
  ambiguous old image silently patches nothing or the wrong bits (exit 0).
  The checks here, and the read-back, are what make it safe. The
  ``yowasp-ecpbram`` entry point does not mount the Trellis database (every
  call fails "Failed to load Trellis database"), so its wasm is run here
  through ``yowasp_runtime`` with it mounted. Its rewrite of the .config
  repeats the last tile of each ``.tile_group`` line; the packed result is
  unchanged by that (checked: the unpacked .bit equals the base outside
  block RAM). The ECP5 .config comes from ``synthesise(..., bitstream=True)``.
* A ROM must be in block RAM: yosys puts small ROMs into logic (iCE40: 128x8
  logic, 256x8 block RAM; ECP5: 256x8 logic, 512x8 block RAM;
  ``rom_style = "block"`` forces block RAM). The bias ROMs (G words) are in
  logic, so ``base`` keeps the real biases and new biases need a new place
  and route.

Formats parsed here. iCE40 ``.asc``: ``.ram_data X Y`` is followed by 16
lines of 64 hex digits; line k (0-based) holds physical bits 256k..256k+255,
its last digit the lowest four; the read mode is CBIT_2 (2) + CBIT_3 (1),
character 7 of the third and fourth lines after ``.ramt_tile X Y+1``. ECP5
``.config``: ``.bram_init N`` is followed by 2048 9-bit words, 3 hex digits
each; physical bit = 9 x word + bit. Slices are taken exactly as icebram
and ecpbram take them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ipnet_mtj.sw.cli import UsageError

__all__ = ["Family", "FAMILIES", "family_of", "Image", "read_image", "check_image",
           "parse_brams", "find_image", "locate", "read_back"]


# -- device families -------------------------------------------------------------

def _ice40_layouts():
    """icebram's slices: read mode -> {(mode, block, bit): 256 physical bit indices}."""
    subidx = {0: (0,), 1: (0, 1), 2: (0, 2, 1, 3), 3: (0, 4, 2, 6, 1, 5, 3, 7)}
    out = {}
    for mode, sub in subidx.items():
        p = 1 << mode
        out[mode] = {(mode, blk, base // p): np.array(
            [blk * (4096 // p) + base + o * 16 + sub[i] for o in range(256 // p) for i in range(p)])
            for blk in range(p) for base in range(0, 16, p)}
    return out


def _ecp5_layout():
    """ecpbram's slices: {(width, j): 512 physical bit indices (9 x word + bit)}, all six widths."""
    out = {}
    for w, nw, b in ((1, 8, 32), (2, 8, 32), (4, 8, 32), (9, 9, 36), (18, 9, 36), (36, 9, 36)):
        for j in range(b):
            bn = np.arange(512) * w + j % w + (j // w) * 512 * w
            out[w, j] = (bn // nw) * 9 + bn % nw
    return out


@dataclass(frozen=True)
class Family:
    """What differs between iCE40 and ECP5 for patching."""
    name: str
    config: str          # textual bitstream suffix
    packed: str          # binary bitstream suffix
    slice_words: int     # words per bit slice of the patch tool
    tool: str


FAMILIES = {
    ".asc": Family("iCE40", ".asc", ".bin", 256, "icebram"),
    ".config": Family("ECP5", ".config", ".bit", 512, "ecpbram"),
}
_ICE40_LAYOUTS = _ice40_layouts()
_ECP5_LAYOUT = _ecp5_layout()


def family_of(path):
    fam = FAMILIES.get(Path(path).suffix)
    if fam is None:
        raise UsageError(f"{path}: not an iCE40 .asc or an ECP5 textual .config")
    return fam


# -- ROM images -----------------------------------------------------------------

@dataclass(frozen=True)
class Image:
    """A ROM image as icebram reads it: words of ``4 * digits`` bits."""
    path: Path
    words: tuple
    digits: int

    @property
    def width(self):
        return 4 * self.digits

    def padded(self, n):
        """The words, zero-padded to a multiple of ``n``."""
        total = -(-len(self.words) // n) * n
        return list(self.words) + [0] * (total - len(self.words))

    def slices(self, n):
        """{(bit, chunk): int}: bit ``bit`` of words chunk*n .. chunk*n+n-1 (word k -> bit k)."""
        words = np.array(self.padded(n), dtype=object)
        bits = np.array([[(int(w) >> b) & 1 for b in range(self.width)] for w in words],
                        dtype=np.uint8)
        return {(bit, chunk): _to_int(bits[chunk * n:(chunk + 1) * n, bit])
                for chunk in range(len(words) // n) for bit in range(self.width)}

    def hex_text(self, n):
        return "".join(f"{w:0{self.digits}x}\n" for w in self.padded(n))


def _to_int(bits):
    packed = np.packbits(np.asarray(bits, dtype=np.uint8), bitorder="little")
    return int.from_bytes(packed.tobytes(), "little")


def read_image(path):
    """Read a $readmemh image (hex words, whitespace-separated); refuse what icebram cannot read."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    words, digits = [], None
    for lineno, line in enumerate(text.splitlines(), 1):
        for token in line.split():
            clean = token.replace("_", "")
            try:
                value = int(clean, 16)
            except ValueError:
                raise UsageError(f"{path}: line {lineno}: {token!r} is not a hex word (icebram "
                                 "reads hex digits only: no comments, no @address)") from None
            if digits is None:
                digits = len(clean)
            elif len(clean) != digits:
                raise UsageError(f"{path}: line {lineno}: {len(clean)} hex digits, the first word "
                                 f"has {digits} (icebram needs one word width)")
            words.append(value)
    if not words:
        raise UsageError(f"{path}: no words")
    return Image(path, tuple(words), digits)


def _span(key, n):
    bit, chunk = key
    return f"bit {bit} of words {chunk * n}-{chunk * n + n - 1}"


def check_image(image, family):
    """Refuse an old image whose bit slices the patch tool could not tell apart."""
    n = family.slice_words
    seen = {}
    for key, value in image.slices(n).items():
        if value == 0:
            raise UsageError(
                f"{image.path}: {_span(key, n)} is 0 in every word; an all-zero bit slice matches "
                "unused block RAM (a width that is not a multiple of 4 has such bits): build with "
                "placeholders (ipnet patch-bram base)")
        if value in seen:
            raise UsageError(
                f"{image.path}: {_span(key, n)} equals {_span(seen[value], n)}; {family.tool} "
                "matches bit slices and cannot tell repeated ones apart: build with unique "
                "placeholders (ipnet patch-bram base) and patch from those")
        seen[value] = key


# -- block RAM in a textual bitstream -------------------------------------------

@dataclass
class Bram:
    """One initialised block RAM: its physical bits and the slices the patch tool reads."""
    pos: tuple
    bits: np.ndarray
    layout: dict

    def slice(self, key):
        return _to_int(self.bits[self.layout[key]])

    def slices(self):
        return {key: self.slice(key) for key in self.layout}


def parse_brams(text, family, name="bitstream"):
    """{position: Bram} of every initialised block RAM of an .asc or .config text."""
    lines = text.splitlines()
    brams = {}
    if family.config == ".asc":
        data, config = {}, {}
        for i, line in enumerate(lines):
            if line.startswith((".ram_data ", ".ramt_tile ")):
                try:
                    x, y = (int(v) for v in line.split()[1:3])
                except ValueError:
                    raise UsageError(f"{name}: line {i + 1}: bad header {line!r}") from None
                if line.startswith(".ram_data"):
                    data[x, y] = i
                else:
                    config[x, y - 1] = i
        for pos, i in data.items():
            rows = lines[i + 1:i + 17]
            if len(rows) != 16 or any(len(r) != 64 for r in rows):
                raise UsageError(f"{name}: line {i + 1}: .ram_data {pos[0]} {pos[1]} is not 16 "
                                 "lines of 64 hex digits")
            try:
                bits = np.concatenate([np.array([(int(r, 16) >> b) & 1 for b in range(256)],
                                                dtype=np.uint8) for r in rows])
            except ValueError:
                raise UsageError(f"{name}: line {i + 1}: .ram_data is not hex") from None
            mode = 0
            if pos in config:
                c = lines[config[pos] + 3:config[pos] + 5]
                cbit = [len(row) > 7 and row[7] == "1" for row in c] + [False, False]
                mode = 2 * cbit[0] + cbit[1]
            brams[pos] = Bram(pos, bits, _ICE40_LAYOUTS[mode])
    else:
        for i, line in enumerate(lines):
            if not line.startswith(".bram_init "):
                continue
            values, j = [], i + 1
            while j < len(lines) and lines[j].strip() and not lines[j].startswith("."):
                try:
                    values += [int(v, 16) for v in lines[j].split()]
                except ValueError:
                    raise UsageError(f"{name}: line {j + 1}: .bram_init is not hex") from None
                j += 1
            if len(values) != 2048:
                raise UsageError(f"{name}: line {i + 1}: {line.strip()} has {len(values)} words, "
                                 "not 2048")
            v = np.array(values, dtype=np.int64)
            bits = ((v[:, None] >> np.arange(9)) & 1).astype(np.uint8).reshape(-1)
            brams[int(line.split()[1])] = Bram(int(line.split()[1]), bits, _ECP5_LAYOUT)
    return brams


def _index(brams):
    index = {}
    for pos, bram in brams.items():
        for key, value in bram.slices().items():
            index.setdefault(value, []).append((pos, key))
    return index


def _where(pos):
    return f"{pos[0]} {pos[1]}" if isinstance(pos, tuple) else str(pos)


def find_image(brams, image, family, index=None):
    """{(bit, chunk): [(position, slice key), ...]}: every place each slice of ``image`` occurs."""
    index = _index(brams) if index is None else index
    return {key: index.get(value, []) for key, value in image.slices(family.slice_words).items()}


def locate(brams, image, family, bitstream="bitstream", index=None):
    """{(bit, chunk): (position, slice key)}: where ``image`` is, or UsageError.

    Every bit slice of ``image`` must be distinct, non-zero (:func:`check_image`)
    and occur exactly once in ``brams``.
    """
    n = family.slice_words
    hits = find_image(brams, image, family, index)
    missing = [k for k, v in hits.items() if not v]
    if len(missing) == len(hits):
        raise UsageError(
            f"{image.path}: not found in the block RAM of {bitstream} (none of its {len(hits)} bit "
            "slices occurs): not the image the bitstream was built with, or a small ROM that yosys "
            "put into logic, which only a new place and route can change")
    check_image(image, family)
    if missing:
        raise UsageError(
            f"{image.path}: only {len(hits) - len(missing)} of its {len(hits)} bit slices occur in "
            f"{bitstream} ({_span(missing[0], n)} does not): not the image the bitstream was "
            "built with")
    for key, places in hits.items():
        if len(places) > 1:
            raise UsageError(
                f"{image.path}: {_span(key, n)} occurs {len(places)} times in {bitstream} (block "
                f"RAM {', '.join(_where(p) for p, _ in places)}): identical contents cannot be "
                "told apart: build with unique placeholders (ipnet patch-bram base)")
    return {key: places[0] for key, places in hits.items()}


def read_back(brams, placement, depth, family):
    """Words 0..depth-1 of the ROM at ``placement`` (from :func:`locate`) in ``brams``."""
    n = family.slice_words
    words = [0] * (-(-depth // n) * n)
    for (bit, chunk), (pos, key) in placement.items():
        value = brams[pos].slice(key)
        for k in range(n):
            words[chunk * n + k] |= ((value >> k) & 1) << bit
    return words[:depth]


def _footprint(placement, brams):
    """{position: physical bit indices} a placement covers."""
    out = {}
    for pos, key in placement.values():
        out.setdefault(pos, []).append(brams[pos].layout[key])
    return {pos: np.unique(np.concatenate(v)) for pos, v in out.items()}
