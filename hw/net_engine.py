"""The time-shared MAC engine: one array of P lanes runs every layer of the network in turn."""

import numpy as np
from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory, ReadPort
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ipnet_mtj.sw.fixed import aligned_bias
from .accumulate import accumulate_lanes
from .net_plan import NetPlan
from .net_rom_layout import bias_images, weight_images
from .net_event_walker import EventWalker, event_layout
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

    With event input (``plan.events``) the first layer's commands come from an
    :class:`~hw.net_event_walker.EventWalker` instead, in turns with the walker's: an event's
    MAC reads its operand from the command, and its products go to a ring RAM of partial
    sums (P sums a word, :class:`hw.net_event_plan.EventPlan`), addressed in stage B, its
    data registered into D (the write of the command one ahead instead when that writes the
    same word; the read is transparent for the write two ahead) and written back in stage
    E, so
    back-to-back commands on one word add up; a flush command hands bias plus the
    word's sums over as a group and clears the word. After reset the RAM is cleared
    (``depth`` cycles) before the first event.

    Parameters
    ----------
    net : sw.network.NetFixed
    params : sequence of (w, b)
        Integer weights and biases per layer, torch layouts.

    Attributes
    ----------
    frame : In(stream.Signature(1))
        Dense input: a full input bank (payload: which); the transfer releases it.
    in_rd : In(ReadPort.Signature)
        Dense input: read port of the input buffer (two banks of ``plan.in_words``).
    events : In(stream.Signature(event_layout(net)))
        Event input: the frames' events (:func:`hw.net_event_walker.event_layout`).
    frame_error : Out(1)
        Event input: a dropped event (sticky until reset).
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
        if plan.events:
            source = {"events": In(stream.Signature(event_layout(net))), "frame_error": Out(1)}
        else:
            source = {"frame": In(stream.Signature(1)),
                      "in_rd": In(ReadPort.Signature(addr_width=ceil_log2(2 * plan.in_words),
                                                     shape=unsigned(plan.in_width)))}
        super().__init__({
            **source,
            "written": In(1),
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
        m.d.comb += walker.written.eq(self.written)
        stall = Signal()
        m.d.comb += [
            walker.cmd.ready.eq(~stall),
            self.act_rd.addr.eq(walker.cmd.payload.addr), self.act_rd.en.eq(~stall),
        ]
        if plan.events:
            # the event walker's commands take the pipeline when the walker offers none
            # (they never both do: each waits for the other's frame); ``cmd`` only feeds
            # registers, the activation buffer's address comes from the walker alone
            m.submodules.events = events = EventWalker(plan)
            wiring.connect(m, wiring.flipped(self.events), events.x)
            wiring.connect(m, events.frame, walker.frame)
            m.d.comb += self.frame_error.eq(events.error)
            ep = plan.event_plan
            clearing = Signal(init=1)
            clear_addr = Signal(range(ep.depth))
            with m.If(clearing):
                m.d.sync += clear_addr.eq(clear_addr + 1)
                with m.If(clear_addr == ep.depth - 1):
                    m.d.sync += clearing.eq(0)
            m.d.comb += events.cmd.ready.eq(~stall & ~walker.cmd.valid & ~clearing)
            cmd_valid = walker.cmd.valid | (events.cmd.valid & ~clearing)
            cmd = Signal.like(walker.cmd.payload)
            m.d.comb += cmd.eq(Mux(walker.cmd.valid, walker.cmd.payload, events.cmd.payload))
        else:
            wiring.connect(m, wiring.flipped(self.frame), walker.frame)
            m.d.comb += [self.in_rd.addr.eq(walker.cmd.payload.addr), self.in_rd.en.eq(~stall)]
            cmd_valid = walker.cmd.valid
            cmd = walker.cmd.payload

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
        if plan.events:
            ev = {n: [Signal(Shape, name=f"{n}{st}") for st in "bcd"] for n, Shape in
                  (("event", 1), ("flush", 1), ("slot", cmd.slot.shape()),
                   ("value", unsigned(plan.in_width)))}
            for n, (rb, rc, rd) in ev.items():
                with m.If(~stall):
                    m.d.sync += [rb.eq(getattr(cmd, n)), rc.eq(rb), rd.eq(rc)]
            operand = Mux(ev["event"][0], ev["value"][0], Mux(insideb, self.act_rd.data, 0))
        else:
            operand = Mux(insideb, Mux(inputb, self.in_rd.data, self.act_rd.data), 0)
        with m.If(~stall):
            m.d.sync += [
                vb.eq(cmd_valid), firstb.eq(cmd.first), lastb.eq(cmd.last),
                insideb.eq(cmd.inside), inputb.eq(cmd.from_input), waddr_b.eq(cmd.waddr),
                baddr_b.eq(cmd.baddr),
                vc.eq(vb), firstc.eq(firstb), lastc.eq(lastb), tag_c.eq(tag_b),
                x_c.eq(operand),
                vd.eq(vc), firstd.eq(firstc), lastd.eq(lastc), tag_d.eq(tag_c),
            ]
            m.d.sync += [getattr(tag_b, name).eq(getattr(cmd, name)) for name in group_fields(plan)]
            for lane in range(P):
                m.d.sync += prod[lane].eq(w_rd[lane].data * x_c)
            for lf in switch_cases(m, tag_c.layer, self.net.layers):
                m.d.sync += [bias[lane].eq(aligned_bias(b_rd[lane].data, lf.bias_shift))
                             for lane in range(P)]

        # -- stage E: accumulate; hand the finished group over (hw.accumulate). With event
        #    input: an event's products go to its partial-sum word instead, and a flush
        #    hands bias plus the word's sums over (a group of one command) and clears it.
        valid_e = vd
        if plan.events:
            pw = ep.part_width
            m.submodules.parts = parts = Memory(shape=unsigned(P * pw), depth=ep.depth, init=[])
            parts_wr = parts.write_port()
            parts_rd = parts.read_port(transparent_for=(parts_wr,))
            event_d, flush_d = ev["event"][2], ev["flush"][2]
            slot_b, slot_c, slot_d = ev["slot"]
            # the word is addressed with the command in stage B (the read is transparent for
            # the write of the command two ahead, in E that cycle) and registered into D: ``part_d`` takes the
            # write of the command one ahead instead when it writes the same word. The RAM's
            # output then feeds a register, not the adders (on the UP5K that path set Fmax).
            part_d = Signal(P * pw)
            part = [part_d[lane * pw:(lane + 1) * pw].as_signed() for lane in range(P)]
            writes = Signal()
            m.d.comb += [
                writes.eq(vd & ~stall & (event_d | flush_d)),
                parts_rd.addr.eq(slot_b), parts_rd.en.eq(~stall),
                parts_wr.addr.eq(Mux(clearing, clear_addr, slot_d)),
                parts_wr.data.eq(Mux(clearing | flush_d, 0,
                                     Cat(*((part[lane] + prod[lane])[:pw] for lane in range(P))))),
                parts_wr.en.eq(clearing | writes),
            ]
            with m.If(~stall):
                m.d.sync += part_d.eq(Mux(writes & (slot_d == slot_c), parts_wr.data,
                                          parts_rd.data))
            valid_e = vd & ~event_d
            prod = [Mux(flush_d, part[lane], prod[lane]) for lane in range(P)]
        accumulate_lanes(m, valid=valid_e, first=firstd, last=lastd, stall=stall, bias=bias,
                         prod=prod, acc_width=plan.acc_width, out=self.acc,
                         tag=[getattr(self.acc.payload, name).eq(getattr(tag_d, name))
                              for name in group_fields(plan)])
        return m
