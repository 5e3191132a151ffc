"""The class head: logits summed per class since reset, and the label of the largest score."""

from amaranth.hdl import Array, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ipnet_mtj.sw.fixed import accumulate_score
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

    Pipeline (every stage stalls while ``y`` is not taken; a skid register in front
    takes the logit that arrives meanwhile): S0 input register; S1 score read; S2 score
    sum; S3 score register written, label comparison, output register.

    Parameters
    ----------
    net : sw.network.NetFixed

    Raises
    ------
    ValueError
        When the network has one class only.

    Attributes
    ----------
    logit : In(stream.Signature(logit_layout(net)))
    y : Out(stream.Signature(class_layout(net)))
    """

    def __init__(self, net):
        if net.classes < 2:
            raise ValueError(f"the class head needs two classes at least, not {net.classes}")
        self.net = net
        super().__init__({
            "logit": In(stream.Signature(logit_layout(net))),
            "y": Out(stream.Signature(class_layout(net))),
        })

    def elaborate(self, platform):
        net = self.net
        m = Module()
        scores = [Signal(signed(net.score_width), name=f"score{c}") for c in range(net.classes)]

        stall = Signal()
        m.d.comb += stall.eq(self.y.valid & ~self.y.ready)

        # S0 registers the input, so the score update starts from flip-flops rather than
        # from the post-processing's output multiplexer. A skid register in front makes
        # ``logit.ready`` a register too: ``y.ready`` does not reach back through the
        # handshake into the post-processing and the neuron unit.
        held = Signal()
        held_logit = Signal(logit_layout(net))
        m.d.comb += self.logit.ready.eq(~held)
        with m.If(stall & ~held & self.logit.valid):
            m.d.sync += [held.eq(1), held_logit.eq(self.logit.payload)]
        valid = Signal()
        incoming = Signal(logit_layout(net))
        m.d.comb += [valid.eq(held | self.logit.valid),
                     incoming.eq(Mux(held, held_logit, self.logit.payload))]
        # read through a power-of-two array: a complete Verilog case (indices >= classes
        # never come)
        padded = Array(scores + scores[-1:] * ((1 << len(incoming.index)) - net.classes))

        # S0 registers the input only: the class's score is read from that register in S1,
        # so the post-processing's output multiplexer and the held logit's multiplexer stay
        # off the read's path (together they limited the UP5K network to 36 MHz).
        v0 = Signal()
        logit = Signal(logit_layout(net))

        # S1 reads the class's score, so that S2 holds only the saturating adder, which
        # drives s2 alone: the class's score register takes s2's score a cycle later. S1's
        # read takes s2's score when s2 holds the class (the logit two before); the logit
        # just before is another class (the constructor asks for two classes at least).
        v1 = Signal()
        logit1 = Signal(logit_layout(net))
        score1 = Signal(signed(net.score_width))

        v2 = Signal()
        s2 = Signal(class_layout(net))
        new_score = Signal(signed(net.score_width))
        m.d.comb += new_score.eq(accumulate_score(HW_OPS, score1,
                                                  logit1.logit, net.score_width))
        best = Signal(signed(net.score_width))
        best_index = Signal(index_shape(net.classes))
        better = Signal()
        m.d.comb += better.eq((s2.index == 0) | (s2.score > best))

        with m.If(~stall):
            m.d.sync += [held.eq(0), v0.eq(valid), logit.eq(incoming)]
            m.d.sync += [v1.eq(v0), logit1.eq(logit),
                         score1.eq(Mux(v2 & (s2.index == logit.index), s2.score,
                                       padded[logit.index]))]
            m.d.sync += [v2.eq(v1), s2.index.eq(logit1.index),
                         s2.logit.eq(logit1.logit), s2.score.eq(new_score),
                         s2.last.eq(logit1.index == net.classes - 1)]
            for c, score in enumerate(scores):
                with m.If(v2 & (s2.index == c)):
                    m.d.sync += score.eq(s2.score)
            m.d.sync += [self.y.valid.eq(v2), self.y.payload.eq(s2)]
            with m.If(better):
                m.d.sync += self.y.payload.label.eq(s2.index)
            with m.Else():
                m.d.sync += self.y.payload.label.eq(best_index)
            with m.If(v2 & better):
                m.d.sync += [best.eq(s2.score), best_index.eq(s2.index)]
        return m
