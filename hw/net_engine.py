"""The time-shared MAC engine: one array of P lanes runs every layer of the network in turn."""

import numpy as np
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory, ReadPort
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ipnet_mtj.sw.fixed import aligned_bias
from .accumulate import accumulate_lanes
from .net_plan import NetPlan
from .net_rom_layout import bias_images, weight_images
from .net_walker import NetWalker, group_fields, switch_cases

__all__ = ["NetEngine", "group_layout", "rom_images"]


def group_layout(plan):
    """Payload from the engine to post-processing: one group's P accumulators, tagged.

    Fields
    ------
    lanes : P signed accumulators (exact, ``plan.acc_width`` bits)
    layer, group, base, last_lane : the group's tag (:func:`hw.net_walker.group_fields`)
    """
    return data.StructLayout({
        "lanes": data.ArrayLayout(signed(plan.acc_width), plan.lanes),
        **group_fields(plan),
    })


def rom_images(net, params):
    """Weight and bias images of every lane (:mod:`hw.net_rom_layout`), checked against
    each layer's formats.

    Raises
    ------
    ValueError
        When a weight or bias does not fit its layer's format.
    """
    for lf, (w, b) in zip(net.layers, params):
        for name, values, width in (("weight", w, lf.w_width), ("bias", b, lf.b_width)):
            values = np.asarray(values)
            lo, hi = -(1 << (width - 1)), 1 << (width - 1)
            if values.size and (values.min() < lo or values.max() >= hi):
                raise ValueError(f"layer {lf.name}: a {name} does not fit {width} bits (signed)")
    return weight_images(net, params), bias_images(net, params)


def _tag_layout(plan):
    return data.StructLayout(group_fields(plan))


