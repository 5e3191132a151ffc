"""Event input (``hardware.input: events``): the first layer's scatter, checked three ways.

- the geometry (:mod:`hw.net_event_plan`) against hand-derived reaches and, through the ROM
  images, against torch's own conv2d on the exact integer frame;
- the accelerator in Amaranth simulation against the integer golden model, value for value,
  over kernel/stride/padding geometries, densities from empty to full, handshake stress,
  resets and dropped events;
- its cycles against the dense walk's at full density, and a bug in the ring caught.
"""

import copy
import dataclasses

import numpy as np
import pytest
import torch
import yaml

from helpers import ROOT
from ipnet_mtj.hw import net_event_plan
from ipnet_mtj.hw.net_cycles import (event_frame_macs, full_frame_macs, measure_frame_cycles,
                                     predict_event_cycles)
from ipnet_mtj.hw.net_event_plan import (EventPlan, event_beats, frame_commands, frame_events,
                                         reach)
from ipnet_mtj.hw.net_rom_layout import weight_images
from ipnet_mtj.sw.errors import ConfigError
from ipnet_mtj.sw.network import derive_network, parse_network
from test_net_hw import (NETWORK_YAML, Segment, compare, random_frames, random_params,
                         run_and_compare, simulate, small_net)


def events_net(kernel=3, stride=2, padding=1, size=8, lanes=2, conv1=4, pool=1):
    """configs/network.yaml shrunk to ``size`` x ``size``, with event input."""
    data = copy.deepcopy(yaml.safe_load(NETWORK_YAML.read_text()))
    data["input"] = {"channels": 2, "size": size, "width": 4}
    c1, c2, fc, _ = data["layers"]
    c1.update(outputs=conv1, kernel=kernel, stride=stride, padding=padding, pool=pool)
    c2.update(outputs=3, kernel=3, stride=1, padding=1, pool=1)
    fc.update(outputs=6)
    data["hardware"] = {"lanes": lanes, "input": "events"}
    return derive_network(parse_network(data, str(ROOT / "configs" / "t.yaml")))


# -- geometry -------------------------------------------------------------------------------

def test_reach_known_answers():
    """Kernel 5, stride 2, padding 2, 16 outputs (the default conv1), derived by hand from
    o*2 - 2 + k = y with 0 <= k < 5: row 0 feeds outputs 0 (k 2) and 1 (k 0); row 1 outputs
    0 (k 3) and 1 (k 1); row 4 outputs 1, 2, 3 (k 4, 2, 0); row 31 output 15 (k 3) only."""
    assert reach(0, 16, 5, 2, 2) == (0, 2, 2)
    assert reach(1, 16, 5, 2, 2) == (0, 2, 3)
    assert reach(4, 16, 5, 2, 2) == (1, 3, 4)
    assert reach(31, 16, 5, 2, 2) == (15, 1, 3)
    # stride 3 > kernel 2: row 2 lies between windows and reaches nothing
    assert reach(2, 3, 2, 3, 0) == (0, 0, 0)
    assert reach(3, 3, 2, 3, 0) == (1, 1, 0)


@pytest.mark.parametrize("kernel,stride,padding,size", [(5, 2, 2, 32), (3, 1, 1, 8),
                                                         (2, 3, 0, 8), (4, 2, 1, 6)])
