"""Amaranth backend of the fixed-point ops of :mod:`sw.fixed`.

With it, the functions of :mod:`sw.fixed` build hardware expressions: the
generator does not restate the arithmetic, it evaluates the one definition.
"""

from amaranth.hdl import Mux, unsigned

from ipnet_mtj.sw.fixed import IntOps, sat_range

__all__ = ["HwOps", "HW_OPS", "index_shape"]


class HwOps(IntOps):
    """Saturation as a pair of comparators. The shifts are IntOps' own: Python's ``>>`` is
    an arithmetic shift on Amaranth signed values too, so they become wiring."""

    @staticmethod
    def sat(x, width, signed):
        lo, hi = sat_range(width, signed)
        clamped = Mux(x < lo, lo, Mux(x > hi, hi, x))[:width]
        return clamped.as_signed() if signed else clamped


HW_OPS = HwOps()


def index_shape(count):
    """Unsigned shape that indexes ``count`` items (at least one bit)."""
    return unsigned(max(1, (count - 1).bit_length()))
