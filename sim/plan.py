"""Stimulus plans for the cocotb benches: seeded, adversarial, reproducible.

A plan is a list of :class:`Segment`. Each segment starts from reset
(ambient temperature, LFSR at its seed) and ends with a reset, so a reset
always lands in the middle of the bench's input sequence. Segments differ in
input statistics and in handshake stress:

random      uniform samples over the whole input range
events      non-negative samples, like binned DVS event counts
saturating  every sample at +max or -max, aligned with the weights so the
            current saturates at both ends, alternating every few steps
max-heat    the aligned pattern held: the heat saturates and stays
silence     a few hot steps, then zero input for the rest (cooling)

Handshake stress per segment: ``gap`` is the probability that the driver
leaves ``x.valid`` low in a cycle, ``stall`` that the monitor leaves
``y.ready`` low, and ``partial`` inputs of a step that is never completed
are sent just before the closing reset (the layer must drop them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ipnet_mtj.sw.fixed import sat_range

__all__ = ["Segment", "make_plan", "SCENARIOS"]

SCENARIOS = ("random", "events", "saturating", "max-heat", "silence")


@dataclass(frozen=True)
class Segment:
    scenario: str
    x: np.ndarray      #: (T, M) int64 input samples
    gap: float
    stall: float
    partial: int


def _aligned(fp, weights):
    """Samples at +-max whose signs follow each input's summed weight: large positive current."""
    lo, hi = sat_range(fp.x_width, True)
    return np.where(np.asarray(weights).sum(axis=0) >= 0, hi, lo).astype(np.int64)


def _inputs(scenario, fp, weights, steps, rng):
    m = fp.inputs
    lo, hi = sat_range(fp.x_width, True)
    if scenario == "random":
        return rng.integers(lo, hi + 1, size=(steps, m))
    if scenario == "events":
        return rng.integers(0, hi + 1, size=(steps, m)) * (rng.random((steps, m)) < 0.3)
    aligned = _aligned(fp, weights)
    if scenario == "saturating":
        sign = np.where((np.arange(steps) // 3) % 2 == 0, 1, -1)[:, None]
        return np.clip(sign * aligned[None, :], lo, hi)
    if scenario == "max-heat":
        return np.repeat(aligned[None, :], steps, axis=0)
    if scenario == "silence":
        x = np.zeros((steps, m), dtype=np.int64)
        x[: max(1, steps // 8)] = aligned
        return x
    raise ValueError(scenario)


def make_plan(fp, weights, steps, seed):
    """A plan of about ``steps`` time steps over all scenarios and stress levels."""
    rng = np.random.default_rng(seed)
    stress = [(0.0, 0.0), (0.3, 0.3), (0.0, 0.8), (0.8, 0.0), (0.5, 0.5)]
    per = max(2, steps // (2 * len(SCENARIOS)))
    plan = []
    k = 0
    while sum(len(s.x) for s in plan) < steps:
        scenario = SCENARIOS[k % len(SCENARIOS)]
        gap, stall = stress[(k // len(SCENARIOS) + k) % len(stress)]
        length = int(rng.integers(max(2, per // 2), per + 1))
        partial = int(rng.integers(0, fp.inputs)) if k % 2 else 0
        plan.append(Segment(scenario, _inputs(scenario, fp, weights, length, rng).astype(np.int64),
                            gap, stall, partial))
        k += 1
    return plan