def test_scatter_sums_equal_torch_conv2d(kernel, stride, padding, size):
    """The partial sums that frame_commands builds from the ROM images (weight word, RAM
    word, count) equal torch's conv2d of the integer frame, position by position; each
    ring word is read out when its row is flushed, as the hardware does."""
    net = events_net(kernel, stride, padding, size, lanes=2, conv1=4)
    ep = EventPlan.of(net)
    w, _ = random_params(net, 3)[0]
    frame = random_frames(net, 1, seed=kernel + stride, rate=0.8)[0]
    rom = np.array(weight_images(net, [(w, np.zeros(4, np.int64))] + [
        (np.zeros(lf.weight_shape, np.int64), np.zeros(lf.out_shape[0], np.int64))
        for lf in net.layers[1:]]))                       # lanes x words
    ring = np.zeros((ep.depth, ep.lanes), np.int64)
    got = np.zeros(net.layers[0].out_shape, np.int64)     # (C_out, H_out, W_out)
    for cmd in frame_commands(ep, frame_events(frame)):
        if cmd[0] == "mac":
            _, wa, slot, count = cmd
            ring[slot] += rom[:, wa] * count
        else:
            row = cmd[1]
            for ox in range(ep.out_cols):
                for g in range(ep.groups):
                    slot = ep.slot(row, ox, g)
                    for lane in range(ep.lanes):
                        if g * ep.lanes + lane < ep.out_channels:
                            got[g * ep.lanes + lane, row, ox] = ring[slot, lane]
                    ring[slot] = 0
    want = torch.nn.functional.conv2d(torch.tensor(frame[None], dtype=torch.float64),
                                      torch.tensor(w, dtype=torch.float64),
                                      stride=stride, padding=padding)[0].numpy()
    np.testing.assert_array_equal(got, want.astype(np.int64))
    assert not ring.any()


def test_event_beats_of_a_frame():
    frame = np.zeros((2, 3, 3), np.int64)
    frame[1, 0, 2] = 5
    frame[0, 2, 0] = 1
    frame[1, 2, 0] = 15
    assert event_beats(frame) == [(5, 1, 2, 0, 0), (1, 0, 0, 2, 0), (15, 1, 0, 2, 1)]
    assert event_beats(np.zeros((2, 3, 3), np.int64)) == [(0, 0, 0, 0, 1)]


def test_events_need_a_first_layer_without_pooling():
    with pytest.raises(ConfigError) as e:
        events_net(pool=2, padding=1, stride=1)
    assert str(e.value).endswith("hardware.input: events: the first layer scatters each "
                                 "event into its outputs and cannot pool; layers[0].pool is 2")


# -- the accelerator ------------------------------------------------------------------------

@pytest.mark.parametrize("kernel,stride,padding,lanes,conv1", [
    (3, 2, 1, 2, 4), (5, 1, 2, 2, 4), (3, 2, 1, 4, 4), (3, 3, 0, 3, 6), (1, 1, 0, 1, 4)])
def test_events_match_the_golden_model(kernel, stride, padding, lanes, conv1):
    """Every value of every layer equals the golden model's, frames from empty to full."""
    net = events_net(kernel, stride, padding, lanes=lanes, conv1=conv1)
    params = random_params(net, kernel + lanes)
    frames = np.concatenate([random_frames(net, 1, seed=1, rate=r) for r in (0, 0.05, 0.6, 5)])
    frames[0] = 0                                          # an empty frame first
    assert run_and_compare(net, params, [Segment(frames)]) > 0


@pytest.mark.parametrize("gap,stall", [(0.5, 0.0), (0.0, 0.9), (0.3, 0.3)])
def test_events_under_gaps_backpressure_and_resets(gap, stall):
    net = small_net(lanes=2)
    net = dataclasses.replace(net, input_mode="events")
    params = random_params(net, 11)
    frames = random_frames(net, 6, seed=5, rate=0.4)
    per_frame = sum(lf.outputs for lf in net.layers)
    segments = [Segment(frames[:3], partial=6),
                Segment(frames[3:5], abort_after=per_frame + 40),    # reset inside frame 2
                Segment(frames[2:6])]
    assert compare(net, params, segments, simulate(net, params, segments, gap=gap,
                                                   stall=stall, seed=3)) > 0


