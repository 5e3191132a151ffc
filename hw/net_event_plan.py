"""The first layer's scatter with event input (``hardware.input: events``): pure Python.

With event input the accelerator receives only the non-zero words of a frame, in address
order, and the first layer scatters each one into the outputs it touches instead of walking
every window. Its partial sums live in a ring of ``R`` output rows (``R`` a power of two, at
least the output rows one input row reaches): an output row is final once the events have
passed the last input row it reads, and is then flushed (bias added, handed to
post-processing, its words cleared) in the dense walk's order, position after position,
group after group. Everything here is a function of the layer's geometry; the hardware
(:mod:`hw.net_event_walker`) issues the commands these functions list, and the tests and the
cycle model compare against them.
"""

from dataclasses import dataclass

from amaranth.utils import ceil_log2

from .net_rom_layout import bias_bases, layer_groups, weight_bases

__all__ = ["EventPlan", "reach", "scatter_commands", "frame_commands", "frame_events", "event_beats"]


def reach(coord, size_out, kernel, stride, pad):
    """Output rows (or columns) an input row (column) ``coord`` reaches.

    Returns ``(first, count, k_first)``: the first output index, how many there are (0 when
    none), and the kernel row (column) of the first; each next output uses the kernel row
    ``stride`` lower.
    """
    lo = max(0, -(-(coord + pad - kernel + 1) // stride))
    hi = min(size_out - 1, (coord + pad) // stride)
    if hi < lo:
        return 0, 0, 0
    return lo, hi - lo + 1, coord + pad - stride * lo


@dataclass(frozen=True)
class EventPlan:
    """Geometry of the first layer's scatter.

    Attributes
    ----------
    rows, cols : tuple of (first, count, k_first)
        :func:`reach` of every input row and column.
    ring : int
        R, output rows the partial-sum RAM holds (a power of two).
    row_words : int
        S, words of one ring row: a power of two >= W_out * G (word ``ox*G + g``).
    depth : int
        R * S, the partial-sum RAM's words (each P partial sums of ``part_width`` bits).
    part_width : int
        Bits of a partial sum: any sum of products of the window, without the bias.
    """
    channels: int
    height: int
    width: int
    out_rows: int
    out_cols: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride: int
    groups: int
    lanes: int
    last_lane: int
    fan_in: int
    wbase: int
    bbase: int
    rows: tuple
    cols: tuple
    ring: int
    row_words: int
    depth: int
    part_width: int

    @classmethod
    def of(cls, net):
        lf = net.layers[0]
        c, h, w = lf.in_shape
        co, ho, wo = lf.out_shape
        kh, kw = lf.kernel
        s, p = lf.stride, lf.padding
        P = net.lanes
        g = layer_groups(lf, P)
        rows = tuple(reach(y, ho, kh, s, p) for y in range(h))
        cols = tuple(reach(x, wo, kw, s, p) for x in range(w))
        span = max(1, max(n for _, n, _ in rows))
        ring = 1 << ceil_log2(span)
        row_words = 1 << ceil_log2(wo * g)
        x_max = (1 << lf.x_width) - 1
        part = (lf.window * x_max * (1 << (lf.w_width - 1))).bit_length() + 1
        return cls(channels=c, height=h, width=w, out_rows=ho, out_cols=wo, out_channels=co,
                   kernel_h=kh, kernel_w=kw, stride=s, groups=g, lanes=P,
                   last_lane=(co - 1) % P, fan_in=lf.fan_in, wbase=weight_bases(net)[0][0],
                   bbase=bias_bases(net)[0][0], rows=rows, cols=cols, ring=ring,
                   row_words=row_words, depth=ring * row_words, part_width=part)

    def weight_address(self, g, ky, kx, c):
        """Lane ROM word of output group ``g``'s weight at kernel (ky, kx), input channel c."""
        return self.wbase + g * self.fan_in + (ky * self.kernel_w + kx) * self.channels + c

    def slot(self, oy, ox, g):
        """Partial-sum RAM word of output row ``oy``, column ``ox``, group ``g``."""
        return (oy % self.ring) * self.row_words + ox * self.groups + g


def scatter_commands(ep, row, col, channel):
    """(weight word, RAM word) of every MAC of one event, in issue order: output rows, output
    columns, groups (innermost)."""
    oy0, ny, ky0 = ep.rows[row]
    ox0, nx, kx0 = ep.cols[col]
    return [(ep.weight_address(g, ky0 - ep.stride * dy, kx0 - ep.stride * dx, channel),
             ep.slot(oy0 + dy, ox0 + dx, g))
            for dy in range(ny) for dx in range(nx) for g in range(ep.groups)]


def frame_commands(ep, events):
    """Every command of one frame's events ``[(row, col, channel, count)]`` (address order,
    counts > 0): ``("mac", weight word, RAM word, count)`` and ``("flush", output row)``.

    Before an event, every row above the first it reaches is flushed; after the last, the
    remaining rows.
    """
    out, flushed = [], 0
    for row, col, channel, count in events:
        first, n, _ = ep.rows[row]
        if n == 0 or ep.cols[col][1] == 0:
            continue
        while flushed < first:
            out.append(("flush", flushed))
            flushed += 1
        out += [("mac", wa, slot, count) for wa, slot in scatter_commands(ep, row, col, channel)]
    out += [("flush", r) for r in range(flushed, ep.out_rows)]
    return out


def frame_events(frame):
    """The non-zero words of one quantised frame (C, H, W) in address order (row, column,
    channel): ``[(row, col, channel, count)]``."""
    import numpy as np
    x = np.asarray(frame).transpose(1, 2, 0)            # channels-last
    rows, cols, chans = np.nonzero(x)
    return [(int(r), int(c), int(ch), int(x[r, c, ch])) for r, c, ch in zip(rows, cols, chans)]


def event_beats(frame):
    """The beats of one frame on an event port: ``(count, channel, col, row, last)``, ``last``
    on the final one; an empty frame is one beat of count 0."""
    events = frame_events(frame)
    if not events:
        return [(0, 0, 0, 0, 1)]
    return [(n, ch, c, r, int(k == len(events) - 1)) for k, (r, c, ch, n) in enumerate(events)]
