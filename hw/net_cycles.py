"""Cycles per frame of the network accelerator: the lanes' lower bound, a prediction, a measurement."""

from amaranth.sim import Simulator

from .net_accel import NetAccelerator
from .net_rom_layout import layer_groups

__all__ = ["lower_bound_cycles", "predict_cycles_per_frame", "measure_cycles_per_frame",
           "event_frame_macs", "full_frame_macs", "predict_event_cycles",
           "THERMAL_HOLD", "LAYER_TURN", "FRAME_TURN", "THERMAL_TURN", "FLUSH_MIN", "EVENT_TURN"]

#: Cycles a thermal group holds the engine's hand-over register beyond its P lanes: the
#: neuron unit takes a group once every lane is issued and its five-stage pipeline is empty.
#: A requantised group holds it one cycle per real lane (the serialiser).
THERMAL_HOLD = 6
#: Cycles between a requantised (relu) layer's last lane leaving the serialiser and the next
#: layer's first command: requantisation register, write-back register, ``written`` strobe,
#: the walker's WAIT and LOAD (its constants register a cycle after the layer changes) and
#: the engine's pipeline (stages A-E) filling again.
LAYER_TURN = 10
#: The same for the thermal layer's turn and the walk's return from the last layer to the
#: first, together (the last layer's outputs overlap the next frame; only its LOAD counts).
FRAME_TURN = 16
#: Cycles the turn after a thermal layer costs beyond its drain, where FRAME_TURN does not
#: hold it: after every thermal layer but the first (an all-MTJ network).
THERMAL_TURN = 13
#: Stall cycles the walk's return to the first layer hides: the last layer's final group
#: waits in stage E while the walker is in WAIT and LOAD (1), and the first layer's first
#: group reaches stage E three cycles after the walk has turned (3).
_HIDDEN_LAST, _HIDDEN_TURN = 1, 3
#: With event input, each flush command (one output position and group of the first layer
#: handed to the neuron unit) holds the engine for P cycles, at least this many.
FLUSH_MIN = 2
#: With event input, the frame's turn costs this many cycles more than the dense walk's
#: (negative: fewer); measured, the largest over the checked designs, so that
#: :func:`predict_event_cycles` stays an upper bound.
EVENT_TURN = -2


def lower_bound_cycles(net):
    """Sum over layers of ceil(C_out / P) * positions * window: the cycles of the MAC lanes.

    Padding lanes of a partial group and padding input positions cost their cycles too.
    """
    total = 0
    for lf in net.layers:
        _, h, w = lf.out_shape
        total += layer_groups(lf, net.lanes) * h * w * lf.window
    return total


def _real_lanes(lf, lanes):
    """Real output channels of each group of a position, in walk order."""
    c_out = lf.out_shape[0]
    return [min(lanes, c_out - g * lanes) for g in range(layer_groups(lf, lanes))]


def predict_cycles_per_frame(net):
    """Steady-state cycles per frame, from the description alone (no simulation).

    The MAC lanes' work (:func:`lower_bound_cycles`), plus what the schedule adds:

    - **turns**: ``FRAME_TURN`` once per frame, ``LAYER_TURN`` for every layer that is
      neither thermal nor the last, ``THERMAL_TURN`` for every thermal layer but the
      first (an all-MTJ network);
    - **drains**: before a layer other than the first starts, the previous layer's last
      group leaves the post-processing: P cycles for the thermal layer (the neuron unit
      updates all P lanes; 2P with ``read: both``, two values per neuron), its real lanes
      for a requantised layer;
    - **stalls**: a group reaches the accumulator stage ``window`` cycles after the group
      before it entered the hand-over register. If that group still holds the register
      (one cycle per real lane for a requantised group, P + ``THERMAL_HOLD`` for a thermal
      one, 2P + ``THERMAL_HOLD`` with ``read: both``), the engine waits ``hold - window + 1`` cycles (the register frees the cycle
      after the group is taken). The walk's return to the first layer hides one cycle of
      the last layer's final stall, and three of the stall of the next frame's first
      group behind the last layer's final group.

    Assumes ``y`` always ready and the input not the bottleneck (a frame's C*H*W beats
    stream in while the previous frame computes), as :func:`measure_cycles_per_frame`
    does; ``tests/test_net_cycles.py`` checks it against that measurement on designs whose
    windows are all at least 2 cycles (1 to 16 lanes, 4 to 6 layers, thermal and
    requantised stalls, the default network). A layer of fan-in 1 (a one-cycle window) is
    outside that range: there the stalls of successive groups interact and the figure can be
    off by a cycle or two.
    """
    return _dense_terms(net)[0]


