"""From an MTJ device card in physical units to the network-level coefficients.

One function, :func:`coefficients`, turns a :class:`~sw.config.Device` into the
real-valued coefficients of the neuron model (docs/neuron-model.md):

    theta_t = alpha * theta_{t-1} + I_t**2          heat units
    thr_t   = thr0 - gamma * theta_{t-1}            units of I_c0
    P_sw    = f(I_t - thr_t),  f(z) = 1 - exp(-ln2 * exp(delta0 * z))

Heat is kept in *heat units*: one heat unit is the temperature rise that one
step at I = I_c0 adds, ``kappa_K`` kelvin. So the Joule term needs no
coefficient and the physical temperature rise is ``kappa_K * theta``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Coefficients", "coefficients", "unphysical", "switching_probability", "LN2",
           "switching_width", "tmr_at", "ap_conductance", "read_fraction", "magnetisation",
           "stability", "critical_current", "threshold_at", "resistance",
           "current_limit", "heat_limit", "threshold_offsets", "device_thermals",
           "junction_thermals"]

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Coefficients:
    """Real-valued neuron coefficients derived from a device card."""
    alpha: float     #: heat kept per step, exp(-dt / tau_th)
    kappa_K: float   #: kelvin per heat unit, (1 - alpha) R_th R I_c0**2
    thr0: float      #: 50 % switching current at ambient, units of I_c0
    gamma: float     #: threshold drop per heat unit, units of I_c0
    gamma_K: float   #: threshold drop per kelvin, units of I_c0
    delta0: float    #: thermal stability at ambient; slope of f


def magnetisation(dev, temperature):
    """M_s(T)/M_s(T0) by the Bloch law M_s(T) = M_s(0) (1 - (T/Tc)**1.5)."""
    def m(t):
        return 1.0 - (t / dev.Tc_K) ** 1.5
    return m(temperature) / m(dev.T0_K)


def stability(dev, temperature):
    """Delta(T) = Delta0 (T0/T) (M_s(T)/M_s(T0))**2."""
    return dev.delta0 * (dev.T0_K / temperature) * magnetisation(dev, temperature) ** 2


def critical_current(dev, temperature):
    """I_c0(T)/I_c0 = (M_s(T)/M_s(T0))**n, n = ``ic0_ms_exponent`` (1 without it)."""
    n = dev.ic0_ms_exponent
    return 1.0 if n is None else magnetisation(dev, temperature) ** n


def threshold_at(dev, temperature):
    """I_50(T): the current (units of I_c0) that switches a pulse with probability 1/2 at T,
    I_c0(T) (1 - ln(t_p / (tau0 ln 2)) / Delta(T))."""
    barrier = 1.0 - math.log(dev.pulse_ns / (dev.tau0_ns * LN2)) / stability(dev, temperature)
    return critical_current(dev, temperature) * barrier


def resistance(dev):
    """The junction's resistance in the state it rests in while it integrates (ohm)."""
    return dev.R_P_ohm * (1.0 + dev.tmr if dev.rest_state == "AP" else 1.0)


def current_limit(dev):
    """The largest |current| the barrier takes, V_bd / R (units of I_c0), or None."""
    if dev.V_bd_V is None:
        return None
    return dev.V_bd_V / resistance(dev) / (dev.I_c0_uA * 1e-6)


def coefficients(dev):
    """Turn a device card into :class:`Coefficients`.

    Parameters
    ----------
    dev : sw.config.Device

    Notes
    -----
    ``gamma_K`` is the slope of the 50 % threshold :func:`threshold_at` against
    temperature at T0 (central difference over +-0.5 K): the linear threshold mode's
    small-signal view around ambient. The table mode samples :func:`threshold_at` itself.
    """
    alpha = math.exp(-dev.dt_ns / dev.tau_th_ns)
    power_w = (dev.I_c0_uA * 1e-6) ** 2 * resistance(dev)
    kappa_k = (1.0 - alpha) * dev.R_th_K_per_uW * 1e6 * power_w
    t0 = dev.T0_K
    gamma_k = -(threshold_at(dev, t0 + 0.5) - threshold_at(dev, t0 - 0.5))
    return Coefficients(alpha=alpha, kappa_K=kappa_k, thr0=threshold_at(dev, t0),
                        gamma=gamma_k * kappa_k, gamma_K=gamma_k, delta0=dev.delta0)


def heat_limit(dev):
    """The heat (heat units) at which the junction reaches T_max_K, or None."""
    if dev.T_max_K is None:
        return None
    return (dev.T_max_K - dev.T0_K) / coefficients(dev).kappa_K


