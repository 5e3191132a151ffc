"""The generated AXI4-Stream wrappers under cocotbext-axi (random pauses on both sides):
every output equals the golden model, no AXI4-Stream rule is broken, and a wrapper that
breaks tvalid or tdata fails the bench."""

import json

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.gen.design import generate, load_design
from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.sim.network import load_test_sequences
from ipnet_mtj.sim.runner import SIMULATORS, run_axis_bench, simulator_available

LAYER = ROOT / "configs" / "default.yaml"
NETWORK = ROOT / "configs" / "network.yaml"


def need(sim):
    ok, why = simulator_available(sim)
    if not ok:
        pytest.skip(f"{sim} runs skipped: {why}")


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    design = load_design(LAYER)
    build = generate(design, tmp_path_factory.mktemp("layer"))
    x = np.random.default_rng(5).integers(-128, 128, size=(8, design.fp.inputs))
    stim = build / "stimulus.npz"
    np.savez(stim, x=x)
    return build, stim


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    design = load_network_design(NETWORK)
    build = generate_network(design, tmp_path_factory.mktemp("network"))
    x, _ = load_test_sequences(design, 1)
    x = x[0, :2].copy()
    # the second frame: event counts of 0 to 255, most past the 4-bit input; the wrapper
    # saturates them to 15 as the golden model does (sw.netref.quantise_frames), never wraps
    x[1] = np.random.default_rng(7).integers(0, 256, size=x[1].shape)
    stim = build / "stimulus.npz"
    np.savez(stim, x=x)
    return build, stim


def test_manifest_describes_the_wrapper(layer, network):
    for build, module, error, widths in ((layer[0], "ipnet_layer_axis", "step_error", (8, 8)),
                                         (network[0], "ipnet_g11_axis", "frame_error", (8, 48))):
        axis = json.loads((build / "manifest.json").read_text())["axis"]
        assert (axis["module"], axis["error"]) == (module, error)
        assert (axis["s_axis"]["tdata_width"], axis["m_axis"]["tdata_width"]) == widths
        assert axis["reset"] == {"name": "aresetn", "polarity": "active-low", "synchronous": True}
        assert (build / axis["file"]).exists() and (build / "lint.vlt").exists()


@pytest.mark.parametrize("sim", SIMULATORS)
def test_layer_axis_under_cocotbext_axi(sim, layer, tmp_path):
    need(sim)
    build, stim = layer
    report = run_axis_bench(sim, build, "layer", LAYER, stim, tmp_path)
    assert (report["mismatches"], report["protocol_violations"]) == (0, 0)
    assert report["values_compared"] == report["beats_out"] == 8 * 64


@pytest.mark.parametrize("sim", SIMULATORS)
def test_network_axis_under_cocotbext_axi(sim, network, tmp_path):
    need(sim)
    build, stim = network
    report = run_axis_bench(sim, build, "network", NETWORK, stim, tmp_path)
    assert (report["mismatches"], report["protocol_violations"]) == (0, 0)
    assert report["values_compared"] == report["beats_out"] == 2 * 11


MUTANTS = {
    # tvalid withdrawn for a cycle after a stalled one (the core held meanwhile, so every
    # beat still arrives): only the rule breaks
    "tvalid": ("        .y__valid(m_axis_tvalid),\n        .y__ready(m_axis_tready),\n",
               "        .y__valid(core_valid),\n        .y__ready(m_axis_tready && !stalled),\n",
               "    wire core_valid;\n    reg stalled = 1'b0;\n"
               "    always @(posedge aclk) stalled <= m_axis_tvalid && !m_axis_tready;\n"
               "    assign m_axis_tvalid = core_valid && !stalled;\n"),
    # one data bit stuck at 0
    "tdata": ("    assign m_axis_tdata = y__payload[7:0];\n",
              "    assign m_axis_tdata = y__payload[7:0] & 8'hfe;\n", ""),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_broken_wrapper_fails(mutant, layer, tmp_path):
    sim = "verilator" if simulator_available("verilator")[0] else "icarus"
    need(sim)
    build, stim = layer
    old, new, extra = MUTANTS[mutant]
    text = (build / "ipnet_layer_axis.v").read_text()
    assert old in text
    bad = tmp_path / "ipnet_layer_axis.v"
    bad.write_text(text.replace(old, new).replace("endmodule", extra + "endmodule"))
    with pytest.raises(RuntimeError, match="cocotb test failed"):
        run_axis_bench(sim, build, "layer", LAYER, stim, tmp_path, wrapper=bad)
    report = json.loads((tmp_path / sim / "report.json").read_text())
    if mutant == "tvalid":
        assert report["protocol_violations"] > 0 and report["mismatches"] == 0
    else:
        assert report["mismatches"] > 0


def test_emitted_verilog_starts_on_icarus_without_a_kick_by_hand(network, tmp_path, monkeypatch):
    """An integrator's bench compiles the build's Verilog as it is: no time-zero kick added by
    the runner (gen.verilog_start puts it in the emitted file, outside synthesis)."""
    need("icarus")
    from ipnet_mtj.sim import runner
    monkeypatch.setattr(runner, "icarus_time_zero_kick", lambda text: text)
    build, stim = network
    one = tmp_path / "one.npz"
    with np.load(stim) as z:
        np.savez(one, x=z["x"][:1])
    report = run_axis_bench("icarus", build, "network", NETWORK, one, tmp_path)
    assert (report["mismatches"], report["values_compared"]) == (0, 11)
