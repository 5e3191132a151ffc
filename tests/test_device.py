"""Device card -> coefficients: the physics the neuron model stands on."""

import math

import numpy as np

from helpers import ROOT
from ipnet_mtj.sw.config import load_config
from ipnet_mtj.sw.device import coefficients, switching_probability


def card():
    return load_config(ROOT / "configs" / "default.yaml").device


def test_dissipation_factor_follows_time_constant():
    dev = card()
    assert math.isclose(coefficients(dev).alpha, math.exp(-dev.dt_ns / dev.tau_th_ns))


def test_heat_unit_is_the_joule_heating_of_one_step():
    dev = card()
    c = coefficients(dev)
    r = dev.R_P_ohm * (1 + dev.tmr)           # rests in AP
    steady_k = dev.R_th_K_per_uW * 1e6 * (dev.I_c0_uA * 1e-6) ** 2 * r
    # a constant current I_c0 heats to kappa / (1 - alpha) kelvin = R_th * P
    assert math.isclose(c.kappa_K / (1 - c.alpha), steady_k, rel_tol=1e-12)
    assert 10 < steady_k < 500                 # "tens to a few hundred kelvin"


def test_warm_junction_switches_at_lower_current():
    c = coefficients(card())
    assert 0 < c.thr0 < 1
    assert c.gamma > 0 and c.gamma_K > 0


def test_switching_curve():
    z = np.linspace(-0.2, 0.2, 401)
    p = switching_probability(z, 60.0, np)
    assert math.isclose(switching_probability(np.array(0.0), 60.0, np), 0.5)
    assert np.all(np.diff(p) >= 0) and p[0] < 1e-4 and p[-1] > 1 - 1e-12
