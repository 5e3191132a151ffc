"""Framing of an input stream: steps of a fixed number of beats, ``last`` on the final one."""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .ops import index_shape

__all__ = ["framed_layout", "StepFramer"]


def framed_layout(shape):
    """A beat of a framed stream: ``data`` of ``shape`` (bits 0 up), ``last`` above it."""
    return data.StructLayout({"data": shape, "last": 1})


class StepFramer(wiring.Component):
    """Checks that every step of ``i`` has ``beats`` beats, ``last`` on the final one; passes
    the data to ``o`` as whole steps, whatever arrives.

    - A beat with ``last`` before the step is complete (beats were dropped): ``o`` gets zeros
      for the missing beats, so the step still has ``beats`` beats.
    - No ``last`` on the step's final beat (beats were added): the step ends there, and the
      beats that follow are discarded up to and including the next one with ``last``.

    Either way ``error`` rises and stays high until reset, and the steps after the faulty one
    are aligned again: a wrong length corrupts one step, never every later one.

    Parameters
    ----------
    shape : shape-like
        Of the data.
    beats : int
        Beats per step.

    Attributes
    ----------
    i : In(stream.Signature(framed_layout(shape)))
    o : Out(stream.Signature(shape))
    error : Out(1)
        Sticky: some step had the wrong length.
    """

    def __init__(self, shape, beats):
        if beats < 1:
            raise ValueError(f"beats must be >= 1, got {beats}")
        self.beats = beats
        super().__init__({
            "i": In(stream.Signature(framed_layout(shape))),
            "o": Out(stream.Signature(shape)),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        count = Signal(index_shape(self.beats))
        final = Signal()
        pad = Signal()          # giving zeros for the beats an early ``last`` cut off
        skip = Signal()         # discarding the extra beats, up to the next ``last``
        m.d.comb += final.eq(count == self.beats - 1)
        # Two flags rather than an FSM: the Verilog stays free of case statements that
        # Verilator's lint flags as incomplete.
        with m.If(pad):
            m.d.comb += [self.o.valid.eq(1), self.o.payload.eq(0)]
            with m.If(self.o.ready):
                m.d.sync += count.eq(count + 1)
                with m.If(final):
                    m.d.sync += [count.eq(0), pad.eq(0)]
        with m.Elif(skip):
            m.d.comb += self.i.ready.eq(1)
            with m.If(self.i.valid & self.i.payload.last):
                m.d.sync += skip.eq(0)
        with m.Else():
            m.d.comb += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload.data),
                         self.i.ready.eq(self.o.ready)]
            with m.If(self.i.valid & self.i.ready):
                m.d.sync += count.eq(count + 1)
                with m.If(final):
                    m.d.sync += count.eq(0)
                    with m.If(~self.i.payload.last):
                        m.d.sync += [self.error.eq(1), skip.eq(1)]
                with m.Elif(self.i.payload.last):
                    m.d.sync += [self.error.eq(1), pad.eq(1), count.eq(count + 1)]
        return m
