"""Post-training quantisation of IPNet's thermal layer into the design's integer formats.

The thermal layer's synapses (the convolution or dense stage at the chosen
depth, with IPNet's gain and offset folded in) become integer weights and
biases in the design's w and b formats. The layer's input becomes integers in
the x format, with one scale calibrated on training data (see
:func:`quantise_ipnet`). The neurons then
run on the integer reference (:func:`sw.reference.run_currents`): the same
arithmetic the hardware does. Their LUT outputs, as probabilities, feed the
rest of the network, which stays in float. The integer accuracy is printed
beside the float one.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ipnet_mtj.sw import reference
from ipnet_mtj.sw.fixed import quantise, sat_range

__all__ = ["QuantisedIPNet", "quantise_ipnet"]


def _thermal_stage(net):
    """The convolution or dense layer whose output feeds IPNet's thermal neurons."""
    bb = net.backbone
    return {1: bb.conv1, 2: bb.conv2, 3: bb.fc}[net.depth]


class QuantisedIPNet(torch.nn.Module):
    """An :class:`~sw.nets.models.IPNet` whose thermal layer runs in integers."""

    def __init__(self, net, x_scale):
        super().__init__()
        self.net, self.x_scale = net, x_scale
        fp = net.fp
        stage = _thermal_stage(net)
        to_acc = 2.0 ** (fp.i_frac + fp.i_shift)         # I_c0 -> accumulator LSB
        w_eff, b_eff = (t.detach().double() for t in net.folded(stage.weight, stage.bias))
        w_eff = w_eff / x_scale
        if net.depth == 2:       # fold the 2x2 average pooling into the weights: sum-pool below
            w_eff = w_eff / 4
        self.w_int = quantise(w_eff * to_acc, fp.w_width, 0)
        self.b_int = quantise(b_eff * to_acc / 2.0 ** fp.bias_shift, fp.b_width, 0)
        self.w_clipped = float(np.mean(np.abs(w_eff.numpy() * to_acc) > sat_range(fp.w_width, True)[1]))

    def _acc(self, h):
        """Exact integer accumulation of the thermal stage (float64 holds it exactly)."""
        fp, bb, depth = self.net.fp, self.net.backbone, self.net.depth
        lo, hi = sat_range(fp.x_width, True)
        x_int = np.clip(np.round(h.detach().double().numpy() * self.x_scale), lo, hi)
        w = torch.as_tensor(self.w_int, dtype=torch.float64)
        xt = torch.as_tensor(x_int)
        if depth == 1:
            acc = bb.frames(lambda v: F.conv2d(v, w, stride=2, padding=2), xt)
        elif depth == 2:
            acc = bb.frames(lambda v: bb.pool(F.conv2d(v, w, stride=2, padding=1)) * 4, xt)
        else:
            acc = bb.frames(lambda v: v.flatten(1) @ w.T, xt)
        bias = torch.as_tensor(self.b_int * (1 << fp.bias_shift), dtype=torch.float64)
        shape = (1, 1, -1) + (1,) * (acc.dim() - 3)
        return np.round((acc + bias.view(shape)).numpy()).astype(np.int64)

    @torch.no_grad()
    def forward(self, x):
        net, bb, fp = self.net, self.net.backbone, self.net.fp
        h = x
        for depth in (1, 2, 3):
            if depth == net.depth:
                # channels last: the hardware's neuron order, where neuron n of channel c is
                # device n mod K = c mod K (per-device time constants)
                acc = np.moveaxis(self._acc(h), 2, -1)
                y = np.moveaxis(reference.run_currents(fp, acc).y, -1, 2)
                h = torch.as_tensor(y / ((1 << fp.y_width) - 1), dtype=torch.float32)
            else:
                h = F.relu(bb.stage(depth, h))
        return net.head(bb.frames(bb.readout, h))


def _stage_input(net, x):
    bb = net.backbone
    with torch.no_grad():
        h = torch.as_tensor(x)
        for depth in range(1, net.depth):
            h = F.relu(bb.stage(depth, h))
    return h


def quantise_ipnet(net, x_train, calibration=64, candidates=25):
    """Calibrate the input scale on training data and build the integer model.

    The scale trades input saturation (too large) against weight saturation
    and input rounding (too small). Candidates span from "the stage input's
    maximum maps to the largest x code" down to "the largest weight maps to the
    largest w code" and beyond; the one whose integer currents are closest (mean
    squared error, in accumulator LSBs) to the float currents on ``calibration``
    training samples wins.
    """
    fp, bb = net.fp, net.backbone
    x = x_train[:calibration]
    h = _stage_input(net, x)
    with torch.no_grad():
        want = (net.current(bb.stage(net.depth, h)) * 2.0 ** (fp.i_frac + fp.i_shift)).double().numpy()
    x_hi, w_hi = sat_range(fp.x_width, True)[1], sat_range(fp.w_width, True)[1]
    stage = _thermal_stage(net)
    w_max = float(net.folded(stage.weight, stage.bias)[0].detach().abs().max()) / (4 if net.depth == 2 else 1)
    by_input = x_hi / max(float(h.max()), 1e-9)
    by_weight = w_max * 2.0 ** (fp.i_frac + fp.i_shift) / w_hi
    lo, hi = sorted((by_input, by_weight))
    best = None
    for scale in np.geomspace(lo / 4, hi * 4, candidates):
        q = QuantisedIPNet(net, float(scale))
        err = float(np.mean((q._acc(h) - want) ** 2))
        if best is None or err < best[0]:
            best = (err, q)
    return best[1]
