"""The native network bench (sim/native.py): the clock in C++, Python comparing afterwards. It
must drive the harness exactly as the cocotb bench does (same cycles, same values compared,
same predictions, under the handshake stress), and it must fail on a wrong value."""

import json
import shutil

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.sim.native import run_network_native
from ipnet_mtj.sim.network import load_test_sequences
from ipnet_mtj.sim.runner import run_network_bench, simulator_available
from ipnet_mtj.sw.jobs import JobRunner

NETWORK = ROOT / "configs" / "network.yaml"


@pytest.fixture(scope="module")
def verilator():
    ok, why = simulator_available("verilator")
    if not ok:
        pytest.skip(f"verilator runs skipped: {why}")


@pytest.fixture(scope="module")
def build(verilator, tmp_path_factory):
    design = load_network_design(NETWORK)
    out = generate_network(design, tmp_path_factory.mktemp("build"))
    x, y = load_test_sequences(design, 4)
    np.savez(out / "stim.npz", x=x[:, :6], y=y)          # 4 sequences of 6 frames
    return out


def test_native_equals_the_cocotb_bench_under_stress(build, tmp_path):
    # sequences 0..3 cycle through the four stress settings (gaps, stalls, both)
    native = run_network_native(build, NETWORK, build / "stim.npz", tmp_path / "n")
    cocotb = run_network_bench("verilator", build, NETWORK, build / "stim.npz", tmp_path / "c")
    for key in ("sequences", "frames", "values_compared", "mismatches", "cycles", "predictions",
                "same_prediction", "hardware_accuracy", "golden_accuracy"):
        assert native[key] == cocotb[key], key
    assert native["mismatches"] == 0 and native["values_compared"] > 0
    assert json.loads((tmp_path / "n/native/report.json").read_text())["cycles"] == cocotb["cycles"]


def test_native_shards_merge_to_one_run(build, tmp_path):
    one = run_network_native(build, NETWORK, build / "stim.npz", tmp_path / "one")
    with JobRunner(workers=2) as runner:
        two = run_network_native(build, NETWORK, build / "stim.npz", tmp_path / "two",
                                 runner=runner)
    assert two["shards"] == 2
    for key in ("values_compared", "mismatches", "cycles", "predictions"):
        assert one[key] == two[key], key


def test_native_bench_catches_a_wrong_weight(build, tmp_path):
    """A bias the golden model reads differently from the ROMs the hardware was built with."""
    bad = tmp_path / "bad"
    shutil.copytree(build, bad)
    with np.load(bad / "weights.npz") as z:
        params = {k: z[k].copy() for k in z.files}
    params["b3"][0] += 1           # the readout's first bias: logit 0 one LSB up, every frame
    np.savez(bad / "weights.npz", **params)
    with pytest.raises(RuntimeError, match=r"verilator \(native\): \d+ mismatches, first: "
                                           r"\['seq 0 frame 0 readout value\[0\]"):
        run_network_native(bad, NETWORK, bad / "stim.npz", tmp_path / "w")


def test_read_hex_decodes_like_int(tmp_path):
    from ipnet_mtj.sim.scoreboard import read_hex
    words = np.random.default_rng(0).integers(0, 2 ** 40, 500)
    (tmp_path / "a.hex").write_text("// comment\n@0\n" + "".join(f"{w:010x}\n" for w in words))
    assert np.array_equal(read_hex(tmp_path / "a.hex"), words)
    (tmp_path / "b.hex").write_text("0f\n1x\n")                # an unknown bit is refused
    with pytest.raises(ValueError):
        read_hex(tmp_path / "b.hex")
