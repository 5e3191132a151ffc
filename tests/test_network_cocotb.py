"""The trained default network on Icarus and Verilator through the cocotb bench, on real test
sequences; and the bench fails when the hardware's weights differ from the golden model's."""

import json

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.sim.network import load_test_sequences
from ipnet_mtj.sim.runner import SIMULATORS, run_network_bench, simulator_available

NETWORK = ROOT / "configs" / "network.yaml"


def need(sim):
    ok, why = simulator_available(sim)
    if not ok:
        pytest.skip(f"{sim} runs skipped: {why}")


@pytest.fixture(scope="module")
def design():
    return load_network_design(NETWORK)


@pytest.fixture(scope="module")
def build(design, tmp_path_factory):
    return generate_network(design, tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="module")
def stimulus(design, tmp_path_factory):
    x, y = load_test_sequences(design, 3)
    path = tmp_path_factory.mktemp("stim") / "stim.npz"
    np.savez(path, x=x, y=y)
    return path


def test_manifest_describes_ports_and_checkpoint(build, design):
    m = json.loads((build / "manifest.json").read_text())
    ports = {p["name"]: p for p in m["ports"]}
    assert ports["x__payload"] == {
        "name": "x__payload", "direction": "in", "width": 5, "signed": False,
        "fields": {"data": {"offset": 0, "width": 4, "signed": False},
                   "last": {"offset": 4, "width": 1, "signed": False}},
        "stream": "x", "role": "payload", "side": "sink"}
    assert ports["y__ready"] == {"name": "y__ready", "direction": "in", "width": 1,
                                 "signed": False, "stream": "y", "role": "ready", "side": "source"}
    assert ports["frame_error"] == {"name": "frame_error", "direction": "out", "width": 1,
                                    "signed": False}
    assert ports["y__payload"]["fields"]["logit"] == {"offset": 4, "width": 16, "signed": True}
    assert m["reset"] == {"name": "rst", "polarity": "active-high", "synchronous": True,
                          "clear_cycles": 2048}
    assert m["timing"]["beats_in_per_frame"] == 2048 and m["timing"]["beats_out_per_frame"] == 11
    assert m["checkpoint"]["accuracy"]["integer"] == design.provenance["accuracy"]["integer"]
    last = f"brom{design.net.lanes - 1}.hex"
    for name in ("wrom0.hex", last, "lut.hex", "ipnet_g11.v", "ipnet_g11_top.v"):
        assert len(m["files"][name]) == 64
    words = (build / "wrom0.hex").read_text().split()
    assert len(words) == m["roms"]["weight_depth"]


@pytest.mark.parametrize("sim", SIMULATORS)
def test_trained_network_matches_golden_model(sim, build, stimulus, tmp_path):
    need(sim)
    if sim == "icarus":            # about 17k cycles/s: one sequence, cut to 3 frames
        with np.load(stimulus) as z:
            np.savez(tmp_path / "short.npz", x=z["x"][:1, :3], y=z["y"][:1])
        stimulus = tmp_path / "short.npz"
    report = run_network_bench(sim, build, NETWORK, stimulus, tmp_path)
    assert report["mismatches"] == 0
    assert report["same_prediction"] == report["sequences"]
    frames = report["frames"]
    # per frame: 2048 thermal outputs + their heat, 128 + 32 activations, 11 logits, and
    # 11 class beats of 5 fields (index, logit, score, last, label of the last beat);
    # and frame_error once per sequence
    assert report["values_compared"] == (frames * (2 * 2048 + 128 + 32 + 11 + 11 * 3 + 2)
                                         + report["sequences"])


def test_bench_fails_on_one_wrong_weight(build, stimulus, tmp_path):
    """The bench's golden model reads weights.npz; the hardware keeps its ROMs: one weight off
    by one LSB in conv1 must show up as mismatches."""
    sim = next((s for s in ("verilator", "icarus") if simulator_available(s)[0]), None)
    if sim is None:
        pytest.skip("no simulator available")
    with np.load(build / "weights.npz") as z:
        saved = {k: z[k] for k in z.files}
    changed = dict(saved)
    changed["w0"] = saved["w0"].copy()
    changed["w0"][3, 1, 2, 2] += 1 if saved["w0"][3, 1, 2, 2] < 127 else -1
    with open(build / "weights.npz", "wb") as fh:
        np.savez(fh, **changed)
    with np.load(stimulus) as z:
        np.savez(tmp_path / "one.npz", x=z["x"][:1, :2], y=z["y"][:1])
    try:
        with pytest.raises(RuntimeError, match="cocotb test failed"):
            run_network_bench(sim, build, NETWORK, tmp_path / "one.npz", tmp_path)
        report = json.loads((tmp_path / sim / "report.json").read_text())
        assert report["mismatches"] > 0 and "conv1" in report["first_mismatches"][0]
    finally:
        with open(build / "weights.npz", "wb") as fh:
            np.savez(fh, **saved)


def test_a_mismatch_is_a_result(tmp_path, monkeypatch, capsys):
    """make sim: a bench that finds mismatches leaves its report; the run prints the table
    and the first mismatches, keeps sim_report.json and exits 1 (not 2: it is a result)."""
    import ipnet_mtj.sim.network as simnet

    def bench_with_mismatches(sim, build_dir, network_path, stimulus, work_dir, **kw):
        report = {"sequences": 1, "frames": 16, "values_compared": 100, "mismatches": 3,
                  "first_mismatches": ["seq 0 frame 2 conv1 value[7]: 1 != 2"],
                  "hardware_accuracy": 0.0, "golden_accuracy": 1.0, "same_prediction": 0,
                  "cycles_per_frame": 36000.0, "wall_s": 1.0}
        (work_dir / sim).mkdir(parents=True, exist_ok=True)
        (work_dir / sim / "report.json").write_text(json.dumps(report))
        raise RuntimeError(f"{sim}: cocotb test failed; see test.log")

    monkeypatch.setattr(simnet, "run_network_bench", bench_with_mismatches)
    import ipnet_mtj.sim.runner as runner
    monkeypatch.setattr(runner, "simulator_available", lambda sim: (True, ""))
    code = simnet.main([str(NETWORK), "--simulators", "verilator", "--sequences", "1",
                        "--bench", "cocotb", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "verilator: MISMATCHES; first: ['seq 0 frame 2 conv1 value[7]: 1 != 2']" in out
    assert "100 values compared, 3 mismatches" in out
    saved = json.loads((tmp_path / "ipnet_g11" / "sim_report.json").read_text())
    assert saved["reports"][0]["mismatches"] == 3
