"""The examples in examples/ run as the README shows them, so they never rot."""

import subprocess
import sys

import pytest

from helpers import ROOT
from ipnet_mtj.sim.runner import simulator_available

EXAMPLES = ROOT / "examples"


def run(name, *args):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def test_design_to_simulation(tmp_path):
    lines = run("design_to_simulation.py", "--out", str(tmp_path), "--steps", "8")
    assert lines[0].startswith("ipnet_layer: 64 inputs, 64 neurons, 4 lanes")
    assert lines[2] == f"generated {tmp_path}/ipnet_layer/ipnet_layer.v"
    assert lines[-1].endswith(" values compared, 0 mismatches")
    assert not lines[-1].startswith("total: 0 ")


@pytest.mark.slow
def test_train_quantise_export(tmp_path):
    lines = run("train_quantise_export.py", "--out", str(tmp_path))
    assert lines[0].startswith("trained 1 + 1 epochs: float ")
    assert lines[1].startswith(f"exported {tmp_path}/ipnet_g11: brom0.hex, ")
    assert lines[-1] == "the weight ROM images read back equal the trained weights: True"
    assert (tmp_path / "trained" / "example.npz").exists()


def test_rtl_in_the_loop():
    ok, why = simulator_available("verilator")
    if not ok:
        pytest.skip(f"verilator runs skipped: {why}")
    lines = run("rtl_in_the_loop.py", "--sequences", "2")
    assert lines[-1] == "RTL equals golden on 2 of 2 sequences"
