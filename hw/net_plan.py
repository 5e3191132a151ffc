"""The accelerator's plan of a network: buffer map, memory geometry, per-layer walk constants.

Pure Python. Activations are stored channels-last, word ``(h*W + w)*C + c``.
The input frame has a two-bank buffer of its own; every other layer but the
last writes its output into a region of one activation buffer, which the
next layer reads. The address generator (:mod:`hw.net_walker`) walks each
layer with counters per loop level (positions, groups, pool offsets, kernel
rows, kernel columns, input channels) and address registers that step by the
constant increments computed here, so it needs no multiplier.
"""

from dataclasses import dataclass

from .net_event_plan import EventPlan
from .net_rom_layout import bias_bases, layer_groups, weight_bases

__all__ = ["LayerPlan", "NetPlan"]


@dataclass(frozen=True)
class LayerPlan:
    """Integer constants of one layer's walk. ``*_last`` are loop bounds minus one."""
    index: int
    ci_last: int        #: input channels - 1
    kw_last: int        #: kernel columns - 1
    kh_last: int        #: kernel rows - 1
    pool_last: int      #: pool - 1 (both pool offsets)
    g_last: int         #: groups - 1
    ow_last: int        #: pooled output columns - 1
    oh_last: int        #: pooled output rows - 1
    hi: int             #: input rows
    wi: int             #: input columns
    stride: int
    pad: int
    step: int           #: pool * stride: input rows/columns between output positions
    inc_row: int        #: address step of one input row: W_in * C_in
    inc_px: int         #: of one pool column: stride * C_in
    inc_py: int         #: of one pool row: stride * W_in * C_in
    inc_ow: int         #: of one output column: pool * stride * C_in
    inc_oh: int         #: of one output row: pool * stride * W_in * C_in
    start: int          #: address of (row -pad, column -pad, channel 0) in the source buffer
    dst: int            #: first word of the output region in the activation buffer (-1: none)
    wbase: int          #: first word in the weight ROMs
    bbase: int          #: first word in the bias ROMs
    fan_in: int         #: weights per group and lane
    groups: int
    last_lane: int      #: lanes in use in a position's last group, minus one
    pos_step: int       #: output-word step from a position's last group to the next position
    outputs: int        #: output words (C * H * W)
    positions: int      #: pooled output positions
    window: int         #: MACs per group: fan_in * pool * pool


class NetPlan:
    """Geometry of the accelerator of ``net``: buffers, ROMs, widths, per-layer walks.

    Parameters
    ----------
    net : sw.network.NetFixed

    Attributes
    ----------
    layers : tuple of LayerPlan
    in_words : int
        Words of one input frame; the input buffer holds two.
    act_depth, act_width : int
        The activation buffer: every non-last layer's output, one region each.
    w_depth, w_width, b_depth, b_width : int
        Words and bits of one lane's weight and bias ROMs (signed).
    acc_width : int
        Accumulator bits, enough for every layer.
    x_width : int
        Bits of a MAC input (unsigned) in any layer.
    value_width : int
        Bits of any layer's output value.
    events : bool
        Event input (``hardware.input: events``): the first layer scatters events
        (:mod:`hw.net_event_plan`) and the network walk starts at the second layer.
    event_plan : EventPlan or None
    """

    def __init__(self, net):
        self.net = net
        self.lanes = P = net.lanes
        self.n_layers = L = len(net.layers)
        self.last = L - 1
        self.thermal = net.thermal.index
        #: the heat field's bits: the widest thermal layer's (an all-MTJ network has several)
        self.theta_width = max(lf.fp.theta_width for lf in net.thermals)
        c, h, w = net.input_shape
        self.in_words = c * h * w
        self.in_width = net.input_width
        self.events = net.input_mode == "events"
        self.event_plan = EventPlan.of(net) if self.events else None
        for lf in net.layers:
            if lf.x_signed:
                raise ValueError(f"layer {lf.name}: the MAC lanes take unsigned inputs")
        wb, self.w_depth = weight_bases(net)
        bb, self.b_depth = bias_bases(net)
        dst, depth = [], 0
        for lf in net.layers[:-1]:
            dst.append(depth)
            depth += lf.outputs
        dst.append(-1)
        self.act_depth = depth
        self.act_width = max(lf.out_width for lf in net.layers[:-1])
        self.w_width = max(lf.w_width for lf in net.layers)
        self.b_width = max(lf.b_width for lf in net.layers)
        self.acc_width = max(lf.acc_width for lf in net.layers)
        self.x_width = max(lf.x_width for lf in net.layers)
        self.value_width = max(lf.out_width for lf in net.layers)
        layers = []
        for k, lf in enumerate(net.layers):
            ci, hi, wi = lf.in_shape
            co, ho, wo = lf.out_shape
            kh, kw = lf.kernel
            s, p, q = lf.stride, lf.padding, lf.pool
            g = layer_groups(lf, P)
            src = 0 if k == 0 else dst[k - 1]
            layers.append(LayerPlan(
                index=k, ci_last=ci - 1, kw_last=kw - 1, kh_last=kh - 1, pool_last=q - 1,
                g_last=g - 1, ow_last=wo - 1, oh_last=ho - 1, hi=hi, wi=wi, stride=s, pad=p,
                step=q * s, inc_row=wi * ci, inc_px=s * ci, inc_py=s * wi * ci,
                inc_ow=q * s * ci, inc_oh=q * s * wi * ci, start=src - (p * wi + p) * ci,
                dst=dst[k], wbase=wb[k], bbase=bb[k], fan_in=lf.fan_in,
                groups=g, last_lane=(co - 1) % P, pos_step=co - (g - 1) * P,
                outputs=lf.outputs, positions=ho * wo, window=lf.window))
        self.layers = tuple(layers)
        self.max_groups = max(lp.groups * lp.positions for lp in self.layers)
        self.max_outputs = max(lp.outputs for lp in self.layers)
        # range of every input address the walk visits, padding included
        lo, hi = 0, max(2 * self.in_words, self.act_depth)
        for k, lp in enumerate(self.layers):
            base = self.in_words if k == 0 else 0
            lo = min(lo, lp.start)
            top = (lp.start + base + lp.oh_last * lp.inc_oh + lp.pool_last * lp.inc_py
                   + lp.kh_last * lp.inc_row + lp.ow_last * lp.inc_ow + lp.pool_last * lp.inc_px
                   + (lp.kw_last + 1) * (lp.ci_last + 1))
            hi = max(hi, top)
        self.addr_range = (lo, hi)
        # range of every input row/column coordinate the walk visits
        self.coord_range = (min(-lp.pad for lp in self.layers),
                            max(max(lp.oh_last, lp.ow_last) * lp.step + lp.pool_last * lp.stride
                                + max(lp.kh_last, lp.kw_last) + 1 for lp in self.layers))
