"""One neuron update as pure combinational logic, for formal proofs (gen/formal.py).

The same calls of :mod:`sw.fixed` with the hardware backend, in the same order, as the
pipelined :class:`~hw.neuron_unit.NeuronUnit` makes across its stages S2-S4 (there each
intermediate sits in a register of the expression's own shape, so the values are the
same); here without registers, RAM or handshake, so that a solver can reason about one
update for all inputs.
"""

from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ipnet_mtj.sw.fixed import (cool, gain_width, joule_heat, offset_width, preactivation,
                                requantise, threshold, warm)

from .ops import HW_OPS

__all__ = ["NeuronStep"]


class NeuronStep(wiring.Component):
    """acc, theta -> i, z, spike, theta_next: one update of one thermal neuron.

    Attributes
    ----------
    acc : In(signed(fp.acc_width))
        The exact accumulator (weights times inputs plus the aligned bias).
    theta : In(unsigned(fp.theta_width))
        The heat after the previous step.
    offset : In(signed(offset_width(fp)))
        With device spread only: the neuron's threshold offset (a word of the offset ROM).
    alpha, gain : In(unsigned(fp.alpha_frac)), In(unsigned(...))
        With per-device time constants only: the neuron's alpha_mult and heat gain (words
        of the alpha and gain ROMs).
    i : Out(signed(fp.i_width))
    z : Out(signed(fp.z_width))
    spike : Out(1)
        ``z >= 0``, the spike-mode output.
    theta_next : Out(unsigned(fp.theta_width))
    """

    def __init__(self, fp):
        self.fp = fp
        ports = {"offset": In(signed(offset_width(fp)))} if fp.thr_offset else {}
        if fp.devices:
            ports["alpha"] = In(unsigned(fp.alpha_frac))
            ports["gain"] = In(unsigned(gain_width(fp)))
        super().__init__({
            **ports,
            "acc": In(signed(fp.acc_width)),
            "theta": In(unsigned(fp.theta_width)),
            "i": Out(signed(fp.i_width)),
            "z": Out(signed(fp.z_width)),
            "spike": Out(1),
            "theta_next": Out(unsigned(fp.theta_width)),
        })

    def elaborate(self, platform):
        fp, ops = self.fp, HW_OPS
        m = Module()
        i = requantise(ops, fp, self.acc)
        offset = self.offset if fp.thr_offset else None
        alpha, gain = (self.alpha, self.gain) if fp.devices else (None, None)
        z = preactivation(ops, fp, i, threshold(ops, fp, self.theta, offset))
        theta_next = warm(ops, fp, cool(ops, fp, self.theta, alpha), joule_heat(ops, fp, i, gain))
        m.d.comb += [self.i.eq(i), self.z.eq(z), self.spike.eq(z >= 0),
                     self.theta_next.eq(theta_next)]
        return m
