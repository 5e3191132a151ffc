"""Post-processing of the engine's groups: requantisation or thermal neurons, one output a cycle."""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ipnet_mtj.sw.fixed import requantise_output
from .net_engine import group_layout
from .net_walker import switch_cases
from .neuron_unit import NeuronUnit
from .ops import HW_OPS, index_shape

__all__ = ["NetPost", "output_layout"]


def output_layout(plan):
    """One output value of any layer.

    Fields
    ------
    layer : layer index
    index : channels-last word index within the layer's output
    value : the activation, thermal output or logit, as bits (zero-extended)
    theta : the neuron's heat after this frame (thermal layer only, else 0)
    """
    return data.StructLayout({
        "layer": index_shape(plan.n_layers),
        "index": index_shape(plan.max_outputs),
        "value": unsigned(plan.value_width),
        "theta": unsigned(plan.theta_width),
    })


class NetPost(wiring.Component):
    """Turns accumulator groups into output values, in channels-last order per layer.

    A group of a thermal layer goes to that layer's :class:`~hw.neuron_unit.NeuronUnit`
    (heat of all its neurons in a RAM, cleared after reset; one unit per thermal layer).
    A group of any other layer is serialised, one lane per cycle, straight from the ``acc``
    payload (the group is taken after its last real lane), through two registers
    (lane selected; requantised) and
    :func:`sw.fixed.requantise_output` with the layer's shift and format:
    ReLU for relu layers, signed logits for the last. Padding lanes are skipped.
    The two sources merge into ``out``, thermal outputs first. A group is held
    in the engine's hand-over register while it is processed, so the lanes
    compute the next group meanwhile.

    Parameters
    ----------
    plan : hw.net_plan.NetPlan
    overlap : bool
        The neuron unit takes a thermal group while it issues the previous one's lanes
        (:class:`~hw.neuron_unit.NeuronUnit`): a group every P cycles. Event input sets it,
        for its flushes are groups of one command; the dense walk's windows hide the
        wait, so it keeps the unit's default (and its cycle counts).

    Attributes
    ----------
    acc : In(stream.Signature(group_layout(plan)))
    out : Out(stream.Signature(output_layout(plan)))
    """

    def __init__(self, plan, overlap=False):
        self.plan = plan
        self.overlap = overlap
        for thermal in plan.net.thermals:
            if thermal.fp.acc_width < thermal.acc_width:
                raise ValueError(f"layer {thermal.name}: the neuron unit's accumulators "
                                 f"({thermal.fp.acc_width} bits) are narrower than the layer's "
                                 f"({thermal.acc_width})")
        super().__init__({
            "acc": In(stream.Signature(group_layout(plan))),
            "out": Out(stream.Signature(output_layout(plan))),
        })

    def elaborate(self, platform):
        plan, net = self.plan, self.plan.net
        P = plan.lanes
        m = Module()
        acc = self.acc.payload
        # one neuron unit per thermal layer (an all-MTJ network has several), each with the
        # heat RAM and constants of its layer; the first is named ``neurons``
        units, selects = [], []
        for j, lf in enumerate(net.thermals):
            unit = NeuronUnit(lf.fp, overlap=self.overlap, read=lf.read != "none",
                              suffix=str(j) if j else "")
            m.submodules["neurons" if j == 0 else f"neurons{j}"] = unit
            sel = Signal(name=f"to_neurons{j}")
            m.d.comb += [sel.eq(acc.layer == lf.index),
                         unit.acc.valid.eq(self.acc.valid & sel),
                         unit.acc.payload.group.eq(acc.group)]
            m.d.comb += [unit.acc.payload.lanes[lane].eq(acc.lanes[lane]) for lane in range(P)]
            units.append((lf, unit))
            selects.append(sel)
        is_thermal = Signal()
        thermal_ready = Signal()
        m.d.comb += [is_thermal.eq(Cat(*selects).any()),
                     thermal_ready.eq(Cat(*(sel & unit.acc.ready
                                            for sel, (_, unit) in zip(selects, units))).any())]

        # -- serialiser of relu / none layers: one lane per cycle into a register (P), then
        #    requantised into another (S). P keeps the lane multiplexer and S the
        #    requantisation (shift, saturation and the layer's format) on separate paths.
        lane = Signal(index_shape(P))
        pv, sv = Signal(), Signal()
        p_acc = Signal.like(acc.lanes[0])
        p_layer = Signal.like(acc.layer)
        p_index = Signal.like(acc.base)
        s_out = Signal(output_layout(plan))
        s_take = Signal()
        s_load = Signal()
        step = Signal()
        last = Signal()
        value = Signal(unsigned(plan.value_width))
        m.d.comb += [
            s_load.eq(pv & (~sv | s_take)),
            step.eq(self.acc.valid & ~is_thermal & (~pv | s_load)),
            last.eq(lane == acc.last_lane),
        ]
        requantised = [lf for lf in net.layers if lf.activation != "thermal"]
        for lf in switch_cases(m, p_layer, requantised):
            out = requantise_output(HW_OPS, p_acc, lf.out_shift, lf.out_width, lf.out_signed)
            m.d.comb += value.eq(out.as_unsigned())
        with m.If(s_load):
            m.d.sync += pv.eq(0)
        with m.If(step):
            m.d.sync += [pv.eq(1), p_acc.eq(acc.lanes[lane]), p_layer.eq(acc.layer),
                         p_index.eq(acc.base + lane), lane.eq(lane + 1)]
            with m.If(last):
                m.d.sync += lane.eq(0)
        with m.If(s_take):
            m.d.sync += sv.eq(0)
        with m.If(s_load):
            m.d.sync += [sv.eq(1), s_out.layer.eq(p_layer), s_out.index.eq(p_index),
                         s_out.value.eq(value), s_out.theta.eq(0)]
        with m.If(is_thermal):
            m.d.comb += self.acc.ready.eq(thermal_ready)
        with m.Else():
            m.d.comb += self.acc.ready.eq(step & last)

        # -- merge, thermal outputs first. Within a frame the two never compete (the engine
        #    starts a layer once the previous one is written); the next frame's thermal
        #    outputs may pass logits that wait for the class head. With read: read the
        #    neuron's value is its read; with read: both it hands on two values, its output
        #    at 2n (``second`` 0) and then its read at 2n + 1, holding the unit meanwhile.
        for j, (lf, neurons) in enumerate(units):
            second = Signal(name=f"second{j}")
            with (m.If if j == 0 else m.Elif)(neurons.y.valid):
                m.d.comb += [self.out.valid.eq(1), self.out.payload.layer.eq(lf.index),
                             self.out.payload.theta.eq(neurons.state.theta)]
                if lf.read == "none":
                    m.d.comb += [self.out.payload.index.eq(neurons.state.index),
                                 self.out.payload.value.eq(neurons.y.payload),
                                 neurons.y.ready.eq(self.out.ready)]
                elif lf.read == "read":
                    m.d.comb += [self.out.payload.index.eq(neurons.state.index),
                                 self.out.payload.value.eq(neurons.read),
                                 neurons.y.ready.eq(self.out.ready)]
                else:
                    m.d.comb += [self.out.payload.index.eq(Cat(second, neurons.state.index)),
                                 self.out.payload.value.eq(Mux(second, neurons.read,
                                                               neurons.y.payload)),
                                 neurons.y.ready.eq(self.out.ready & second)]
                    with m.If(self.out.ready):
                        m.d.sync += second.eq(~second)
        with m.Else():
            m.d.comb += [self.out.valid.eq(sv), self.out.payload.eq(s_out),
                         s_take.eq(sv & self.out.ready)]
        return m
