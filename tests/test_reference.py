"""The integer reference: cooling, saturation, ordering, LFSR, modes."""

import dataclasses

import numpy as np
import pytest

from helpers import make_fp, random_inputs
from ipnet_mtj.sw import reference
from ipnet_mtj.sw.fixed import INT_OPS, LFSR_PERIOD, cool, lfsr_sequence
from ipnet_mtj.sw.weights import seeded_weights


@pytest.mark.parametrize("decay", ["multiply", "shift"])
def test_silent_neuron_cools_to_exactly_zero(decay):
    fp = make_fp(fixed_point={"decay": decay})
    theta = np.arange(1 << fp.theta_width, dtype=np.int64)        # every possible heat
    for steps in range(1, 100_000):
        nxt = cool(INT_OPS, fp, theta)
        warm = theta > 0
        assert np.all(nxt[warm] < theta[warm]), "every warm junction must lose heat every step"
        assert np.all(nxt[~warm] == 0)
        theta = nxt
        if not theta.any():
            break
    assert not theta.any()
    # the worst case (saturated heat) needs about ln(2**16)/(1-alpha) steps, not forever
    assert steps < 40 * np.log(2.0 ** fp.theta_width) / (1 - fp.alpha)


@pytest.mark.parametrize("decay", ["multiply", "shift"])
def test_silent_layer_reaches_ambient(decay):
    fp = make_fp(fixed_point={"decay": decay})
    w, b = seeded_weights(fp, 3)
    x = np.zeros((1, 400, fp.inputs), dtype=np.int64)
    x[0, :20] = (1 << (fp.x_width - 1)) - 1                  # heat it up first
    tr = reference.run(fp, w, np.zeros_like(b), x)           # no bias: silence is zero current
    assert tr.theta[0, 19].max() > 1000
    assert not tr.theta[0, -1].any()


def test_saturation_never_wraps():
    fp = make_fp()
    w = np.full((fp.neurons, fp.inputs), (1 << (fp.w_width - 1)) - 1)
    b = np.full(fp.neurons, (1 << (fp.b_width - 1)) - 1)
    hi = (1 << (fp.x_width - 1)) - 1
    tr = reference.run(fp, w, b, np.full((1, 200, fp.inputs), hi))
    assert tr.theta[0, -1].min() == (1 << fp.theta_width) - 1      # heat saturates, stays
    assert np.all(np.diff(tr.theta[0], axis=0) >= 0)                 # and never wraps to 0
    assert tr.z[0].max() == (1 << (fp.z_width - 1)) - 1
    tr = reference.run(fp, -w, -b, np.full((1, 50, fp.inputs), hi))  # most negative current
    assert tr.z[0].min() == -(1 << (fp.z_width - 1))
    assert tr.theta[0, -1].min() == (1 << fp.theta_width) - 1       # i**2 heats both ways


def test_output_sees_only_earlier_heat():
    fp = make_fp(fixed_point={"output": "spike"})
    w, b = seeded_weights(fp, 1)
    x = random_inputs(fp, 1, 3)
    acc = reference.currents(fp, w, b, x)
    i = np.clip(acc[0, 0] >> fp.i_shift, -(1 << (fp.i_width - 1)), (1 << (fp.i_width - 1)) - 1)
    tr = reference.run(fp, w, b, x)
    # step 0 starts at ambient: the threshold is exactly thr0
    z0 = np.clip(i - fp.thr0, -(1 << (fp.z_width - 1)), (1 << (fp.z_width - 1)) - 1)
    assert np.array_equal(tr.z[0, 0], z0)
    assert np.array_equal(tr.y[0, 0], (z0 >= 0).astype(np.int64))


def test_step_and_run_agree_and_batch_is_independent():
    fp = make_fp(fixed_point={"output": "stochastic"})
    w, b = seeded_weights(fp, 2)
    x = random_inputs(fp, 3, 12, seed=5)
    whole = reference.run(fp, w, b, x)
    single = reference.run(fp, w, b, x[1:2])
    assert np.array_equal(whole.y[1], single.y[0]) and np.array_equal(whole.theta[1], single.theta[0])
    state = reference.initial_state(fp, 3)
    acc = reference.currents(fp, w, b, x)
    for t in range(12):
        y, z, state = reference.step(fp, acc[:, t], state)
        assert np.array_equal(y, whole.y[:, t]) and np.array_equal(state.theta, whole.theta[:, t])


def test_lfsr_is_maximal_length():
    seq = lfsr_sequence(0xACE1)
    assert len(np.unique(seq)) == LFSR_PERIOD and seq.min() == 1


def test_stochastic_spikes_follow_the_switching_probability():
    fp = make_fp(fixed_point={"output": "stochastic"})
    fp_lut = dataclasses.replace(fp, output="lut")
    w, b = seeded_weights(fp, 1)
    x = random_inputs(fp, 1, 600, seed=9) // 4 + 40
    spikes = reference.run(fp, w, b, x).y
    prob = reference.run(fp_lut, w, b, x).y / 2.0 ** fp.y_width
    # over 38400 draws the mean spike rate matches the mean probability within 0.01
    assert abs(spikes.mean() - prob.mean()) < 0.01
    assert 0.05 < prob.mean() < 0.95
