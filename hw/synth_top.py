"""Top level for FPGA synthesis: the layer's two streams on pins, no debug port.

The state monitor is for simulation; leaving it out keeps the pin count
within a UP5K SG48 package (39 I/O) while every gate of the layer stays in
use (the heat feeds the threshold, so nothing can be optimised away).
"""

from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .framing import framed_layout
from .layer import IPLayer

__all__ = ["SynthTop"]


class SynthTop(wiring.Component):
    """:class:`~hw.layer.IPLayer` without its ``state`` monitor."""

    def __init__(self, fp, weights, biases):
        self._layer = IPLayer(fp, weights, biases)
        super().__init__({
            "x": In(stream.Signature(framed_layout(signed(fp.x_width)))),
            "y": Out(stream.Signature(framed_layout(unsigned(fp.y_out_width)))),
            "step_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.layer = layer = self._layer
        wiring.connect(m, wiring.flipped(self.x), layer.x)
        wiring.connect(m, layer.y, wiring.flipped(self.y))
        m.d.comb += self.step_error.eq(layer.step_error)
        return m
