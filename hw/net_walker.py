"""The engine's sequencer: walks every layer's windows and issues one MAC command per cycle."""

from amaranth.hdl import Module, Mux, Shape, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .ops import index_shape

__all__ = ["NetWalker", "command_layout", "group_fields", "switch_cases"]

# the per-layer constants of hw.net_plan.LayerPlan that the walk reads
_CONSTANTS = ("ci_last", "kw_last", "kh_last", "pool_last", "g_last", "ow_last", "oh_last",
              "hi", "wi", "stride", "pad", "step", "inc_row", "inc_px", "inc_py", "inc_ow",
              "inc_oh", "start", "wbase", "bbase", "fan_in", "last_lane", "pos_step")


def switch_cases(m, value, layers):
    """``with m.Switch(value)`` over layers (anything with an ``index``), the last as default.

    Iterate over it; each layer's statements go in the loop body. Every pattern is
    covered, so the Verilog ``case`` statements are complete (lint-clean).
    """
    layers = list(layers)
    with m.Switch(value):
        for n, layer in enumerate(layers):
            with (m.Default() if n == len(layers) - 1 else m.Case(layer.index)):
                yield layer


def group_fields(plan):
    """The tag of a group of P output channels, as layout members.

    layer : the layer the group belongs to
    group : pos * G + g, the group's index in its layer (the neuron unit's group)
    base : pos * C + g * P, channels-last output word of lane 0
    last_lane : the last lane that holds a real output channel
    """
    return {
        "layer": index_shape(plan.n_layers),
        "group": index_shape(plan.max_groups),
        "base": index_shape(plan.max_outputs),
        "last_lane": index_shape(plan.lanes),
    }


def command_layout(plan):
    """One MAC command: which input to read, which weight and bias, where in the window.

    Fields
    ------
    addr : input word (input buffer bank and word, or activation buffer word)
    inside : 0 when the position is in the padding (the input reads as 0)
    from_input : read the input buffer (first layer), else the activation buffer
    waddr, baddr : weight and bias ROM words (the same in every lane)
    first, last : first and last MAC of the group's window
    layer, group, base, last_lane : the group (see :func:`group_fields`)
    """
    return data.StructLayout({
        "addr": max(ceil_log2(2 * plan.in_words), ceil_log2(plan.act_depth), 1),
        "inside": 1,
        "from_input": 1,
        "waddr": index_shape(plan.w_depth),
        "baddr": index_shape(plan.b_depth),
        "first": 1,
        "last": 1,
        **group_fields(plan),
    })


def _shape_of(values):
    """The smallest shape holding every integer of ``values``."""
    values = [int(v) for v in values]
    return Shape.cast(range(min(0, *values), max(1, *values) + 1))


