"""Amaranth simulation of the whole-network accelerator against the integer golden model."""

import copy
import dataclasses
import random
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest
import yaml
from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from helpers import ROOT
from ipnet_mtj.hw.net_accel import NetAccelerator
from ipnet_mtj.hw.net_event_plan import event_beats
from ipnet_mtj.hw.net_cycles import (lower_bound_cycles, measure_cycles_per_frame,
                                     predict_cycles_per_frame)
from ipnet_mtj.hw.net_plan import NetPlan
from ipnet_mtj.hw.net_rom_layout import bias_bases, bias_images, walk_weights, weight_bases, weight_images
from ipnet_mtj.hw.net_walker import NetWalker
from ipnet_mtj.sw import netref
from ipnet_mtj.sw.network import derive_network, load_network, parse_network

NETWORK_YAML = ROOT / "configs" / "network.yaml"


def small_net(lanes=2, conv1=4, fc=6, design=None, source=None):
    """A shrunk copy of configs/network.yaml: 2 x 8 x 8 input, every layer kind, padding lanes."""
    data = copy.deepcopy(yaml.safe_load(NETWORK_YAML.read_text()))
    data["input"] = {"channels": 2, "size": 8, "width": 4}
    conv1_spec, conv2_spec, fc_spec, _ = data["layers"]
    conv1_spec.update(outputs=conv1, kernel=3, stride=2, padding=1)      # 4 x 4
    conv2_spec.update(outputs=3, kernel=3, stride=1, padding=1, pool=2)  # 4 x 4, pooled 2 x 2
    fc_spec.update(outputs=fc)
    data["hardware"]["lanes"] = lanes
    if design is not None:                  # a spike (1 bit, frac 0) may feed conv2
        data["design"] = design
        conv2_spec["bias"] = {"width": 12, "frac": 6}
    return derive_network(parse_network(data, str(source or ROOT / "configs" / "t.yaml")))


def random_params(net, seed, bias_bits=3):
    """Integer weights and biases within each layer's format; biases after the first layer
    ``bias_bits`` below full range, so that the ReLUs see both signs."""
    rng = np.random.default_rng(seed)
    params = []
    for k, lf in enumerate(net.layers):
        wmax = 1 << (lf.w_width - 1)
        bmax = 1 << (lf.b_width - 1 - (0 if k == 0 else bias_bits))
        w = rng.integers(-wmax, wmax, size=lf.weight_shape)
        b = rng.integers(-bmax, bmax, size=lf.out_shape[0])
        params.append((w, b))
    return params


