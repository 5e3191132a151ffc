"""Float PyTorch model of the IP layer: differentiable, batched over sequences.

It evaluates the very functions of :mod:`sw.fixed` with a torch backend in
which shifts are exact divisions and saturations are clamps: the integer
datapath with its rounding removed. So it agrees with the integer reference
within :func:`float_error_bound` (derived in docs/fixed-point.md), and a
network trained with it maps onto the hardware by rounding its weights.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .device import switching_probability
from .fixed import (HEAT_GAIN_FRAC, bias_term, cool, joule_heat, neuron_thermals, preactivation,
                    read, requantise, sat_range, threshold, warm)

__all__ = ["TorchOps", "TORCH_OPS", "QatOps", "QAT_OPS", "round_ste", "ThermalLayer", "FloatTrace",
           "float_error_bound", "spike_surrogate", "thermal_sequence"]


class TorchOps:
    """Real-valued backend: no rounding; saturation clamps to the same integer range; a
    table is read at a real-valued index by linear interpolation between its entries."""

    exact = False       #: QatOps: floors like the integer datapath

    @staticmethod
    def sat(x, width, signed):
        return x.clamp(*sat_range(width, signed))

    @staticmethod
    def sat_between(x, lo, hi, width, signed):
        return x.clamp(lo, hi)

    @staticmethod
    def lookup(table, index):
        """table[index] where the index is an integer (as with QatOps' floors: the entry
        itself), else the straight line between the two entries around it; the gradient
        with respect to the index is the slope of that segment either way."""
        t = torch.as_tensor(table, dtype=index.dtype, device=index.device)
        x = index.clamp(0, len(table) - 1)
        k = torch.floor(x.detach()).clamp(max=max(len(table) - 2, 0)).long()
        lower = t[k]
        upper = t[(k + 1).clamp(max=len(table) - 1)]
        return lower + (upper - lower) * (x - k.to(x.dtype))

    @staticmethod
    def shr(x, k):
        return x * 2.0 ** -k

    shr_ceil = shr


TORCH_OPS = TorchOps()


class _FloorSTE(torch.autograd.Function):
    """floor forward, identity gradient (straight-through)."""

    @staticmethod
    def forward(ctx, x):
        return torch.floor(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


class _RoundSTE(torch.autograd.Function):
    """round-half-to-even forward (as numpy's), identity gradient (straight-through)."""

    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def round_ste(x):
    """Round to the nearest integer (ties to even), with a straight-through gradient."""
    return _RoundSTE.apply(x)


class QatOps(TorchOps):
    """Quantisation-aware backend: the integer datapath's floors and clamps, evaluated on
    float tensors holding integers, with straight-through gradients. On values that float64
    holds exactly it computes what :class:`sw.fixed.IntOps` computes."""

    exact = True

    @staticmethod
    def shr(x, k):
        return _FloorSTE.apply(x * 2.0 ** -k)

    @staticmethod
    def shr_ceil(x, k):
        return -_FloorSTE.apply(-x * 2.0 ** -k)


QAT_OPS = QatOps()


class _Spike(torch.autograd.Function):
    """Heaviside forward, fast-sigmoid surrogate gradient backward."""

    @staticmethod
    def forward(ctx, z, scale):
        ctx.save_for_backward(z)
        ctx.scale = scale
        return (z >= 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad / (1.0 + ctx.scale * z.abs()) ** 2, None


def spike_surrogate(z, scale=10.0):
    """1 where z >= 0, with gradient 1/(1 + scale |z|)**2."""
    return _Spike.apply(z, scale)


@dataclass
class FloatTrace:
    """Outputs of :meth:`ThermalLayer.forward`, each (B, T, N), in real units."""
    y: torch.Tensor       #: probability (lut), spike (spike, stochastic)
    theta: torch.Tensor   #: heat after the step, heat units
    z: torch.Tensor       #: pre-activation, units of I_c0
    read: torch.Tensor = None  #: resistance read, its code / (2**read_bits - 1) in [0, 1]; None without


class ThermalLayer(nn.Module):
    """Synapses W x + b followed by N MTJ thermal neurons.

    Parameters
    ----------
    fp : sw.fixed.FixedPoint
        The design; its constants and ranges are used unrounded.
    weight, bias : Tensor, optional
        Real-valued (N, M) and (N,). Default: zeros.
    """

    def __init__(self, fp, weight=None, bias=None, dtype=torch.float32):
        super().__init__()
        self.fp = fp
        n, m = fp.neurons, fp.inputs
        self.weight = nn.Parameter(torch.zeros(n, m, dtype=dtype) if weight is None
                                   else torch.as_tensor(weight, dtype=dtype).clone())
        self.bias = nn.Parameter(torch.zeros(n, dtype=dtype) if bias is None
                                 else torch.as_tensor(bias, dtype=dtype).clone())

    @classmethod
    def from_integers(cls, fp, weights, biases, dtype=torch.float64):
        """The float layer whose real weights are exactly the integer ones."""
        w = torch.as_tensor(weights, dtype=dtype) * 2.0 ** -fp.w_frac
        b = torch.as_tensor(biases, dtype=dtype) * 2.0 ** -fp.b_frac
        return cls(fp, w, b, dtype=dtype)

    def forward(self, x, generator=None):
        """Run sequences ``x`` (B, T, M), real-valued, from ambient temperature.

        In stochastic mode the spike is a Bernoulli sample of the switching
        probability with a straight-through gradient (``generator`` seeds it).
        """
        fp, ops = self.fp, TORCH_OPS
        acc = (x * 2.0 ** fp.x_frac) @ (self.weight * 2.0 ** fp.w_frac).T \
            + bias_term(ops, fp, self.bias * 2.0 ** fp.b_frac)
        return thermal_sequence(fp, acc, generator=generator)


class _Switch(torch.autograd.Function):
    """Forward: the device's switching curve f(z). Backward: a logistic of width ``width``.

    f is as steep as the device (width ~1/delta0 of I_c0); its exact gradient
    vanishes a few hundredths of I_c0 away from threshold. Training uses the
    softer surrogate; the forward value is the one the hardware computes.
    """

    @staticmethod
    def forward(ctx, z, delta0, width):
        ctx.save_for_backward(z)
        ctx.width = width
        return switching_probability(z, delta0, torch)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        s = torch.sigmoid(z / ctx.width)
        return grad * s * (1 - s) / ctx.width, None, None


def channels_first(values, shape):
    """Per-neuron values in the hardware's neuron order (channels last: (h, w, c)) as a float32
    tensor of the torch layout ``shape`` ((C, H, W), or any shape of fewer axes as is)."""
    out = torch.as_tensor(np.asarray(values), dtype=torch.float32)
    if len(shape) == 3:
        c, h, w = shape
        return out.view(h, w, c).permute(2, 0, 1).contiguous()
    return out.view(shape)


def thermal_sequence(fp, acc, generator=None, surrogate_width=None, ops=TORCH_OPS, offset=None,
                     heat_gradient="full", thermals=None):
    """The thermal neurons over time, for currents of any shape.

    Parameters
    ----------
    fp : sw.fixed.FixedPoint
    acc : Tensor, (B, T, ...)
        Accumulated input current in accumulator LSBs (real-valued); a current
        I in units of I_c0 is ``I * 2**(i_frac + i_shift)``.
    surrogate_width : float, optional
        If given, the LUT output's gradient is that of a logistic of this
        width (units of I_c0), and spikes use the fast-sigmoid surrogate.
    ops : TorchOps or QatOps
        ``QAT_OPS`` floors like the hardware (straight-through gradients), and the
        lut output's forward value is then the LUT word itself, ``LUT[z] / (2**y_width - 1)``:
        with float64 currents this is the integer neuron. Default: no rounding.
    offset : Tensor, optional
        Device spread: each neuron's threshold offset in i LSBs, shaped like ``acc[0, 0]``
        (or broadcastable to it). Default: the design's own offsets (``fp.thr_offset``, in
        the C order of the trailing axes), or none.
    heat_gradient : str
        ``full``, or ``cut``: the heat carried to the next step passes no gradient (the
        forward values are the same).
    thermals : (Tensor, Tensor), optional
        Per-device time constants: each neuron's alpha_mult and heat gain, shaped like
        ``acc[0, 0]`` (or broadcastable). Default: the design's (neuron n is device n mod K
        in the C order of the trailing axes), or none.

    Returns
    -------
    FloatTrace
        With a resistance read (``fp.read_table``), ``read`` is each step's code of the new
        heat (:func:`sw.fixed.read`) over 2**read_bits - 1: exactly the table's word with
        ``QAT_OPS``; without rounding, the table's straight line at the real-valued address,
        rounded to a code (straight-through gradient: the line's slope).
    """
    exact = ops.exact
    if exact:
        lut = torch.as_tensor(fp.lut, dtype=acc.dtype, device=acc.device) / ((1 << fp.y_width) - 1)
    theta = torch.zeros_like(acc[:, 0])
    if offset is None and fp.thr_offset:
        if len(fp.thr_offset) != theta[0].numel():
            raise ValueError(f"the design draws threshold offsets for {len(fp.thr_offset)} "
                             f"neurons, the currents have {theta[0].numel()}")
        offset = torch.as_tensor(fp.thr_offset, dtype=acc.dtype).view(theta.shape[1:])
    if thermals is None and fp.devices:
        if fp.per_neuron and len(fp.devices) != theta[0].numel():
            raise ValueError(f"the design draws its junctions for {len(fp.devices)} neurons, "
                             f"the currents have {theta[0].numel()}")
        per = [torch.as_tensor(a, dtype=acc.dtype).view(theta.shape[1:])
               for a in neuron_thermals(dataclasses.replace(fp, neurons=theta[0].numel()))]
        thermals = tuple(per)
    alpha, gain = thermals if thermals is not None else (None, None)
    ys, thetas, zs, reads = [], [], [], []
    for t in range(acc.shape[1]):
        i = requantise(ops, fp, acc[:, t])
        heat = joule_heat(ops, fp, i, gain)
        z_lsb = preactivation(ops, fp, i, threshold(ops, fp, theta, offset))
        z = z_lsb * 2.0 ** -fp.i_frac
        if surrogate_width is None:
            p = switching_probability(z, fp.delta0, torch)
        else:
            p = _Switch.apply(z, fp.delta0, surrogate_width)
        if exact:
            word = lut[(z_lsb.detach() + (1 << (fp.z_width - 1))).long()]
            p = p + (word - p).detach()
        if fp.output == "lut":
            y = p
        elif fp.output == "spike":
            y = spike_surrogate(z, 1.0 / (surrogate_width or 0.1))
        else:
            y = torch.bernoulli(p.detach(), generator=generator) + p - p.detach()
        theta = warm(ops, fp, cool(ops, fp, theta, alpha), heat)
        if fp.read_table:       # the code of the new heat; the float model rounds its line
            code = read(ops, fp, theta)
            reads.append((code if exact else round_ste(code)) / ((1 << fp.read_bits) - 1))
        if heat_gradient == "cut":
            theta = theta.detach()
        ys.append(y)
        zs.append(z)
        thetas.append(theta * 2.0 ** -fp.theta_frac)
    return FloatTrace(y=torch.stack(ys, 1), theta=torch.stack(thetas, 1), z=torch.stack(zs, 1),
                      read=torch.stack(reads, 1) if reads else None)


def float_error_bound(fp):
    """Worst-case |float - integer| after any number of steps, in real units.

    Returns
    -------
    dict
        ``theta`` (heat units), ``z`` (units of I_c0) and ``y`` (probability,
        lut mode); with a resistance read, ``read`` (codes). The derivation is in
        docs/fixed-point.md.
    """
    e_i = 1.0
    g_max = max(g for _, g in fp.devices) / 2 ** HEAT_GAIN_FRAC if fp.devices else 1.0
    e_h = e_i * 2 ** fp.i_width / 2 ** fp.heat_shift * g_max + 1.0
    e_theta = (1.0 + e_h) / (1.0 - fp.alpha)
    if fp.threshold == "table":      # |interp(x_f) - THR[floor(x_i)]| <= L (|x_f - x_i| + 1)
        steps = [abs(a - b) for a, b in zip(fp.thr_table, fp.thr_table[1:])] or [0]
        e_thr = max(steps) * (e_theta / 2 ** fp.thr_shift + 1.0)
    else:
        e_thr = fp.gamma * e_theta / 2 ** fp.gamma_shift + 1.0
    e_z = e_i + e_thr
    slope = fp.delta0 / math.e    # max of f'(z)
    e_y = slope * e_z * 2.0 ** -fp.i_frac + 0.5 / ((1 << fp.y_width) - 1)
    out = {"theta": e_theta * 2.0 ** -fp.theta_frac, "z": e_z * 2.0 ** -fp.i_frac, "y": e_y}
    if fp.read_table:   # |round(interp(x_f)) - READ[floor(x_i)]| <= L (|x_f - x_i| + 1) + 1/2
        steps = [abs(a - b) for a, b in zip(fp.read_table, fp.read_table[1:])] or [0]
        out["read"] = max(steps) * (e_theta / 2 ** fp.read_shift + 1.0) + 0.5
    return out
