"""What ``make sim`` leaves for people to look at: one wave file per simulator with
``WAVES=1``, in the build folder, naming the top's ports; and the build report, whose
figure draws the hardware's own record over the golden model and says when they differ."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.gen.network import load_network_design
from ipnet_mtj.gen.report import write_report
from ipnet_mtj.sim.runner import SIMULATORS, simulator_available

pywellen = pytest.importorskip("pywellen")

WAVE_FILES = {"icarus": "net_harness.fst", "verilator": "net_harness.vcd"}
SIMS = [s for s in SIMULATORS if simulator_available(s)[0]]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``make sim WAVES=1`` on every available simulator, one frame each, into a temp build."""
    if not SIMS:
        pytest.skip("no simulator available")
    out = tmp_path_factory.mktemp("sim") / "build"
    before = set(ROOT.iterdir())
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.sim.network",
                           str(ROOT / "configs" / "network.yaml"), "--waves", "--frames", "2",
                           "--icarus-frames", "1", "--out", str(out), "--simulators", ",".join(SIMS)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(ROOT.iterdir()) == before, "nothing may be written into the working directory"
    return out / "ipnet_g11", proc.stdout


def test_waves_per_simulator_in_the_build_folder(run):
    build, stdout = run
    manifest = json.loads((build / "manifest.json").read_text())
    ports = ({p["name"] for p in manifest["ports"]}
             | {manifest["clock"]["name"], manifest["reset"]["name"]})
    for sim in SIMS:
        path = build / "sim" / sim / WAVE_FILES[sim]
        assert f"{sim}: waves in {path}\n" in stdout
        wave = pywellen.Waveform(str(path))
        dut, = [s for s in wave.all_scopes() if s.full_name == "net_harness.dut"]
        names = {v.name for v in dut.vars()}
        assert ports <= names, f"{sim}: top's ports missing from {path}: {sorted(ports - names)}"


def test_report_draws_hardware_over_golden(run, tmp_path):
    build, stdout = run
    page = build / "report.html"
    assert f"report: {page} (open it: python -m webbrowser {page.as_uri()})\n" in stdout
    text = page.read_text()
    assert '<img src="report-traces.png"' in text
    assert (build / "report-traces.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(lines): identical.</p>" in text
    assert "<b>0 mismatches</b>" in text
    assert "No synthesis yet" in text

    # The figure compares, it does not assume: one heat off by one LSB is reported.
    copy = tmp_path / "ipnet_g11"
    shutil.copytree(build, copy)
    sim = "verilator" if "verilator" in SIMS else SIMS[0]
    with np.load(copy / "sim" / sim / "trace.npz") as z:
        record = {k: z[k] for k in z.files}
    record["theta"][-1, 0] += 1
    np.savez(copy / "sim" / sim / "trace.npz", **record)
    design = load_network_design(ROOT / "configs" / "network.yaml")
    assert "(lines): they differ.</p>" in write_report(copy, design.net).read_text()
