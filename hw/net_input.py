"""Two-bank input frame buffer: one frame arrives while the engine computes the previous one."""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory, ReadPort
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .ops import index_shape

__all__ = ["InputBuffer"]


class InputBuffer(wiring.Component):
    """Collects input frames of ``words`` beats into two banks of one RAM.

    Bank b holds words ``b*words .. b*words + words - 1``. A bank is offered on
    ``frame`` once all its beats are in, and accepts new beats again once the
    consumer releases it (the ``frame`` transfer). ``x`` is refused while the
    bank it would write is still full. Reset drops a partly received frame
    and empties both banks.

    Parameters
    ----------
    words : int
        Beats per frame.
    width : int
        Bits per beat (unsigned).

    Attributes
    ----------
    x : In(stream.Signature(unsigned(width)))
    frame : Out(stream.Signature(1))
        Valid while the next bank to compute is full; payload: its index.
    rd : Out(ReadPort.Signature)
        The consumer's read port (address ``bank*words + word``).
    """

    def __init__(self, words, width):
        self.words = words
        self.width = width
        super().__init__({
            "x": In(stream.Signature(unsigned(width))),
            "frame": Out(stream.Signature(1)),
            "rd": Out(ReadPort.Signature(addr_width=ceil_log2(2 * words), shape=unsigned(width))),
        })

    def elaborate(self, platform):
        n = self.words
        m = Module()
        m.submodules.mem = mem = Memory(shape=unsigned(self.width), depth=2 * n, init=[])
        wr = mem.write_port()
        wiring.connect(m, wiring.flipped(self.rd), mem.read_port())

        full = [Signal(name="full0"), Signal(name="full1")]
        wr_bank = Signal()
        wr_addr = Signal(index_shape(2 * n))
        rd_bank = Signal()
        take = Signal()
        m.d.comb += [
            self.x.ready.eq(~Mux(wr_bank, full[1], full[0])),
            take.eq(self.x.valid & self.x.ready),
            wr.addr.eq(wr_addr), wr.data.eq(self.x.payload), wr.en.eq(take),
            self.frame.valid.eq(Mux(rd_bank, full[1], full[0])),
            self.frame.payload.eq(rd_bank),
        ]
        with m.If(take):
            m.d.sync += wr_addr.eq(wr_addr + 1)
            with m.If(wr_addr == n - 1):
                m.d.sync += [wr_bank.eq(1), full[0].eq(1)]
            with m.If(wr_addr == 2 * n - 1):
                m.d.sync += [wr_addr.eq(0), wr_bank.eq(0), full[1].eq(1)]
        with m.If(self.frame.valid & self.frame.ready):
            m.d.sync += rd_bank.eq(~rd_bank)
            with m.If(rd_bank):
                m.d.sync += full[1].eq(0)
            with m.Else():
                m.d.sync += full[0].eq(0)
        return m
