"""P-lane multiply-accumulate array with a ping-pong input buffer and weight ROMs."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ipnet_mtj.sw.fixed import bias_term
from .accumulate import accumulate_lanes
from .ops import HW_OPS, index_shape
from .rom_layout import bias_rom, weight_rom

__all__ = ["MacArray", "acc_group_layout"]


def acc_group_layout(fp):
    """Payload between MAC and neurons: the P accumulators of one group."""
    return data.StructLayout({
        "lanes": data.ArrayLayout(signed(fp.acc_width), fp.lanes),
        "group": index_shape(fp.groups),
    })


class MacArray(wiring.Component):
    """Computes ``acc = W x + (b << bias_shift)`` for P neurons at a time.

    Input samples arrive one per beat on ``x``, M beats per time step, into
    one bank of a two-bank buffer while the array works on the other bank.
    For each group g of P neurons the lanes walk the M inputs (one MAC per
    lane per cycle) and emit the group's accumulators on ``acc``. The array
    stalls only while the previous group's accumulators have not been taken.

    Pipeline: issue (buffer/ROM addresses) -> read data, multiply ->
    accumulate; cycles per step G*M plus a 3-cycle tail.

    Parameters
    ----------
    fp : sw.fixed.FixedPoint
    weights, biases : array of int
        (N, M) and (N,), in the formats of ``fp``.

    Attributes
    ----------
    x : In(stream.Signature(signed(x_width)))
    acc : Out(stream.Signature(acc_group_layout(fp)))
    """

    def __init__(self, fp, weights, biases):
        self.fp = fp
        self._weights = weights
        self._biases = biases
        super().__init__({
            "x": In(stream.Signature(signed(fp.x_width))),
            "acc": Out(stream.Signature(acc_group_layout(fp))),
        })

    def elaborate(self, platform):
        fp = self.fp
        M, G, P = fp.inputs, fp.groups, fp.lanes
        m = Module()

        m.submodules.xbuf = xbuf = Memory(shape=signed(fp.x_width), depth=2 * M, init=[])
        x_wr = xbuf.write_port()
        x_rd = xbuf.read_port()
        w_rd, b_rd = [], []
        for lane in range(P):
            w_words = weight_rom(fp, self._weights, lane)
            b_words = bias_rom(fp, self._biases, lane)
            wmem = Memory(shape=signed(fp.w_width), depth=len(w_words), init=w_words)
            bmem = Memory(shape=signed(fp.b_width), depth=len(b_words), init=b_words)
            m.submodules[f"wrom{lane}"] = wmem
            m.submodules[f"brom{lane}"] = bmem
            w_rd.append(wmem.read_port())
            b_rd.append(bmem.read_port())

        # -- write side: fill a free bank, M samples per step
        full = [Signal(name="full0"), Signal(name="full1")]
        wr_bank = Signal()
        wr_m = Signal(index_shape(M))
        m.d.comb += [
            self.x.ready.eq(Mux(wr_bank, full[1], full[0]) == 0),
            x_wr.addr.eq(Mux(wr_bank, M, 0) + wr_m),
            x_wr.data.eq(self.x.payload),
            x_wr.en.eq(self.x.valid & self.x.ready),
        ]
        with m.If(self.x.valid & self.x.ready):
            m.d.sync += wr_m.eq(wr_m + 1)
            with m.If(wr_m == M - 1):
                m.d.sync += [wr_m.eq(0), wr_bank.eq(~wr_bank)]
                with m.If(wr_bank):
                    m.d.sync += full[1].eq(1)
                with m.Else():
                    m.d.sync += full[0].eq(1)

        # -- issue side
        stall = Signal()
        rd_bank = Signal()
        mi = Signal(index_shape(M))
        g = Signal(index_shape(G))
        waddr = Signal(index_shape(G * M))
        issue = Signal()
        m.d.comb += [
            issue.eq(Mux(rd_bank, full[1], full[0]) & ~stall),
            x_rd.addr.eq(Mux(rd_bank, M, 0) + mi),
            x_rd.en.eq(~stall),
        ]
        for lane in range(P):
            m.d.comb += [w_rd[lane].addr.eq(waddr), w_rd[lane].en.eq(~stall),
                         b_rd[lane].addr.eq(g), b_rd[lane].en.eq(~stall)]
        with m.If(issue):
            m.d.sync += [mi.eq(mi + 1), waddr.eq(waddr + 1)]
            with m.If(mi == M - 1):
                m.d.sync += [mi.eq(0), g.eq(g + 1)]
                with m.If(g == G - 1):
                    m.d.sync += [g.eq(0), waddr.eq(0), rd_bank.eq(~rd_bank)]
                    with m.If(rd_bank):
                        m.d.sync += full[1].eq(0)
                    with m.Else():
                        m.d.sync += full[0].eq(0)

        # -- stage B: memory data valid; stage C: products registered
        vb, firstb, lastb = Signal(), Signal(), Signal()
        gb = Signal.like(g)
        vc, firstc, lastc = Signal(), Signal(), Signal()
        gc = Signal.like(g)
        prod = [Signal(signed(fp.x_width + fp.w_width), name=f"prod{lane}") for lane in range(P)]
        bias = [Signal(signed(fp.acc_width), name=f"bias{lane}") for lane in range(P)]
        with m.If(~stall):
            m.d.sync += [vb.eq(issue), firstb.eq(mi == 0), lastb.eq(mi == M - 1), gb.eq(g),
                         vc.eq(vb), firstc.eq(firstb), lastc.eq(lastb), gc.eq(gb)]
            for lane in range(P):
                m.d.sync += [prod[lane].eq(w_rd[lane].data * x_rd.data),
                             bias[lane].eq(bias_term(HW_OPS, fp, b_rd[lane].data))]

        # -- accumulate; hand the finished group over
        accumulate_lanes(m, valid=vc, first=firstc, last=lastc, stall=stall, bias=bias,
                         prod=prod, acc_width=fp.acc_width, out=self.acc,
                         tag=[self.acc.payload.group.eq(gc)])
        return m