def random_frames(net, frames, seed, rate=0.6):
    """Sparse event counts (C, H, W) per frame, a few saturating; quantised like netref's."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(rate, size=(frames, *net.input_shape))
    x *= rng.integers(1, 6, size=(frames, 1, 1, 1))
    x[rng.random(x.shape) < 0.01] = 99
    return netref.quantise_frames(net, x)


def expected(net, params, frames):
    """Per frame: ({layer: channels-last values}, {thermal layer: heat per value},
    [(logit, score)], label)."""
    state = netref.initial_state(net, 1)
    out = []
    for x in frames:
        step, state = netref.frame_step(net, params, x[None], state)
        acts = {k: a[0].transpose(1, 2, 0).reshape(-1).tolist() for k, a in enumerate(step.act)}
        theta = {lf.index: np.repeat(step.thetas[lf.index][0].transpose(1, 2, 0).reshape(-1),
                                     lf.per_neuron).tolist() for lf in net.thermals}
        classes = list(zip(acts[len(net.layers) - 1], step.score[0].tolist()))
        out.append((acts, theta, classes, int(step.label[0])))
    return out


@dataclass(frozen=True)
class Segment:
    """Frames fed after a reset; the bench resets the accelerator after the segment.

    abort_after: None waits for every output of every frame; a number resets once that
    many monitor strobes have been seen (outputs compared as far as they went).
    partial: beats of a further frame sent before the reset, which must be dropped.
    sent: the (value, last) beats to send instead of ``frames`` in order (a framing fault);
    ``frames`` are then the frames the accelerator should compute from them.
    """
    frames: np.ndarray
    abort_after: int = None
    partial: int = 0
    sent: tuple = None


def simulate(net, params, segments, gap=0.0, stall=0.0, seed=0):
    """Run ``segments`` through one accelerator; per segment (monitor strobes, y beats)."""
    dut = NetAccelerator(net, params)
    top = Module()
    top.domains.sync = sync = ClockDomain()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    rng = random.Random(seed)
    last = len(net.layers) - 1
    logit_width = net.layers[-1].out_width
    per_frame = sum(lf.outputs for lf in net.layers)
    words = int(np.prod(net.input_shape))
    got, errors = [], []

    events = net.input_mode == "events"
    fields = ("count", "channel", "col", "row", "last") if events else ("data", "last")

    async def bench(ctx):
        for seg in segments:
            if events:
                beats = [b for x in seg.frames for b in event_beats(x)]
            else:
                beats = [(int(v), k == words - 1) for x in seg.frames
                         for k, v in enumerate(x.transpose(1, 2, 0).reshape(-1))]
            if seg.sent is not None:
                beats = list(seg.sent)
            if events:
                beats += [b[:4] + (0,) for b in event_beats(random_frames(net, 1, seg.partial)[0])
                          ][:seg.partial]
            else:
                beats += [(rng.randrange(1 << net.input_width), k == words - 1)
                          for k in range(seg.partial)]
            aborting = seg.abort_after is not None
            want = seg.abort_after if aborting else per_frame * len(seg.frames)
            want_y = 0 if aborting else net.classes * len(seg.frames)
            mon, ys, pos = [], [], 0
            limit = 20 * (lower_bound_cycles(net) + len(beats) + 5000) * (len(seg.frames) + 1)
            for _ in range(limit):
                if len(mon) >= want and len(ys) >= want_y and (aborting or pos == len(beats)):
                    break
                ctx.set(dut.x.valid, pos < len(beats) and rng.random() >= gap)
                if pos < len(beats):
                    for name, v in zip(fields, beats[pos]):
                        ctx.set(getattr(dut.x.payload, name), v)
                ctx.set(dut.y.ready, rng.random() >= stall)
                (_, _, xv, xr, yv, yr, yi, yl, ysc, ylab, ylast,
                 mv, ml, mi, mval, mth) = await ctx.tick().sample(
                    dut.x.valid, dut.x.ready, dut.y.valid, dut.y.ready, dut.y.payload.index,
                    dut.y.payload.logit, dut.y.payload.score, dut.y.payload.label,
                    dut.y.payload.last, dut.monitor.valid, dut.monitor.layer, dut.monitor.index,
                    dut.monitor.value, dut.monitor.theta)
                pos += bool(xv and xr)
                if yv and yr:
                    ys.append((yi, yl, ysc, ylab, ylast))
                if mv:
                    if ml == last:          # a logit: signed, as bits in ``value``
                        mval &= (1 << logit_width) - 1
                        mval -= (mval >> (logit_width - 1)) << logit_width
                    mon.append((ml, mi, mval, mth))
            else:
                raise AssertionError(f"timeout: {len(mon)}/{want} strobes, "
                                     f"{len(ys)}/{want_y} beats")
            got.append((mon, ys))
            errors.append(ctx.get(dut.frame_error))
            ctx.set(dut.x.valid, 0)
            ctx.set(sync.rst, 1)
            await ctx.tick()
            ctx.set(sync.rst, 0)

    sim.add_testbench(bench)
    sim.run()
    simulate.frame_errors = errors          # frame_error after each segment, before its reset
    return got


def compare(net, params, segments, results):
    """Assert every strobe and beat equals the golden model; return the count of values compared.

    Strobes are compared per layer in order (layers of consecutive frames may interleave).
    """
    thermal = {lf.index for lf in net.thermals}
    compared = 0
    for seg, (mon, ys) in zip(segments, results):
        ref = expected(net, params, seg.frames)
        complete = seg.abort_after is None
        for k, lf in enumerate(net.layers):
            seen = [(i, v, th) for (layer, i, v, th) in mon if layer == k]
            want = [(i, v, frame[1][k][i] if k in thermal else 0)
                    for frame in ref for i, v in enumerate(frame[0][k])]
            if complete:
                assert len(seen) == len(want), f"layer {lf.name}: {len(seen)} of {len(want)} values"
            for n, (s, w) in enumerate(zip(seen, want)):
                assert s == w, (f"layer {lf.name}, frame {n // lf.outputs}, word {n % lf.outputs}: "
                                f"got (index, value, theta) {s}, want {w}")
            compared += len(seen) * (2 if k in thermal else 1)
        want_y = []
        for _, _, classes, label in ref:
            for c, (logit, score) in enumerate(classes):
                final = c == net.classes - 1
                want_y.append((c, logit, score, label if final else None, int(final)))
        if complete:
            assert len(ys) == len(want_y), f"{len(ys)} of {len(want_y)} class beats"
        for n, (s, w) in enumerate(zip(ys, want_y)):
            s = s if w[3] is not None else (*s[:3], None, s[4])   # label only on the last beat
            assert s == w, (f"frame {n // net.classes}, class {n % net.classes}: got (index, "
                            f"logit, score, label, last) {s}, want {w}")
        compared += len(ys)
    return compared


def run_and_compare(net, params, segments, **kw):
    return compare(net, params, segments, simulate(net, params, segments, **kw))


# -- the ROM images, without simulation ------------------------------------------------------

def test_rom_images_reproduce_the_golden_accumulators():
    """The walk (pool offsets, kh, kw, ci) over the images gives netref's accumulators."""
    net = small_net(lanes=4, fc=6)
    params = random_params(net, 3)
    x = random_frames(net, 1, 4)[0]
    images, bases = weight_images(net, params), weight_bases(net)[0]
    b_images, b_bases = bias_images(net, params), bias_bases(net)[0]
    h = x
    for k, lf in enumerate(net.layers):
        want = netref.layer_accumulator(lf, h[None], *params[k])[0]
        xp = np.pad(h, ((0, 0), (lf.padding, lf.padding), (lf.padding, lf.padding)))
        kh, kw = lf.kernel
        _, ho, wo = lf.out_shape
        for oh in range(ho):
            for ow in range(wo):
                for o in range(lf.out_shape[0]):
                    g, lane = divmod(o, net.lanes)
                    words = images[lane][bases[k] + g * lf.fan_in:][:lf.fan_in]
                    total = 0
                    for py in range(lf.pool):
                        for px in range(lf.pool):
                            r0 = (oh * lf.pool + py) * lf.stride
                            c0 = (ow * lf.pool + px) * lf.stride
                            win = xp[:, r0:r0 + kh, c0:c0 + kw].transpose(1, 2, 0).reshape(-1)
                            total += int(np.dot(win, words))
                    b = b_images[lane][b_bases[k] + g]
                    assert total + (b << lf.bias_shift) == want[o, oh, ow]
        h = netref.frame_step(net, params, x[None], netref.initial_state(net))[0].act[k][0]


