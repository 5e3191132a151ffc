"""The shift that sets a thermal layer's mean output: the last step of the data-dependent
start of IPNet's current (:meth:`sw.nets.ipnet.IPNet.calibrate_current`) and of a described
network's (:meth:`sw.nets.described.DescribedIPNet.calibrate`)."""

from __future__ import annotations

__all__ = ["rate_shift", "RATE_STEPS"]

#: bisection steps of :func:`rate_shift`: the shift to 2**-20 of its 4 I_c0 interval
RATE_STEPS = 20


def rate_shift(mean_output, rate):
    """The common shift of a thermal layer's current (I_c0, within +-2) at which
    ``mean_output(shift)``, the neurons' mean switching probability (rising with the
    shift), is ``rate``; found by bisection. A rate the shifts cannot reach is an error.

    Parameters
    ----------
    mean_output : callable
        shift (I_c0) -> mean output over the calibration batch, heat included. A spike or
        stochastic design is bisected on its probability (its LUT output), without draws.
    rate : float
        In (0, 1).
    """
    if not 0 < rate < 1:
        raise ValueError(f"firing_rate: must lie in (0, 1), got {rate!r}")
    lo, hi = -2.0, 2.0
    for _ in range(RATE_STEPS):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if mean_output(mid) > rate else (mid, hi)
    reached = mean_output((lo + hi) / 2)
    if abs(reached - rate) > 0.01:
        raise ValueError(f"firing_rate: {rate:g} is out of reach of a shift within +-2 I_c0 "
                         f"(the nearest mean output is {reached:.3f})")
    return (lo + hi) / 2
