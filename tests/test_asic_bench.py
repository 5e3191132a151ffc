"""``ipnet bench-asic``: its table from a gate report worked by hand, and its bad input.

The benchmark itself (minutes: make asic on the network, the small layer at gate level) is
``make bench-asic``, not a test: its figures are wall-clock on a noisy machine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ipnet_mtj.sim.asic_bench import bench_rows, bench_table


def test_rows_and_ratio_from_a_gate_report():
    gate = {"simulations": [{"simulator": "verilator", "cycles": 20000, "cycles_per_s": 1000.0,
                             "rtl_cycles_per_s": 183000.0}]}
    rows = bench_rows(156.0, gate, "n.yaml", "l.yaml")
    assert rows == [("make asic: ipnet asic n.yaml --layout", 156.0, "s", None),
                    ("gate level, verilator (l.yaml, 20000 cycles)", 1000.0, "cycles/s", None),
                    ("RTL, verilator, same stimulus and bench", 183000.0, "cycles/s", 183.0)]
    lines = bench_table(rows).splitlines()
    assert lines[0].split() == ["benchmark", "value", "unit", "RTL", "/", "gate"]
    assert lines[1].split()[-3:] == ["156", "s", "-"]
    assert lines[3].split()[-3:] == ["1.83e+05", "cycles/s", "183x"]


@pytest.mark.parametrize("args, message", [
    (["--network", "missing.yaml"], "--network: missing.yaml does not exist"),
    (["--layer", "missing.yaml"], "--layer: missing.yaml does not exist"),
    (["--neuron-steps", "0"], "--neuron-steps: must be >= 1, got 0"),
])
def test_bad_input_is_one_line(tmp_path, args, message):
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "bench-asic", *args,
                           "--out", str(tmp_path / "b")], capture_output=True, text=True,
                          cwd=root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == f"error: {message}\n"
    assert not (tmp_path / "b").exists()
