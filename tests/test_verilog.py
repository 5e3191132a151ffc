"""Generated Verilog: lint-clean under verilator -Wall; ROM images and manifest agree with it."""

import dataclasses
import json

import numpy as np
import pytest

from helpers import DEFAULT_CONFIG, config_dict
from ipnet_mtj.gen.design import Design, generate, load_design
from ipnet_mtj.gen.lint import lint
from ipnet_mtj.hw.rom_layout import bias_rom, weight_rom
from ipnet_mtj.sw.config import parse_config
from ipnet_mtj.sw.fixed import derive_fixed_point
from ipnet_mtj.sw.weights import seeded_weights


def design_of(**sections):
    cfg = parse_config(config_dict(**sections), "test.yaml")
    fp = derive_fixed_point(cfg)
    w, b = seeded_weights(fp, 1)
    return Design(cfg, fp, w, b, "test")


@pytest.mark.parametrize("output,decay", [("lut", "multiply"), ("spike", "shift"), ("stochastic", "shift")])
def test_verilog_is_lint_clean(tmp_path, output, decay):
    design = design_of(layer={"inputs": 12, "neurons": 8}, hardware={"lanes": 2},
                       fixed_point={"output": output, "decay": decay})
    out = generate(design, tmp_path)
    for name in (design.top, f"{design.top}_top"):
        ok, text = lint(out / f"{name}.v", name)
        assert ok, text


def test_lint_catches_a_real_warning(tmp_path):
    """The lint check can fail: a waived file still reports a rule we did not waive."""
    bad = tmp_path / "bad.v"
    bad.write_text("module bad(input wire clk, input wire a, output reg y);\n"
                   "  always @(posedge clk) y = a;\nendmodule\n")
    ok, text = lint(bad, "bad")
    assert not ok and "BLKSEQ" in text


def test_rom_images_match_weights_and_manifest(tmp_path):
    design = load_design(DEFAULT_CONFIG)
    out = generate(design, tmp_path)
    fp = design.fp
    for lane in range(fp.lanes):
        words = [int(line, 16) for line in (out / f"wrom{lane}.hex").read_text().split()]
        signed = [v - (1 << fp.w_width) if v >> (fp.w_width - 1) else v for v in words]
        assert signed == weight_rom(fp, design.weights, lane)
        assert signed == list(design.weights[lane::fp.lanes].reshape(-1))
        words = [int(line, 16) for line in (out / f"brom{lane}.hex").read_text().split()]
        assert [v - (1 << fp.b_width) if v >> (fp.b_width - 1) else v for v in words] == \
            bias_rom(fp, design.biases, lane)
    lut = [int(line, 16) for line in (out / "lut.hex").read_text().split()]
    assert lut == list(fp.lut) and len(lut) == 1 << fp.z_width
    rom = np.load(out / "weights.npz")
    assert np.array_equal(rom["weights"], design.weights)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["design"] == design.top and len(manifest["config_hash"]) == 16
    assert set(manifest["files"]) >= {"ipnet_layer.v", "wrom0.hex", "lut.hex", "weights.npz"}
    assert manifest["tools"]["amaranth"].startswith("0.5")


def test_memories_carry_the_weights(tmp_path):
    """The Verilog itself holds the ROM contents (Amaranth memory init)."""
    design = design_of(layer={"inputs": 4, "neurons": 4}, hardware={"lanes": 2})
    text = (generate(design, tmp_path) / f"{design.top}.v").read_text()
    w0 = weight_rom(design.fp, design.weights, 0)
    assert f"8'h{w0[1] & 0xFF:02x}" in text


def test_regenerating_keeps_results_only_for_the_same_hardware(tmp_path):
    """make verilog / make lint after make sim keep its report when nothing generated changed;
    a design whose files change drops the results, which describe other hardware."""
    design = load_design(DEFAULT_CONFIG)
    build = generate(design, tmp_path)
    (build / "sim_report.json").write_text("[]\n")
    (build / "sim").mkdir()
    assert generate(design, tmp_path) == build
    assert (build / "sim_report.json").read_text() == "[]\n" and (build / "sim").is_dir()
    other = dataclasses.replace(design, weights=design.weights[::-1].copy())
    generate(other, tmp_path)
    assert not (build / "sim_report.json").exists() and not (build / "sim").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no leftovers"
