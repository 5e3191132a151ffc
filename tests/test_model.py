"""The float model: same equations without rounding, within the documented bound, trainable."""

import dataclasses

import numpy as np
import pytest
import torch
import yaml

from helpers import ROOT, make_fp, random_inputs
from ipnet_mtj.sw import reference
from ipnet_mtj.sw.config import parse_config
from ipnet_mtj.sw.fixed import derive_fixed_point
from ipnet_mtj.sw.model import (QAT_OPS, TORCH_OPS, ThermalLayer, float_error_bound,
                                thermal_sequence)
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


@pytest.mark.parametrize("design", ["full.yaml", "spread.yaml", "taus.yaml"])
def test_table_threshold_float_within_bound_and_qat_exact(design):
    """configs/full.yaml: the float model (table read by interpolation) within the bound of
    the integer one; the QAT backend (floors; the table's own entries) equal to it.
    configs/spread.yaml: the same with each neuron's threshold offset; configs/taus.yaml with
    eight devices' time constants."""
    data = yaml.safe_load((ROOT / "configs" / design).read_text())
    data["layer"].update(inputs=16, neurons=8)
    fp = derive_fixed_point(parse_config(data, design))
    assert bool(fp.thr_offset) == (design == "spread.yaml")
    w, b = seeded_weights(fp, 4)
    x = random_inputs(fp, 6, 250, seed=1) // 2
    x[:, 100:160] = (1 << (fp.x_width - 1)) - 1        # heat to T_max, then cool down
    x[:, 160:] //= 8
    ref = reference.run(fp, w, b, x)
    assert ref.theta.max() == fp.theta_hi
    with torch.no_grad():
        layer = ThermalLayer.from_integers(fp, w, b)
        flt = layer(torch.tensor(x * 2.0 ** -fp.x_frac))
        acc = torch.tensor(reference.currents(fp, w, b, x), dtype=torch.float64)
        qat = thermal_sequence(fp, acc, ops=QAT_OPS)
    bound = float_error_bound(fp)
    err_theta = np.abs(flt.theta.numpy() - ref.theta * 2.0 ** -fp.theta_frac).max()
    err_z = np.abs(flt.z.numpy() - ref.z * 2.0 ** -fp.i_frac).max()
    assert 0 < err_theta <= bound["theta"] + 1e-9
    assert 0 < err_z <= bound["z"] + 1e-9
    assert np.array_equal(qat.z.numpy() * 2 ** fp.i_frac, ref.z)
    assert np.array_equal(qat.theta.numpy() * 2 ** fp.theta_frac, ref.theta)
    assert np.array_equal(qat.y.numpy() * ((1 << fp.y_width) - 1), ref.y)


def test_table_threshold_gradient_is_the_segment_slope():
    """d thr / d theta through the table: the slope of the segment, in both backends."""
    table = (245, 238, 230, 200)
    for ops, index in ((TORCH_OPS, 1.25), (QAT_OPS, 1.0)):
        x = torch.tensor(index, dtype=torch.float64, requires_grad=True)
        thr = ops.lookup(table, x)
        thr.backward()
        assert x.grad.item() == 230 - 238
    assert TORCH_OPS.lookup(table, torch.tensor(1.25, dtype=torch.float64)).item() == 236.0
    assert TORCH_OPS.lookup(table, torch.tensor(9.0, dtype=torch.float64)).item() == 200.0


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
