"""``--roms file``: the generated Verilog loads its ROMs from the exported $readmemh images, so
new weights (and biases) are new image files only, with the same Verilog."""

import dataclasses
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.gen.design import generate, load_design
from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.gen.rom_files import check_images, rom_memories, roms_from_files
from ipnet_mtj.sim.network import load_test_sequences
from ipnet_mtj.sim.runner import run_bench, run_network_bench, simulator_available

NETWORK = ROOT / "configs" / "network.yaml"
LAYER = ROOT / "configs" / "default.yaml"
ROMS = [f"{k}{lane}" for k in ("wrom", "brom") for lane in range(4)] + ["lut"]


def need_verilator():
    ok, why = simulator_available("verilator")
    if not ok:
        pytest.skip(f"verilator runs skipped: {why}")


def other_params(design, seed):
    """Different integer weights and biases within every layer's format."""
    rng = np.random.default_rng(seed)
    out = []
    for lf, (w, b) in zip(design.net.layers, design.params):
        wmax, bmax = 1 << (lf.w_width - 1), 1 << (lf.b_width - 1)
        out.append((np.clip(w + rng.integers(-3, 4, size=w.shape), -wmax, wmax - 1),
                    np.clip(b + rng.integers(-40, 41, size=b.shape), -bmax, bmax - 1)))
    return out


def test_network_roms_load_from_files(tmp_path):
    design = load_network_design(NETWORK)
    build = generate_network(design, tmp_path / "a", roms="file", rom_prefix=f"{tmp_path}/a/ipnet_g11/")
    for name in ("ipnet_g11.v", "ipnet_g11_top.v"):
        text = (build / name).read_text()
        assert not set(ROMS) & set(rom_memories(text)), "no ROM may keep inline contents"
        for rom in ROMS:
            assert f'initial $readmemh("{build}/{rom}.hex", {rom});' in text
    inline = generate_network(design, tmp_path / "inline")
    assert set(ROMS) <= set(rom_memories((inline / "ipnet_g11.v").read_text()))


def test_new_weights_by_files_alone(tmp_path):
    """Images and weights.npz of other weights copied over a file-ROM build: the same Verilog
    now computes the other weights (the bench's golden model reads weights.npz)."""
    need_verilator()
    design = load_network_design(NETWORK)
    build = generate_network(design, tmp_path / "a", roms="file",
                             rom_prefix=f"{tmp_path}/a/ipnet_g11/")
    other = generate_network(dataclasses.replace(design, params=other_params(design, 3)),
                             tmp_path / "b")
    verilog = (build / "ipnet_g11.v").read_text()
    for f in [*(other / f"{rom}.hex" for rom in ROMS), other / "weights.npz"]:
        assert f.read_bytes() != (build / f.name).read_bytes() or f.name == "lut.hex"
        shutil.copyfile(f, build / f.name)
    assert (build / "ipnet_g11.v").read_text() == verilog
    x, y = load_test_sequences(design, 1)
    np.savez(tmp_path / "stim.npz", x=x[:, :2], y=y)
    report = run_network_bench("verilator", build, NETWORK, tmp_path / "stim.npz", tmp_path / "w")
    assert report["mismatches"] == 0 and report["values_compared"] > 0


def test_layer_roms_load_from_files(tmp_path):
    need_verilator()
    design = load_design(LAYER)
    build = generate(design, tmp_path, roms="file", rom_prefix=f"{tmp_path}/ipnet_layer/")
    text = (build / "ipnet_layer.v").read_text()
    assert "$readmemh" in text and not {"wrom0", "brom0", "lut"} & set(rom_memories(text))
    report = run_bench("verilator", build, LAYER, 6, 1, tmp_path / "w")
    assert report["mismatches"] == 0 and report["values_compared"] > 0


def test_images_are_checked(tmp_path):
    design = load_design(LAYER)
    build = generate(design, tmp_path)
    text = (build / "ipnet_layer.v").read_text()
    check_images(text, build, ["wrom0", "lut"])
    words = (build / "wrom0.hex").read_text().split()
    (build / "wrom0.hex").write_text("\n".join(words[:-1]) + "\n")
    with pytest.raises(ValueError, match=r"^wrom0.hex: 1023 words, the ROM holds 1024$"):
        check_images(text, build, ["wrom0"])
    (build / "lut.hex").write_text("1ff\n" * 256)
    with pytest.raises(ValueError, match=r"^lut.hex: a word wider than the ROM's 8 bits$"):
        check_images(text, build, ["lut"])
    with pytest.raises(ValueError, match=r"^ROMs not found in the Verilog: nope$"):
        roms_from_files(text, ["nope"])


def test_cli_roms_file():
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.gen.network", str(NETWORK),
                           "--roms", "bad"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "argument --roms: invalid choice: 'bad'" in proc.stderr
