"""New weights into a placed-and-routed bitstream (gen.bram_patch): icebram (iCE40), ecpbram (ECP5).

One small design (32 inputs, 32 neurons, 2 lanes: two 512 x 8 weight ROMs, block RAM on
both families) is built once with placeholder weights A and patched with the config's
seeded weights B. Slow part: one place and route per family (about 10 s each).
"""

import hashlib
import re
import subprocess
import sys

import pytest

from helpers import ROOT, config_dict, write_config
from ipnet_mtj.gen.bram_patch import (FAMILIES, check_image, find_image, image_pairs, locate, parse_brams,
                            patch, placeholder_design, read_back, read_image, unpack)
from ipnet_mtj.gen.design import generate, load_design
from ipnet_mtj.gen.synth import synthesise
from ipnet_mtj.sw.cli import UsageError

SMALL = dict(name="bram_patch", layer={"inputs": 32, "neurons": 32}, hardware={"lanes": 2})
WROMS = ["wrom0.hex", "wrom1.hex"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Build folders A (placeholder weights, in the bitstream) and B (seeded weights, new)."""
    root = tmp_path_factory.mktemp("bram_patch")
    real = load_design(write_config(root / "small.yaml", config_dict(**SMALL)))
    a = generate(placeholder_design(real, seed=1), root / "a")
    b = generate(real, root / "b")
    return a, b, f"{real.top}_top"


@pytest.fixture(scope="module")
def bitstream(images):
    """bitstream(key): design A's textual bitstream for ``key``, placed and routed once."""
    built = {}

    def get(key):
        if key not in built:
            a, _, top = images
            r = synthesise(key, a / f"{top}.v", top, a / "synth", 48.0, bitstream=True)
            assert r["fits"]
            suffix = ".asc" if key.startswith("ice40") else ".config"
            built[key] = a / "synth" / f"{key}{suffix}"
        return built[key]
    return get


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("key", ["ice40_up5k", "ecp5_25f"])
def test_patched_bitstream_holds_new_weights(images, bitstream, key, tmp_path):
    a, b, _ = images
    src = bitstream(key)
    fam = FAMILIES[src.suffix]
    before = digest(src), digest(src.with_suffix(fam.packed))
    out = tmp_path / "out"
    result = patch(image_pairs(a, b), src, out)
    assert result["patched"] == WROMS
    assert set(result["unchanged"]) == {"brom0.hex", "brom1.hex", "lut.hex"}
    assert sorted(p.name for p in out.iterdir()) == sorted([src.name, src.stem + fam.packed])
    assert (digest(src), digest(src.with_suffix(fam.packed))) == before, "the base must not change"

    # read the block RAM of the packed result back, where A's images were in the base
    base = parse_brams(src.read_text(), fam)
    back = parse_brams(unpack(result["packed"], tmp_path / "unpack", fam), fam)
    for name in WROMS:
        old, new = read_image(a / name), read_image(b / name)
        assert old.words != new.words
        where = locate(base, old, fam)
        assert read_back(back, where, len(new.words), fam) == list(new.words)
        assert not any(find_image(back, old, fam).values()), "no bit slice of A may remain"
        # B itself could not serve as an old image: its sign bit is repeated
        with pytest.raises(UsageError, match="equals bit 6"):
            check_image(new, fam)


def test_wrong_old_image_is_one_line(images, bitstream, tmp_path):
    a, b, _ = images
    src = bitstream("ice40_up5k")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    for p in a.glob("*.hex"):
        (wrong / p.name).write_text(p.read_text())
    lines = (wrong / "wrom1.hex").read_text().splitlines()
    lines[3] = f"{int(lines[3], 16) ^ 0xff:02x}"            # every bit of word 3
    (wrong / "wrom1.hex").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.gen.bram_patch", "patch", str(wrong), str(b),
                           str(src), str(out)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr == (f"error: {wrong / 'wrom1.hex'}: only 8 of its 16 bit slices occur in "
                           f"{src} (bit 0 of words 0-255 does not): not the image the bitstream "
                           "was built with\n")
    assert not out.exists()

    # the new images given as old: not in this bitstream at all
    with pytest.raises(UsageError, match=re.escape(f"{b / 'wrom0.hex'}: not found in the block RAM "
                                                   f"of {src} (none of its 16 bit slices occurs)")):
        patch(image_pairs(b, a), src, out)
    # a changed bias ROM: yosys put it into logic
    biases = tmp_path / "biases"
    biases.mkdir()
    for p in b.glob("*.hex"):
        (biases / p.name).write_text(p.read_text())
    words = (b / "brom1.hex").read_text().splitlines(True)
    (biases / "brom1.hex").write_text("".join(["7f\n", *words[1:]]))
    with pytest.raises(UsageError, match=re.escape(f"{a / 'brom1.hex'}: not found in the block RAM")
                       + ".*small ROM that yosys put into logic"):
        patch(image_pairs(a, biases), src, out)
    # different sizes
    short = tmp_path / "short"
    short.mkdir()
    for p in b.glob("*.hex"):
        (short / p.name).write_text(p.read_text())
    (short / "wrom0.hex").write_text("".join((b / "wrom0.hex").read_text().splitlines(True)[:500]))
    with pytest.raises(UsageError, match=re.escape(
            f"{short / 'wrom0.hex'}: 500 words of 2 hex digits, but {a / 'wrom0.hex'} has 512 "
            "words of 2")):
        image_pairs(a, short)
    assert not out.exists()


def test_tool_failure_is_one_line(images, bitstream, tmp_path):
    a, b, _ = images
    src = bitstream("ice40_up5k")
    broken = tmp_path / "broken.asc"        # icebram copies the header, icepack refuses it
    broken.write_text(re.sub(r"^\.device .*$", ".device 9k", src.read_text(), count=1, flags=re.M))
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=re.escape(f"icepack failed on {broken} (patched): Error: "
                                                   "Unsupported chip type '9k'.")):
        patch(image_pairs(a, b), broken, out)
    assert not out.exists()