def test_dense_walk_order_is_channels_last():
    net = small_net()
    fc = net.layers[2]
    w = np.arange(np.prod(fc.weight_shape)).reshape(fc.weight_shape)
    c, hh, ww = fc.in_shape
    walked = walk_weights(fc, w)
    for h in range(hh):
        for x in range(ww):
            for ch in range(c):
                assert walked[1, (h * ww + x) * c + ch] == w[1, ch * hh * ww + h * ww + x]


# -- the walker alone ------------------------------------------------------------------------

def direct_walk(net, plan, bank):
    """Every MAC command of one frame from the loop nest written out (multiplications, no
    increments): (addr or None in the padding, from_input, waddr, baddr, first, last,
    layer, group, base, last_lane)."""
    P = net.lanes
    for k, (lf, lp) in enumerate(zip(net.layers, plan.layers)):
        c_in, hi, wi = lf.in_shape
        c_out, ho, wo = lf.out_shape
        kh_n, kw_n = lf.kernel
        q, s, p = lf.pool, lf.stride, lf.padding
        src = bank * plan.in_words if k == 0 else plan.layers[k - 1].dst
        for pos in range(ho * wo):
            oh, ow = divmod(pos, wo)
            for g in range(lp.groups):
                window = [(py, px, kh, kw, ci) for py in range(q) for px in range(q)
                          for kh in range(kh_n) for kw in range(kw_n) for ci in range(c_in)]
                for n, (py, px, kh, kw, ci) in enumerate(window):
                    ih = (oh * q + py) * s - p + kh
                    iw = (ow * q + px) * s - p + kw
                    inside = 0 <= ih < hi and 0 <= iw < wi
                    yield (src + (ih * wi + iw) * c_in + ci if inside else None, int(k == 0),
                           lp.wbase + g * lf.fan_in + (kh * kw_n + kw) * c_in + ci, lp.bbase + g,
                           int(n == 0), int(n == len(window) - 1), k, pos * lp.groups + g,
                           pos * c_out + g * P, min(P, c_out - g * P) - 1)


