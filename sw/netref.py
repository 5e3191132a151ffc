"""Integer reference of a whole IPNet: the golden model the accelerator must equal bit for bit.

Pure functions with explicit state (after Norse): :func:`frame_step` advances
a batch of networks by one event frame, :func:`run_network` runs whole
sequences. The arithmetic after each accumulator is a function of
:mod:`sw.fixed` on numpy int64; a thermal layer is :func:`sw.reference.step`, each
thermal layer (an all-MTJ network has several) with its own state.
The accumulators themselves are exact sums computed with float64 BLAS
(every partial sum fits the derived ``acc_width`` <= 52 bits).

Layouts: activations are (B, C, H, W) like torch's; the thermal layer's
neurons are updated in channels-last order (h, w, c) -- the order the
accelerator produces them in, which the LFSR of the stochastic mode sees.
Weights are in torch layout: conv (C_out, C_in, k, k), dense (C_out, C_in*H*W).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import reference
from .fixed import (INT_OPS, accumulate_score, aligned_bias, read_output, requantise_output,
                    sat_range)

__all__ = ["NetState", "FrameOut", "NetTrace", "initial_state", "quantise_frames",
           "layer_accumulator", "thermal_values", "frame_step", "run_network", "predict"]


@dataclass(frozen=True)
class NetState:
    """State of a batch of networks between frames."""
    thermal: tuple       #: per thermal layer (layer order) its LayerState, neurons in (h, w, c)
    score: np.ndarray    #: (B, classes) int64, logits summed since reset


@dataclass(frozen=True)
class FrameOut:
    """Everything one frame produces, per layer (each (B, C, H, W) int64)."""
    acc: tuple       #: exact accumulators, after pooling and bias
    act: tuple       #: outputs: relu activations, thermal outputs, logits
    thetas: dict     #: {layer index: (B, C, H, W) heat after this frame}, thermal layers in order
    score: np.ndarray  #: (B, classes)
    label: np.ndarray  #: (B,) argmax of score, first index on ties

    @property
    def theta(self):
        """(B, C, H, W) heat of the first thermal layer (the only one but in all-MTJ)."""
        return next(iter(self.thetas.values()))


@dataclass(frozen=True)
class NetTrace:
    """Per-frame outputs of :func:`run_network`; arrays are (B, T, ...)."""
    act: tuple         #: per layer (B, T, C, H, W); only the layers asked for (else None)
    thetas: dict       #: {layer index: (B, T, C, H, W)} of the thermal layers, or None
    logits: np.ndarray  #: (B, T, classes)
    score: np.ndarray   #: (B, T, classes)
    label: np.ndarray   #: (B, T)

    @property
    def theta(self):
        """(B, T, C, H, W) heat of the first thermal layer, or None (``keep_theta`` unset)."""
        return None if self.thetas is None else next(iter(self.thetas.values()))


def initial_state(net, batch=1):
    """Reset: every thermal neuron at ambient, LFSRs at their seeds, scores 0."""
    return NetState(thermal=tuple(reference.initial_state(lf.fp, batch) for lf in net.thermals),
                    score=np.zeros((batch, net.classes), dtype=np.int64))


def quantise_frames(net, frames):
    """Event counts -> input integers: floor, saturated to the input width."""
    lo, hi = sat_range(net.input_width, False)
    return np.clip(np.floor(np.asarray(frames, dtype=np.float64)), lo, hi).astype(np.int64)


def _exact(values):
    out = np.rint(values)
    return out.astype(np.int64)


def layer_accumulator(lf, x, w, b):
    """acc of layer ``lf`` for inputs ``x`` (B, C, H, W) int: conv or dense, sum pooling, bias."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    batch = x.shape[0]
    if lf.kind == "dense":
        conv = (x.reshape(batch, -1) @ w.T).reshape(batch, -1, 1, 1)
    else:
        p, s = lf.padding, lf.stride
        kh, kw = lf.kernel
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
        _, hc, wc = lf.conv_shape
        win = win[:, :, ::s, ::s][:, :, :hc, :wc]                   # B, Cin, Hc, Wc, kh, kw
        conv = np.einsum("bchwij,ocij->bohw", win, w, optimize=True)
    if lf.pool > 1:
        c, h, wd = lf.out_shape
        conv = conv.reshape(batch, c, h, lf.pool, wd, lf.pool).sum(axis=(3, 5))
    bias = aligned_bias(np.asarray(b, dtype=np.int64), lf.bias_shift)
    return _exact(conv) + bias[None, :, None, None]


