"""What every compared model shares: the backbone (:mod:`.backbone`) and the task's readout."""

from __future__ import annotations

from torch import nn

from .backbone import CHANNELS, Backbone

__all__ = ["TaskHead", "BackboneModel"]


class TaskHead(nn.Module):
    """Readout shared by all models: mean over time (class), last frame (point, multilabel),
    every frame (sequence, binary_sequence)."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, per_frame):
        if self.kind == "class":
            return per_frame.mean(1)
        if self.kind in ("point", "multilabel"):
            return per_frame[:, -1]
        return per_frame.squeeze(-1)


class BackboneModel(nn.Module):
    """The shared backbone and readout; a subclass gives :meth:`features`, its memory."""

    def __init__(self, task, features=64, channels=CHANNELS):
        super().__init__()
        self.backbone = Backbone(channels, features, task.outputs)
        self.head = TaskHead(task.kind)

    def features(self, x):
        raise NotImplementedError

    def forward(self, x):
        return self.head(self.backbone.frames(self.backbone.readout, self.features(x)))