@pytest.mark.parametrize("lanes", [2, 3])
def test_walker_issues_the_loop_nest(lanes):
    """The walker's incremental counters equal the loop nest, under random backpressure."""
    net = small_net(lanes=lanes, conv1=6)
    plan = NetPlan(net)
    dut = NetWalker(plan)
    want = [c for bank in (0, 1) for c in direct_walk(net, plan, bank)]
    got = []
    rng = random.Random(lanes)

    async def bench(ctx):
        ctx.set(dut.frame.valid, 1)
        ctx.set(dut.written, 1)             # the next layer may start at once
        bank = 0
        while len(got) < len(want):
            ctx.set(dut.cmd.ready, rng.random() < 0.7)
            ctx.set(dut.frame.payload, bank)
            _, _, valid, ready, cmd, taken = await ctx.tick().sample(
                dut.cmd.valid, dut.cmd.ready, dut.cmd.payload, dut.frame.ready)
            if valid and ready:
                got.append((cmd.addr if cmd.inside else None, cmd.from_input, cmd.waddr,
                            cmd.baddr, cmd.first, cmd.last, cmd.layer, cmd.group, cmd.base,
                            cmd.last_lane))
            bank ^= taken

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    for n, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"command {n}: got {g}, want {w}"


# -- the whole accelerator -------------------------------------------------------------------

@pytest.mark.parametrize("lanes,conv1", [(2, 4), (4, 4), (3, 6)])
def test_network_matches_golden_model(lanes, conv1):
    """Padding lanes (fc 6, readout 11), lanes == thermal channels (4, 4), P not a power of 2."""
    net = small_net(lanes=lanes, conv1=conv1)
    params = random_params(net, lanes)
    frames = random_frames(net, 5, seed=lanes)
    segments = [Segment(frames[:3], partial=50), Segment(frames[3:]), Segment(frames[:2])]
    assert run_and_compare(net, params, segments) > 0


def test_tied_scores_give_the_first_class():
    """Readout weights 0 and equal biases on classes 3, 5 and 9: every frame ties them, and the
    label is the first of them (the golden model's argmax), not the last."""
    net = small_net(lanes=2)
    params = random_params(net, 9)
    w, b = params[-1]
    b = np.zeros_like(b)
    b[[3, 5, 9]] = 4
    params[-1] = (np.zeros_like(w), b)
    frames = random_frames(net, 3, seed=3)
    assert [label for *_, label in expected(net, params, frames)] == [3, 3, 3]
    run_and_compare(net, params, [Segment(frames)])


@pytest.mark.parametrize("output,decay", [("stochastic", "shift"), ("spike", "multiply")])
def test_network_with_other_neuron_modes(tmp_path, output, decay):
    """The LFSR sees the neurons in channels-last order; spikes make 1-bit activations."""
    design = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    design["fixed_point"].update(output=output, decay=decay)
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(design))
    net = small_net(lanes=2, design="design.yaml", source=tmp_path / "t.yaml")
    params = random_params(net, 4)
    frames = random_frames(net, 4, seed=6)
    run_and_compare(net, params, [Segment(frames[:3]), Segment(frames[3:])], stall=0.2)


def test_network_on_the_full_device_model():
    """configs/full.yaml's thermal neurons (threshold table, current limit, heat cap) in the
    network accelerator."""
    net = small_net(lanes=2, design="full.yaml")
    assert net.thermal.fp.threshold == "table"
    params = random_params(net, 5)
    frames = random_frames(net, 5, seed=8)
    run_and_compare(net, params, [Segment(frames)], stall=0.2)


