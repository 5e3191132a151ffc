"""The MTJ thermal neuron datapath, time-multiplexed over all N neurons."""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ipnet_mtj.sw.fixed import (cool, fire, gain_width, joule_heat, lfsr_next, lut_index,
                                neuron_thermals, offset_width, preactivation, read_output,
                                requantise, threshold, warm)
from .mac_array import acc_group_layout
from .ops import HW_OPS, index_shape

__all__ = ["NeuronUnit", "StateMonitorSignature"]


class StateMonitorSignature(wiring.Signature):
    """Debug readback of the thermal state: strobes once per neuron update.

    Members
    -------
    valid : Out(1)
        A neuron's new heat is written this cycle.
    index : Out(neuron index)
    theta : Out(unsigned(theta_width))
        The heat after this step, in theta LSBs.
    """

    def __init__(self, fp):
        super().__init__({
            "valid": Out(1),
            "index": Out(index_shape(fp.neurons)),
            "theta": Out(unsigned(fp.theta_width)),
        })


class NeuronUnit(wiring.Component):
    """One neuron-update pipeline shared by all N neurons.

    Takes a group's P accumulators from ``acc``, updates those P neurons one
    per cycle, and emits their outputs on ``y`` in neuron order. The heat of
    every neuron lives in a memory (block RAM on FPGA); after reset the unit
    first writes 0 (ambient) to all N entries.

    Pipeline (stall on ``y`` backpressure):
    S1 select lane, read theta; S2 requantise; S3 heat, threshold, cool;
    S4 pre-activation, warm; S5 LUT read, output. A group is accepted only once
    the previous group has left the pipeline, so a neuron's heat is always
    written before it is read again. With ``overlap`` (and at least 6 neurons, so that
    a neuron comes back no sooner than its write), a group is copied into a register
    of the unit as the previous one's last lane issues: a group every P cycles. Per-neuron constants come from ROMs read beside
    the heat in S1: with device spread (``fp.thr_offset``) the threshold offset, with
    per-device time constants (``fp.devices``) alpha and the heat gain.

    With ``read`` the unit also gives each neuron's resistance read of its new heat,
    :func:`sw.fixed.read_output` (the read table, scaled to the LUT word), on ``read``: valid
    with ``y``, computed from the heat in S4 into a register of S5.

    Every arithmetic step is a function of :mod:`sw.fixed`.

    Attributes
    ----------
    acc : In(stream.Signature(acc_group_layout(fp)))
    y : Out(stream.Signature(unsigned(fp.y_out_width)))
    state : Out(StateMonitorSignature(fp))
    read : Out(unsigned(fp.y_width))
        Only with ``read``.

    ``suffix`` ends the names of the unit's memories (``theta_mem``, ``lut``, the ROMs), so
    that the units of an all-MTJ network have ROMs of distinct names in the Verilog.
    """

    def __init__(self, fp, overlap=False, read=False, suffix=""):
        self.fp = fp
        self.suffix = suffix
        self.overlap = overlap and fp.neurons >= 6
        self.has_read = read
        members = {
            "acc": In(stream.Signature(acc_group_layout(fp))),
            "y": Out(stream.Signature(unsigned(fp.y_out_width))),
            "state": Out(StateMonitorSignature(fp)),
        }
        if read:
            members["read"] = Out(unsigned(fp.y_width))
        super().__init__(members)

    def elaborate(self, platform):
        fp, ops = self.fp, HW_OPS
        N, P = fp.neurons, fp.lanes
        m = Module()

        sfx = self.suffix
        m.submodules["theta_mem" + sfx] = theta_mem = Memory(shape=unsigned(fp.theta_width), depth=N, init=[])
        th_rd = theta_mem.read_port()
        th_wr = theta_mem.write_port()
        lut_rd = None
        if fp.output != "spike":
            m.submodules["lut" + sfx] = lut = Memory(shape=unsigned(fp.y_width), depth=1 << fp.z_width,
                                            init=list(fp.lut))
            lut_rd = lut.read_port()

        clearing = Signal(init=1)
        clear_addr = Signal(index_shape(N))
        lane = Signal(index_shape(P))
        issued_all = Signal()
        v1, v2, v3, v4, v5 = (Signal(name=f"v{k}") for k in range(1, 6))
        stall = Signal()
        m.d.comb += stall.eq(v5 & ~self.y.ready)
        issue = Signal()
        n0 = Signal(index_shape(N))
        if self.overlap:
            # the group waits in ``held`` while its lanes issue; the next is taken as the
            # last lane issues
            held = Signal.like(self.acc.payload)
            held_valid = Signal()
            m.d.comb += [
                issue.eq(held_valid & ~clearing & ~stall),
                self.acc.ready.eq(~held_valid | (issue & (lane == P - 1))),
            ]
            with m.If(issue & (lane == P - 1)):
                m.d.sync += held_valid.eq(0)
            with m.If(self.acc.valid & self.acc.ready):
                m.d.sync += [held_valid.eq(1), held.eq(self.acc.payload)]
            group = held
        else:
            m.d.comb += [
                self.acc.ready.eq(issued_all & ~(v1 | v2 | v3 | v4 | v5)),
                issue.eq(self.acc.valid & ~issued_all & ~clearing & ~stall),
            ]
            group = self.acc.payload
        m.d.comb += [
            n0.eq(group.group * P + lane),
            th_rd.addr.eq(n0),
            th_rd.en.eq(~stall),
        ]

        def neuron_rom(name, shape, values):
            """A per-neuron constant: a ROM read at the neuron's address beside its heat (S1),
            its word registered into S2 like theta2."""
            m.submodules[name + sfx] = rom = Memory(shape=shape, depth=N, init=[int(v) for v in values])
            port = rom.read_port()
            m.d.comb += [port.addr.eq(n0), port.en.eq(~stall)]
            word = Signal(shape, name=f"{name}_word")
            with m.If(~stall):
                m.d.sync += word.eq(port.data)
            return word

        off2 = alpha2 = gain2 = None
        if fp.thr_offset:                    # device spread: the neuron's threshold offset
            off2 = neuron_rom("offset_rom", signed(offset_width(fp)), fp.thr_offset)
        if fp.devices:                       # per-device time constants: alpha and heat gain
            alphas, gains = neuron_thermals(fp)
            alpha2 = neuron_rom("alpha_rom", unsigned(fp.alpha_frac), alphas)
            gain2 = neuron_rom("gain_rom", unsigned(gain_width(fp)), gains)
        with m.If(issue):
            m.d.sync += lane.eq(lane + 1)
            with m.If(lane == P - 1):
                m.d.sync += [lane.eq(0), issued_all.eq(1)]
        if not self.overlap:
            with m.If(self.acc.valid & self.acc.ready):
                m.d.sync += issued_all.eq(0)

        # S1: accumulator of the lane; theta read data arrives in S2's inputs
        acc1 = Signal.like(self.acc.payload.lanes[0])
        n1 = Signal.like(n0)
        # S2
        i2 = Signal(requantise(ops, fp, acc1).shape())
        theta2 = Signal(unsigned(fp.theta_width))
        n2 = Signal.like(n0)
        # S3
        i3 = Signal.like(i2)
        heat3 = Signal(joule_heat(ops, fp, i2, gain2).shape())
        thr3 = Signal(threshold(ops, fp, theta2, off2).shape())
        cooled3 = Signal(cool(ops, fp, theta2, alpha2).shape())
        n3 = Signal.like(n0)
        # S4
        z3 = preactivation(ops, fp, i3, thr3)
        z4 = Signal(z3.shape())
        theta3 = warm(ops, fp, cooled3, heat3)
        theta4 = Signal(unsigned(fp.theta_width))
        n4 = Signal.like(n0)
        # S5
        z5 = Signal.like(z4)
        theta5 = Signal.like(theta4)
        n5 = Signal.like(n0)
        if self.has_read:
            with m.If(~stall):
                m.d.sync += self.read.eq(read_output(ops, fp, theta4))

        with m.If(~stall):
            m.d.sync += [
                v1.eq(issue), acc1.eq(group.lanes[lane]), n1.eq(n0),
                v2.eq(v1), i2.eq(requantise(ops, fp, acc1)), theta2.eq(th_rd.data), n2.eq(n1),
                v3.eq(v2), i3.eq(i2), heat3.eq(joule_heat(ops, fp, i2, gain2)),
                thr3.eq(threshold(ops, fp, theta2, off2)), cooled3.eq(cool(ops, fp, theta2, alpha2)),
                n3.eq(n2),
                v4.eq(v3), z4.eq(z3), theta4.eq(theta3), n4.eq(n3),
                v5.eq(v4), z5.eq(z4), theta5.eq(theta4), n5.eq(n4),
            ]
        if lut_rd is not None:
            m.d.comb += [lut_rd.addr.eq(lut_index(fp, z4)[:fp.z_width]), lut_rd.en.eq(~stall)]

        # output, heat write-back, LFSR
        lfsr = Signal(16, init=fp.lfsr_seed)
        lfsr_step = Signal(16)
        m.d.comb += lfsr_step.eq(lfsr_next(lfsr))
        p5 = lut_rd.data if lut_rd is not None else None
        done = Signal()
        m.d.comb += [
            self.y.valid.eq(v5),
            self.y.payload.eq(fire(fp, z5, p5, lfsr_step[:fp.y_width])),
            done.eq(v5 & self.y.ready),
            self.state.valid.eq(done),
            self.state.index.eq(n5),
            self.state.theta.eq(theta5),
            th_wr.addr.eq(Mux(clearing, clear_addr, n5)),
            th_wr.data.eq(Mux(clearing, 0, theta5)),
            th_wr.en.eq(clearing | done),
        ]
        with m.If(done):
            m.d.sync += lfsr.eq(lfsr_step)
        with m.If(clearing):
            m.d.sync += clear_addr.eq(clear_addr + 1)
            with m.If(clear_addr == N - 1):
                m.d.sync += clearing.eq(0)
        return m
