"""The last stage of both MAC pipelines: accumulate P lanes and hand the finished group over.

:class:`~hw.mac_array.MacArray` (the single layer) and :class:`~hw.net_engine.NetEngine`
(the network) end the same way, so the stage exists once, here.
"""

from amaranth.hdl import Mux, Signal, signed

__all__ = ["accumulate_lanes"]


def accumulate_lanes(m, *, valid, first, last, stall, bias, prod, acc_width, out, tag):
    """Add the lanes' products to their sums; put a finished group on ``out``.

    One product per lane enters each cycle that ``valid`` is high and ``stall`` low. On a
    group's ``first`` product a lane's sum restarts from its bias, otherwise the product is
    added to the running sum. On its ``last`` product the lane totals go to
    ``out.payload.lanes``, ``out.valid`` rises, and ``tag`` (statements that copy the group's
    identity into ``out.payload``) is applied in the same cycle. ``out.valid`` falls when
    ``out.ready`` takes the group.

    ``stall`` is driven here: high while a group's last product waits for the hand-over
    register, which holds the previous group. It looks at the registered ``out.valid`` alone,
    not at ``out.ready``: a group that finishes in the very cycle its predecessor is taken
    waits one cycle, and the consumer's ready stays off the MAC pipeline's path (through
    ``out.ready`` it limited UP5K Fmax to 43 MHz).

    Parameters
    ----------
    m : amaranth.hdl.Module
    valid, first, last : Value
        The stage's input: a product is present, and is a group's first / last.
    stall : Signal
        Driven (combinationally) by this stage; the pipeline ahead holds while it is high.
    bias, prod : list of Value
        Per lane: the aligned bias and the product.
    acc_width : int
        Width of the signed sums (the accumulator format).
    out : stream interface
        The hand-over register; its payload has ``lanes`` (one sum per lane).
    tag : list of Assign
        Statements applied with the hand-over (the group's number or fields).

    Returns
    -------
    list of Signal
        The lanes' running sums (named ``acc0``, ``acc1``, ...).
    """
    acc = [Signal(signed(acc_width), name=f"acc{lane}") for lane in range(len(prod))]
    m.d.comb += stall.eq(valid & last & out.valid)
    with m.If(out.valid & out.ready):
        m.d.sync += out.valid.eq(0)
    with m.If(valid & ~stall):
        for lane, (b, p) in enumerate(zip(bias, prod, strict=True)):
            # two adders and a mux after them: the carry chains start at registers
            total = Mux(first, b + p, acc[lane] + p)
            m.d.sync += acc[lane].eq(total)
            with m.If(last):
                m.d.sync += out.payload.lanes[lane].eq(total)
        with m.If(last):
            m.d.sync += [out.valid.eq(1), *tag]
    return acc
