"""The derived network: every integer constant of each layer (:class:`LayerFixed`) and of the
whole network (:class:`NetFixed`), as :func:`sw.network.derive_network` computes them from a
description; re-exported by :mod:`sw.network`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LayerFixed", "NetFixed"]


@dataclass(frozen=True)
class LayerFixed:
    """Every integer constant of one layer (docs/network.md)."""
    index: int
    name: str
    kind: str
    activation: str
    in_shape: tuple          #: (C, H, W) of the input
    conv_shape: tuple        #: (C, H, W) before pooling
    out_shape: tuple         #: (C, H, W) of the output
    kernel: tuple            #: (kh, kw); a dense layer's kernel is its input's (H, W)
    stride: int
    padding: int
    pool: int
    pool_shift: int          #: log2(pool * pool): sum pooling is average pooling times 2**pool_shift
    x_width: int
    x_frac: int
    x_signed: bool
    w_width: int
    w_frac: int
    b_width: int
    b_frac: int
    bias_shift: int          #: acc gets b << bias_shift
    acc_width: int           #: holds every sum exactly
    out_width: int
    out_frac: int
    out_signed: bool
    out_shift: int           #: relu/none: out = sat(acc >> out_shift); thermal: unused (-1)
    fp: object = None        #: thermal: the neurons' FixedPoint; else None
    read: str = "none"       #: thermal: none (outputs), read (resistance reads) or both

    @property
    def per_neuron(self):
        """Values each output position and channel hands on: 2 with ``read: both`` (the
        neuron's output, then its read), else 1."""
        return 2 if self.read == "both" else 1

    @property
    def act_shape(self):
        """(C, H, W) of what the next layer takes: ``out_shape`` with ``per_neuron`` times
        the channels (``read: both`` interleaves them: channel 2c is neuron c's output,
        2c + 1 its read)."""
        c, h, w = self.out_shape
        return (c * self.per_neuron, h, w)

    @property
    def fan_in(self):
        """Products per output value before pooling: C_in * kh * kw."""
        return self.in_shape[0] * self.kernel[0] * self.kernel[1]

    @property
    def window(self):
        """Products per output value: fan_in * pool * pool."""
        return self.fan_in * self.pool * self.pool

    @property
    def macs(self):
        """Multiply-accumulates per frame (padding positions included)."""
        c, h, w = self.out_shape
        return c * h * w * self.window

    @property
    def neurons(self):
        """Output positions times channels: C * H * W of ``out_shape`` (the thermal neurons)."""
        c, h, w = self.out_shape
        return c * h * w

    @property
    def outputs(self):
        """Values the layer writes per frame: C * H * W of ``act_shape``."""
        c, h, w = self.act_shape
        return c * h * w

    @property
    def weight_shape(self):
        """The torch layout of the weights: (C_out, C_in, kh, kw) or (C_out, C_in*H*W)."""
        c_in, h, w = self.in_shape
        if self.kind == "dense":
            return (self.out_shape[0], c_in * h * w)
        return (self.out_shape[0], c_in, *self.kernel)


@dataclass(frozen=True)
class NetFixed:
    """A derived network: its layers, the thermal one, the head."""
    name: str
    input_width: int
    input_shape: tuple
    layers: tuple
    lanes: int
    classes: int
    score_width: int
    design: object           #: the design Config of the thermal neurons
    input_mode: str = "dense"   #: hardware.input: dense or events

    @property
    def thermal(self):
        """The first thermal layer (a LayerFixed): the network's only one, unless it is an
        all-MTJ network (:attr:`thermals`)."""
        return next(lf for lf in self.layers if lf.activation == "thermal")

    @property
    def thermals(self):
        """Every thermal layer, in layer order (a tuple of LayerFixed)."""
        return tuple(lf for lf in self.layers if lf.activation == "thermal")

    @property
    def macs(self):
        return sum(lf.macs for lf in self.layers)
