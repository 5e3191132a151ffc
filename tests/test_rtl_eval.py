"""``ipnet eval --backend rtl``: the generated Verilog in the loop under Verilator gives the
integer backend's predictions; and its bad input is one line."""

import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.gen.network import load_network_design
from ipnet_mtj.sim.network import load_test_sequences
from ipnet_mtj.sim.rtl_eval import predict_rtl
from ipnet_mtj.sim.runner import simulator_available
from ipnet_mtj.sw import netref

NETWORK = ROOT / "configs" / "network.yaml"


def ipnet(*args):
    return subprocess.run([sys.executable, "-m", "ipnet_mtj.flow.cli", *args], capture_output=True,
                          text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def verilator():
    ok, why = simulator_available("verilator")
    if not ok:
        pytest.skip(f"verilator runs skipped: {why}")


def test_cli_rtl_backend_agrees_with_integer(verilator, tmp_path):
    proc = ipnet("net-eval", str(NETWORK), "--backend", "rtl", "--sequences", "3",
                 "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (f"ipnet_g11: 3 test sequences of 16 frames through "
                        f"{tmp_path}/ipnet_g11/ipnet_g11.v on Verilator ...")
    assert lines[-1].startswith("same prediction on 3 of 3 sequences; ")
    assert " 0 mismatches; " in lines[-1] and " frames/s in simulation " in lines[-1]
    assert "frames/s" in proc.stderr                         # the progress bar


def test_api_predict_rtl_on_frames(verilator):
    design = load_network_design(NETWORK)
    x, y = load_test_sequences(design, 2)
    x = x[:, :6]                        # the label after 6 frames, not the whole sequence
    labels, report = predict_rtl(design, x)
    assert np.array_equal(labels, netref.predict(design.net, design.params, x))
    assert report["mismatches"] == 0 and report["sequences"] == 2 and report["frames"] == 12


@pytest.mark.parametrize("args, message", [
    (["--backend", "rtl", "--sequences", "0"], "error: --sequences: must be >= 1, got 0\n"),
    (["--backend", "rtl", "--sequences", "100000"],
     "error: --sequences: the test set has 400 sequences, asked for 100000\n"),
])
def test_rtl_bad_input_one_line(args, message):
    proc = ipnet("net-eval", str(NETWORK), *args)
    assert (proc.returncode, proc.stderr) == (2, message)


def test_unknown_backend_named():
    proc = ipnet("net-eval", str(NETWORK), "--backend", "fpga")
    assert proc.returncode == 2
    assert "argument --backend: invalid choice: 'fpga' (choose from 'integer', 'rtl')" in proc.stderr
