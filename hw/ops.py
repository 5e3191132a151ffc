"""Amaranth backend of the fixed-point ops of :mod:`sw.fixed`.

With it, the functions of :mod:`sw.fixed` build hardware expressions: the
generator does not restate the arithmetic, it evaluates the one definition.
"""

from amaranth.hdl import Array, Const, Mux, signed, unsigned

from ipnet_mtj.sw.fixed import IntOps

__all__ = ["HwOps", "HW_OPS", "index_shape"]


class HwOps(IntOps):
    """Saturation as a pair of comparators, a table as a multiplexer of constants (a ROM).
    The shifts are IntOps' own: Python's ``>>`` is an arithmetic shift on Amaranth signed
    values too, so they become wiring."""

    @staticmethod
    def sat_between(x, lo, hi, width, signed):
        clamped = Mux(x < lo, lo, Mux(x > hi, hi, x))[:width]
        return clamped.as_signed() if signed else clamped

    @staticmethod
    def lookup(table, index):
        lo, hi = min(table), max(table)
        shape = signed(max(lo.bit_length(), hi.bit_length()) + 1) if lo < 0 else unsigned(
            max(1, hi.bit_length()))
        # an address past the table reads the last entry (IntOps' min), and the case
        # statement over the address bits is complete (the last entry repeated)
        last = len(table) - 1
        bits = max(1, last.bit_length())
        address = Mux(index > last, last, index)[:bits]
        padded = list(table) + [table[-1]] * ((1 << bits) - len(table))
        return Array(Const(v, shape) for v in padded)[address]


HW_OPS = HwOps()


def index_shape(count):
    """Unsigned shape that indexes ``count`` items (at least one bit)."""
    return unsigned(max(1, (count - 1).bit_length()))