def unphysical(dev):
    """Why a device card gives no usable neuron coefficients, or None.

    The schema keeps each value in a range where no float overflows; these checks tie the
    values together: a Curie temperature above ambient, a threshold that falls as the
    junction warms (gamma > 0), and finite coefficients with 0 < alpha < 1.

    Parameters
    ----------
    dev : sw.config.Device

    Returns
    -------
    tuple or None
        ``(key, reason)``: the key of the design YAML to blame (``device.Tc_K``, ...) and
        the reason, one line ending in the key's value.
    """
    if not dev.T0_K > 0.5:                  # the central difference of coefficients()
        return "device.T0_K", (f"the ambient temperature must be above 0.5 K (the threshold's "
                               f"slope is taken over T0_K +- 0.5 K), got {dev.T0_K!r}")
    if not dev.Tc_K > dev.T0_K + 0.5:       # the central difference of coefficients()
        return "device.Tc_K", (f"the Curie temperature must be above T0_K + 0.5 K = "
                               f"{dev.T0_K + 0.5:g} K, got {dev.Tc_K!r}")
    if dev.pulse_ns <= dev.tau0_ns * LN2:
        return "device.pulse_ns", (f"must be longer than tau0_ns * ln 2 = "
                                   f"{dev.tau0_ns * LN2:.4g} ns, else a warm junction switches "
                                   f"later, not sooner (gamma <= 0), got {dev.pulse_ns!r}")
    if dev.T_max_K is not None and not dev.T0_K < dev.T_max_K < dev.Tc_K:
        return "device.T_max_K", (f"must lie between T0_K ({dev.T0_K:g} K) and Tc_K "
                                  f"({dev.Tc_K:g} K), got {dev.T_max_K!r}")
    try:
        coef = coefficients(dev)
    except (ArithmeticError, ValueError) as exc:
        return "device", f"the card gives no coefficients ({type(exc).__name__}: {exc})"
    if not 0.0 < coef.alpha < 1.0:
        return "device.tau_th_ns", (f"the heat kept per step, alpha = exp(-dt_ns / tau_th_ns) "
                                    f"= {coef.alpha!r}, must lie strictly between 0 and 1 "
                                    f"(dt_ns {dev.dt_ns!r}), got {dev.tau_th_ns!r}")
    for name in ("kappa_K", "thr0", "gamma_K", "gamma"):
        value = getattr(coef, name)
        if not isinstance(value, float) or not math.isfinite(value) or (name != "thr0" and value <= 0):
            return "device", f"the card gives an unusable coefficient: {name} = {value!r}"
    a, hottest = dev.tmr_spin_wave_per_K1p5, dev.T_max_K or dev.Tc_K
    if a and not a * hottest ** 1.5 < 1.0:
        return "device.tmr_spin_wave_per_K1p5", (
            f"the polarisation 1 - a T**1.5 must stay positive up to {hottest:g} K (T_max_K, "
            f"else Tc_K): a must be below {hottest ** -1.5:.4g}, got {a!r}")
    limit = current_limit(dev)
    if limit is not None and limit <= coef.thr0:
        return "device.V_bd_V", (f"the current limit V_bd_V / R = {limit:.4g} I_c0 is not above "
                                 f"the ambient threshold {coef.thr0:.4g} I_c0: a cold junction "
                                 f"could never switch, got {dev.V_bd_V!r}")
    return None


def switching_probability(z, delta0, xp):
    """f(z) = 1 - exp(-ln2 exp(delta0 z)), with f(0) = 1/2.

    ``xp`` is ``numpy`` or ``torch``; ``z`` an array or tensor of that library
    (units of I_c0). The exponent is clipped at 30, where f is already 1.
    """
    return 1.0 - xp.exp(-LN2 * xp.exp((delta0 * z).clip(max=30.0)))


def tmr_at(dev, temperature):
    """TMR(T) by Julliere's formula 2 P**2 / (1 - P**2) with the electrodes' polarisation
    P(T) = P(T0) (1 - a T**1.5) / (1 - a T0**1.5) (Shang et al. 1998, a =
    ``tmr_spin_wave_per_K1p5``; 0 without it), P(T0)**2 = tmr / (2 + tmr) so that TMR(T0) is
    the card's ``tmr``."""
    a = dev.tmr_spin_wave_per_K1p5 or 0.0
    p = math.sqrt(dev.tmr / (2.0 + dev.tmr)) * (1.0 - a * temperature ** 1.5) \
        / (1.0 - a * dev.T0_K ** 1.5)
    return 2.0 * p * p / (1.0 - p * p)


def ap_conductance(dev, temperature):
    """1 / R_AP(T) = 1 / (R_P (1 + TMR(T))), siemens; R_P does not change with T."""
    return 1.0 / (dev.R_P_ohm * (1.0 + tmr_at(dev, temperature)))


