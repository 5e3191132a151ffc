"""IPNet: MTJ thermal neurons in place of the activation at one or several depths of the shared
backbone, their switching probability (and, with a resistance read, their read) handed on."""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from ipnet_mtj.sw.device import switching_width
from ipnet_mtj.sw.fixed import neuron_thermals
from ipnet_mtj.sw.model import thermal_sequence

from .base import BackboneModel
from .calibration import rate_shift

__all__ = ["IPNet", "READS", "SURROGATE_PER_WIDTH", "SURROGATE_DEFAULT", "device_surrogate_width"]

#: what the stage after the thermal neurons takes: their outputs (switching probability,
#: spike), their resistance reads, or both (twice the channels)
READS = ("none", "read", "both")

#: ``surrogate_width: device``: the surrogate logistic's width is this many times the device
#: curve's 10-90 % width (docs/results-method.md, "The surrogate gradient")
SURROGATE_PER_WIDTH = 2.0
#: the surrogate width (I_c0) of an IPNet that sets none
SURROGATE_DEFAULT = 0.25


def device_surrogate_width(fp):
    """The surrogate width (I_c0) tied to the device: :data:`SURROGATE_PER_WIDTH` times the
    10-90 % width of the switching curve of ``fp``'s card (``sw.device.switching_width``)."""
    return SURROGATE_PER_WIDTH * switching_width(fp.delta0)


