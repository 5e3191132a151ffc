"""make regress: drawn designs are valid and cover their corners; the at-scale bench compares
every value and fails on a wrong weight; the command runs end to end on a small target."""

import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.gen.design import generate, load_design
from ipnet_mtj.sim.regress import MODES, draw_configs
from ipnet_mtj.sim.runner import run_regress_bench, simulator_available
from ipnet_mtj.sw.config import parse_config


def need_verilator():
    ok, why = simulator_available("verilator")
    if not ok:
        pytest.skip(f"verilator runs skipped: {why}")


@pytest.mark.slow
def test_drawn_designs_are_valid_and_deterministic():
    first = draw_configs(4)
    assert draw_configs(4) == first
    for k, data in enumerate(first):
        parse_config(data, data["name"])
        fx = data["fixed_point"]
        assert (fx["output"], fx["decay"]) == MODES[k]
    assert first[0]["layer"]["neurons"] == first[0]["hardware"]["lanes"]     # lanes == N
    assert first[0]["device"]["tau_th_ns"] <= 3.0 <= 100.0 <= first[1]["device"]["tau_th_ns"]


def test_regress_bench_fails_on_a_wrong_weight(tmp_path):
    need_verilator()
    cfg = ROOT / "configs" / "default.yaml"
    build = generate(load_design(cfg), tmp_path)
    report = run_regress_bench("verilator", build, cfg, 3000, 1, tmp_path / "ok")
    assert report["mismatches"] == 0 and report["values_compared"] == 4 * 3008 + 1
    with np.load(build / "weights.npz") as z:
        w, b = z["weights"].copy(), z["biases"]
    w[3, 2] += 1
    np.savez(build / "weights.npz", weights=w, biases=b)
    with pytest.raises(RuntimeError, match="cocotb test failed"):
        run_regress_bench("verilator", build, cfg, 3000, 1, tmp_path / "bad")
    assert json.loads((tmp_path / "bad" / "verilator" / "report.json").read_text())["mismatches"] > 0


def regress(out, doc, *more):
    return subprocess.run([sys.executable, "-m", "ipnet_mtj.sim.regress", "--configs", "2",
                           "--neuron-steps", "3000", "--speed-steps", "500", "--out", str(out),
                           "--doc", str(doc), *more], capture_output=True, text=True, cwd=ROOT)


def rows(doc):
    """The table's rows without their two timing columns (wall s, cycles/s)."""
    return [line.split("|")[1:-3] for line in doc.read_text().splitlines()
            if line.startswith("| regress_")]


@pytest.fixture(scope="module")
def small_regress(tmp_path_factory):
    """Two designs, each a job, two at once (the designs' builds are kept for the next run)."""
    need_verilator()
    tmp = tmp_path_factory.mktemp("regress")
    proc = regress(tmp / "out", tmp / "regression.md", "--workers", "2")
    return tmp, proc


@pytest.mark.slow
def test_make_regress_small(small_regress):
    tmp, proc = small_regress
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 of 2 designs to run on 2 local workers" in proc.stdout
    assert "2 designs, 6,0" in proc.stdout and " 0 mismatches, 0 with lint warnings" in proc.stdout
    assert "cycles/s, ratio " in proc.stdout or "Icarus not available" in proc.stdout
    doc = (tmp / "regression.md").read_text()
    assert doc.startswith("# Regression matrix")
    assert "the speed comparison below ran alone" in doc
    assert "regress designs" in proc.stderr                   # the progress bar of the designs


@pytest.mark.slow
def test_regress_rows_same_on_one_worker(small_regress):
    """The designs' jobs give the same rows on one worker as on two (only the timing differs);
    a second run keeps its results unless --fresh."""
    tmp, first = small_regress
    assert first.returncode == 0, first.stdout + first.stderr
    again = regress(tmp / "out", tmp / "one.md", "--workers", "1", "--fresh")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 of 2 designs to run on 1 local workers" in again.stdout
    assert rows(tmp / "one.md") == rows(tmp / "regression.md") and len(rows(tmp / "one.md")) == 2
