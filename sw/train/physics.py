"""What a trained IPNet does to its junctions, and what its memory contributes.

Shared by the benchmark runs (:mod:`sw.train.runs`) and the working-memory runs
(:mod:`sw.wm.runs`): the p99 and maximum of the junction current and temperature over a
data set, the mean square of the current (for the Joule-heat energy), and the design with
the heat ignored (every threshold at its ambient value), with which the same weights show
how much of the accuracy is memory.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ipnet_mtj.sw.device import coefficients

from .trainer import predict

__all__ = ["junction_physics", "heat_ignored"]


def heat_ignored(fp):
    """``fp`` whose outputs no longer depend on the heat: gamma = 0 (linear threshold) or a
    one-entry table holding the ambient threshold (table), and a resistance read that always
    reads the ambient code (a one-entry table); the heat itself is unchanged."""
    fp = dataclasses.replace(fp, read_table=fp.read_table[:1])
    if fp.threshold == "table":
        return dataclasses.replace(fp, thr_table=fp.thr_table[:1])
    return dataclasses.replace(fp, gamma=0)


def junction_physics(model, design, fp, x, sample=7):
    """Junction current (units of I_c0, after the datapath's saturation) and temperature (K)
    of ``model``'s thermal neurons over ``x``: p99 (of every ``sample``-th value) and maximum
    (of all) of each, beside the card's bounds, and the mean of (I / I_c0)**2 over all
    neurons and frames (for the Joule-heat energy, :func:`sw.train.energy.thermal_joule_pj`).

    Parameters
    ----------
    model : sw.nets.ipnet.IPNet
    design : sw.config.Config
        Its device card gives kelvin per heat unit, T0, Tc and T_max.
    fp : sw.fixed.FixedPoint
        The datapath the model runs; its current range is the saturation.
    """
    i_lo, i_hi = fp.i_lo * 2.0 ** -fp.i_frac, fp.i_hi * 2.0 ** -fp.i_frac
    i_max = max(-i_lo, i_hi)
    kappa = coefficients(design.device).kappa_K
    seen = {"current": [], "heat": [], "max_current": 0.0, "max_heat": 0.0,
            "square_sum": 0.0, "count": 0}

    def probe(current, heat):
        current = current.clamp(i_lo, i_hi).abs()         # the datapath's saturation
        seen["square_sum"] += (current.double() ** 2).sum().item()
        seen["count"] += current.numel()
        seen["max_current"] = max(seen["max_current"], current.max().item())
        seen["max_heat"] = max(seen["max_heat"], heat.max().item())
        seen["current"].append(current.flatten()[::sample].numpy())
        seen["heat"].append(heat.flatten()[::sample].numpy())
    model.probe = probe
    try:
        predict(model, torch.as_tensor(x))
    finally:
        model.probe = None
    # float64: a float32 quantile times kappa can round above the (float64) maximum
    cur, heat = (np.concatenate(seen[k]).astype(np.float64) for k in ("current", "heat"))
    dev = design.device
    return {"current_p99_ic0": min(float(np.quantile(cur, 0.99)), seen["max_current"]),
            "current_max_ic0": seen["max_current"],
            "current_limit_ic0": i_max, "I_c0_uA": dev.I_c0_uA,
            "current_mean_square_ic0": seen["square_sum"] / seen["count"],
            "temperature_p99_K": dev.T0_K + kappa * min(float(np.quantile(heat, 0.99)),
                                                        seen["max_heat"]),
            "temperature_max_K": dev.T0_K + kappa * seen["max_heat"],
            "T_max_K": dev.T_max_K, "Tc_K": dev.Tc_K, "tau_th_ns": dev.tau_th_ns}