class IPNet(BackboneModel):
    """Thermal neurons at ``depth``: their switching probability replaces the ReLU there.

    The stage's pre-activation is the input current in units of I_c0 (times a
    learned gain, so that one network fits the device's threshold near 1).

    Design choices (the ablation of docs/results.md varies them one at a time):
    ``current`` ``shared`` (one gain and offset) or ``per_channel`` (one per channel: a
    per-channel normalisation of the current, folded into the weights and biases);
    ``surrogate_width`` (I_c0) of the logistic whose gradient stands in for the switching
    curve's, or ``"device"`` (:func:`device_surrogate_width`); ``heat_gradient`` ``full`` or
    ``cut`` (the heat carried to the next frame passes no gradient); ``train_spread`` sigma (I_c0) of a threshold offset per neuron drawn anew
    for every training batch (0: none); ``read`` what the next stage takes (:data:`READS`:
    the outputs, the resistance reads of a design with ``fixed_point.read_bits``, or both);
    ``thermal_depths`` the other stages whose activation is thermal too (all-MTJ: 1, 2, 3),
    each with one gain and offset of its own; device spread (``thr_offset``,
    ``thermal_override``) is then a dict {depth: value}, or the main stage's value alone.
    """

    def __init__(self, task, fp, depth=1, surrogate_width=SURROGATE_DEFAULT, current="shared",
                 heat_gradient="full", train_spread=0.0, read="none", thermal_depths=None,
                 **kw):
        super().__init__(task, **kw)
        if read not in READS:
            raise ValueError(f"read: must be one of {', '.join(READS)}, got {read!r}")
        if read != "none" and not fp.read_table:
            raise ValueError(f"read: {read} needs a design with a resistance read "
                             f"(fixed_point.read_bits)")
        self.read = read
        if surrogate_width == "device":
            surrogate_width = device_surrogate_width(fp)
        self.fp, self.depth, self.surrogate_width = fp, depth, surrogate_width
        extra = sorted(set(thermal_depths or ()) - {depth})
        if any(d not in (1, 2, 3) for d in extra):
            raise ValueError(f"thermal_depths: must hold depths 1, 2 or 3, got {thermal_depths!r}")
        self.depths = tuple(sorted({depth, *extra}))     #: every thermal stage; ``depth`` the main
        self.heat_gradient, self.train_spread = heat_gradient, train_spread
        if read == "both":      # the next stage takes the outputs and the reads
            self._widen_next_stage()
        if current not in ("shared", "per_channel"):
            raise ValueError(f"current: must be shared or per_channel, got {current!r}")
        for d in self.depths:
            channels = math.prod(self._channel_shape(d))
            if fp.devices and channels % len(fp.devices):
                raise ValueError(f"{len(fp.devices)} devices must divide the thermal layer's "
                                 f"{channels} channels (channel c is device c mod K)")
        shape = () if current == "shared" else self._channel_shape()
        self.gain = nn.Parameter(torch.ones(shape))
        self.offset = nn.Parameter(torch.full(shape, fp.thr0 / 2 ** fp.i_frac))
        # the other thermal stages (all-MTJ): one gain and offset each
        self.extra_gain = nn.ParameterDict({str(d): nn.Parameter(torch.ones(())) for d in extra})
        self.extra_offset = nn.ParameterDict({str(d): nn.Parameter(torch.tensor(
            fp.thr0 / 2 ** fp.i_frac)) for d in extra})
        self.probe = None       # set to a function to get (current, heat) of every call
        self.thr_offset = None  # device spread: each neuron's threshold offset (i LSBs)
        self.thermal_override = None  # thermal spread: each neuron's (alpha_mult, heat gain)

    def _widen_next_stage(self):
        """The stage after the thermal one with twice its inputs (outputs, then reads)."""
        bb = self.backbone
        c1, c2 = bb.channels
        if self.depth == 1:
            bb.conv2 = nn.Conv2d(2 * c1, c2, 3, stride=2, padding=1)
        elif self.depth == 2:
            bb.fc = nn.Linear(2 * 16 * c2, bb.features)
        else:
            bb.readout = nn.Linear(2 * bb.features, bb.readout.out_features)

    def _channel_shape(self, depth=None):
        """Per-channel values of the thermal stage at ``depth`` (default: the main one),
        broadcast over (B, T, C, H, W) or (B, T, F)."""
        c1, c2 = self.backbone.channels
        return {1: (c1, 1, 1), 2: (c2, 1, 1), 3: (self.backbone.features,)}[depth or self.depth]

    def _stage_value(self, value, depth):
        """A per-neuron override (device spread) for the stage at ``depth``: ``value`` itself
        for the main stage, or its entry when it is a dict {depth: value}."""
        if isinstance(value, dict):
            return value.get(depth)
        return value if depth == self.depth else None

    def folded(self, weight, bias):
        """The thermal stage's weight and bias with the gain and offset folded in (what the
        integer datapath holds): gain * weight, gain * bias + offset, per output channel."""
        channels = weight.shape[0]
        gain = self.gain.reshape(-1).expand(channels)
        offset = self.offset.reshape(-1).expand(channels)
        return gain.view(-1, *[1] * (weight.dim() - 1)) * weight, gain * bias + offset

    def channel_thermals(self, depth=None):
        """Per-device time constants: (alpha_mult, heat gain) per channel (channel c is device
        c mod K), shaped to broadcast over the thermal stage at ``depth`` (default: the main
        one); None with one device."""
        if not self.fp.devices:
            return None
        shape = self._channel_shape(depth)
        per_channel = dataclasses.replace(self.fp, neurons=math.prod(shape))
        return tuple(torch.as_tensor(v, dtype=torch.float32).view(shape)
                     for v in neuron_thermals(per_channel))

    def neuron_shape(self, size=32, depth=None):
        """Shape of the neurons of the thermal stage at ``depth`` (default: the main one) in
        one frame of ``size`` x ``size`` pixels: (C, H, W), or (features,)."""
        c1, c2 = self.backbone.channels
        half = (size + 1) // 2            # conv1: 5 x 5, stride 2, padding 2
        return {1: (c1, half, half), 2: (c2, 4, 4),
                3: (self.backbone.features,)}[depth or self.depth]

    def thermal_neurons(self, size=32):
        """Thermal neurons per frame, every stage (for the energy model)."""
        return sum(math.prod(self.neuron_shape(size, d)) for d in self.depths)

    def current(self, pre, depth=None):
        """Stage pre-activation -> current in units of I_c0 (the stage at ``depth``, default
        the main one)."""
        if depth is None or depth == self.depth:
            return self.gain * pre + self.offset
        return self.extra_gain[str(depth)] * pre + self.extra_offset[str(depth)]

    @torch.no_grad()
    def calibrate_current(self, x, spread=0.25, firing_rate=None):
        """Data-dependent initialisation (as LSUV, Mishkin & Matas 2016): set the gain and the
        offset so that over ``x`` the current has the mean of the threshold at ambient and a
        standard deviation of ``spread`` I_c0; returns (gain, offset).

        Without it a dense input can drive most currents to the format's limit, where the
        saturation passes no gradient and training stalls. Only the initial values change:
        gain and offset stay trained parameters and fold into the weights and biases as before.

        ``firing_rate`` (optional, in (0, 1)): then every offset is moved by one common shift,
        found by bisection, so that the thermal neurons' mean output over ``x``'s sequences is
        that rate. A current centred on the *ambient* threshold heats the junctions, their
        threshold falls, and after a few frames nearly every neuron switches whatever its
        input: the next layer then sees a near-constant input and its units die together
        (training stays at chance). The shift centres the current on the threshold the
        junctions actually have while they work.

        ``thermal_depths`` (all-MTJ): every later thermal stage gets the same start, with one
        gain and offset, on what the stages before it give (the main one calibrated first).
        Returns the main stage's (gain, offset).
        """
        bb, h = self.backbone, torch.as_tensor(x)
        out = None
        for depth in range(1, self.depths[-1] + 1):
            pre = bb.stage(depth, h)
            if depth == self.depth:
                out = self._calibrate_main(pre, spread, firing_rate)
            elif depth in self.depths:
                self._calibrate_shared(self.extra_gain[str(depth)], self.extra_offset[str(depth)],
                                       pre, spread, firing_rate, depth)
            if depth < self.depths[-1]:
                h = self._thermal(depth, pre, noise=False) if depth in self.depths else F.relu(pre)
        return out

    def _calibrate_main(self, pre, spread, firing_rate):
        thr0 = self.fp.thr0 / 2 ** self.fp.i_frac
        if self.gain.dim():             # per channel: statistics over all but the channel axis
            dims = [d for d in range(pre.dim()) if d != 2]
            mean, std = (v.view(self.gain.shape) for v in (pre.mean(dims), pre.std(dims)))
            self.gain.copy_(torch.where(std > 0, spread / std.clamp(min=1e-30), self.gain))
            self.offset.copy_(thr0 - self.gain * mean)
            if firing_rate is not None:
                self.offset.add_(self._rate_shift(pre, firing_rate))
            return self.gain.clone(), self.offset.clone()
        self._calibrate_shared(self.gain, self.offset, pre, spread, firing_rate)
        return self.gain.item(), self.offset.item()

    def _calibrate_shared(self, gain, offset, pre, spread, firing_rate, depth=None):
        """One gain and offset of the stage at ``depth``: the current over ``pre`` has mean
        thr0 and standard deviation ``spread``, then the shift to ``firing_rate``."""
        std = pre.std().item()
        if std > 0:
            gain.fill_(spread / std)
        offset.fill_(self.fp.thr0 / 2 ** self.fp.i_frac - gain.item() * pre.mean().item())
        if firing_rate is not None:
            offset.add_(self._rate_shift(pre, firing_rate, depth))

    def _rate_shift(self, pre, rate, depth=None):
        """The common shift of the current (I_c0) at which the thermal neurons' (of the stage
        at ``depth``, default the main one) mean switching probability over the sequences of
        ``pre`` is ``rate`` (:func:`sw.nets.calibration.rate_shift`)."""
        fp = dataclasses.replace(self.fp, output="lut")

        def mean_output(shift):
            acc = (self.current(pre, depth) + shift) * 2.0 ** (fp.i_frac + fp.i_shift)
            return thermal_sequence(fp, acc, thermals=self.channel_thermals(depth)).y.mean().item()
        return rate_shift(mean_output, rate)

    def _thermal(self, depth, pre, noise=True):
        """The thermal stage at ``depth`` on its pre-activation: what the next stage takes
        (the main stage: its outputs, reads or both, :data:`READS`; another: its outputs).
        ``noise``: a training model with ``train_spread`` draws a new chip."""
        fp = self.fp
        current = self.current(pre, depth)
        acc = current * 2.0 ** (fp.i_frac + fp.i_shift)
        offset = self._stage_value(self.thr_offset, depth)
        if noise and self.training and self.train_spread:     # a new chip for every batch
            offset = torch.round(torch.randn(acc.shape[2:]) * self.train_spread
                                 * 2.0 ** fp.i_frac)
        thermals = self._stage_value(self.thermal_override, depth)
        trace = thermal_sequence(fp, acc, surrogate_width=self.surrogate_width,
                                 offset=offset, heat_gradient=self.heat_gradient,
                                 thermals=thermals if thermals is not None
                                 else self.channel_thermals(depth))
        if self.probe is not None:
            self.probe(current.detach(), trace.theta.detach())
        if depth != self.depth or self.read == "none":
            return trace.y
        if self.read == "read":
            return trace.read
        return torch.cat([trace.y, trace.read], 2)

    def features(self, x):
        bb = self.backbone
        h = x
        for depth in (1, 2, 3):
            pre = bb.stage(depth, h)
            h = self._thermal(depth, pre) if depth in self.depths else F.relu(pre)
        return h
