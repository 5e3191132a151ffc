"""Top level of the network accelerator for FPGA synthesis: frames in, the class out, on pins.

The per-class logits and scores and the monitor are for simulation; the
label alone keeps the pin count within a UP5K SG48 package while every gate
stays in use (the label is the argmax of the scores, which sum the logits).
"""

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .framing import framed_layout
from .net_accel import NetAccelerator
from .net_event_walker import event_layout
from .ops import index_shape

__all__ = ["NetSynthTop"]


class NetSynthTop(wiring.Component):
    """:class:`~hw.net_accel.NetAccelerator` with one ``label`` beat per frame.

    Attributes
    ----------
    x : In(stream.Signature(framed_layout(unsigned(net.input_width))))
        or, with event input, In(stream.Signature(event_layout(net)))
    label : Out(stream.Signature(class index))
        The frame's class, on the beat of its last class.
    frame_error : Out(1)
    """

    def __init__(self, net, params):
        self._accel = NetAccelerator(net, params)
        super().__init__({
            "x": In(stream.Signature(event_layout(net) if net.input_mode == "events"
                                     else framed_layout(unsigned(net.input_width)))),
            "label": Out(stream.Signature(index_shape(net.classes))),
            "frame_error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.accel = accel = self._accel
        wiring.connect(m, wiring.flipped(self.x), accel.x)
        # Registered once more on its way to the pin: wired straight from the framer's flag,
        # Yosys 0.70's ABC9 (synth_ecp5) exits without a message on this design.
        m.d.sync += self.frame_error.eq(accel.frame_error)
        y = accel.y
        # Beats of the frame's other classes are taken at once; the last one waits for label.ready.
        m.d.comb += [
            self.label.valid.eq(y.valid & y.payload.last),
            self.label.payload.eq(y.payload.label),
            y.ready.eq(~y.payload.last | self.label.ready),
        ]
        return m
