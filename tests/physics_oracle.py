"""An independent physics model of one thermal neuron, in real units, for tests.

It shares no code with sw/ (it uses the from-scratch implementation of
tests/known_answers/derive.py for the switching law) and keeps the physics the integer
datapath approximates:

- temperature in kelvin, by the exact solution of Newton's law of cooling over a step with
  constant power: ``dT/dt = (R_th P - (T - T0)) / tau_th`` gives
  ``T_t - T0 = (T_{t-1} - T0) e^{-dt/tau} + (1 - e^{-dt/tau}) R_th R I_t^2``;
- the 50 % switching current at the junction's temperature, ``I_50(T)`` with the full
  ``Delta(T)`` (Bloch law), not linearised around ambient;
- real currents (``acc * 2**-(x.frac + w.frac)`` in units of I_c0), not requantised.

:func:`track_bounds` gives how far the integer datapath may be from it (docs/neuron-model.md,
"The physics oracle"): quantisation of the current, of alpha, gamma and thr0, the floors,
and the linearisation of I_50(T) over the temperatures reached.
"""

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "known_answers"))
from derive import coefficients, threshold_current  # noqa: E402


def resistance(dev):
    return dev["R_P_ohm"] * ((1.0 + dev["tmr"]) if dev["rest_state"] == "AP" else 1.0)


def full_rise(dev):
    """Steady temperature rise (K) under a constant current I_c0: R_th R I_c0^2."""
    return dev["R_th_K_per_uW"] * 1e6 * resistance(dev) * (dev["I_c0_uA"] * 1e-6) ** 2


def kelvin_per_heat_unit(dev):
    """The rise one step at I_c0 adds from ambient: (1 - e^{-dt/tau}) R_th R I_c0^2."""
    return (1.0 - math.exp(-dev["dt_ns"] / dev["tau_th_ns"])) * full_rise(dev)


def simulate(dev, currents):
    """Temperatures (K) after each step and the 50 % threshold (units of I_c0) each step
    switches against (set by the temperature before it), for currents (T, N) in I_c0."""
    decay = math.exp(-dev["dt_ns"] / dev["tau_th_ns"])
    rise = full_rise(dev)
    t0 = dev["T0_K"]
    temp = np.full(currents.shape[1], t0, dtype=np.float64)
    temps, thresholds = [], []
    for i in currents:
        thresholds.append([threshold_current(dev, t) for t in temp])
        temp = t0 + (temp - t0) * decay + (1.0 - decay) * rise * i * i
        temps.append(temp.copy())
    return np.array(temps), np.array(thresholds)


def linearisation_error(dev, dt_max, points=200):
    """max |I_50(T) - (I_50(T0) - gamma_K (T - T0))| over T0 <= T <= T0 + dt_max."""
    t0 = dev["T0_K"]
    slope = -(threshold_current(dev, t0 + 0.5) - threshold_current(dev, t0 - 0.5))
    ts = np.linspace(t0, t0 + dt_max, points)
    return max(abs(threshold_current(dev, t) - (threshold_current(dev, t0) - slope * (t - t0)))
               for t in ts)


def track_bounds(dev, fx, k, i_max, dt_max):
    """Bounds on |T_int - T_oracle| (K) and |thr_int - I_50(T_oracle)| (I_c0).

    ``fx``: the fixed-point formats; ``k``: the datapath's realised alpha (``alpha``) and
    integer gamma (``gamma``); ``i_max``: the largest |current| (I_c0);
    ``dt_max``: the largest temperature rise the oracle reaches (K).
    """
    c = coefficients(dev)
    kappa = kelvin_per_heat_unit(dev)
    fi, ft, fg = fx["i"]["frac"], fx["theta"]["frac"], fx["gamma"]["frac"]
    alpha_q = k["alpha"]
    theta_max = dt_max / kappa
    q_current = (2 * i_max + 2 ** -fi) * 2 ** -fi          # |I^2 - (floor(I 2^fi) 2^-fi)^2|
    heat = (abs(c["alpha"] - alpha_q) * theta_max + q_current + 2 * 2 ** -ft) / (1 - c["alpha"])
    thr = (2 ** -(fi + 1)                                   # thr0 rounded
           + abs(k["gamma"] * 2 ** -fg - c["gamma"]) * theta_max    # gamma rounded
           + c["gamma"] * heat                              # the heat's own error
           + 2 ** -fi                                       # floor of gamma * theta
           + linearisation_error(dev, dt_max))
    return kappa * heat, thr


def table_bounds(dev, fx, k, i_max, dt_max, shift, points=400):
    """Bounds on |T_int - T_oracle| (K) and |thr_int - I_50(T_oracle)| (I_c0) for a datapath
    whose threshold is a table of I_50 sampled every ``shift``-th heat LSB (entries rounded to
    the i format): the table's rounding, I_50's change across one entry's span of heat, and
    I_50's steepest slope times the temperature bound."""
    c = coefficients(dev)
    kappa = kelvin_per_heat_unit(dev)
    fi, ft = fx["i"]["frac"], fx["theta"]["frac"]
    theta_max = dt_max / kappa
    q_current = (2 * i_max + 2 ** -fi) * 2 ** -fi
    heat = (abs(c["alpha"] - k["alpha"]) * theta_max + q_current + 2 * 2 ** -ft) / (1 - c["alpha"])
    t0 = dev["T0_K"]
    span = kappa * (1 << shift) * 2.0 ** -ft                # kelvin per table entry
    top = t0 + dt_max + kappa * heat
    ts = np.linspace(t0, top + span, points)
    i50 = np.array([threshold_current(dev, t) for t in ts])
    slope = np.abs(np.diff(i50) / np.diff(ts)).max()
    return kappa * heat, 2 ** -(fi + 1) + slope * span + slope * kappa * heat
