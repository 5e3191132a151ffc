"""The float model: same equations without rounding, within the documented bound, trainable."""

import dataclasses

import numpy as np
import pytest
import torch

from helpers import make_fp, random_inputs
from ipnet_mtj.sw import reference
from ipnet_mtj.sw.model import ThermalLayer, float_error_bound
from ipnet_mtj.sw.weights import seeded_weights


@pytest.mark.parametrize("decay", ["multiply", "shift"])
@pytest.mark.parametrize("output", ["lut", "spike"])
def test_float_matches_integer_within_bound(decay, output):
    fp = make_fp(fixed_point={"decay": decay, "output": output})
    w, b = seeded_weights(fp, 4)
    x = random_inputs(fp, 6, 250, seed=1)
    x[:, 100:140] = (1 << (fp.x_width - 1)) - 1        # saturate, then go silent
    x[:, 140:] = 0
    ref = reference.run(fp, w, b, x)
    with torch.no_grad():
        flt = ThermalLayer.from_integers(fp, w, b)(torch.tensor(x * 2.0 ** -fp.x_frac))
    bound = float_error_bound(fp)
    eps = 1e-9
    err_theta = np.abs(flt.theta.numpy() - ref.theta * 2.0 ** -fp.theta_frac).max()
    err_z = np.abs(flt.z.numpy() - ref.z * 2.0 ** -fp.i_frac).max()
    assert 0 < err_theta <= bound["theta"] + eps
    assert 0 < err_z <= bound["z"] + eps
    if output == "lut":
        err_y = np.abs(flt.y.numpy() - ref.y / ((1 << fp.y_width) - 1)).max()
        assert err_y <= bound["y"] + eps
    else:
        differ = flt.y.numpy() != ref.y
        # a spike can only differ where z is within the bound of the threshold
        assert np.all(np.abs(ref.z[differ]) * 2.0 ** -fp.i_frac <= bound["z"] + eps)


def test_bound_fails_for_a_wrong_model():
    """The comparison above can fail: a float model with another alpha exceeds the bound."""
    fp = make_fp()
    w, b = seeded_weights(fp, 4)
    x = random_inputs(fp, 2, 200, seed=1)
    ref = reference.run(fp, w, b, x)
    wrong = dataclasses.replace(fp, alpha_mult=fp.alpha_mult - 8)
    with torch.no_grad():
        flt = ThermalLayer.from_integers(wrong, w, b)(torch.tensor(x * 2.0 ** -fp.x_frac))
    err = np.abs(flt.theta.numpy() - ref.theta * 2.0 ** -fp.theta_frac).max()
    assert err > float_error_bound(fp)["theta"]


@pytest.mark.parametrize("output", ["lut", "spike", "stochastic"])
def test_gradients_reach_weights(output):
    fp = make_fp(fixed_point={"output": output})
    layer = ThermalLayer(fp, torch.randn(fp.neurons, fp.inputs) * 0.05, torch.zeros(fp.neurons))
    x = torch.rand(4, 10, fp.inputs, generator=torch.Generator().manual_seed(0))
    out = layer(x, generator=torch.Generator().manual_seed(1))
    out.y.sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
