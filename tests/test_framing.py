"""hw.framing.StepFramer against its rule written out plainly, on random beat streams
(hypothesis): steps padded or cut to ``beats``, later steps aligned, a sticky error."""

import random

from amaranth.hdl import signed
from amaranth.sim import Simulator
from hypothesis import given, settings
from hypothesis import strategies as st

from ipnet_mtj.hw.framing import StepFramer


def model(sent, beats):
    """What the framer must output, and whether it flags an error: the rule of the docs.
    Beats pass as they come; a step's missing beats follow its early ``last`` as zeros."""
    out, count, error, skipping = [], 0, False, False
    for value, last in sent:
        if skipping:
            skipping = not last
            continue
        out.append(value)
        count += 1
        if count == beats:
            count = 0
            if not last:
                error, skipping = True, True
        elif last:
            out += [0] * (beats - count)
            count, error = 0, True
    return out, error


def run(sent, beats, gap_seed):
    dut = StepFramer(signed(6), beats)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    got = []
    want, _ = model(sent, beats)

    async def bench(ctx):
        rng = random.Random(gap_seed)
        pos = 0
        for _ in range(20 * (len(sent) + beats) + 50):
            if pos == len(sent) and len(got) >= len(want):
                break
            valid = pos < len(sent) and rng.random() < 0.7
            ctx.set(dut.i.valid, valid)
            if pos < len(sent):
                ctx.set(dut.i.payload.data, sent[pos][0])
                ctx.set(dut.i.payload.last, sent[pos][1])
            ctx.set(dut.o.ready, rng.random() < 0.7)
            _, _, iv, ir, ov, orr, od = await ctx.tick().sample(
                dut.i.valid, dut.i.ready, dut.o.valid, dut.o.ready, dut.o.payload)
            pos += bool(iv and ir)
            if ov and orr:
                got.append(od)
        run.error = ctx.get(dut.error)

    sim.add_testbench(bench)
    sim.run()
    return got, run.error


beat = st.tuples(st.integers(-32, 31), st.booleans())


@settings(max_examples=60, deadline=None)
@given(beats=st.integers(1, 5), sent=st.lists(beat, max_size=24), seed=st.integers(0, 99))
def test_framer_follows_its_rule(beats, sent, seed):
    got, error = run(sent, beats, seed)
    want, want_error = model(sent, beats)
    assert got[:len(want)] == want and len(got) == len(want)
    assert error == want_error


def test_well_framed_steps_pass_unchanged():
    sent = [(v, k % 4 == 3) for k, v in enumerate(range(-6, 6))]
    got, error = run(sent, 4, 0)
    assert got == list(range(-6, 6)) and error == 0


def test_known_faults():
    # A step of 2 beats where 3 are due: padded with one zero. One of 4: cut, then skip.
    assert model([(5, False), (6, True)], 3) == ([5, 6, 0], True)
    assert model([(1, False), (2, False), (3, False), (4, False), (7, True), (8, False),
                  (9, False), (10, True)], 3) == ([1, 2, 3, 8, 9, 10], True)
    assert run([(5, False), (6, True)], 3, 1) == ([5, 6, 0], 1)