def test_identical_roms_are_ambiguous(images, bitstream, tmp_path):
    """Two lanes with equal weights cannot be told apart: refused, nothing written."""
    a, b, _ = images
    src = bitstream("ice40_up5k")
    fam = FAMILIES[".asc"]
    text = src.read_text()
    brams = parse_brams(text, fam)
    wrom0, wrom1 = read_image(a / "wrom0.hex"), read_image(a / "wrom1.hex")
    (pos0,) = {pos for pos, _ in locate(brams, wrom0, fam).values()}
    (pos1,) = {pos for pos, _ in locate(brams, wrom1, fam).values()}

    def data(pos):
        return re.search(rf"^\.ram_data {pos[0]} {pos[1]}\n((?:[0-9a-f]{{64}}\n){{16}})", text,
                         re.M)

    twin = tmp_path / "twin.asc"             # lane 1's block RAM holds lane 0's contents
    twin.write_text(text[:data(pos1).start(1)] + data(pos0)[1] + text[data(pos1).end(1):])
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=rf"wrom0.hex: bit 0 of words 0-255 occurs 2 times in "
                                         rf"{re.escape(str(twin))} .*identical contents"):
        patch(image_pairs(a, b), twin, out)
    assert not out.exists()


def test_images_icebram_cannot_read(tmp_path):
    fam = FAMILIES[".asc"]
    bad = tmp_path / "bad.hex"
    bad.write_text("0a\n// comment\n")
    with pytest.raises(UsageError, match=r"bad.hex: line 2: '//' is not a hex word"):
        read_image(bad)
    bad.write_text("0a\n00b\n")
    with pytest.raises(UsageError, match=r"bad.hex: line 2: 3 hex digits, the first word has 2"):
        read_image(bad)
    six = tmp_path / "six.hex"                       # a 6-bit ROM written as 2 hex digits
    six.write_text("".join(f"{(k * 37) & 63:02x}\n" for k in range(256)))
    with pytest.raises(UsageError, match=r"six.hex: bit 6 of words 0-255 is 0 in every word"):
        check_image(read_image(six), fam)
