"""The trainable IPNet of a network description, in float or quantisation-aware mode.

:class:`DescribedIPNet` builds one torch layer per described layer and runs
every layer's arithmetic through the functions of :mod:`sw.fixed`, like the
integer reference and the hardware do, with a torch backend chosen by mode:

float
    ``TorchOps``: no rounding; weights, biases and activations keep the
    saturation ranges of their formats (the datapath with its rounding
    removed). The "float accuracy" of a network.
quantised (QAT)
    ``QatOps``: weights and biases rounded and saturated to their formats,
    every shift a floor, the thermal neurons' LUT read exactly; gradients pass
    straight through the roundings. On the integers it computes what the
    integer reference (:mod:`sw.netref`) computes, frame for frame (in float64
    where an accumulator is wider than float32 holds exactly; not in the
    stochastic output mode, whose spikes are Bernoulli samples here and LFSR
    draws in the integer model).

The thermal layer's current is ``gain * (conv(x) + b) + offset`` in units of
I_c0 (a learned gain and offset, so one network fits the device threshold);
they fold into the integer weights and biases (:meth:`effective`). An all-MTJ
network (several thermal layers) has a gain and offset per thermal layer.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ipnet_mtj.sw.fixed import (aligned_bias, neuron_thermals, quantise, requantise_output,
                                sat_range)
from ipnet_mtj.sw.model import QAT_OPS, TORCH_OPS, channels_first, round_ste, thermal_sequence

from .calibration import rate_shift

__all__ = ["DescribedIPNet"]


class DescribedIPNet(nn.Module):
    """An IPNet built from a :class:`sw.network.NetFixed`.

    Parameters
    ----------
    net : sw.network.NetFixed
    surrogate_width : float
        Width (I_c0) of the logistic whose gradient stands in for the switching curve's.
    """

    def __init__(self, net, surrogate_width=0.25):
        super().__init__()
        self.net, self.surrogate_width = net, surrogate_width
        self.quantised = False
        mods = []
        for lf in net.layers:
            c_in, h, w = lf.in_shape
            if lf.kind == "dense":
                mods.append(nn.Linear(c_in * h * w, lf.out_shape[0]))
            else:
                mods.append(nn.Conv2d(c_in, lf.out_shape[0], lf.kernel[0], stride=lf.stride,
                                      padding=lf.padding))
        self.layers = nn.ModuleList(mods)
        fp = net.thermal.fp
        self.gain = nn.Parameter(torch.tensor(1.0))
        self.offset = nn.Parameter(torch.tensor(fp.thr0 / 2 ** fp.i_frac))
        # an all-MTJ network's further thermal layers: a gain and offset each, by layer index
        self.extra_gain = nn.ParameterDict(
            {str(lf.index): nn.Parameter(torch.tensor(1.0)) for lf in net.thermals[1:]})
        self.extra_offset = nn.ParameterDict(
            {str(lf.index): nn.Parameter(torch.tensor(lf.fp.thr0 / 2 ** lf.fp.i_frac))
             for lf in net.thermals[1:]})
        # In quantised mode every sum must be exact: float32 is, while every accumulator fits
        # 25 bits (|acc| < 2**24); wider networks run their quantised forward in float64.
        self.exact_dtype = torch.float32 if all(lf.acc_width <= 25 for lf in net.layers) \
            else torch.float64

    # -- weights ----------------------------------------------------------------------------------

    def gain_offset(self, lf):
        """The gain and offset of thermal layer ``lf``: ``gain`` and ``offset`` for the first,
        ``extra_gain`` and ``extra_offset`` by layer index for an all-MTJ network's others."""
        if lf.index == self.net.thermal.index:
            return self.gain, self.offset
        return self.extra_gain[str(lf.index)], self.extra_offset[str(lf.index)]

    def effective(self, k):
        """Real weight and bias of layer ``k`` (thermal: gain and offset folded in)."""
        mod, lf = self.layers[k], self.net.layers[k]
        if lf.activation == "thermal":
            gain, offset = self.gain_offset(lf)
            return gain * mod.weight, gain * mod.bias + offset
        return mod.weight, mod.bias

    def _layer_integers(self, k):
        """Weight and bias of layer ``k`` in units of their LSBs, saturated to their formats;
        rounded (straight through) in quantised mode only."""
        lf = self.net.layers[k]
        w, b = self.effective(k)
        w, b = w * 2.0 ** lf.w_frac, b * 2.0 ** lf.b_frac
        if self.quantised:
            w, b = round_ste(w), round_ste(b)
        return w.clamp(*sat_range(lf.w_width, True)), b.clamp(*sat_range(lf.b_width, True))

    @torch.no_grad()
    def integer_params(self):
        """The integer weights and biases of every layer (numpy int64, torch layouts)."""
        out = []
        for k, lf in enumerate(self.net.layers):
            w, b = self.effective(k)
            out.append((quantise(w.double().numpy(), lf.w_width, lf.w_frac),
                        quantise(b.double().numpy(), lf.b_width, lf.b_frac)))
        return out

    @torch.no_grad()
    def saturation(self):
        """Per layer: the fraction of weights and of biases outside their formats' range."""
        out = {}
        for k, lf in enumerate(self.net.layers):
            w, b = self.effective(k)
            wl, wh = sat_range(lf.w_width, True)
            bl, bh = sat_range(lf.b_width, True)
            w, b = torch.round(w * 2.0 ** lf.w_frac), torch.round(b * 2.0 ** lf.b_frac)
            out[lf.name] = {"weights": float(((w < wl) | (w > wh)).float().mean()),
                            "biases": float(((b < bl) | (b > bh)).float().mean())}
        return out

    # -- forward ----------------------------------------------------------------------------------

    def frame_logits(self, x):
        """Per-frame logits (B, T, classes), real-valued, from event counts (B, T, C, H, W)."""
        return self._run(x)

    def _thermal_args(self, fp, shape, dtype):
        """(threshold offsets, per-neuron thermals) of a thermal layer of neuron ``shape``
        (C, H, W), in the hardware's (h, w, c) neuron order."""
        offset, thermals = None, None
        if fp.thr_offset:
            offset = channels_first(fp.thr_offset, shape).to(dtype)
        if fp.devices:
            thermals = tuple(channels_first(a, shape).to(dtype) for a in neuron_thermals(fp))
        return offset, thermals

    @torch.no_grad()
    def calibrate(self, x, spread=0.25, firing_rate=0.5):
        """Data-dependent start of every thermal layer's gain and offset, in layer order, on
        the event counts ``x`` (B, T, C, H, W), in float mode: the current
        ``gain * (conv(h) + b) + offset`` gets the ambient threshold as its mean and a standard
        deviation of ``spread`` I_c0 over ``x``, then one common shift of the offset
        (:func:`sw.nets.calibration.rate_shift`, within +-2 I_c0) makes the layer's mean output ``firing_rate`` (its heat
        included), each layer on what the layers before it give once they are calibrated.
        The benchmark IPNet's start (:meth:`sw.nets.ipnet.IPNet.calibrate_current`): without
        it a deep thermal layer's neurons start all silent or all switching, and training
        stays at chance. Only the initial values change. Returns [(gain, offset)] per thermal
        layer."""
        quantised, self.quantised = self.quantised, False
        out = []
        try:
            for lf in self.net.thermals:
                k, fp = lf.index, lf.fp
                mod = self.layers[k]
                h = self._run(x, stop=k)
                pre = (F.linear(h.flatten(1), mod.weight)[:, :, None, None] if lf.kind == "dense"
                       else F.conv2d(h, mod.weight, stride=lf.stride, padding=lf.padding))
                if lf.pool > 1:
                    pre = F.avg_pool2d(pre, lf.pool)
                pre = (pre + mod.bias[None, :, None, None]).reshape(x.shape[0], x.shape[1],
                                                                     *lf.out_shape)
                gain, offset = self.gain_offset(lf)
                std = pre.std().item()
                if std > 0:
                    gain.fill_(spread / std)
                offset.fill_(fp.thr0 / 2 ** fp.i_frac - gain.item() * pre.mean().item())
                args = self._thermal_args(fp, lf.out_shape, pre.dtype)
                lut = dataclasses.replace(fp, output="lut")   # bisected on the probability

                def mean_output(shift):
                    acc = (gain * pre + offset + shift) * 2.0 ** (lut.i_frac + lut.i_shift)
                    return thermal_sequence(lut, acc, offset=args[0], thermals=args[1]
                                            ).y.mean().item()
                offset.add_(rate_shift(mean_output, firing_rate))
                out.append((gain.item(), offset.item()))
        finally:
            self.quantised = quantised
        return out

    def _run(self, x, stop=None):
        """The forward pass; with ``stop``, the input (B*T, C, H, W) of layer ``stop`` instead
        of the logits."""
        net = self.net
        ops = QAT_OPS if self.quantised else TORCH_OPS
        b, t = x.shape[:2]
        lo, hi = sat_range(net.input_width, False)
        h = x.reshape(b * t, *x.shape[2:]).clamp(lo, hi)
        if self.quantised:
            h = torch.floor(h)
            if self.exact_dtype != h.dtype:     # float32 holds every sum only below 2**24
                h = h.to(self.exact_dtype)
        for k, lf in enumerate(net.layers):
            if k == stop:
                return h
            w, bias = (v.to(h.dtype) for v in self._layer_integers(k))   # float64 when exact
            xs = h * 2.0 ** lf.x_frac
            if lf.kind == "dense":
                acc = xs.flatten(1) @ w.T
                acc = acc[:, :, None, None]
            else:
                acc = F.conv2d(xs, w, stride=lf.stride, padding=lf.padding)
                if lf.pool > 1:
                    acc = F.avg_pool2d(acc, lf.pool) * (lf.pool * lf.pool)
            acc = acc + aligned_bias(bias, lf.bias_shift)[None, :, None, None]
            if lf.activation == "thermal":
                fp = lf.fp
                seq = acc.reshape(b, t, *acc.shape[1:])
                if self.quantised:
                    seq = seq.double()
                # the hardware's neuron order is (h, w, c)
                offset, thermals = self._thermal_args(fp, seq.shape[2:], seq.dtype)
                trace = thermal_sequence(fp, seq, surrogate_width=self.surrogate_width, ops=ops,
                                         offset=offset, thermals=thermals)
                y = trace.y
                if fp.output == "lut":      # the LUT word over 2**y_width: the next layer's input
                    y = y * (((1 << fp.y_width) - 1) / 2 ** fp.y_width)
                if lf.read != "none":       # the read on the same scale (sw.fixed.read_output)
                    r = trace.read * (((1 << fp.y_width) - 1) / 2 ** fp.y_width)
                    y = r if lf.read == "read" else torch.stack([y, r], 3).flatten(2, 3)
                y = y.to(h.dtype)
                h = y.reshape(b * t, *y.shape[2:])
            else:
                out = requantise_output(ops, acc, lf.out_shift, lf.out_width, lf.out_signed)
                h = out * 2.0 ** -lf.out_frac
        return h.reshape(b, t, -1).to(x.dtype)

    def forward(self, x):
        """Class logits (B, classes): the mean of the per-frame logits (the head's sum / T)."""
        return self.frame_logits(x).mean(1)

