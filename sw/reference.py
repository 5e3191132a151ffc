"""Integer reference of the IP layer: the golden model the hardware must equal bit for bit.

Pure functions with explicit state (after Norse): :func:`step` advances a
batch of independent layers by one time step, :func:`run` runs whole
sequences. Every arithmetic step is a function of :mod:`sw.fixed`, evaluated
on numpy int64.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .fixed import (INT_OPS, LFSR_PERIOD, bias_term, cool, fire, joule_heat, lfsr_sequence,
                    lut_index, neuron_offsets, neuron_thermals, preactivation, requantise,
                    read, threshold, warm)

__all__ = ["LayerState", "Trace", "initial_state", "currents", "step", "run", "run_currents"]


@dataclass(frozen=True)
class LayerState:
    """State of a batch of layers: heat per neuron and LFSR position."""
    theta: np.ndarray    #: (B, N) int64, heat in theta LSBs; 0 is ambient
    updates: np.ndarray  #: (B,) int64, neuron updates since reset (LFSR steps taken)


@dataclass(frozen=True)
class Trace:
    """Per-step outputs of :func:`run`, each (B, T, N) int64."""
    y: np.ndarray
    theta: np.ndarray
    z: np.ndarray
    read: np.ndarray = None     #: resistance read of the new heat (``fp.read_table``), or None


def initial_state(fp, batch=1):
    """Reset: every neuron at ambient temperature, LFSR at its seed."""
    return LayerState(theta=np.zeros((batch, fp.neurons), dtype=np.int64),
                      updates=np.zeros(batch, dtype=np.int64))


def currents(fp, weights, biases, x):
    """acc = W x + (b << bias_shift), exactly, for inputs of any leading shape.

    The product runs as float64 BLAS: exact, because every partial sum fits
    the derived ``acc_width`` <= 52 bits (checked when the config is loaded).
    """
    x = np.asarray(x, dtype=np.int64)
    prod = x.astype(np.float64) @ np.asarray(weights, dtype=np.float64).T
    return prod.astype(np.int64) + bias_term(INT_OPS, fp, np.asarray(biases, dtype=np.int64))


def step(fp, acc, state):
    """One time step of B layers.

    Parameters
    ----------
    fp : sw.fixed.FixedPoint
    acc : ndarray, (B, N) int64
        Accumulated input currents of this step (see :func:`currents`).
    state : LayerState

    Returns
    -------
    y, z : ndarray, (B, N) int64
        Outputs and pre-activations.
    state : LayerState
        The state after this step.
    """
    ops = INT_OPS
    i = requantise(ops, fp, acc)
    alpha, gain = neuron_thermals(fp)
    heat = joule_heat(ops, fp, i, gain)
    z = preactivation(ops, fp, i, threshold(ops, fp, state.theta, neuron_offsets(fp)))
    lut = np.asarray(fp.lut, dtype=np.int64)
    p = lut[lut_index(fp, z)]
    n = fp.neurons
    r = None
    if fp.output == "stochastic":
        pos = (state.updates[:, None] + np.arange(1, n + 1)) % LFSR_PERIOD
        r = lfsr_sequence(fp.lfsr_seed)[pos] & ((1 << fp.y_width) - 1)
    y = np.asarray(fire(fp, z, p, r), dtype=np.int64)
    theta = warm(ops, fp, cool(ops, fp, state.theta, alpha), heat)
    return y, z, LayerState(theta=theta, updates=state.updates + n)


def run_currents(fp, acc, state=None):
    """Run the neurons on accumulated currents ``acc`` (B, T, ...) of any neuron shape.

    The neurons are the trailing axes flattened, updated in C order (the
    order the LFSR sees them in stochastic mode).
    """
    acc = np.asarray(acc, dtype=np.int64)
    b, t = acc.shape[:2]
    shape = acc.shape[2:]
    n = int(np.prod(shape))
    if n != fp.neurons:
        if fp.thr_offset or fp.per_neuron:
            raise ValueError(f"the design draws its junctions for {fp.neurons} neurons, "
                             f"the currents have {n}")
        fp = dataclasses.replace(fp, neurons=n)
    flat = acc.reshape(b, t, n)
    state = initial_state(fp, b) if state is None else state
    ys = np.empty((b, t, n), dtype=np.int64)
    thetas = np.empty_like(ys)
    zs = np.empty_like(ys)
    for k in range(t):
        ys[:, k], zs[:, k], state = step(fp, flat[:, k], state)
        thetas[:, k] = state.theta
    reads = read(INT_OPS, fp, thetas).reshape(acc.shape) if fp.read_table else None
    return Trace(y=ys.reshape(acc.shape), theta=thetas.reshape(acc.shape), z=zs.reshape(acc.shape),
                 read=reads)


def run(fp, weights, biases, x, state=None):
    """Run sequences ``x`` (B, T, M) from ``state`` (default: reset).

    Returns
    -------
    Trace
        Outputs, post-step heat and pre-activations, each (B, T, N).
    """
    return run_currents(fp, currents(fp, weights, biases, x), state)
