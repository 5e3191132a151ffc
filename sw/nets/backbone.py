"""The backbone every model shares: two convolutions, pooling, a dense layer, a readout.

Stages (per frame of 2 x 32 x 32 event counts):

    depth 1: conv 2->c1, 5x5, stride 2        -> c1 x 16 x 16
    depth 2: conv c1->c2, 3x3, stride 2       -> c2 x 8 x 8, pooled to c2 x 4 x 4
    depth 3: dense 16*c2 -> features
    readout: dense features -> task outputs

A memory is inserted after one depth. Frame-wise stages run on all T frames
at once as a batch of B*T images.
"""

from torch import nn

__all__ = ["Backbone", "CHANNELS"]

CHANNELS = (8, 16)     #: output channels of conv1 and conv2


class Backbone(nn.Module):
    def __init__(self, channels=CHANNELS, features=64, outputs=10, in_channels=2):
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(in_channels, c1, 5, stride=2, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.fc = nn.Linear(16 * c2, features)
        self.readout = nn.Linear(features, outputs)
        self.channels, self.features = channels, features

    @staticmethod
    def frames(fn, x):
        """Apply a frame-wise ``fn`` to (B, T, ...) by folding T into the batch."""
        b, t = x.shape[:2]
        y = fn(x.reshape(b * t, *x.shape[2:]))
        return y.reshape(b, t, *y.shape[1:])

    def stage(self, depth, x):
        """Pre-activation of stage ``depth`` (1, 2, 3) from the previous stage's output."""
        if depth == 1:
            return self.frames(self.conv1, x)
        if depth == 2:
            return self.frames(lambda v: self.pool(self.conv2(v)), x)
        return self.frames(lambda v: self.fc(v.flatten(1)), x)
