"""The integer datapath tracks an independent physics model in real units (tests/physics_oracle.py)
over long sequences: junction temperature in kelvin, and the switching threshold at that
temperature with the full Delta(T), within the bounds of docs/neuron-model.md."""

import numpy as np
import pytest
import yaml

import physics_oracle
from helpers import DEFAULT_CONFIG, ROOT
from ipnet_mtj.sw import reference
from ipnet_mtj.sw.config import parse_config
from ipnet_mtj.sw.fixed import derive_fixed_point

I_MAX = 1.5          #: |current| in I_c0: the junction stays below about 600 K


def stimulus(steps, neurons, seed, I_MAX=I_MAX):  # noqa: N803
    """Currents in I_c0 (T, N): random, bursts at +-I_MAX, long silences, slow sines."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    i = rng.uniform(-I_MAX, I_MAX, size=(steps, neurons)) * (rng.random((steps, neurons)) < 0.3)
    i += 0.8 * np.sin(2 * np.pi * t / rng.uniform(20, 400, size=neurons))
    i = np.where((t // 150) % 4 == 1, I_MAX * np.sign(rng.standard_normal(neurons)), i)
    i = np.where((t // 150) % 4 == 3, 0.0, i)                # silence: cool down
    return np.clip(i, -I_MAX, I_MAX)


def run(data, dev, steps, neurons, seed, i_max=I_MAX):
    """The datapath on the stimulus: (T_int in K, thr_int in I_c0, z free of saturation),
    the oracle's (temperatures, thresholds), and the fp."""
    fp = derive_fixed_point(parse_config(data, "oracle.yaml"))
    fx = data["fixed_point"]
    frac = fx["x"]["frac"] + fx["w"]["frac"]
    acc = np.round(stimulus(steps, neurons, seed, i_max) * 2 ** frac).astype(np.int64)
    trace = reference.run_currents(fp, acc[None])
    oracle = physics_oracle.simulate(dev, acc * 2.0 ** -frac)
    kappa = physics_oracle.kelvin_per_heat_unit(dev)
    t_int = dev["T0_K"] + kappa * trace.theta[0] * 2.0 ** -fx["theta"]["frac"]
    i_int = np.clip(acc >> fp.i_shift, fp.i_lo, fp.i_hi)
    z = trace.z[0]
    thr_int = (i_int - z) * 2.0 ** -fx["i"]["frac"]        # z = i - thr where z is free
    free = np.abs(z) < (1 << (fp.z_width - 1)) - 1
    return fp, t_int, thr_int, free, oracle


def realised(fp, fx):
    alpha = (1 - 2.0 ** -fp.decay_k) if fp.decay == "shift" else fp.alpha_mult / 2 ** fx["alpha_frac"]
    return {"alpha": alpha, "gamma": fp.gamma}


@pytest.mark.parametrize("tau, decay", [(10.0, "multiply"), (30.0, "multiply"), (10.0, "shift")])
def test_datapath_tracks_the_physics(tau, decay):
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    data["device"]["tau_th_ns"] = tau
    data["fixed_point"]["decay"] = decay
    dev, fx = data["device"], data["fixed_point"]
    fp, t_int, thr_int, free, (temps, thresholds) = run(data, dev, 3000, 16, seed=int(tau))
    dt_max = float(temps.max() - dev["T0_K"])
    bounds = physics_oracle.track_bounds(dev, fx, realised(fp, fx), I_MAX, dt_max)
    assert_tracks(f"tau {tau} {decay}", t_int, thr_int, free, temps, thresholds, bounds, dt_max)
    assert dt_max > 150


def assert_tracks(label, t_int, thr_int, free, temps, thresholds, bounds, dt_max):
    """Temperature and threshold errors within their bounds, where enough z was free."""
    bound_k, bound_thr = bounds
    err_k = np.abs(t_int - temps).max()
    err_thr = np.abs(thr_int - thresholds)[free].max()
    print(f"{label}: max rise {dt_max:.0f} K; |T| error {err_k:.2f} K (bound {bound_k:.2f}); "
          f"|thr| error {err_thr:.5f} I_c0 (bound {bound_thr:.5f})")
    assert err_k <= bound_k and err_thr <= bound_thr
    assert free.mean() > 0.1
    return err_thr


def test_the_oracle_can_fail():
    """A datapath whose device card has a 10 % longer time constant leaves the bound."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    dev = data["device"]
    wrong = dict(data, device=dict(dev, tau_th_ns=dev["tau_th_ns"] * 1.1))
    fp, t_int, _, _, (temps, _) = run(wrong, dev, 2000, 8, seed=1)
    bound_k, _ = physics_oracle.track_bounds(dev, data["fixed_point"],
                                             realised(fp, data["fixed_point"]), I_MAX,
                                             float(temps.max() - dev["T0_K"]))
    assert np.abs(t_int - temps).max() > bound_k


def full_card(**device):
    data = yaml.safe_load((ROOT / "configs" / "full.yaml").read_text())
    data["device"].update(device)
    return data


def test_threshold_table_tracks_the_full_physics():
    """configs/full.yaml: the table threshold against I_50(T) with I_c0(T) ~ M_s(T)**2, over
    currents up to 1.9 I_c0 (junctions up to about 750 K)."""
    data = full_card()
    dev, fx = data["device"], data["fixed_point"]
    fp, t_int, thr_int, free, (temps, thresholds) = run(data, dev, 3000, 16, seed=7, i_max=1.9)
    dt_max = float(temps.max() - dev["T0_K"])
    bounds = physics_oracle.table_bounds(dev, fx, realised(fp, fx), 1.9, dt_max, fp.thr_shift)
    err_thr = assert_tracks("full card", t_int, thr_int, free, temps, thresholds, bounds, dt_max)
    assert dt_max > 400
    # the linear threshold (the full curve's slope at ambient) is several times further off
    linear = dict(data, fixed_point=dict(fx, threshold="linear"))
    lin, _, thr_lin, free_lin, _ = run(linear, dev, 3000, 16, seed=7, i_max=1.9)
    assert lin.threshold == "linear"
    assert np.abs(thr_lin - thresholds)[free_lin].max() > 3 * err_thr


def test_the_table_oracle_can_fail():
    """A table built for a card whose I_c0 falls as M_s**1.5 instead of M_s**2 leaves the bound."""
    data = full_card()
    dev, fx = data["device"], data["fixed_point"]
    wrong = full_card(ic0_ms_exponent=1.5)
    fp, _, thr_int, free, (temps, thresholds) = run(wrong, dev, 2000, 8, seed=3, i_max=1.9)
    _, bound_thr = physics_oracle.table_bounds(dev, fx, realised(fp, fx), 1.9,
                                               float(temps.max() - dev["T0_K"]), fp.thr_shift)
    assert np.abs(thr_int - thresholds)[free].max() > bound_thr
