"""``ipnet synth --seeds N``: every seed placed in its own folder, Fmax their median."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from ipnet_mtj.gen import network_synth

ROOT = Path(__file__).resolve().parents[1]


def fake_synthesise(fmax_by_seed, calls):
    def synthesise(key, verilog, top, work, freq_mhz, seed=1, bitstream=False):
        calls.append((seed, Path(work)))
        return {"target": key, "lut": 10, "ff": 5, "bram": 1, "spram": 0, "dsp": 0,
                "fmax_mhz": fmax_by_seed[seed], "fits": seed != 99, "over": []}
    return synthesise


def test_median_of_the_seeds_and_a_folder_each(monkeypatch, tmp_path):
    calls = []
    fmax = {1: 40.0, 2: 38.0, 3: 45.0, 4: 41.0, 5: 39.0}
    monkeypatch.setattr(network_synth, "synthesise", fake_synthesise(fmax, calls))
    row = network_synth.synthesise_seeds("ice40_up5k", "top.v", "top", tmp_path, 30.0, 5)
    assert row["fmax_mhz"] == 40.0                  # sorted 38 39 40 41 45
    assert row["fmax_seeds"] == [40.0, 38.0, 45.0, 41.0, 39.0]
    assert [seed for seed, _ in calls] == [1, 2, 3, 4, 5]
    assert calls[0][1] == tmp_path and calls[4][1] == tmp_path / "seed5"
    assert row["lut"] == 10 and row["fits"]


def test_one_seed_is_the_plain_run(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(network_synth, "synthesise", fake_synthesise({1: 37.5}, calls))
    row = network_synth.synthesise_seeds("ice40_up5k", "top.v", "top", tmp_path, 30.0, 1)
    assert row["fmax_mhz"] == 37.5 and row["fmax_seeds"] == [37.5] and len(calls) == 1


def test_an_unplaced_design_keeps_nan(monkeypatch, tmp_path):
    calls = []
    nan = float("nan")
    monkeypatch.setattr(network_synth, "synthesise", fake_synthesise({1: nan, 2: nan}, calls))
    row = network_synth.synthesise_seeds("ice40_up5k", "top.v", "top", tmp_path, 30.0, 2)
    assert math.isnan(row["fmax_mhz"]) and "fmax_seeds" not in row


@pytest.mark.parametrize("seeds", ["0", "-3"])
def test_seeds_below_one_is_one_line(seeds, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.gen.network_synth",
                           str(ROOT / "configs" / "network.yaml"), "--seeds", seeds,
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: --seeds must be at least 1, not {seeds}"
    assert not (tmp_path / "out").exists()
