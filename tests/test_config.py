"""Bad configs: one line naming the file, the key and the reason; non-zero exit; nothing written."""

import subprocess
import sys

import pytest
import numpy as np
import yaml

from helpers import ROOT, config_dict, write_config
from ipnet_mtj.sw.config import ConfigError, config_hash, load_config, parse_config


def error_of(data):
    with pytest.raises(ConfigError) as info:
        parse_config(data, "bad.yaml")
    return str(info.value)


def test_default_config_loads():
    cfg = load_config(ROOT / "configs" / "default.yaml")
    assert cfg.layer.inputs == 64 and cfg.hardware.lanes == 4
    assert len(config_hash(cfg)) == 16


def test_unknown_key():
    data = config_dict(device={"tau_th": 3.0})
    assert error_of(data) == ("bad.yaml: device.tau_th: unknown key (allowed: tau_th_ns, dt_ns, "
                              "pulse_ns, tau0_ns, delta0, T0_K, Tc_K, R_P_ohm, tmr, rest_state, "
                              "R_th_K_per_uW, I_c0_uA, ic0_ms_exponent, T_max_K, V_bd_V, tau_th_ns_devices, "
                                  "threshold_sigma_ic0, thermal_sigma_rel, "
                                  "spread_seed, tmr_spin_wave_per_K1p5)")


def test_wrong_type():
    assert error_of(config_dict(layer={"inputs": "many"})) == \
        "bad.yaml: layer.inputs: must be int, got 'many'"
    assert error_of(config_dict(hardware={"lanes": 2.5})) == \
        "bad.yaml: hardware.lanes: must be int, got 2.5"
    assert error_of(config_dict(layer={"inputs": True})) == \
        "bad.yaml: layer.inputs: must be int, got True"


def test_negative_time_constant():
    assert error_of(config_dict(device={"tau_th_ns": -5.0})) == \
        "bad.yaml: device.tau_th_ns: must be > 0, got -5.0"


def test_missing_key():
    data = config_dict()
    del data["device"]["dt_ns"]
    assert error_of(data) == "bad.yaml: device.dt_ns: missing"


def test_bad_choice():
    assert error_of(config_dict(fixed_point={"decay": "exp"})) == \
        "bad.yaml: fixed_point.decay: must be one of multiply, shift, got 'exp'"


def test_width_too_small_for_threshold():
    assert error_of(config_dict(fixed_point={"i": {"width": 8, "frac": 8}})) == \
        "bad.yaml: fixed_point.i.width: too small to hold thr0 = 0.9555 (245 at i.frac 8)"


def test_width_too_small_for_gamma():
    assert error_of(config_dict(fixed_point={"gamma": {"width": 6, "frac": 16}})) == \
        "bad.yaml: fixed_point.gamma.width: too small to hold gamma = 0.002804 (184 at gamma.frac 16)"


def test_gamma_needs_fraction_bits():
    assert error_of(config_dict(fixed_point={"gamma": {"width": 12, "frac": 6}})) == \
        "bad.yaml: fixed_point.gamma.frac: too few fraction bits: gamma = 0.002804 rounds to 0"


def test_alpha_that_rounds_to_one():
    data = config_dict(device={"tau_th_ns": 1000.0}, fixed_point={"alpha_frac": 4})
    assert error_of(data) == ("bad.yaml: fixed_point.alpha_frac: too few fraction bits: "
                              "alpha = 0.999 rounds to 1 (no dissipation)")


def test_negative_shift():
    assert error_of(config_dict(fixed_point={"i": {"width": 12, "frac": 14}})) == \
        "bad.yaml: fixed_point.i.frac: must be <= x.frac + w.frac (shift i_shift would be -1)"


def test_neurons_not_multiple_of_lanes():
    assert error_of(config_dict(layer={"neurons": 30})) == \
        "bad.yaml: layer.neurons: must be a multiple of hardware.lanes (4), got 30"


def test_bad_name():
    assert error_of(config_dict(name="9 lives")) == ("bad.yaml: name: must be a Verilog identifier "
                                                     "(letters, digits, _; starts with a letter), got '9 lives'")


