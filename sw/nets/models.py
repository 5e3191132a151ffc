"""The compared models: identical backbone and readout, only the memory differs.

| name | memory |
|---|---|
| framesum | none: features of each frame, averaged over time by the readout |
| ipnet | MTJ thermal neurons replace the activation at one depth (default 1, the sensing frontier) |
| rnn, lstm, gru | a recurrent cell on the dense features (depth 3) |
| cnn2p1d | (2+1)D: each convolution followed by a causal temporal convolution (kernel 3) |
| cnn3d | 3D: both convolutions are causal spatio-temporal (kernel 3 in time) |
| resnet_lstm | a residual block after conv2, then an LSTM (the steering baseline) |

Every model maps (B, T, 2, H, W) to per-frame features (B, T, F) causally;
:class:`TaskHead` turns them into the task's output the same way for all.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .base import BackboneModel, TaskHead
from .ipnet import IPNet

__all__ = ["MODELS", "MATCHED", "build_model", "count_parameters", "matched_width", "TaskHead"]


class FrameSum(BackboneModel):
    def features(self, x):
        bb = self.backbone
        h = F.relu(bb.stage(1, x))
        h = F.relu(bb.stage(2, h))
        return F.relu(bb.stage(3, h))


class Recurrent(BackboneModel):
    def __init__(self, task, cell, **kw):
        super().__init__(task, **kw)
        f = self.backbone.features
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](f, f, batch_first=True)

    def frame_features(self, x):
        bb = self.backbone
        return F.relu(bb.stage(3, F.relu(bb.stage(2, F.relu(bb.stage(1, x))))))

    def features(self, x):
        return self.rnn(self.frame_features(x))[0]


class ResNetLSTM(Recurrent):
    def __init__(self, task, **kw):
        super().__init__(task, "lstm", **kw)
        c2 = self.backbone.channels[1]
        self.res = nn.Sequential(nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(), nn.Conv2d(c2, c2, 3, padding=1))

    def frame_features(self, x):
        bb = self.backbone
        h = F.relu(bb.stage(1, x))
        h = F.relu(bb.stage(2, h))
        h = F.relu(h + bb.frames(self.res, h))
        return F.relu(bb.stage(3, h))


class _CausalTime(nn.Module):
    """Temporal convolution over (B, T, C, H, W), causal: frame t sees t-k+1..t."""

    def __init__(self, channels, k=3):
        super().__init__()
        self.k = k
        self.conv = nn.Conv3d(channels, channels, (k, 1, 1))

    def forward(self, h):
        v = h.permute(0, 2, 1, 3, 4)                         # B, C, T, H, W
        v = F.pad(v, (0, 0, 0, 0, self.k - 1, 0))
        return self.conv(v).permute(0, 2, 1, 3, 4)


class CNN2p1D(BackboneModel):
    def __init__(self, task, **kw):
        super().__init__(task, **kw)
        c1, c2 = self.backbone.channels
        self.t1, self.t2 = _CausalTime(c1), _CausalTime(c2)

    def features(self, x):
        bb = self.backbone
        h = F.relu(self.t1(F.relu(bb.stage(1, x))))
        h = F.relu(self.t2(F.relu(bb.stage(2, h))))
        return F.relu(bb.stage(3, h))


class CNN3D(BackboneModel):
    """Both convolutions spatio-temporal: the backbone's 2-D kernels get a time axis of 3."""

    def __init__(self, task, k=3, **kw):
        super().__init__(task, **kw)
        bb = self.backbone
        c1, c2 = bb.channels
        self.k = k
        self.conv1 = nn.Conv3d(2, c1, (k, 5, 5), stride=(1, 2, 2), padding=(0, 2, 2))
        self.conv2 = nn.Conv3d(c1, c2, (k, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        del bb.conv1, bb.conv2                                # replaced, not kept unused

    def _conv(self, conv, h):
        v = F.pad(h.permute(0, 2, 1, 3, 4), (0, 0, 0, 0, self.k - 1, 0))
        return conv(v).permute(0, 2, 1, 3, 4)

    def features(self, x):
        bb = self.backbone
        h = F.relu(self._conv(self.conv1, x))
        h = F.relu(bb.frames(bb.pool, self._conv(self.conv2, h)))
        return F.relu(bb.stage(3, h))


MODELS = ("ipnet", "rnn", "lstm", "gru", "cnn2p1d", "cnn3d", "framesum", "resnet_lstm")


def build_model(name, task, fp=None, depth=1, **kw):
    """A model by name for ``task`` (sw.data.datasets.Task); ``fp`` is needed for ipnet."""
    if name == "ipnet":
        if fp is None:
            raise ValueError("ipnet needs the fixed-point design (fp) of its thermal neurons")
        return IPNet(task, fp, depth=depth, **kw)
    if name in ("rnn", "lstm", "gru"):
        return Recurrent(task, name, **kw)
    return {"cnn2p1d": CNN2p1D, "cnn3d": CNN3D, "framesum": FrameSum,
            "resnet_lstm": ResNetLSTM}[name](task, **kw)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


#: baselines trained at IPNet's parameter count: model name -> recurrent cell
MATCHED = {"lstm_matched": "lstm", "gru_matched": "gru"}


def matched_width(task, cell, budget, widest):
    """The feature width of a parameter-matched baseline: the widest in 1..``widest`` whose
    ``cell`` model on ``task`` has at most ``budget`` trainable parameters (IPNet's count), so
    the baseline never gets more parameters than IPNet; None when even width 1 has more."""
    fits = [f for f in range(1, widest + 1)
            if count_parameters(build_model(cell, task, features=f)) <= budget]
    return max(fits) if fits else None
