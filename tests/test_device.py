"""Device card -> coefficients: the physics the neuron model stands on."""

import math

import numpy as np

from helpers import ROOT
from ipnet_mtj.sw.config import load_config
from ipnet_mtj.sw.device import (coefficients, switching_probability, switching_width,
                                 threshold_offsets)


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


def test_switching_width_is_the_curves_10_to_90_percent_span():
    """Found by bisection on the curve itself, not from the closed form."""
    def crossing(p, delta0):
        lo, hi = -5.0, 5.0
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if switching_probability(np.array(mid), delta0, np) < p else (lo, mid)
        return lo
    for delta0 in (60.0, coefficients(card()).delta0, 250.0):
        span = crossing(0.9, delta0) - crossing(0.1, delta0)
        assert math.isclose(switching_width(delta0), span, rel_tol=1e-9)
    assert math.isclose(switching_width(60.0) * 60.0, 3.0844, rel_tol=1e-4)  # by hand: ln ratio


def test_threshold_offsets_have_the_cards_spread():
    """Each junction's offset: mean 0 and the card's sigma over many junctions (the sample
    statistics of N(0, sigma^2), not the draw's code); one chip per seed; none without spread."""
    dev = load_config(ROOT / "configs" / "spread.yaml").device
    assert dev.threshold_sigma_ic0 == 0.02
    off = threshold_offsets(dev, 40000)
    # standard errors: sigma / sqrt(n) = 1e-4 for the mean, sigma / sqrt(2n) = 7e-5 for the std
    assert abs(off.mean()) < 5e-4 and abs(off.std() - 0.02) < 4e-4
    assert np.array_equal(off, threshold_offsets(dev, 40000))            # the same chip
    other = threshold_offsets(dev, 40000, seed=1)
    assert abs(np.corrcoef(off, other)[0, 1]) < 0.03                      # another chip
    assert np.allclose(threshold_offsets(dev, 100, sigma=0.05), 2.5 * threshold_offsets(dev, 100))
    assert not threshold_offsets(card(), 100).any()                       # identical junctions
