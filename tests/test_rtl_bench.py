"""``ipnet bench-rtl``: its rows from reports worked by hand, and its bad input. The speed figures
themselves come from ``make bench-rtl``, not a test (wall-clock on a noisy machine)."""

import subprocess
import sys

import pytest

from ipnet_mtj.sim.rtl_bench import bench_rows


def test_rows_from_reports_worked_by_hand():
    cocotb = {"sequences": 8, "values_compared": 100, "frames": 128, "wall_s": 16.0}   # 8 fr/s
    native = {"values_compared": 100, "frames": 128, "wall_s": 4.0, "build_s": 12.5}    # 32 fr/s
    whole = {"sequences": 400, "values_compared": 5000, "mismatches": 0, "frames": 6400}
    rows = bench_rows(cocotb, native, whole, 160.0, 2)
    assert [r[1:] for r in rows] == [(8.0, "frames/s", 1.0), (32.0, "frames/s", 4.0),
                                     (12.5, "s", None), (160.0, "s", None),
                                     (20.0, "frames/s", None)]
    assert rows[3][0] == ("native, all 400 test sequences on 2 workers, build included "
                          "(5000 values, 0 mismatches)")


@pytest.mark.parametrize("args, message", [
    (["--sequences", "0"], "error: --sequences: must be >= 1, got 0\n"),
    (["--workers", "0"], "error: --workers: must be >= 1, got 0\n"),
])
def test_bad_input_one_line(args, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "bench-rtl", *args, "--out",
                           str(tmp_path)], capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (2, message)