def _dense_terms(net):
    """(cycles per frame with dense input, the first layer's share: its MAC cycles and its
    stalls)."""
    P = net.lanes
    total = lower_bound_cycles(net) + FRAME_TURN
    last = len(net.layers) - 1
    first_share = 0

    def holds(lf):
        real = _real_lanes(lf, P)
        _, h, w = lf.out_shape
        return [lf.per_neuron * P + THERMAL_HOLD if lf.activation == "thermal" else r
                for r in real] * (h * w)

    for k, lf in enumerate(net.layers):
        hold = holds(lf)
        stalls = [max(0, held - lf.window + 1) for held in hold[:-1]]
        if k == last and stalls:
            stalls[-1] = max(0, stalls[-1] - _HIDDEN_LAST)
        total += sum(stalls)
        if k == 0:
            _, h, w = lf.out_shape
            first_share = layer_groups(lf, P) * h * w * lf.window + sum(stalls)
        if k != last:   # drain: the neuron unit's P lanes, or the final group's real lanes
            if lf.activation == "thermal":
                later = lf.index != net.thermal.index
                total += lf.per_neuron * P + (THERMAL_TURN if later else 0)
            else:
                total += hold[-1] + LAYER_TURN
    first = net.layers[0]
    total += max(0, holds(net.layers[-1])[-1] - first.window + 1 - _HIDDEN_TURN)
    return total, first_share


def event_frame_macs(net, frame):
    """Scatter commands of one frame (C, H, W) with event input: over its non-zero words,
    the output positions each reaches times the first layer's groups."""
    from .net_event_plan import EventPlan, frame_events
    ep = EventPlan.of(net)
    return sum(ep.rows[r][1] * ep.cols[c][1] * ep.groups for r, c, _, _ in frame_events(frame))


def full_frame_macs(net):
    """:func:`event_frame_macs` of a frame whose every word is non-zero. A frame whose words
    are each non-zero with probability d, independently, has d times this on average."""
    from .net_event_plan import EventPlan
    ep = EventPlan.of(net)
    return ep.channels * ep.groups * sum(n for _, n, _ in ep.rows) * sum(n for _, n, _ in ep.cols)


def predict_event_cycles(net, macs):
    """Cycles per frame with event input (``hardware.input: events``) for a frame of ``macs``
    scatter commands (:func:`event_frame_macs`, or d * :func:`full_frame_macs` at density
    d), from the description alone.

    The dense prediction (:func:`predict_cycles_per_frame` of the same network with dense
    input) without the first layer's walk (its MAC cycles and stalls), plus the first
    layer's work with events: one cycle per scatter command, and ``max(P, FLUSH_MIN)`` per
    flush command (every output position and group, whatever the events; ``2P`` for a
    thermal layer with ``read: both``, whose neuron unit hands on two values a neuron), plus
    ``EVENT_TURN``. Only the first layer's cost depends on the events; every other layer
    costs what it costs with dense input.

    An upper bound: the measured frame can be shorter, by the cycles of scatter commands
    that overlap the previous frame's drain at the frame's start (measured: 0 to 77 cycles
    on the default network, under 0.7 % of a frame; ``tests/test_net_events.py`` checks
    the bound on small designs and ``ipnet bench-events`` prints it beside every measured
    density).
    """
    import dataclasses
    from .net_event_plan import EventPlan
    ep = EventPlan.of(net)
    total, first_share = _dense_terms(dataclasses.replace(net, input_mode="dense"))
    flushes = ep.out_rows * ep.out_cols * ep.groups
    flush = max(net.layers[0].per_neuron * net.lanes, FLUSH_MIN)
    return total - first_share + flush * flushes + EVENT_TURN + macs


def measure_cycles_per_frame(net, params, frames=3):
    """Steady-state cycles between the last output beats of consecutive frames.

    Input beats are offered every cycle and ``y`` is always ready, so the
    figure is the accelerator's own throughput.

    Parameters
    ----------
    net : sw.network.NetFixed
    params : sequence of (w, b)
    frames : int
        Frames to run (at least 2); the last gap is returned.
    """
    import numpy as np
    ones = np.ones((frames, *net.input_shape), dtype=np.int64)   # every word 1, as always
    return measure_frame_cycles(net, params, ones)[-1]


def measure_frame_cycles(net, params, frames):
    """Cycles of each frame of ``frames`` (C, H, W each) after the first: the gaps between
    the last output beats of consecutive frames, input offered every cycle (dense words or,
    with ``hardware.input: events``, the frame's events) and ``y`` always ready.

    Returns
    -------
    list of int
        ``len(frames) - 1`` gaps: frame k + 1's cycles.
    """
    from .net_event_plan import event_beats
    dut = NetAccelerator(net, params)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    if net.input_mode == "events":
        fields = ("count", "channel", "col", "row", "last")
        beats = [b for x in frames for b in event_beats(x)]
    else:
        fields = ("data", "last")
        words = frames[0].size
        beats = [(int(v), int(k == words - 1)) for x in frames
                 for k, v in enumerate(x.transpose(1, 2, 0).reshape(-1))]
    done_at = []

    async def drive(ctx):
        ctx.set(dut.x.valid, 1)
        for beat in beats:
            for name, v in zip(fields, beat):
                ctx.set(getattr(dut.x.payload, name), v)
            await ctx.tick().until(dut.x.ready)
        ctx.set(dut.x.valid, 0)

    async def collect(ctx):
        ctx.set(dut.y.ready, 1)
        cycle = 0
        while len(done_at) < len(frames):
            _, _, valid, last = await ctx.tick().sample(dut.y.valid, dut.y.payload.last)
            cycle += 1
            if valid and last:
                done_at.append(cycle)

    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    return [b - a for a, b in zip(done_at, done_at[1:])]
