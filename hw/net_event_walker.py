"""The first layer's sequencer with event input: a MAC command per event and output it touches."""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .net_event_plan import EventPlan
from .net_walker import command_layout, group_fields

__all__ = ["EventWalker", "event_layout"]


def _bits(n):
    return max(1, ceil_log2(n))


def event_layout(net):
    """One beat of event input: a non-zero word of the frame and the frame's end.

    Fields
    ------
    count : unsigned(input.width), the word's value (event count, saturated by the sender)
    channel, col, row : the word's place; words arrive in increasing (row, col, channel)
        order, the channels-last address order of the dense input
    last : the frame's final beat
    """
    c, h, w = net.input_shape
    return data.StructLayout({
        "count": unsigned(net.input_width),
        "channel": unsigned(_bits(c)),
        "col": unsigned(_bits(w)),
        "row": unsigned(_bits(h)),
        "last": 1,
    })


class EventWalker(wiring.Component):
    """Issues the first layer's commands from the events of a frame.

    Each event (a non-zero input word) becomes one scatter command per output position it
    reaches and group of P output channels (output rows, output columns, groups innermost):
    lane l multiplies the event's count by its weight for output channel g*P + l and adds
    the product to the partial sum of that position in the engine's ring RAM
    (:class:`hw.net_event_plan.EventPlan`). Before an event, every output row above the
    first it reaches is flushed: one command per position and group, which hands bias plus
    partial sums to post-processing as a group of the first layer (the dense walk's order
    and tags) and clears the words. After the frame's last beat the remaining rows are
    flushed and ``frame`` offers the frame to the network walk, which takes it once its own
    last command is issued; the next frame's events wait until then.

    A beat with count 0 adds nothing and is not checked: it may carry ``last`` (an empty
    frame is one such beat). A counted beat whose channel, column or row is out of range,
    or whose (row, col, channel) is not above the previous counted beat of the frame, is
    dropped and raises ``error`` (sticky until reset); its ``last`` still ends the frame.

    Commands leave through a skid register, like :class:`hw.net_walker.NetWalker`'s.

    Parameters
    ----------
    plan : hw.net_plan.NetPlan

    Attributes
    ----------
    x : In(stream.Signature(event_layout(net)))
    frame : Out(stream.Signature(1))
    cmd : Out(stream.Signature(command_layout(plan)))
    error : Out(1)
    """

    def __init__(self, plan):
        self.plan = plan
        self.ep = EventPlan.of(plan.net)
        super().__init__({
            "x": In(stream.Signature(event_layout(plan.net))),
            "frame": Out(stream.Signature(1)),
            "cmd": Out(stream.Signature(command_layout(plan))),
            "error": Out(1),
        })

    def elaborate(self, platform):
        plan, ep = self.plan, self.ep
        P, G = plan.lanes, ep.groups
        m = Module()
        lp = plan.layers[0]
        wa_shape = unsigned(_bits(plan.w_depth))
        cg_bits = ceil_log2(ep.row_words)
        ring_bits = ceil_log2(ep.ring)
        gf = group_fields(plan)

        # -- input: check the beat, look its row and column up, keep it in ``pend``
        beat = self.x.payload
        key = Cat(beat.channel, beat.col, beat.row)
        prev_key = Signal.like(key)
        seen = Signal()
        counted = Signal()
        in_range = Signal()
        ordered = Signal()
        bad = Signal()
        m.d.comb += [
            counted.eq(beat.count != 0),
            in_range.eq((beat.channel < ep.channels) & (beat.col < ep.width)
                        & (beat.row < ep.height)),
            ordered.eq(~seen | (key > prev_key)),
            bad.eq(counted & ~(in_range & ordered)),
        ]
        def lookup(coord, reaches, size_out, k_step, name):
            """From the reach table: first output, count - 1, weight-word offset, any."""
            first = Signal(range(size_out + 1), name=f"{name}_first")
            last = Signal(range(max(2, ep.ring, max(n for _, n, _ in reaches))), name=f"{name}_last")
            offset = Signal(wa_shape, name=f"{name}_w")
            some = Signal(name=f"{name}_any")
            with m.Switch(coord):
                for v, (lo, n, k) in enumerate(reaches):
                    with m.Case(v):
                        m.d.comb += [first.eq(lo), last.eq(max(0, n - 1)), offset.eq(k * k_step),
                                     some.eq(n > 0)]
            return first, last, offset, some
        oy_first, rows_last, wrow, has_rows = lookup(beat.row, ep.rows, ep.out_rows,
                                                     ep.kernel_w * ep.channels, "row")
        ox_first, cols_last, wcol, has_cols = lookup(beat.col, ep.cols, ep.out_cols,
                                                     ep.channels, "col")

        pend_valid = Signal()
        pend = {
            "oy_first": Signal.like(oy_first, name="pend_oy_first"),
            "rows_last": Signal.like(rows_last, name="pend_rows_last"),
            "cols_last": Signal.like(cols_last, name="pend_cols_last"),
            "scol": Signal(cg_bits or 1, name="pend_scol"),
            "wa": Signal(wa_shape, name="pend_wa"),
            "value": Signal.like(beat.count, name="pend_value"),
            "last": Signal(name="pend_last"),
            "skip": Signal(name="pend_skip"),
        }
        take = Signal()                         # the walk consumes ``pend`` this cycle
        # ready from a register alone: the walk's end-of-sequence logic (and the engine's
        # ready behind it) stays out of the sender's path and out of the input registers'
        # enables; ``pend`` refills the cycle after it empties, hidden behind a scatter
        m.d.comb += self.x.ready.eq(~pend_valid)
        with m.If(take):
            m.d.sync += pend_valid.eq(0)
        with m.If(self.x.valid & self.x.ready):
            m.d.sync += [
                pend_valid.eq(1),
                pend["oy_first"].eq(oy_first), pend["rows_last"].eq(rows_last),
                pend["cols_last"].eq(cols_last), pend["scol"].eq(ox_first * G),
                pend["wa"].eq(ep.wbase + wrow + wcol + beat.channel),
                pend["value"].eq(beat.count), pend["last"].eq(beat.last),
                pend["skip"].eq(~counted | bad | ~has_rows | ~has_cols),
            ]
            with m.If(bad):
                m.d.sync += self.error.eq(1)
            with m.If(counted & ~bad):
                m.d.sync += [prev_key.eq(key), seen.eq(1)]
            with m.If(beat.last):
                m.d.sync += seen.eq(0)

        # -- the walk: the command in registers, ``active`` while it is offered
        active = Signal()
        flushing = Signal()
        g = Signal(range(G))
        ox_cnt = Signal.like(cols_last)
        oy_cnt = Signal.like(rows_last)
        cols_n, rows_n = Signal.like(cols_last), Signal.like(rows_last)
        wa, wa_pos, wa_row = (Signal(wa_shape, name=n) for n in ("wa", "wa_pos", "wa_row"))
        cg, cg_pos, scol = (Signal(cg_bits or 1, name=n) for n in ("cg", "cg_pos", "scol"))
        ring = Signal(ring_bits or 1)
        value = Signal.like(beat.count)
        frow = Signal(range(ep.out_rows + 1))
        group = Signal(gf["group"])
        base = Signal(gf["base"])
        ending = Signal()
        done_wait = Signal()

        cmd = Signal(command_layout(plan))
        slot = Cat(cg[:cg_bits], ring[:ring_bits])
        m.d.comb += [
            cmd.waddr.eq(wa), cmd.baddr.eq(ep.bbase + g), cmd.slot.eq(slot),
            cmd.value.eq(value), cmd.event.eq(~flushing), cmd.flush.eq(flushing),
            cmd.first.eq(flushing), cmd.last.eq(flushing), cmd.layer.eq(0),
            cmd.group.eq(group), cmd.base.eq(base),
            cmd.last_lane.eq(Mux(g == G - 1, ep.last_lane, P - 1)),
        ]
        held = Signal(command_layout(plan))
        held_valid = Signal()
        m.d.comb += [self.cmd.valid.eq(held_valid | active),
                     self.cmd.payload.eq(Mux(held_valid, held, cmd))]
        with m.If(held_valid):
            with m.If(self.cmd.ready):
                m.d.sync += held_valid.eq(0)
        with m.Elif(active & ~self.cmd.ready):
            m.d.sync += [held.eq(cmd), held_valid.eq(1)]
        step = Signal()
        m.d.comb += step.eq(active & ~held_valid)

        # end flags in registers, set with the counters they describe (one cycle early):
        # the compares stay out of the path from the walk's state to its next state
        end_g, end_flush, end_ox, end_oy = (Signal(name=n) for n in
                                            ("end_g", "end_flush", "end_ox", "end_oy"))
        flush_end = ep.out_cols * G - 1
        end_scatter = end_g & end_ox & end_oy
        at_end = Signal()
        m.d.comb += at_end.eq(Mux(flushing, end_flush, end_scatter))
        free = Signal()
        m.d.comb += free.eq(~done_wait & (~active | (step & at_end)))

        # advance within the current sequence
        def g_step(to_zero):
            return [g.eq(Mux(to_zero, 0, g + 1)),
                    end_g.eq(Mux(to_zero, G == 1, (g == G - 2) if G > 1 else 1))]
        with m.If(step & ~at_end):
            with m.If(flushing):
                m.d.sync += [cg.eq(cg + 1), end_flush.eq(cg == flush_end - 1), *g_step(end_g),
                             group.eq(group + 1), base.eq(base + Mux(end_g, lp.pos_step, P))]
            with m.Elif(~end_g):
                m.d.sync += [*g_step(0), wa.eq(wa + ep.fan_in), cg.eq(cg + 1)]
            with m.Elif(~end_ox):
                nwa = wa_pos - ep.stride * ep.channels
                ncg = cg_pos + G
                m.d.sync += [*g_step(1), ox_cnt.eq(ox_cnt + 1), end_ox.eq(ox_cnt + 1 == cols_n),
                             wa.eq(nwa), wa_pos.eq(nwa), cg.eq(ncg), cg_pos.eq(ncg)]
            with m.Else():
                nwa = wa_row - ep.stride * ep.kernel_w * ep.channels
                m.d.sync += [*g_step(1), ox_cnt.eq(0), end_ox.eq(cols_n == 0),
                             oy_cnt.eq(oy_cnt + 1), end_oy.eq(oy_cnt + 1 == rows_n), wa.eq(nwa),
                             wa_pos.eq(nwa), wa_row.eq(nwa), cg.eq(scol), cg_pos.eq(scol),
                             ring.eq(ring + 1)]
        with m.If(step & flushing & at_end):
            m.d.sync += [group.eq(group + 1), base.eq(base + lp.pos_step)]

        def start_flush():
            return [active.eq(1), flushing.eq(1), cg.eq(0), end_flush.eq(flush_end == 0),
                    *g_step(1), ring.eq(frow), frow.eq(frow + 1)]

        # the next sequence, when the walk is free
        with m.If(free):
            m.d.sync += active.eq(0)
            with m.If(ending):
                with m.If(frow != ep.out_rows):
                    m.d.sync += start_flush()
                with m.Else():
                    m.d.sync += [ending.eq(0), frow.eq(0), done_wait.eq(1)]
            with m.Elif(pend_valid):
                with m.If(pend["skip"]):
                    m.d.comb += take.eq(1)
                    m.d.sync += ending.eq(pend["last"])
                with m.Elif(frow < pend["oy_first"]):
                    m.d.sync += start_flush()
                with m.Else():
                    m.d.comb += take.eq(1)
                    m.d.sync += [
                        active.eq(1), flushing.eq(0), *g_step(1), ox_cnt.eq(0), oy_cnt.eq(0),
                        end_ox.eq(pend["cols_last"] == 0), end_oy.eq(pend["rows_last"] == 0),
                        cols_n.eq(pend["cols_last"]), rows_n.eq(pend["rows_last"]),
                        wa.eq(pend["wa"]), wa_pos.eq(pend["wa"]), wa_row.eq(pend["wa"]),
                        cg.eq(pend["scol"]), cg_pos.eq(pend["scol"]), scol.eq(pend["scol"]),
                        ring.eq(pend["oy_first"]), value.eq(pend["value"]),
                        ending.eq(pend["last"]),
                    ]
        m.d.comb += self.frame.valid.eq(done_wait)
        with m.If(self.frame.valid & self.frame.ready):
            m.d.sync += [done_wait.eq(0), group.eq(0), base.eq(0)]
        return m
