"""cocotb benches on Icarus and Verilator, run through cocotb_tools.runner."""

import shutil

import numpy as np
import pytest
import yaml

from helpers import DEFAULT_CONFIG, ROOT, config_dict, write_config
from ipnet_mtj.gen.design import generate, load_design
from ipnet_mtj.sim.runner import SIMULATORS, run_bench, simulator_available


def need(sim):
    ok, why = simulator_available(sim)
    if not ok:
        pytest.skip(f"{sim} runs skipped: {why}")


@pytest.fixture(scope="module")
def default_build(tmp_path_factory):
    return generate(load_design(DEFAULT_CONFIG), tmp_path_factory.mktemp("build"))


@pytest.mark.parametrize("sim", SIMULATORS)
def test_default_design_matches_reference(sim, default_build, tmp_path):
    need(sim)
    report = run_bench(sim, default_build, DEFAULT_CONFIG, steps=30, seed=3, work_dir=tmp_path)
    assert report["mismatches"] == 0
    assert report["outputs_compared"] == report["states_compared"] == report["neuron_steps"]
    assert report["neuron_steps"] >= 30 * 64
    assert set(report["scenario_steps"]) == {"random", "events", "saturating", "max-heat", "silence"}


@pytest.mark.parametrize("sim", SIMULATORS)
def test_stochastic_shift_design_matches_reference(sim, tmp_path):
    need(sim)
    cfg = write_config(tmp_path / "small.yaml", config_dict(
        name="small_layer", layer={"inputs": 10, "neurons": 6}, hardware={"lanes": 3},
        fixed_point={"output": "stochastic", "decay": "shift"}))
    build = generate(load_design(cfg), tmp_path / "build")
    report = run_bench(sim, build, cfg, steps=200, seed=4, work_dir=tmp_path)
    assert report["mismatches"] == 0 and report["values_compared"] == 2 * report["neuron_steps"]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("design", ["full.yaml", "spread.yaml", "taus.yaml"])
def test_full_device_design_matches_reference(sim, design, tmp_path):
    """configs/full.yaml: the threshold table, the current limit and the heat cap in Verilog;
    configs/spread.yaml: with each neuron's threshold offset from the offset ROM;
    configs/taus.yaml: eight devices' alpha and heat gain from their ROMs."""
    need(sim)
    data = yaml.safe_load((ROOT / "configs" / design).read_text())
    data.update(name="full_small", layer=dict(data["layer"], inputs=12, neurons=8))
    cfg = write_config(tmp_path / design, data)
    build = generate(load_design(cfg), tmp_path / "build")
    report = run_bench(sim, build, cfg, steps=120, seed=6, work_dir=tmp_path)
    assert report["mismatches"] == 0 and report["values_compared"] == 2 * report["neuron_steps"]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("inputs", [1, 5])
def test_one_neuron_per_lane_builds_and_matches(sim, inputs, tmp_path):
    """lanes == neurons (one group: a one-word bias ROM) and a single input (a one-word
    weight ROM) used to give Verilog with 0-bit addresses ([-1:0]) that Verilator refused."""
    need(sim)
    cfg = write_config(tmp_path / "one.yaml", config_dict(
        name="one_group", layer={"inputs": inputs, "neurons": 4}, hardware={"lanes": 4}))
    build = generate(load_design(cfg), tmp_path / "build")
    report = run_bench(sim, build, cfg, steps=40, seed=2, work_dir=tmp_path)
    assert report["mismatches"] == 0 and report["values_compared"] == 2 * report["neuron_steps"]


def test_bench_reports_mismatches(default_build, tmp_path):
    """The bench can fail: with ROM contents that differ from its reference it must."""
    sim = next((s for s in SIMULATORS if simulator_available(s)[0]), None)
    if sim is None:
        pytest.skip("no simulator available")
    with np.load(default_build / "weights.npz") as npz:
        rom = {k: npz[k] for k in npz.files}
    weights = rom["weights"].copy()
    weights[5, 7] += 1                                 # one weight off by one LSB
    np.savez(default_build / "weights.npz", weights=weights, biases=rom["biases"])
    try:
        with pytest.raises(RuntimeError, match="cocotb test failed"):
            run_bench(sim, default_build, DEFAULT_CONFIG, steps=10, seed=3, work_dir=tmp_path)
    finally:
        np.savez(default_build / "weights.npz", weights=rom["weights"], biases=rom["biases"])


def test_verilator_without_a_compiler_gives_a_reason(monkeypatch):
    """Verilator builds C++: without a compiler its runs are skipped with one line that says so."""
    import ipnet_mtj.gen.toolchain as toolchain
    import ipnet_mtj.sim.runner as runner
    real = toolchain.shutil.which
    monkeypatch.setattr(toolchain.shutil, "which", lambda name, *a, **k:
                        None if name in ("g++", "c++", "clang++") else real(name, *a, **k))
    ok, why = runner.simulator_available("verilator")
    if why == "verilator not found":
        pytest.skip("no verilator")
    assert (ok, why) == (False, "verilator needs make and a C++ compiler (g++ or clang++); none found")


@pytest.mark.parametrize("sim", SIMULATORS)
def test_a_simulator_build_failure_names_the_simulator_and_its_log(sim, default_build, tmp_path):
    need(sim)
    broken = tmp_path / "broken"
    shutil.copytree(default_build, broken)
    verilog = broken / "ipnet_layer.v"
    verilog.write_text(verilog.read_text().replace("endmodule", "endmodule oops", 1))
    with pytest.raises(RuntimeError) as err:
        run_bench(sim, broken, DEFAULT_CONFIG, steps=2, seed=1, work_dir=tmp_path / "w")
    log = tmp_path / "w" / sim / "build.log"
    assert str(err.value) == f"{sim}: building the simulation failed; see {log}"
    assert log.exists()
