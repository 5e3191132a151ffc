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
# loop bounds that have an ``l_*`` flag (``pool`` for both pool offsets)
_BOUNDS = ("ci", "kw", "kh", "pool", "g", "ow", "oh")


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
    release : the first layer's last command (event input: the last layer's) is taken
    layer, group, base, last_lane : the group (see :func:`group_fields`)
    event, flush, slot, value : event input only (:class:`hw.net_event_walker.EventWalker`)
    """
    events = {"event": 1, "flush": 1, "slot": index_shape(plan.event_plan.depth),
              "value": plan.in_width} if plan.events else {}
    return data.StructLayout({
        **events,
        "addr": max(ceil_log2(2 * plan.in_words), ceil_log2(plan.act_depth), 1),
        "inside": 1,
        "from_input": 1,
        "waddr": index_shape(plan.w_depth),
        "baddr": index_shape(plan.b_depth),
        "first": 1,
        "last": 1,
        "release": 1,
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
    layer's constant increments (:class:`hw.net_plan.LayerPlan`), registered
    from a switch on the layer number: no multiplier, short adders. The loop
    level that steps next is a one-hot register kept a step ahead, so each
    register's next value is an AND-OR of the levels' values.

    The first layer starts once ``frame`` offers a full input bank, and
    releases it (``frame`` transfer) when its last command is taken. Every other layer
    starts once ``written`` has strobed: the previous layer's outputs are all
    in the activation buffer. After the last layer the walk returns to the
    first layer of the next frame.

    ``cmd`` leaves through a skid register: the loop nest steps whenever the
    register is empty (a registered ready), and a command offered in a cycle
    that ``cmd.ready`` refuses waits in the register, which ``cmd`` shows
    before anything else. The consumer's ready (the engine's stall) thus
    reaches only the skid register and never the loop nest's enables (through
    them it limited the UP5K network to 37 MHz). The commands and the cycles
    they are taken in are the same as without the register.

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

        # with event input the first layer is the EventWalker's: the walk starts at the second
        first = 1 if plan.events else 0
        walked = plan.layers[first:]
        layer = Signal(index_shape(L), init=first)
        # The layer's constants are registers, loaded from the switch on ``layer`` a cycle
        # after it changes (the walk waits at least that long between layers), so the
        # switch stays off the step logic. Their reset value is the first layer's (bank 0):
        # the walk starts right after reset. ``start`` includes the input bank; ``*_m2``
        # (the bound minus 2), ``*_z`` and ``*_o`` (the bound is 0, 1) keep the flags.
        def constants(lp, bank):
            values = {name: getattr(lp, name) for name in _CONSTANTS}
            values["start"] = lp.start + (bank if lp.index == 0 else 0)
            for name in _BOUNDS:
                values[f"{name}_m2"] = values[f"{name}_last"] - 2     # -1, -2: never reached
                values[f"{name}_z"] = int(values[f"{name}_last"] == 0)
                values[f"{name}_o"] = int(values[f"{name}_last"] == 1)
            # the level of the layer's first step: its innermost loop of more than one pass
            zs = [values[f"{name}_z"] for name in ("ci", "kw", "kh", "pool", "pool", "g", "ow",
                                                   "oh")]
            values["level"] = next((1 << n for n, z in enumerate(zs) if not z), 0)
            return values

        table = {lp.index: constants(lp, 0) for lp in walked}
        banked = constants(walked[0], plan.in_words)
        first_k = table[first]
        k = {name: Signal(_shape_of([*(t[name] for t in table.values()), banked[name]]),
                          name=f"k_{name}", init=first_k[name])
             for name in first_k}
        for lp in switch_cases(m, layer, walked):
            m.d.sync += [k[name].eq(value) for name, value in table[lp.index].items()]
            if lp.index == 0:
                with m.If(self.frame.payload):
                    m.d.sync += k["start"].eq(banked["start"])

        def counter(name, bound):
            return Signal(range(max(getattr(lp, bound) for lp in walked) + 1), name=name)

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
        first_cmd = Signal()
        group = Signal(group_fields(plan)["group"])
        base = Signal(group_fields(plan)["base"])

        # ``l_*``: the counter is at its bound. Registers, set when the counter steps or
        # restarts, so that no comparison lies on the step logic.
        counters = {"ci": (ci, "ci"), "kw": (kw, "kw"), "kh": (kh, "kh"), "px": (px, "pool"),
                    "py": (py, "pool"), "g": (g, "g"), "ow": (ow, "ow"), "oh": (oh, "oh")}
        # ``near_*``: the counter is one below its bound.
        flag = {name: Signal(name=f"l_{name}") for name in counters}
        near = {name: Signal(name=f"near_{name}") for name in counters}

        def bump(name):
            c, bound = counters[name]
            return [c.eq(c + 1), flag[name].eq(near[name]), near[name].eq(c == k[f"{bound}_m2"])]

        def zero(*names):
            return [stmt for name in names for stmt in (
                counters[name][0].eq(0), flag[name].eq(k[f"{counters[name][1]}_z"]),
                near[name].eq(k[f"{counters[name][1]}_o"]))]

        l_ci, l_kw, l_kh, l_px, l_py, l_g, l_ow, l_oh = flag.values()
        end_window = Signal()
        end_layer = Signal()
        cmd = Signal(command_layout(plan))     # the loop nest's command, before the skid
        cmd_valid = Signal()
        m.d.comb += [
            end_window.eq(l_ci & l_kw & l_kh & l_px & l_py),
            end_layer.eq(end_window & l_g & l_ow & l_oh),
            cmd.addr.eq(a[:len(cmd.addr)]),
            cmd.inside.eq((ih >= 0) & (ih < k["hi"]) & (iw >= 0) & (iw < k["wi"])),
            cmd.from_input.eq(layer == 0),
            cmd.waddr.eq(wa), cmd.baddr.eq(ba), cmd.first.eq(first_cmd), cmd.last.eq(end_window),
            cmd.layer.eq(layer), cmd.group.eq(group), cmd.base.eq(base),
            cmd.last_lane.eq(Mux(l_g, k["last_lane"], P - 1)),
            cmd.release.eq(end_layer & (layer == (L - 1 if plan.events else 0))),
        ]

        # -- the skid register: ``held`` keeps a command that ``cmd`` refused
        held = Signal(command_layout(plan))
        held_valid = Signal()
        m.d.comb += [self.cmd.valid.eq(held_valid | cmd_valid),
                     self.cmd.payload.eq(Mux(held_valid, held, cmd)),
                     self.frame.ready.eq(self.cmd.valid & self.cmd.ready & self.cmd.payload.release)]
        with m.If(held_valid):
            with m.If(self.cmd.ready):
                m.d.sync += held_valid.eq(0)
        with m.Elif(cmd_valid & ~self.cmd.ready):
            m.d.sync += [held.eq(cmd), held_valid.eq(1)]

        # -- which loop level steps. ``level`` is a one-hot register: the innermost counter
        #    not at its bound (none at the layer's end), kept one step ahead from the
        #    counters and flags, so a step decides nothing: ``pick`` selects every
        #    register's next value as an AND-OR of the levels' values (not a priority chain
        #    of multiplexers, eight LUTs deep), ``en`` (pick and step) enables it.
        levels = ("ci", "kw", "kh", "px", "py", "g", "ow", "oh")
        level = Signal(len(levels))
        step = Signal()
        load = Signal()
        m.d.comb += step.eq(cmd_valid & ~held_valid)
        pick = {name: level[n] for n, name in enumerate(levels)}
        en = {name: Signal(name=f"en_{name}") for name in levels}
        for name in levels:
            m.d.comb += en[name].eq(step & pick[name])
        # LOAD: level is 0 in that state, so the loaded values share the AND-OR
        pick["load"] = Signal(name="loading")

        # The level after a step: the same, until its counter reaches its bound; then the
        # next outer level not at its bound (the flags of the levels inside are set);
        # after a step of an outer level, the innermost that counts (``k_level``).
        reaches = _or_all([level[n] & near[name] for n, name in enumerate(levels)])
        outer_level = Signal.like(level)
        done = 1
        for n, name in enumerate(levels):
            m.d.comb += outer_level[n].eq(done & ~flag[name] & ~level[n])
            done = done & (flag[name] | level[n])
        level_next = Signal.like(level)
        m.d.comb += level_next.eq(level)
        with m.If(step):
            with m.If((level != 0) & (level != k["level"])):
                m.d.comb += level_next.eq(k["level"])
            with m.Elif(reaches):
                m.d.comb += level_next.eq(outer_level)
        with m.If(load):
            m.d.comb += level_next.eq(k["level"])
        # ``from_level[n]``: the level picked is n or an outer one, a register beside
        # ``level``. Every register below is enabled from some level outwards (or by
        # LOAD), so its enable is ``step``, one of these registers and ``load``: two LUTs,
        # whatever the loop nest's depth.
        from_level = Signal(len(levels))
        m.d.sync += [level.eq(level_next),
                     *(from_level[n].eq(level_next[n:].any()) for n in range(len(levels)))]

        def one_hot(shape, name, pairs):
            """OR of the values whose level is picked (0 when none is)."""
            terms = []
            for lvl, value in pairs:
                term = Signal(shape, name=f"{name}_{lvl}")
                m.d.comb += term.eq(Mux(pick[lvl], value, 0))
                terms.append(term)
            out = Signal(shape, name=name)
            m.d.comb += out.eq(_or_all(terms))
            return out

        def any_pick(*names):
            return _or_all([pick[name] for name in names])

        def en_from(name=None):
            """Enabled by a step of level ``name`` or of an outer one, or by LOAD."""
            if name is None:
                return load
            return (step & from_level[levels.index(name)]) | load

        # input address, row and column: the value of the level that steps
        na = one_hot(addr_shape, "na", [
            ("kh", a_row + k["inc_row"]), ("px", a_pool + k["inc_px"]),
            ("py", a_prow + k["inc_py"]), ("g", a_pos), ("ow", a_pos + k["inc_ow"]),
            ("oh", a_posrow + k["inc_oh"]), ("load", k["start"])])
        nih = one_hot(coord_shape, "nih", [
            ("kh", ih + 1), ("px", ih_pool), ("py", ih_pool + k["stride"]), ("g", ih_pos),
            ("ow", ih_pos), ("oh", ih_pos + k["step"]), ("load", -k["pad"])])
        niw = one_hot(coord_shape, "niw", [
            ("kw", iw + 1), ("kh", iw_pool), ("px", iw_pool + k["stride"]), ("py", iw_pos),
            ("g", iw_pos), ("ow", iw_pos + k["step"]), ("oh", -k["pad"]), ("load", -k["pad"])])
        nwa = one_hot(index_shape(plan.w_depth), "nwa", [
            ("ci", wa + 1), ("kw", wa + 1), ("kh", wa + 1), ("px", wa_g), ("py", wa_g),
            ("g", wa_g + k["fan_in"]), ("ow", k["wbase"]), ("oh", k["wbase"]),
            ("load", k["wbase"])])
        with m.If(en_from("ci")):
            m.d.sync += a.eq(Mux(any_pick("ci", "kw"), a + 1, 0) | na)
        with m.If(en_from("kh")):
            m.d.sync += a_row.eq(na)
        with m.If(en_from("px")):
            m.d.sync += a_pool.eq(na)
        with m.If(en_from("py")):
            m.d.sync += a_prow.eq(na)
        with m.If(en_from("ow")):
            m.d.sync += a_pos.eq(na)
        with m.If(en_from("oh")):
            m.d.sync += a_posrow.eq(na)
        with m.If(en_from("kh")):
            m.d.sync += ih.eq(nih)
        with m.If(en_from("py")):
            m.d.sync += ih_pool.eq(nih)
        with m.If(en_from("oh")):
            m.d.sync += ih_pos.eq(nih)
        with m.If(en_from("kw")):
            m.d.sync += iw.eq(niw)
        with m.If(en_from("px")):
            m.d.sync += iw_pool.eq(niw)
        with m.If(en_from("ow")):
            m.d.sync += iw_pos.eq(niw)
        with m.If(en_from("ci")):
            m.d.sync += wa.eq(nwa)
        with m.If(en_from("g")):
            m.d.sync += wa_g.eq(nwa)
        with m.If(en_from("g")):
            m.d.sync += ba.eq(Mux(pick["g"], ba + 1, k["bbase"]))

        # loop counters: the stepping level counts, the levels inside it restart
        for n, name in enumerate(levels):
            with m.If(en[name]):
                m.d.sync += bump(name)
            with m.Elif(en_from(levels[n + 1] if n + 1 < len(levels) else None)):
                m.d.sync += zero(name)
        with m.If(step):
            m.d.sync += first_cmd.eq(end_window)
            with m.If(end_window):
                m.d.sync += [group.eq(group + 1), base.eq(base + Mux(l_g, k["pos_step"], P))]

        # -- a layer at a time: the first waits for a frame, the others for the previous
        #    layer's outputs
        written_seen = Signal()
        with m.If(self.written):
            m.d.sync += written_seen.eq(1)
        state = Signal(range(3))                # LOAD, RUN, WAIT
        with m.If(state == 0):                  # LOAD: every level to the layer's start
            # ``load`` is a register, set a cycle after the layer may start: the input
            # buffer's handshake stays off the enables of the walk's registers
            m.d.comb += pick["load"].eq(1)
            # event input: the frame's first layer (the EventWalker's) must also be written
            start = self.frame.valid & (written_seen if plan.events else 1)
            m.d.sync += load.eq(~load & ((layer != first) | start))
            with m.If(load):
                m.d.sync += [group.eq(0), base.eq(0), first_cmd.eq(1), state.eq(1)]
                if plan.events:
                    with m.If(layer == first):
                        m.d.sync += written_seen.eq(0)
        with m.Elif(state == 1):                # RUN: a command per cycle
            m.d.comb += cmd_valid.eq(1)
            with m.If(step & end_layer):
                m.d.sync += state.eq(2)
                with m.If(layer == L - 1):
                    # through WAIT, which the constants of the first layer need
                    m.d.sync += [layer.eq(first), written_seen.eq(1)]
                with m.Else():
                    m.d.sync += layer.eq(layer + 1)
        with m.Else():                          # WAIT: for the layer's outputs
            with m.If(written_seen):
                m.d.sync += [written_seen.eq(0), state.eq(0)]
        return m


def _or_all(values):
    """OR of a list of values, as a balanced tree."""
    values = list(values)
    while len(values) > 1:
        values = [values[n] | values[n + 1] if n + 1 < len(values) else values[n]
                  for n in range(0, len(values), 2)]
    return values[0]