def thermal_values(lf, y, theta):
    """What the thermal layer ``lf`` hands on, from its neurons' outputs ``y`` and new heats
    ``theta`` (B, N), neurons in (h, w, c) order: ``y`` (read none), the reads
    :func:`sw.fixed.read_output` (read), or both interleaved, neuron n's output at value 2n
    and its read at 2n + 1 (B, 2N)."""
    if lf.read == "none":
        return y
    r = read_output(INT_OPS, lf.fp, theta)
    if lf.read == "read":
        return r
    return np.stack([y, r], axis=2).reshape(y.shape[0], -1)


def frame_step(net, params, x, state):
    """One event frame through the network.

    Parameters
    ----------
    net : sw.network.NetFixed
    params : sequence of (w, b)
        Integer weights and biases per layer, torch layouts.
    x : ndarray, (B, C, H, W) int
        Input integers (see :func:`quantise_frames`).
    state : NetState

    Returns
    -------
    FrameOut, NetState
    """
    accs, acts = [], []
    thetas = {}
    thermal = list(state.thermal)
    h = np.asarray(x, dtype=np.int64)
    for lf, (w, b) in zip(net.layers, params):
        acc = layer_accumulator(lf, h, w, b)
        if lf.activation == "thermal":
            j = len(thetas)                                           # its place among them
            batch, c, hh, ww = acc.shape
            flat = acc.transpose(0, 2, 3, 1).reshape(batch, -1)       # (h, w, c) order
            y, _, thermal[j] = reference.step(lf.fp, flat, thermal[j])
            h = thermal_values(lf, y, thermal[j].theta).reshape(batch, hh, ww, -1)
            h = h.transpose(0, 3, 1, 2)
            thetas[lf.index] = thermal[j].theta.reshape(batch, hh, ww, c).transpose(0, 3, 1, 2)
        else:
            h = requantise_output(INT_OPS, acc, lf.out_shift, lf.out_width, lf.out_signed)
        accs.append(acc)
        acts.append(h)
    logits = acts[-1].reshape(acts[-1].shape[0], -1)
    score = accumulate_score(INT_OPS, state.score, logits, net.score_width)
    label = np.argmax(score, axis=1)
    out = FrameOut(acc=tuple(accs), act=tuple(acts), thetas=thetas, score=score, label=label)
    return out, NetState(thermal=tuple(thermal), score=score)


def run_network(net, params, frames, keep=(), keep_theta=False, state=None):
    """Run sequences ``frames`` (B, T, C, H, W) of event counts from reset.

    ``keep`` names layer indices whose outputs are returned for every frame
    (they can be large); ``keep_theta`` keeps the thermal layers' heat.

    Returns
    -------
    NetTrace
    """
    x = quantise_frames(net, frames)
    batch, steps = x.shape[:2]
    state = initial_state(net, batch) if state is None else state
    acts = {k: [] for k in keep}
    thetas, logits, scores, labels = [], [], [], []
    for t in range(steps):
        out, state = frame_step(net, params, x[:, t], state)
        for k in keep:
            acts[k].append(out.act[k])
        if keep_theta:
            thetas.append(out.thetas)
        logits.append(out.act[-1].reshape(batch, -1))
        scores.append(out.score)
        labels.append(out.label)
    stack = lambda v: np.stack(v, axis=1)  # noqa: E731
    return NetTrace(
        act=tuple(stack(acts[k]) if k in acts else None for k in range(len(net.layers))),
        thetas={lf.index: stack([t[lf.index] for t in thetas]) for lf in net.thermals}
        if keep_theta else None,
        logits=stack(logits), score=stack(scores), label=stack(labels))


def predict(net, params, frames, batch=64):
    """Class of each sequence after its last frame, in batches (int64 array)."""
    out = []
    for k in range(0, len(frames), batch):
        out.append(run_network(net, params, frames[k:k + batch]).label[:, -1])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
