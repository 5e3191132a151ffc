"""Open-source synthesis: the default design fits a UP5K and an ECP5-25F; the UP5K bitstream packs."""

import subprocess
import sys

import pytest

from helpers import DEFAULT_CONFIG, ROOT
from ipnet_mtj.gen.design import generate, load_design
from ipnet_mtj.gen.synth import synthesise


@pytest.fixture(scope="module")
def top(tmp_path_factory):
    design = load_design(DEFAULT_CONFIG)
    out = generate(design, tmp_path_factory.mktemp("build"))
    return out, f"{design.top}_top"


def test_default_design_fits_up5k_and_packs(top, tmp_path):
    out, name = top
    r = synthesise("ice40_up5k", out / f"{name}.v", name, tmp_path, 48.0, bitstream=True)
    assert r["fits"]
    assert r["lut"] > 100 and r["ff"] > 100 and r["dsp"] >= r["bram"] // 4 >= 1
    assert r["fmax_mhz"] > 20
    binfile = tmp_path / "ice40_up5k.bin"
    assert binfile.stat().st_size > 100_000          # a UP5K image is about 104 kB


def test_default_design_fits_ecp5(top, tmp_path):
    out, name = top
    r = synthesise("ecp5_25f", out / f"{name}.v", name, tmp_path, 48.0)
    assert r["fits"] and r["lut"] > 100 and r["fmax_mhz"] > 20


def test_unknown_target_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.gen.synth", str(DEFAULT_CONFIG), "--targets", "xc7"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr == ("error: --targets: unknown target 'xc7' "
                           "(choose from ice40_up5k, ecp5_25f, ecp5_85f)\n")