def test_not_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("device: [1, 2\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_config(path)


@pytest.mark.parametrize("module", ["ipnet_mtj.gen", "ipnet_mtj.sim", "ipnet_mtj.gen.synth", "ipnet_mtj.sim.bench",
                                    "ipnet_mtj.gen.lint"])
def test_cli_refuses_bad_config_in_one_line(tmp_path, module):
    bad = write_config(tmp_path / "bad.yaml", config_dict(device={"tau_th_ns": -1.0}))
    out = tmp_path / "build"
    proc = subprocess.run([sys.executable, "-m", module, str(bad), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr == f"error: {bad}: device.tau_th_ns: must be > 0, got -1.0\n"
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not out.exists(), "nothing may be written for a bad config"


def test_cli_missing_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.gen", str(tmp_path / "nope.yaml")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "nope.yaml: cannot read" in proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.mark.parametrize("tau, decay, alpha_q, tau_q, alpha, fix", [
    (0.5, "shift", "0.5", "1.44", "0.1353", "decay", ),
    (2.24, "shift", "0.5", "1.44", "0.6399", "decay"),
])
def test_realised_time_constant_far_from_the_device_is_refused(tau, decay, alpha_q, tau_q,
                                                                alpha, fix):
    with pytest.raises(ConfigError) as err:
        parse_config(config_dict(device={"tau_th_ns": tau}, fixed_point={"decay": decay}), "t.yaml")
    assert str(err.value) == (
        f"t.yaml: fixed_point.{fix}: {decay} dissipation realises alpha = {alpha_q} (time "
        f"constant {tau_q} ns) for the device's alpha = {alpha} (tau_th_ns {tau:g}): more than "
        f"a factor 1.5 apart; use decay: multiply")


def test_alpha_with_too_few_fraction_bits_is_refused():
    with pytest.raises(ConfigError) as err:
        parse_config(config_dict(device={"tau_th_ns": 60.0}, fixed_point={"alpha_frac": 5}),
                     "t.yaml")
    assert str(err.value).startswith("t.yaml: fixed_point.alpha_frac: multiply dissipation "
                                     "realises alpha = 0.9688 (time constant 31.5 ns)")
    assert str(err.value).endswith("more than a factor 1.5 apart; give alpha more fraction bits")


def full_dict(**fixed):
    data = yaml.safe_load((ROOT / "configs" / "full.yaml").read_text())
    data["fixed_point"].update(fixed)
    return data


def test_full_card_widths_are_the_least_that_hold_its_bounds():
    """configs/full.yaml's i and theta widths are derived from its bounds: one bit less fails."""
    cfg = load_config(ROOT / "configs" / "full.yaml")
    assert cfg.fixed_point.threshold == "table"
    assert error_of(full_dict(i={"width": 10, "frac": 8})) == (
        "bad.yaml: fixed_point.i.width: too small for the current limit V_bd_V / R = 2 I_c0 "
        "(512 at i.frac 8; needs 11 bits), got 10")
    assert error_of(full_dict(theta={"width": 13, "frac": 8})) == (
        "bad.yaml: fixed_point.theta.width: too small for the heat at T_max_K = 42.03 heat "
        "units (10760 at theta.frac 8; needs 14 bits), got 13")


def test_bad_bounds():
    data = full_dict()
    data["device"]["T_max_K"] = 1200.0
    assert error_of(data) == ("bad.yaml: device.T_max_K: must lie between T0_K (300 K) and "
                              "Tc_K (1000 K), got 1200.0")
    data = full_dict()
    del data["device"]["T_max_K"]
    assert error_of(data) == ("bad.yaml: fixed_point.threshold: table needs device.T_max_K: "
                              "the table spans ambient to T_max, got 'table'")
    assert error_of(full_dict(threshold="cubic")) == \
        "bad.yaml: fixed_point.threshold: must be one of linear, table, got 'cubic'"
    data = full_dict()
    data["device"]["V_bd_V"] = 0.5
    assert error_of(data) == ("bad.yaml: device.V_bd_V: the current limit V_bd_V / R = 0.8 I_c0 "
                              "is not above the ambient threshold 0.9555 I_c0: a cold junction "
                              "could never switch, got 0.5")
    data = full_dict()
    data["device"]["ic0_ms_exponent"] = -1.0
    assert error_of(data) == ("bad.yaml: device.ic0_ms_exponent: must be between 0.0 and 10.0, "
                              "got -1.0")


def test_hash_leaves_out_optional_keys_at_their_default():
    """Weights trained for a design stay valid when later keys are added to the schema; a
    design that uses one hashes differently."""
    base = config_hash(parse_config(config_dict(), "a.yaml"))
    explicit = config_dict(fixed_point={"threshold": "linear", "table_bits": 6},
                           device={"T_max_K": None})
    assert config_hash(parse_config(explicit, "b.yaml")) == base
    bounded = config_dict(device={"V_bd_V": 1.5})
    assert config_hash(parse_config(bounded, "c.yaml")) != base


def test_spread_offsets_are_drawn_into_the_datapath():
    """configs/spread.yaml: one offset per neuron, in i LSBs; a spread whose offsets do not fit
    the current's format, and one out of range, are refused with one line."""
    from ipnet_mtj.sw.fixed import derive_fixed_point
    cfg = load_config(ROOT / "configs" / "spread.yaml")
    fp = derive_fixed_point(cfg)
    assert len(fp.thr_offset) == cfg.layer.neurons == 64
    assert 2 <= np.std(fp.thr_offset) <= 8                      # sigma 0.02 I_c0 = 5.1 LSBs
    data = yaml.safe_load((ROOT / "configs" / "spread.yaml").read_text())
    data["device"]["threshold_sigma_ic0"] = 0.6
    assert error_of(data) == "bad.yaml: device.threshold_sigma_ic0: must be between 0.0 and 0.5, got 0.6"
    data["device"]["threshold_sigma_ic0"] = 0.5
    data["fixed_point"]["i"] = {"width": 12, "frac": 11}      # +-1 I_c0: limit 0.976 I_c0
    data["device"]["V_bd_V"] = 0.61
    assert error_of(data).startswith("bad.yaml: device.threshold_sigma_ic0: an offset of ")
    assert error_of(data).endswith("LSBs does not fit i.width 12, got 0.5")
    data = full_dict()
    data["device"]["threshold_sigma_ic0"] = 0.0                 # 0: no spread, no ROM
    assert derive_fixed_point(parse_config(data, "z.yaml")).thr_offset == ()


def test_device_time_constants_are_derived_and_checked():
    """configs/taus.yaml: one (alpha_mult, heat gain) per device; shift dissipation, a time
    constant alpha_frac cannot realise and a malformed list are refused with one line."""
    from ipnet_mtj.sw.fixed import derive_fixed_point
    fp = derive_fixed_point(load_config(ROOT / "configs" / "taus.yaml"))
    assert len(fp.devices) == 8 and fp.devices[0] == (125, 192) and fp.devices[-1] == (252, 267)
    assert fp.alpha == 252 / 256                                  # the slowest device's
    data = yaml.safe_load((ROOT / "configs" / "taus.yaml").read_text())
    data["fixed_point"]["decay"] = "shift"
    assert error_of(data) == ("bad.yaml: fixed_point.decay: per-device time constants "
                              "(device.tau_th_ns_devices) need decay: multiply, got 'shift'")
    data = yaml.safe_load((ROOT / "configs" / "taus.yaml").read_text())
    data["device"]["tau_th_ns_devices"] = [10.0, 2000.0]
    assert error_of(data) == ("bad.yaml: device.tau_th_ns_devices: device 1: alpha = 0.9995 "
                              "rounds to 256 at alpha_frac 8 (no memory or no dissipation), "
                              "got 2000.0")
    data["device"]["tau_th_ns_devices"] = [10.0, 500.0]
    assert error_of(data) == ("bad.yaml: device.tau_th_ns_devices: device 1: alpha_frac 8 "
                              "realises a time constant of 255 ns, more than a factor 1.5 from "
                              "500")
    data["device"]["tau_th_ns_devices"] = []
    assert error_of(data) == ("bad.yaml: device.tau_th_ns_devices: must list 1 to 64 time "
                              "constants, got []")
    data["device"]["tau_th_ns_devices"] = [10.0, "x"]
    assert error_of(data) == ("bad.yaml: device.tau_th_ns_devices: must hold numbers: 'x' is "
                              "not, got [10.0, 'x']")
