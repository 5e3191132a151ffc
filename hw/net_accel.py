"""The accelerator of a whole IPNet: input buffer, time-shared MAC engine, post-processing, head."""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .framing import StepFramer, framed_layout
from .net_engine import NetEngine, rom_images
from .net_event_walker import event_layout
from .net_head import NetHead, class_layout
from .net_input import InputBuffer
from .net_plan import NetPlan
from .net_post import NetPost
from .net_walker import switch_cases
from .ops import index_shape

__all__ = ["NetAccelerator", "NetMonitorSignature"]


class NetMonitorSignature(wiring.Signature):
    """Debug readback: strobes once per output value of any layer.

    Members
    -------
    valid : Out(1)
        A value is written (or, for the last layer, handed to the class head) this cycle.
    layer : Out(layer index)
    index : Out(word index)
        Channels-last index ``(h*W + w)*C + c`` within the layer's output.
    value : Out(unsigned)
        The activation, thermal output or logit, as bits (zero-extended).
    theta : Out(unsigned(theta_width))
        The thermal neuron's heat after this frame (thermal layers only; the widest
        thermal layer's ``theta_width``).
    """

    def __init__(self, plan):
        super().__init__({
            "valid": Out(1),
            "layer": Out(index_shape(plan.n_layers)),
            "index": Out(index_shape(plan.max_outputs)),
            "value": Out(unsigned(plan.value_width)),
            "theta": Out(unsigned(plan.theta_width)),
        })


class NetAccelerator(wiring.Component):
    """A trained IPNet, frame by frame, bit-exact with :func:`sw.netref.frame_step`.

    Input frames arrive on ``x``, C*H*W beats each in channels-last order
    (word ``(h*W + w)*C + c``), already quantised, ``last`` set on the frame's
    final beat. A frame is computed once all its beats are in; the next frame
    is received meanwhile into the other bank of the input buffer. ``y`` gives
    one beat per class per frame, in class order; the frame's label is on its
    last beat, which has ``last`` set. A frame of the wrong length raises
    ``frame_error`` (sticky until reset) and is padded with zeros or cut
    (:class:`~hw.framing.StepFramer`), so later frames stay aligned.
    Synchronous reset returns every neuron to ambient (the neuron unit then
    clears its heat RAM), every score to 0, and drops a partly received frame.

    With ``hardware.input: events`` (``net.input_mode``), ``x`` carries only a frame's
    non-zero words (:func:`hw.net_event_walker.event_layout`), in address order, ``last``
    on the frame's final beat, and the first layer's cost follows the events
    (:class:`hw.net_event_walker.EventWalker`); ``frame_error`` then flags a dropped event.
    The values are the same.

    Parameters
    ----------
    net : sw.network.NetFixed
    params : sequence of (w, b)
        Integer weights and biases per layer, torch layouts.

    Attributes
    ----------
    x : In(stream.Signature(framed_layout(unsigned(net.input_width))))
        or, with event input, In(stream.Signature(event_layout(net)))
    y : Out(stream.Signature(class_layout(net)))
    frame_error : Out(1)
    monitor : Out(NetMonitorSignature(plan))
    """

    def __init__(self, net, params):
        self.net = net
        self._params = params
        self.plan = plan = NetPlan(net)
        rom_images(net, params)         # checks the parameters now rather than at elaboration
        super().__init__({
            "x": In(stream.Signature(event_layout(net) if plan.events
                                     else framed_layout(unsigned(net.input_width)))),
            "y": Out(stream.Signature(class_layout(net))),
            "frame_error": Out(1),
            "monitor": Out(NetMonitorSignature(plan)),
        })

    def elaborate(self, platform):
        plan = self.plan
        m = Module()
        m.submodules.engine = engine = NetEngine(self.net, self._params)
        m.submodules.post = post = NetPost(plan, overlap=plan.events)
        m.submodules.head = head = NetHead(self.net)
        m.submodules.act = act = Memory(shape=unsigned(plan.act_width), depth=plan.act_depth,
                                        init=[])
        act_wr = act.write_port()

        if plan.events:
            wiring.connect(m, wiring.flipped(self.x), engine.events)
            m.d.comb += self.frame_error.eq(engine.frame_error)
        else:
            m.submodules.framer = framer = StepFramer(unsigned(plan.in_width), plan.in_words)
            m.submodules.inbuf = inbuf = InputBuffer(plan.in_words, plan.in_width)
            wiring.connect(m, wiring.flipped(self.x), framer.i)
            wiring.connect(m, framer.o, inbuf.x)
            m.d.comb += self.frame_error.eq(framer.error)
            wiring.connect(m, inbuf.frame, engine.frame)
            wiring.connect(m, inbuf.rd, engine.in_rd)
        wiring.connect(m, act.read_port(), engine.act_rd)
        wiring.connect(m, engine.acc, post.acc)
        wiring.connect(m, head.y, wiring.flipped(self.y))

        # -- write-back: activations into their region, logits to the head
        out = post.out.payload
        to_head = Signal()
        take = Signal()
        dst = Signal(index_shape(plan.act_depth))
        final = Signal()
        m.d.comb += [
            to_head.eq(out.layer == plan.last),
            post.out.ready.eq(~to_head | head.logit.ready),
            head.logit.valid.eq(post.out.valid & to_head),
            head.logit.payload.index.eq(out.index),
            head.logit.payload.logit.eq(out.value[:self.net.layers[-1].out_width]),
            take.eq(post.out.valid & post.out.ready),
        ]
        for lp in switch_cases(m, out.layer, plan.layers[:-1]):
            m.d.comb += [dst.eq(lp.dst + out.index), final.eq(out.index == lp.outputs - 1)]
        # The write is registered: the address adder and the handshake that decides the
        # write stay off the path into the block RAM's address and data pins.
        wb_en, wb_final = Signal(), Signal()
        wb_addr = Signal.like(dst)
        wb_data = Signal(unsigned(plan.act_width))
        m.d.sync += [wb_en.eq(take & ~to_head), wb_final.eq(final), wb_addr.eq(dst),
                     wb_data.eq(out.value)]
        m.d.comb += [act_wr.addr.eq(wb_addr), act_wr.data.eq(wb_data), act_wr.en.eq(wb_en)]
        # the engine starts the next layer once the last output of this one is written
        m.d.sync += engine.written.eq(wb_en & wb_final)

        m.d.comb += [self.monitor.valid.eq(take), self.monitor.layer.eq(out.layer),
                     self.monitor.index.eq(out.index), self.monitor.value.eq(out.value),
                     self.monitor.theta.eq(out.theta)]
        return m