def test_dropped_events_are_flagged_and_later_frames_stay_aligned():
    """An event below the previous one (two swapped) and one outside the frame are dropped
    with frame_error; the frame is computed without them and the next frames are intact."""
    net = events_net(size=6)                  # 6 columns: the 3-bit column field reaches 7
    params = random_params(net, 2)
    frames = random_frames(net, 3, seed=4, rate=0.6)
    beats = [event_beats(f) for f in frames]
    swapped = list(beats[0])
    swapped[2], swapped[3] = swapped[3], swapped[2]        # beat 2 now below beat 1's follower
    computed0 = frames[0].copy()
    count, ch, col, row, _ = beats[0][2]
    computed0[ch, row, col] = 0
    outside = [(9, 0, 7, 0, 0)] + beats[1]                 # column 7 of a 6-column frame
    clean = Segment(frames)
    faulty = Segment(np.stack([computed0, frames[1], frames[2]]),
                     sent=tuple(swapped + outside + beats[2]))
    results = simulate(net, params, [clean, faulty], gap=0.2, stall=0.2, seed=1)
    assert simulate.frame_errors == [0, 1]
    compare(net, params, [clean, faulty], results)
    with pytest.raises(AssertionError):                    # the dropped event mattered
        compare(net, params, [Segment(frames)], results[1:])


def test_a_ring_of_too_few_rows_is_caught(monkeypatch):
    """A deliberate bug: a ring RAM of one output row where an input row reaches three
    (kernel 5, stride 1) mixes rows' partial sums, and the comparison fails."""
    of = EventPlan.of.__func__

    def one_row(cls, net):
        ep = of(cls, net)
        return dataclasses.replace(ep, ring=1, depth=ep.row_words)
    net = events_net(5, 1, 2)
    params = random_params(net, 5)
    frames = random_frames(net, 2, seed=2, rate=0.5)
    monkeypatch.setattr(net_event_plan.EventPlan, "of", classmethod(one_row))
    with pytest.raises(AssertionError):
        run_and_compare(net, params, [Segment(frames)])


def test_full_frames_cost_about_the_dense_walk():
    """At 100 % density the scatter does the dense walk's MACs; the frame's cycles stay
    within 10 % of the dense input's, and an empty frame costs less than half."""
    net = events_net(5, 2, 2, size=12, lanes=2, conv1=4)
    params = random_params(net, 1)
    rng = np.random.default_rng(0)
    full = rng.integers(1, 16, size=(3, *net.input_shape))
    dense = measure_frame_cycles(dataclasses.replace(net, input_mode="dense"), params, full)
    events = measure_frame_cycles(net, params, full)
    empty = measure_frame_cycles(net, params, np.zeros_like(full))
    assert events[-1] <= 1.1 * dense[-1], (events, dense)
    assert empty[-1] < 0.5 * dense[-1], (empty, dense)


@pytest.mark.parametrize("kernel,stride,padding,lanes,conv1", [
    (3, 2, 1, 1, 4), (5, 2, 2, 2, 4), (3, 1, 1, 4, 8)])
def test_event_cycle_prediction_bounds_the_measurement(kernel, stride, padding, lanes, conv1):
    """predict_event_cycles, from the description and each frame's scatter commands, is never
    below the simulated frame and at most 1 % (or 3 cycles) above it, from empty to full
    frames; the scatter commands counted by hand from the reach of every event."""
    net = events_net(kernel, stride, padding, lanes=lanes, conv1=conv1)
    params = random_params(net, 2)
    rng = np.random.default_rng(5)
    frames = np.array([rng.integers(1, 16, size=net.input_shape)
                       * (rng.random(net.input_shape) < d)
                       for d in (0.0, 0.0, 0.05, 0.3, 1.0, 0.1, 0.0)])
    measured = measure_frame_cycles(net, params, frames)
    ep = EventPlan.of(net)
    for frame, got in zip(frames[1:], measured):
        macs = event_frame_macs(net, frame)
        assert macs == sum(1 for c in frame_commands(ep, frame_events(frame)) if c[0] == "mac")
        predicted = predict_event_cycles(net, macs)
        assert got <= predicted <= got + max(3, 0.01 * got), (got, predicted, macs)
    assert event_frame_macs(net, np.ones(net.input_shape, np.int64)) == full_frame_macs(net)