class NetWalker(wiring.Component):
    """The loop nest of every layer, one iteration per transfer on ``cmd``.

    Layer after layer; in a layer, pooled output positions (rows, then
    columns), then groups g of P output channels, then the window: pool offsets
    (py, px), kernel rows, kernel columns, input channels (innermost, so reads
    are consecutive words). Every loop level has a counter, and the input
    address and row/column of each level live in registers that step by the
    layer's constant increments (:class:`hw.net_plan.LayerPlan`), selected by
    a switch on the layer number: no multiplier, short adders.

    The first layer starts once ``frame`` offers a full input bank, and
    releases it (``frame`` transfer) with its last command. Every other layer
    starts once ``written`` has strobed: the previous layer's outputs are all
    in the activation buffer. After the last layer the walk returns to the
    first layer of the next frame.

    Parameters
    ----------
    plan : hw.net_plan.NetPlan

    Attributes
    ----------
    frame : In(stream.Signature(1))
        A full input bank (payload: which).
    written : In(1)
    cmd : Out(stream.Signature(command_layout(plan)))
    """

    def __init__(self, plan):
        self.plan = plan
        super().__init__({
            "frame": In(stream.Signature(1)),
            "written": In(1),
            "cmd": Out(stream.Signature(command_layout(plan))),
        })

    def elaborate(self, platform):
        plan = self.plan
        P, L = plan.lanes, plan.n_layers
        m = Module()

        layer = Signal(index_shape(L))
        k = {name: Signal(_shape_of(getattr(lp, name) for lp in plan.layers), name=f"k_{name}")
             for name in _CONSTANTS}
        for lp in switch_cases(m, layer, plan.layers):
            m.d.comb += [k[name].eq(getattr(lp, name)) for name in _CONSTANTS]

        def counter(name, bound):
            return Signal(range(max(getattr(lp, bound) for lp in plan.layers) + 1), name=name)

        ci, kw, kh = counter("ci", "ci_last"), counter("kw", "kw_last"), counter("kh", "kh_last")
        px, py = counter("px", "pool_last"), counter("py", "pool_last")
        g, ow, oh = counter("g", "g_last"), counter("ow", "ow_last"), counter("oh", "oh_last")
        # input address of (row, column, channel 0) at each loop level; ``a`` the current one
        addr_shape = _shape_of(plan.addr_range)
        a, a_row, a_pool, a_prow, a_pos, a_posrow = (
            Signal(addr_shape, name=n)
            for n in ("a", "a_row", "a_pool", "a_prow", "a_pos", "a_posrow"))
        coord_shape = _shape_of(plan.coord_range)
        ih, ih_pool, ih_pos, iw, iw_pool, iw_pos = (
            Signal(coord_shape, name=n)
            for n in ("ih", "ih_pool", "ih_pos", "iw", "iw_pool", "iw_pos"))
        wa = Signal(index_shape(plan.w_depth), name="wa")
        wa_g = Signal(index_shape(plan.w_depth), name="wa_g")
        ba = Signal(index_shape(plan.b_depth), name="ba")
        first = Signal()
        group = Signal(group_fields(plan)["group"])
        base = Signal(group_fields(plan)["base"])

        l_ci, l_kw, l_kh = ci == k["ci_last"], kw == k["kw_last"], kh == k["kh_last"]
        l_px, l_py, l_g = px == k["pool_last"], py == k["pool_last"], g == k["g_last"]
        l_ow, l_oh = ow == k["ow_last"], oh == k["oh_last"]
        end_window = Signal()
        end_layer = Signal()
        cmd = self.cmd.payload
        m.d.comb += [
            end_window.eq(l_ci & l_kw & l_kh & l_px & l_py),
            end_layer.eq(end_window & l_g & l_ow & l_oh),
            cmd.addr.eq(a[:len(cmd.addr)]),
            cmd.inside.eq((ih >= 0) & (ih < k["hi"]) & (iw >= 0) & (iw < k["wi"])),
            cmd.from_input.eq(layer == 0),
            cmd.waddr.eq(wa), cmd.baddr.eq(ba), cmd.first.eq(first), cmd.last.eq(end_window),
            cmd.layer.eq(layer), cmd.group.eq(group), cmd.base.eq(base),
            cmd.last_lane.eq(Mux(l_g, k["last_lane"], P - 1)),
        ]

        def restart(*pairs):
            return [dst.eq(src) for dsts, src in pairs for dst in dsts]

        def zero(*counters):
            return [c.eq(0) for c in counters]

        step = Signal()
        m.d.comb += step.eq(self.cmd.valid & self.cmd.ready)
        with m.If(step):
            m.d.sync += first.eq(end_window)
            with m.If(~l_ci):
                m.d.sync += [ci.eq(ci + 1), a.eq(a + 1), wa.eq(wa + 1)]
            with m.Elif(~l_kw):
                m.d.sync += zero(ci) + [kw.eq(kw + 1), iw.eq(iw + 1), a.eq(a + 1), wa.eq(wa + 1)]
            with m.Elif(~l_kh):
                m.d.sync += zero(ci, kw) + [kh.eq(kh + 1), ih.eq(ih + 1), iw.eq(iw_pool),
                                            wa.eq(wa + 1)]
                m.d.sync += restart(((a_row, a), a_row + k["inc_row"]))
            with m.Elif(~l_px):
                m.d.sync += zero(ci, kw, kh) + [px.eq(px + 1), ih.eq(ih_pool), wa.eq(wa_g)]
                m.d.sync += restart(((iw_pool, iw), iw_pool + k["stride"]),
                                    ((a_pool, a_row, a), a_pool + k["inc_px"]))
            with m.Elif(~l_py):
                m.d.sync += zero(ci, kw, kh, px) + [py.eq(py + 1), wa.eq(wa_g)]
                m.d.sync += restart(((ih_pool, ih), ih_pool + k["stride"]),
                                    ((iw_pool, iw), iw_pos),
                                    ((a_prow, a_pool, a_row, a), a_prow + k["inc_py"]))
            with m.Elif(~l_g):
                m.d.sync += zero(ci, kw, kh, px, py) + [g.eq(g + 1), ba.eq(ba + 1)]
                m.d.sync += restart(((ih_pool, ih), ih_pos), ((iw_pool, iw), iw_pos),
                                    ((a_prow, a_pool, a_row, a), a_pos),
                                    ((wa_g, wa), wa_g + k["fan_in"]))
            with m.Elif(~l_ow):
                m.d.sync += zero(ci, kw, kh, px, py, g) + [ow.eq(ow + 1), ba.eq(k["bbase"])]
                m.d.sync += restart(((ih_pool, ih), ih_pos),
                                    ((iw_pos, iw_pool, iw), iw_pos + k["step"]),
                                    ((a_pos, a_prow, a_pool, a_row, a), a_pos + k["inc_ow"]),
                                    ((wa_g, wa), k["wbase"]))
            with m.Elif(~l_oh):
                m.d.sync += zero(ci, kw, kh, px, py, g, ow) + [oh.eq(oh + 1), ba.eq(k["bbase"])]
                m.d.sync += restart(((ih_pos, ih_pool, ih), ih_pos + k["step"]),
                                    ((iw_pos, iw_pool, iw), -k["pad"]),
                                    ((a_posrow, a_pos, a_prow, a_pool, a_row, a),
                                     a_posrow + k["inc_oh"]),
                                    ((wa_g, wa), k["wbase"]))
            with m.If(end_window):
                m.d.sync += [group.eq(group + 1), base.eq(base + Mux(l_g, k["pos_step"], P))]

        # -- a layer at a time: the first waits for a frame, the others for the previous
        #    layer's outputs
        written_seen = Signal()
        with m.If(self.written):
            m.d.sync += written_seen.eq(1)
        state = Signal(range(3))                # LOAD, RUN, WAIT
        with m.If(state == 0):                  # LOAD: every level to the layer's start
            with m.If((layer != 0) | self.frame.valid):
                start = k["start"] + Mux((layer == 0) & self.frame.payload, plan.in_words, 0)
                m.d.sync += zero(ci, kw, kh, px, py, g, ow, oh, group, base)
                m.d.sync += [ba.eq(k["bbase"]), first.eq(1), state.eq(1)]
                m.d.sync += restart(((ih_pos, ih_pool, ih, iw_pos, iw_pool, iw), -k["pad"]),
                                    ((a_posrow, a_pos, a_prow, a_pool, a_row, a), start),
                                    ((wa_g, wa), k["wbase"]))
        with m.Elif(state == 1):                # RUN: a command per cycle
            m.d.comb += self.cmd.valid.eq(1)
            with m.If(step & end_layer):
                m.d.comb += self.frame.ready.eq(layer == 0)
                with m.If(layer == L - 1):
                    m.d.sync += [layer.eq(0), state.eq(0)]
                with m.Else():
                    m.d.sync += [layer.eq(layer + 1), state.eq(2)]
        with m.Else():                          # WAIT: for the layer's outputs
            with m.If(written_seen):
                m.d.sync += [written_seen.eq(0), state.eq(0)]
        return m
