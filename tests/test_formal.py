"""make formal: SymbiYosys proves one neuron update for all inputs against a specification
written apart in SystemVerilog (gen/formal.py), in both dissipation modes; and a wrong
datapath is refuted."""

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest

from helpers import DEFAULT_CONFIG, ROOT, config_dict, write_config
from ipnet_mtj.gen import formal
import ipnet_mtj.hw.neuron_step as neuron_step


@pytest.fixture(autouse=True)
def need_sby():
    if not shutil.which("yowasp-sby", path=str(Path(sys.executable).parent)):
        pytest.skip("yowasp-sby not installed")


def test_default_and_shift_designs_are_proved(tmp_path):
    shift = write_config(tmp_path / "shift.yaml", config_dict(
        name="shift_spike", fixed_point={"decay": "shift", "output": "spike"}))
    for path in (DEFAULT_CONFIG, shift):
        passed, secs, work = formal.prove(path, tmp_path / "formal")
        assert passed, (work / "sby.log").read_text()[-2000:]


def test_full_device_design_is_proved(tmp_path):
    """The threshold table, the current limit and the heat cap (configs/full.yaml)."""
    passed, secs, work = formal.prove(ROOT / "configs" / "full.yaml", tmp_path / "formal")
    assert passed, (work / "sby.log").read_text()[-2000:]


def test_spread_design_is_proved_and_a_wrong_offset_refuted(tmp_path, monkeypatch):
    """configs/spread.yaml on 2 neurons: the offset ROM's word is a free input (every offset
    its width holds), each neuron's alpha and heat gain (thermal spread) one proof each; the
    offset subtracted instead of added is refuted."""
    import yaml
    data = yaml.safe_load((ROOT / "configs" / "spread.yaml").read_text())
    data["layer"]["neurons"] = data["hardware"]["lanes"] = 2
    cfg = write_config(tmp_path / "spread2.yaml", data)
    passed, _, work = formal.prove(cfg, tmp_path / "formal")
    assert passed, (work / "sby.log").read_text()[-2000:]
    assert len(list(work.glob("device*"))) == 2
    assert "input  wire signed" in (work / "device0" / "neuron_step_spec.sv").read_text()
    real = neuron_step.threshold

    def wrong(ops, fp, theta, offset=None):
        return real(ops, fp, theta) - offset
    monkeypatch.setattr(neuron_step, "threshold", wrong)
    passed, _, work = formal.prove(cfg, tmp_path / "wrong")
    assert not passed
    assert "Assert failed in neuron_step_spec" in (work / "sby.log").read_text()


def test_devices_are_proved_one_by_one_and_a_wrong_gain_refuted(tmp_path, monkeypatch):
    """Per-device time constants: one proof per device with its alpha and gain (two devices
    here; make formal proves configs/taus.yaml's eight); a heat gain applied one bit short is
    refuted."""
    import yaml
    data = yaml.safe_load((ROOT / "configs" / "taus.yaml").read_text())
    data["device"]["tau_th_ns_devices"] = [1.4, 64.0]
    cfg = write_config(tmp_path / "two.yaml", data)
    passed, _, work = formal.prove(cfg, tmp_path / "formal")
    assert passed, (work / "sby.log").read_text()[-2000:]
    assert "8'd252" in (work / "device1" / "neuron_step_spec.sv").read_text()
    real = neuron_step.joule_heat

    def wrong(ops, fp, i, gain=None):
        return real(ops, fp, i, None if gain is None else gain >> 1)
    monkeypatch.setattr(neuron_step, "joule_heat", wrong)
    passed, _, work = formal.prove(cfg, tmp_path / "wrong")
    assert not passed
    assert "Assert failed in neuron_step_spec" in (work / "sby.log").read_text()


def test_a_wrong_table_entry_is_refuted(tmp_path, monkeypatch):
    """One threshold-table entry off by one LSB in the hardware: a counterexample."""
    real = neuron_step.threshold

    def wrong(ops, fp, theta, offset=None):
        table = list(fp.thr_table)
        table[len(table) // 2] += 1
        return real(ops, dataclasses.replace(fp, thr_table=tuple(table)), theta, offset)
    monkeypatch.setattr(neuron_step, "threshold", wrong)
    passed, _, work = formal.prove(ROOT / "configs" / "full.yaml", tmp_path / "formal")
    assert not passed
    assert "Assert failed in neuron_step_spec" in (work / "sby.log").read_text()


def test_a_wrong_threshold_is_refuted(tmp_path, monkeypatch):
    """Heat raising the threshold instead of lowering it: the solver finds a counterexample."""
    def wrong(ops, fp, theta, offset=None):
        return fp.thr0 + ops.shr(theta * fp.gamma, fp.gamma_shift)
    monkeypatch.setattr(neuron_step, "threshold", wrong)
    passed, _, work = formal.prove(DEFAULT_CONFIG, tmp_path / "formal")
    assert not passed
    assert "Assert failed in neuron_step_spec" in (work / "sby.log").read_text()


def test_wrapping_heat_is_refuted(tmp_path, monkeypatch):
    """Heat that wraps instead of saturating (the sum truncated to its width)."""
    def wrapping(ops, fp, cooled, heat):
        return (cooled + heat)[:fp.theta_width]
    monkeypatch.setattr(neuron_step, "warm", wrapping)
    passed, _, work = formal.prove(DEFAULT_CONFIG, tmp_path / "formal")
    assert not passed
