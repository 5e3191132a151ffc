"""The IP layer: synapses (MAC array) in front of MTJ thermal neurons."""

from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .framing import StepFramer, framed_layout
from .mac_array import MacArray
from .neuron_unit import NeuronUnit, StateMonitorSignature

__all__ = ["IPLayer"]


class IPLayer(wiring.Component):
    """x_t -> u_t = W x_t + b -> thermal neurons -> y_t, emulated cycle by cycle.

    Per time step, M input samples go in on ``x`` (one per beat, in input
    order, ``last`` on the M-th) and N outputs come out on ``y`` (one per beat,
    in neuron order, ``last`` on the N-th). A step of the wrong length raises
    ``step_error`` (sticky until reset) and is padded with zeros or cut
    (:class:`~hw.framing.StepFramer`), so later steps stay aligned. ``state``
    strobes each neuron's new heat as it is written. Synchronous reset returns
    every neuron to ambient (theta = 0) and drops any partly received step;
    the neuron unit then clears its heat RAM for N cycles, during which the
    layer takes input but produces no output.

    Parameters
    ----------
    fp : sw.fixed.FixedPoint
    weights, biases : array of int
        (N, M) and (N,) integers in the formats of ``fp``.

    Attributes
    ----------
    x : In(stream.Signature(framed_layout(signed(fp.x_width))))
    y : Out(stream.Signature(framed_layout(unsigned(fp.y_out_width))))
    step_error : Out(1)
    state : Out(StateMonitorSignature(fp))
    """

    def __init__(self, fp, weights, biases):
        self.fp = fp
        self._weights = weights
        self._biases = biases
        super().__init__({
            "x": In(stream.Signature(framed_layout(signed(fp.x_width)))),
            "y": Out(stream.Signature(framed_layout(unsigned(fp.y_out_width)))),
            "step_error": Out(1),
            "state": Out(StateMonitorSignature(fp)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mac = mac = MacArray(self.fp, self._weights, self._biases)
        m.submodules.neurons = neurons = NeuronUnit(self.fp)
        m.submodules.framer = framer = StepFramer(signed(self.fp.x_width), self.fp.inputs)
        wiring.connect(m, wiring.flipped(self.x), framer.i)
        wiring.connect(m, framer.o, mac.x)
        m.d.comb += self.step_error.eq(framer.error)
        wiring.connect(m, mac.acc, neurons.acc)
        # y: the neuron unit's outputs, in neuron order; last on neuron N-1
        neuron = Signal(range(self.fp.neurons))
        m.d.comb += [self.y.valid.eq(neurons.y.valid), neurons.y.ready.eq(self.y.ready),
                     self.y.payload.data.eq(neurons.y.payload),
                     self.y.payload.last.eq(neuron == self.fp.neurons - 1)]
        with m.If(self.y.valid & self.y.ready):
            m.d.sync += neuron.eq(neuron + 1)
            with m.If(neuron == self.fp.neurons - 1):
                m.d.sync += neuron.eq(0)
        wiring.connect(m, neurons.state, wiring.flipped(self.state))
        return m