def test_network_on_a_chip_with_device_spread():
    """configs/spread.yaml: each thermal neuron's threshold offset from the offset ROM, in the
    accelerator's neuron order."""
    net = small_net(lanes=2, design="spread.yaml")
    lf = net.thermal
    assert net.layers[0] is lf and len(lf.fp.thr_offset) == int(np.prod(lf.out_shape))
    params = random_params(net, 5)
    # near threshold (small weights, bias at thr0), where a few LSBs of offset move outputs
    w = np.random.default_rng(1).integers(-2, 3, size=lf.weight_shape)
    params[0] = (w, np.full(lf.out_shape[0], lf.fp.thr0 << (lf.fp.i_shift - lf.fp.bias_shift)))
    frames = random_frames(net, 5, seed=8)
    alike = dataclasses.replace(net, layers=(dataclasses.replace(
        lf, fp=dataclasses.replace(lf.fp, thr_offset=())),) + tuple(net.layers[1:]))
    y = netref.run_network(net, params, frames[None], keep=(0,)).act[0]
    assert ((y > 0) & (y < 255)).mean() > 0.3
    assert (netref.run_network(alike, params, frames[None], keep=(0,)).act[0] != y).mean() > 0.3
    run_and_compare(net, params, [Segment(frames)], stall=0.2)


def test_network_with_a_time_constant_per_channel():
    """configs/taus.yaml: eight junction geometries, one per channel, their alpha and heat
    gain from per-neuron ROMs in the accelerator's (h, w, c) order."""
    net = small_net(lanes=2, conv1=8, design="taus.yaml")
    assert len(net.thermal.fp.devices) == 8
    params = random_params(net, 6)
    frames = random_frames(net, 6, seed=9)
    run_and_compare(net, params, [Segment(frames)], stall=0.2)


def test_thermal_layer_after_a_relu_layer():
    """The thermal layer need not be first: it then reads the activation buffer."""
    data = copy.deepcopy(yaml.safe_load(NETWORK_YAML.read_text()))
    data["input"] = {"channels": 2, "size": 8, "width": 4}
    conv1, conv2, _, readout = data["layers"]
    pre = dict(conv2, name="pre", outputs=3, kernel=3, stride=1, padding=1, pool=1,
               bias={"width": 12, "frac": 6})
    conv1.update(outputs=4, kernel=3, stride=2, padding=1)
    data["layers"] = [pre, conv1, readout]
    data["hardware"]["lanes"] = 2
    net = derive_network(parse_network(data, str(ROOT / "configs" / "t.yaml")))
    params = random_params(net, 8)
    frames = random_frames(net, 3, seed=8)
    run_and_compare(net, params, [Segment(frames)], gap=0.2, stall=0.2)


@pytest.mark.parametrize("gap,stall", [(0.4, 0.5), (0.1, 0.9)])
def test_network_under_gaps_backpressure_and_resets(gap, stall):
    """Random gaps on x, backpressure on y, a partial frame and a reset inside a frame.

    Under heavy backpressure the next frame's thermal outputs overtake logits that wait
    for the class head; the test checks that this case occurred.
    """
    net = small_net(lanes=4, fc=6)
    params = random_params(net, 11)
    frames = random_frames(net, 6, seed=5)
    per_frame = sum(lf.outputs for lf in net.layers)
    segments = [Segment(frames[:3], partial=100),
                Segment(frames[3:5], abort_after=per_frame + 40),   # reset inside frame 2
                Segment(frames[2:6])]
    results = simulate(net, params, segments, gap=gap, stall=stall, seed=3)
    run = compare(net, params, segments, results)
    assert run > 0
    if stall > 0.8:
        runs = [layer for mon, _ in results for n, (layer, *_) in enumerate(mon)
                if n == 0 or mon[n - 1][0] != layer]          # layer of each run of strobes
        assert any(r == (3, 0, 3) for r in zip(runs, runs[1:], runs[2:]))


def _beats(frame):
    return [int(v) for v in frame.transpose(1, 2, 0).reshape(-1)]


def _as_frame(net, beats):
    c, h, w = net.input_shape
    return np.asarray(beats, dtype=np.int64).reshape(h, w, c).transpose(2, 0, 1)