class NetEngine(wiring.Component):
    """Accumulators of every layer, group after group, frame after frame.

    A :class:`~hw.net_walker.NetWalker` issues one MAC command per cycle: for
    each layer, output position and group g of P output channels, the window
    in walk order. The input value is read once from the input buffer (first
    layer) or the activation buffer and broadcast to the P lanes; a position
    in the padding reads as 0. Lane l multiplies it by the weight of output
    channel g*P + l from its own ROM and accumulates, from its bias aligned to
    the layer's accumulator (:func:`sw.fixed.aligned_bias`). Finished groups
    leave on ``acc``; the engine stalls only while the previous group is still
    in the hand-over register, so its post-processing overlaps the next group.

    Pipeline: A command (walker registers; buffer address) -> B buffer data,
    ROM addresses registered -> C operand selected (padding 0), ROM data ->
    D product and aligned bias registered -> E accumulate, hand-over register.

    Parameters
    ----------
    net : sw.network.NetFixed
    params : sequence of (w, b)
        Integer weights and biases per layer, torch layouts.

    Attributes
    ----------
    frame : In(stream.Signature(1))
        A full input bank (payload: which); the transfer releases it.
    written : In(1)
        Strobe: the last output of the running (non-last) layer is in the activation buffer.
    in_rd : In(ReadPort.Signature)
        Read port of the input buffer (two banks of ``plan.in_words``).
    act_rd : In(ReadPort.Signature)
        Read port of the activation buffer.
    acc : Out(stream.Signature(group_layout(plan)))
    """

    def __init__(self, net, params):
        self.net = net
        self.plan = plan = NetPlan(net)
        self._w_images, self._b_images = rom_images(net, params)
        super().__init__({
            "frame": In(stream.Signature(1)),
            "written": In(1),
            "in_rd": In(ReadPort.Signature(addr_width=ceil_log2(2 * plan.in_words),
                                           shape=unsigned(plan.in_width))),
            "act_rd": In(ReadPort.Signature(addr_width=ceil_log2(plan.act_depth),
                                            shape=unsigned(plan.act_width))),
            "acc": Out(stream.Signature(group_layout(plan))),
        })

    def elaborate(self, platform):
        plan = self.plan
        P = plan.lanes
        m = Module()

        w_rd, b_rd = [], []
        for lane in range(P):
            wmem = Memory(shape=signed(plan.w_width), depth=plan.w_depth, init=self._w_images[lane])
            bmem = Memory(shape=signed(plan.b_width), depth=plan.b_depth, init=self._b_images[lane])
            m.submodules[f"wrom{lane}"] = wmem
            m.submodules[f"brom{lane}"] = bmem
            w_rd.append(wmem.read_port())
            b_rd.append(bmem.read_port())

        # -- stage A: the walker's command; buffer reads
        m.submodules.walker = walker = NetWalker(plan)
        wiring.connect(m, wiring.flipped(self.frame), walker.frame)
        m.d.comb += walker.written.eq(self.written)
        cmd = walker.cmd.payload
        stall = Signal()
        m.d.comb += [
            walker.cmd.ready.eq(~stall),
            self.in_rd.addr.eq(cmd.addr), self.in_rd.en.eq(~stall),
            self.act_rd.addr.eq(cmd.addr), self.act_rd.en.eq(~stall),
        ]

        # -- stages B, C, D
        vb, firstb, lastb, insideb, inputb = (Signal(name=n) for n in
                                              ("vb", "firstb", "lastb", "insideb", "inputb"))
        vc, firstc, lastc = Signal(name="vc"), Signal(name="firstc"), Signal(name="lastc")
        vd, firstd, lastd = Signal(name="vd"), Signal(name="firstd"), Signal(name="lastd")
        tag_b, tag_c, tag_d = (Signal(_tag_layout(plan), name=n)
                               for n in ("tag_b", "tag_c", "tag_d"))
        waddr_b, baddr_b = Signal.like(cmd.waddr), Signal.like(cmd.baddr)
        x_c = Signal(unsigned(plan.x_width))
        prod = [Signal(signed(plan.w_width + plan.x_width + 1), name=f"prod{lane}")
                for lane in range(P)]
        bias = [Signal(signed(plan.acc_width), name=f"bias{lane}") for lane in range(P)]
        for lane in range(P):
            m.d.comb += [w_rd[lane].addr.eq(waddr_b), w_rd[lane].en.eq(~stall),
                         b_rd[lane].addr.eq(baddr_b), b_rd[lane].en.eq(~stall)]
        with m.If(~stall):
            m.d.sync += [
                vb.eq(walker.cmd.valid), firstb.eq(cmd.first), lastb.eq(cmd.last),
                insideb.eq(cmd.inside), inputb.eq(cmd.from_input), waddr_b.eq(cmd.waddr),
                baddr_b.eq(cmd.baddr),
                vc.eq(vb), firstc.eq(firstb), lastc.eq(lastb), tag_c.eq(tag_b),
                x_c.eq(Mux(insideb, Mux(inputb, self.in_rd.data, self.act_rd.data), 0)),
                vd.eq(vc), firstd.eq(firstc), lastd.eq(lastc), tag_d.eq(tag_c),
            ]
            m.d.sync += [getattr(tag_b, name).eq(getattr(cmd, name)) for name in group_fields(plan)]
            for lane in range(P):
                m.d.sync += prod[lane].eq(w_rd[lane].data * x_c)
            for lf in switch_cases(m, tag_c.layer, self.net.layers):
                m.d.sync += [bias[lane].eq(aligned_bias(b_rd[lane].data, lf.bias_shift))
                             for lane in range(P)]

        # -- stage E: accumulate; hand the finished group over (hw.accumulate)
        accumulate_lanes(m, valid=vd, first=firstd, last=lastd, stall=stall, bias=bias,
                         prod=prod, acc_width=plan.acc_width, out=self.acc,
                         tag=[getattr(self.acc.payload, name).eq(getattr(tag_d, name))
                              for name in group_fields(plan)])
        return m
