"""Amaranth simulation of the generated layer against the integer reference."""

import random
import subprocess
import sys

import numpy as np
import pytest
import yaml
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from helpers import ROOT, make_fp, random_inputs
from ipnet_mtj.hw.cycles import lower_bound_cycles, measure_cycles_per_step
from ipnet_mtj.hw.layer import IPLayer
from ipnet_mtj.sw import reference
from ipnet_mtj.sw.config import parse_config
from ipnet_mtj.sw.fixed import derive_fixed_point
from ipnet_mtj.sw.weights import seeded_weights


def simulate(fp, w, b, segments, gap=0.0, stall=0.0, seed=0):
    """Run input segments (each (T, M), reset between them); return per-segment (y, theta)."""
    dut = IPLayer(fp, w, b)
    top = Module()
    top.domains.sync = sync = ClockDomain()
    top.submodules.dut = dut
    sim = Simulator(top)
    sim.add_clock(1e-8)
    rng = random.Random(seed)
    got = []

    async def bench(ctx):
        for x in segments:
            want = x.shape[0] * fp.neurons
            samples = [int(v) for v in x.reshape(-1)]
            ys, states, pos = [], [], 0
            for _ in range(200 * (want * fp.inputs // fp.lanes + 50)):
                ctx.set(dut.x.valid, pos < len(samples) and rng.random() >= gap)
                if pos < len(samples):
                    ctx.set(dut.x.payload.data, samples[pos])
                    ctx.set(dut.x.payload.last, pos % fp.inputs == fp.inputs - 1)
                ctx.set(dut.y.ready, rng.random() >= stall)
                _, _, xv, xr, yv, yr, yp, yl, sv, si, st = await ctx.tick().sample(
                    dut.x.valid, dut.x.ready, dut.y.valid, dut.y.ready, dut.y.payload.data,
                    dut.y.payload.last, dut.state.valid, dut.state.index, dut.state.theta)
                pos += bool(xv and xr)
                if yv and yr:
                    assert yl == (len(ys) % fp.neurons == fp.neurons - 1), \
                        f"y.last {yl} on output {len(ys)}"
                    ys.append(yp)
                if sv:
                    states.append((si, st))
                if len(ys) == want and len(states) == want:
                    break
            got.append((ys, states))
            ctx.set(dut.x.valid, 0)
            ctx.set(sync.rst, 1)            # reset in the middle of the input sequence
            await ctx.tick()
            ctx.set(sync.rst, 0)

    sim.add_testbench(bench)
    sim.run()
    return got


def check(fp, w, b, segments, **kw):
    compared = 0
    for x, (ys, states) in zip(segments, simulate(fp, w, b, segments, **kw)):
        ref = reference.run(fp, w, b, x[None])
        assert len(ys) == len(states) == ref.y.size
        assert ys == ref.y[0].reshape(-1).tolist()
        assert [s[1] for s in states] == ref.theta[0].reshape(-1).tolist()
        assert [s[0] for s in states] == list(range(fp.neurons)) * x.shape[0]
        compared += 2 * ref.y.size
    return compared


@pytest.mark.parametrize("output,decay", [("lut", "multiply"), ("spike", "shift"),
                                          ("stochastic", "multiply"), ("stochastic", "shift")])
def test_layer_matches_reference_under_stress(output, decay):
    fp = make_fp(layer={"inputs": 6, "neurons": 9}, hardware={"lanes": 3},
                 fixed_point={"output": output, "decay": decay})
    w, b = seeded_weights(fp, 7)
    x = random_inputs(fp, 1, 10, seed=2)[0]
    x[4:7] = (1 << (fp.x_width - 1)) - 1                       # saturating burst
    assert check(fp, w, b, [x, x[:4]], gap=0.3, stall=0.4, seed=1) == 2 * 14 * fp.neurons


def test_one_group_and_one_input_has_no_read_after_write_hazard():
    fp = make_fp(layer={"inputs": 1, "neurons": 2}, hardware={"lanes": 2})
    w, b = seeded_weights(fp, 1)
    x = np.full((12, 1), (1 << (fp.x_width - 1)) - 1)
    check(fp, w, b, [x])


def test_reset_clears_heat_and_partial_step():
    fp = make_fp(layer={"inputs": 4, "neurons": 4}, hardware={"lanes": 2})
    w, b = seeded_weights(fp, 5)
    hot = np.full((6, 4), (1 << (fp.x_width - 1)) - 1)
    quiet = np.zeros((3, 4), dtype=np.int64)
    # after the reset the layer must behave as if it had never been hot
    check(fp, w, b, [hot, quiet])


def test_throughput_meets_lower_bound():
    fp = make_fp()
    w, b = seeded_weights(fp, 1)
    assert measure_cycles_per_step(fp, w, b) <= 1.1 * lower_bound_cycles(fp)


def test_hw_does_not_import_torch():
    code = ("import sys; import ipnet_mtj.hw.layer, ipnet_mtj.hw.synth_top, ipnet_mtj.hw.cycles, ipnet_mtj.gen.design; "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def full_fp(**fixed):
    """configs/full.yaml (threshold table, current limit, heat capped at T_max), small."""
    data = yaml.safe_load((ROOT / "configs" / "full.yaml").read_text())
    data["layer"].update(inputs=6, neurons=6)
    data["hardware"]["lanes"] = 3
    data["fixed_point"].update(fixed)
    return derive_fixed_point(parse_config(data, "full.yaml"))


@pytest.mark.parametrize("output", ["lut", "spike"])
def test_threshold_table_design_matches_reference(output):
    """The full device model: the current limit and the heat cap reached by a burst, then,
    while the junctions cool, small currents that meet the threshold at most table entries
    (z inside its format, so every entry read decides the output)."""
    fp = full_fp(output=output)
    w, b = seeded_weights(fp, 3)
    sign = np.where(np.arange(fp.inputs) % 2, 1, -1)
    w[:, :] = sign * ((1 << (fp.w_width - 1)) - 1)
    b[:] = 0
    rng = np.random.default_rng(5)
    burst = np.tile(sign * ((1 << (fp.x_width - 1)) - 1), (50, 1))
    cooling = sign * rng.integers(0, 9, size=(60, 1))
    x = np.concatenate([burst, cooling])
    ref = reference.run(fp, w, b, x[None])
    assert ref.theta.max() == fp.theta_hi                     # the heat reached T_max
    free = np.abs(ref.z[0]) < (1 << (fp.z_width - 1)) - 1
    before = np.concatenate([np.zeros((1, fp.neurons), np.int64), ref.theta[0, :-1]])
    assert len(np.unique((before >> fp.thr_shift)[free])) >= 15   # entries that decided z
    check(fp, w, b, [x], gap=0.2, stall=0.3, seed=2)
