"""The class head: logits summed per class since reset, and the label of the largest score."""

from amaranth.hdl import Array, Module, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from sw.fixed import accumulate_score
from .ops import HW_OPS, index_shape

__all__ = ["NetHead", "logit_layout", "class_layout"]


def logit_layout(net):
    """One logit of the last layer: class index and value."""
    return data.StructLayout({
        "index": index_shape(net.classes),
        "logit": signed(net.layers[-1].out_width),
    })


def class_layout(net):
    """One beat of the accelerator's output: a class of a frame.

    Fields
    ------
    index : class index
    logit : this frame's logit of the class
    score : the class's logits summed since reset (saturating)
    label : first class of the largest score; valid on the frame's last beat
    last : 1 on the frame's last class
    """
    return data.StructLayout({
        "index": index_shape(net.classes),
        "logit": signed(net.layers[-1].out_width),
        "score": signed(net.score_width),
        "label": index_shape(net.classes),
        "last": 1,
    })


class NetHead(wiring.Component):
    """Scores and label from the logits of each frame, which arrive in class order.

    ``score[c] = accumulate_score(score[c], logit)`` (:mod:`sw.fixed`); the label
    scans the classes in order and keeps the first of the largest score
    (strictly greater replaces). Scores are 0 after reset.

    Pipeline (both stages stall while ``y`` is not taken): S1 score update;
    S2 label comparison, output register.

    Parameters
    ----------
    net : sw.network.NetFixed

    Attributes
    ----------
    logit : In(stream.Signature(logit_layout(net)))
    y : Out(stream.Signature(class_layout(net)))
    """

    def __init__(self, net):
        self.net = net
        super().__init__({
            "logit": In(stream.Signature(logit_layout(net))),
            "y": Out(stream.Signature(class_layout(net))),
        })

    def elaborate(self, platform):
        net = self.net
        m = Module()
        scores = [Signal(signed(net.score_width), name=f"score{c}") for c in range(net.classes)]
        index = self.logit.payload.index
        # read through a power-of-two array: a complete Verilog case (indices >= classes
        # never come)
        padded = Array(scores + scores[-1:] * ((1 << len(index)) - net.classes))

        stall = Signal()
        m.d.comb += [stall.eq(self.y.valid & ~self.y.ready), self.logit.ready.eq(~stall)]

        v1 = Signal()
        s1 = Signal(class_layout(net))
        new_score = Signal(signed(net.score_width))
        m.d.comb += new_score.eq(accumulate_score(HW_OPS, padded[index], self.logit.payload.logit,
                                                  net.score_width))

        best = Signal(signed(net.score_width))
        best_index = Signal(index_shape(net.classes))
        better = Signal()
        m.d.comb += better.eq((s1.index == 0) | (s1.score > best))

        with m.If(~stall):
            m.d.sync += [v1.eq(self.logit.valid), s1.index.eq(index),
                         s1.logit.eq(self.logit.payload.logit), s1.score.eq(new_score),
                         s1.last.eq(index == net.classes - 1)]
            for c, score in enumerate(scores):
                with m.If(self.logit.valid & (index == c)):
                    m.d.sync += score.eq(new_score)
            m.d.sync += [self.y.valid.eq(v1), self.y.payload.eq(s1)]
            with m.If(better):
                m.d.sync += self.y.payload.label.eq(s1.index)
            with m.Else():
                m.d.sync += self.y.payload.label.eq(best_index)
            with m.If(v1 & better):
                m.d.sync += [best.eq(s1.score), best_index.eq(s1.index)]
        return m