def test_framing_faults_are_flagged_and_later_frames_stay_aligned():
    """A dropped beat (the frame padded with a zero at its end) and an extra beat (the frame
    cut after its C*H*W beats, the rest discarded up to ``last``) each raise frame_error,
    and every value of every later frame still equals the golden model's. A clean segment
    leaves frame_error low."""
    net = small_net(lanes=2)
    params = random_params(net, 4)
    frames = random_frames(net, 3, seed=9, rate=1.5)
    n = int(np.prod(net.input_shape))
    flat = [_beats(f) for f in frames]
    framed = lambda frame: [(v, k == len(frame) - 1) for k, v in enumerate(frame)]  # noqa: E731
    dropped = flat[0][:5] + flat[0][6:]                     # beat 5 lost
    extra = flat[1][:7] + [9] + flat[1][7:]                  # a beat inserted at 7
    segments = [
        Segment(frames),
        Segment(np.stack([_as_frame(net, dropped + [0]), frames[1], frames[2]]),
                sent=tuple(framed(dropped) + framed(flat[1]) + framed(flat[2]))),
        Segment(np.stack([frames[0], _as_frame(net, extra[:n]), frames[2]]),
                sent=tuple(framed(flat[0]) + framed(extra) + framed(flat[2]))),
    ]
    results = simulate(net, params, segments, gap=0.2, stall=0.2, seed=2)
    assert simulate.frame_errors == [0, 1, 1]
    compare(net, params, segments, results)
    # Without the realignment the frames after the fault would differ:
    shifted = Segment(np.stack([_as_frame(net, dropped + [0]),
                                _as_frame(net, (flat[1] + flat[2])[1:n + 1]), frames[2]]))
    with pytest.raises(AssertionError):
        compare(net, params, [shifted], results[1:2])


def test_a_wrong_weight_is_detected():
    """The comparison can fail: one wrong weight in the golden model's copy of the parameters."""
    net = small_net(lanes=2)
    params = random_params(net, 1)
    frames = random_frames(net, 2, seed=1)
    segments = [Segment(frames)]
    results = simulate(net, params, segments)
    compare(net, params, segments, results)
    fc_out = expected(net, params, frames)[0][0][2]
    for k, index in ((0, (0, 0, 1, 1)),                               # a thermal-layer tap
                     (3, (0, int(np.flatnonzero(fc_out)[0])))):        # a readout weight
        bad = [(w.copy(), b) for w, b in params]
        bad[k][0][index] = -1 - bad[k][0][index]
        with pytest.raises(AssertionError):
            compare(net, bad, segments, results)


def test_default_network_two_frames():
    """configs/network.yaml, random parameters: every value of every layer, labels, logits.

    About 40 000 simulated cycles (~10 s)."""
    net = derive_network(load_network(NETWORK_YAML))
    params = random_params(net, 7)
    frames = random_frames(net, 2, seed=7, rate=0.3)
    assert run_and_compare(net, params, [Segment(frames)]) == 2 * (
        sum(lf.outputs for lf in net.layers) + net.thermal.outputs + net.classes)


def test_throughput_of_the_default_network():
    """Steady state within 1.2 x the MAC lanes' work and as predicted from the description
    (about 110 000 simulated cycles, about a minute)."""
    net = derive_network(load_network(NETWORK_YAML))
    cycles = measure_cycles_per_frame(net, random_params(net, 0), frames=3)
    bound = lower_bound_cycles(net)
    assert bound == sum(-(-lf.out_shape[0] // net.lanes) * lf.out_shape[1] * lf.out_shape[2]
                        * lf.window for lf in net.layers)
    assert bound <= cycles <= 1.2 * bound
    assert cycles == predict_cycles_per_frame(net) == 35984


def test_verilog_of_the_default_network():
    net = derive_network(load_network(NETWORK_YAML))
    text = verilog.convert(NetAccelerator(net, random_params(net, 0)), name="ipnet_g11",
                           emit_src=False)
    assert "module ipnet_g11" in text


def test_net_hw_does_not_import_torch():
    code = ("import sys; import ipnet_mtj.hw.net_accel, ipnet_mtj.hw.net_cycles; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