def read_fraction(dev, temperature):
    """The sense amplifier's read of a junction at ``temperature`` on its scale: its
    antiparallel conductance from the ambient value (0) to that at T_max (1)."""
    g0, g_max = ap_conductance(dev, dev.T0_K), ap_conductance(dev, dev.T_max_K)
    return (ap_conductance(dev, temperature) - g0) / (g_max - g0)


def switching_width(delta0):
    """The 10-90 % width of the switching curve :func:`switching_probability` (I_c0): the
    distance between f(z) = 0.1 and f(z) = 0.9, (ln(ln 10 / ln 2) - ln(ln(10/9) / ln 2)) /
    delta0."""
    return (math.log(math.log(10) / LN2) - math.log(math.log(10 / 9) / LN2)) / delta0


def threshold_offsets(dev, neurons, seed=None, sigma=None):
    """Each junction's switching-threshold offset from the card's (units of I_c0).

    Junctions of one wafer differ: area, barrier and free-layer volume scatter from device
    to device, and with them the current at which each one switches. The card gives the
    spread as ``threshold_sigma_ic0``; every neuron draws one offset from
    N(0, sigma^2) once (a chip), and keeps it at every temperature.

    Parameters
    ----------
    dev : sw.config.Device
    neurons : int
        How many offsets, in neuron order.
    seed : int, optional
        The draw (another chip); default the card's ``spread_seed`` (absent: 0).
    sigma : float, optional
        Overrides the card's ``threshold_sigma_ic0`` (for sweeps over the spread).

    Returns
    -------
    ndarray, (neurons,) float64
        All zeros when the spread is absent or 0.
    """
    sigma = dev.threshold_sigma_ic0 if sigma is None else sigma
    if not sigma:
        return np.zeros(neurons)
    seed = (dev.spread_seed or 0) if seed is None else seed
    return sigma * np.random.default_rng(seed).standard_normal(neurons)


def device_thermals(dev):
    """Per device of ``tau_th_ns_devices``: (alpha_k, heat_gain_k), or None without the key.

    The devices differ in thermal resistance only: R_th,k = R_th tau_k / tau_th_ns at the
    card's heat capacity C_th = tau_th_ns / R_th. So alpha_k = exp(-dt / tau_k), and one
    step at I_c0 heats device k by kappa_k = (1 - alpha_k) R_th,k R I_c0^2 kelvin; in the
    card's heat units (kappa_K of :func:`coefficients`) that is the gain
    kappa_k / kappa = (1 - alpha_k) tau_k / ((1 - alpha) tau_th_ns) on the Joule term. The
    temperature of a heat theta is T0 + kappa_K theta for every device, so the threshold
    table, T_max and the heat's format are shared.
    """
    if not dev.tau_th_ns_devices:
        return None
    alpha = math.exp(-dev.dt_ns / dev.tau_th_ns)
    out = []
    for tau in dev.tau_th_ns_devices:
        a = math.exp(-dev.dt_ns / tau)
        out.append((a, (1.0 - a) * tau / ((1.0 - alpha) * dev.tau_th_ns)))
    return out


def junction_thermals(dev, neurons, seed=None, sigma=None):
    """Per neuron (alpha_n, heat_gain_n, tau_n) with thermal spread, or None without it.

    Neuron n starts from device n mod K of ``tau_th_ns_devices`` (its tau_k and
    R_th,k = R_th tau_k / tau_th_ns), or from the card's own tau and R_th; its thermal
    resistance is then scaled by 1 + r_n and its time constant by 1 + t_n, r and t drawn
    independently from N(0, sigma^2) (``thermal_sigma_rel``) and clipped at -0.5. So
    alpha_n = exp(-dt / tau_n) and the heat gain is
    kappa_n / kappa = (1 - alpha_n) R_th,n / ((1 - alpha) R_th). The draws use the streams
    (seed, 1) and (seed, 2) of numpy's generator: the threshold offsets' draw is untouched.
    """
    sigma = dev.thermal_sigma_rel if sigma is None else sigma
    if not sigma:
        return None
    seed = (dev.spread_seed or 0) if seed is None else seed
    r = np.maximum(sigma * np.random.default_rng([seed, 1]).standard_normal(neurons), -0.5)
    t = np.maximum(sigma * np.random.default_rng([seed, 2]).standard_normal(neurons), -0.5)
    taus = np.asarray(dev.tau_th_ns_devices or [dev.tau_th_ns], dtype=float)
    base = taus[np.arange(neurons) % len(taus)]
    r_th = base / dev.tau_th_ns * (1.0 + r)            # R_th,n / R_th
    tau = base * (1.0 + t)
    alpha_n = np.exp(-dev.dt_ns / tau)
    alpha = math.exp(-dev.dt_ns / dev.tau_th_ns)
    return [(float(a), float(g), float(tk)) for a, g, tk in
            zip(alpha_n, (1.0 - alpha_n) * r_th / (1.0 - alpha), tau)]
