"""The IP layer: synapses (MAC array) in front of MTJ thermal neurons."""

from amaranth.hdl import Module, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .mac_array import MacArray
from .neuron_unit import NeuronUnit, StateMonitorSignature

__all__ = ["IPLayer"]


class IPLayer(wiring.Component):
    """x_t -> u_t = W x_t + b -> thermal neurons -> y_t, emulated cycle by cycle.

    Per time step, M input samples go in on ``x`` (one per beat, in input
    order) and N outputs come out on ``y`` (one per beat, in neuron order).
    ``state`` strobes each neuron's new heat as it is written. Synchronous
    reset returns every neuron to ambient (theta = 0) and drops any partly
    received step; ``x`` is accepted again after N cycles of clearing.

    Parameters
    ----------
    fp : sw.fixed.FixedPoint
    weights, biases : array of int
        (N, M) and (N,) integers in the formats of ``fp``.

    Attributes
    ----------
    x : In(stream.Signature(signed(fp.x_width)))
    y : Out(stream.Signature(unsigned(fp.y_out_width)))
    state : Out(StateMonitorSignature(fp))
    """

    def __init__(self, fp, weights, biases):
        self.fp = fp
        self._weights = weights
        self._biases = biases
        super().__init__({
            "x": In(stream.Signature(signed(fp.x_width))),
            "y": Out(stream.Signature(unsigned(fp.y_out_width))),
            "state": Out(StateMonitorSignature(fp)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac = mac = MacArray(self.fp, self._weights, self._biases)
        m.submodules.neurons = neurons = NeuronUnit(self.fp)
        wiring.connect(m, wiring.flipped(self.x), mac.x)
        wiring.connect(m, mac.acc, neurons.acc)
        wiring.connect(m, neurons.y, wiring.flipped(self.y))
        wiring.connect(m, neurons.state, wiring.flipped(self.state))
        return m
