"""The benchmark IPNet as one integer network (sw/train/qat.py): its description, the float
weights in it, and the QAT model against the golden model."""

import numpy as np
import pytest
import torch

from helpers import ROOT
from ipnet_mtj.sw import netref
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.data.datasets import TASKS
from ipnet_mtj.sw.network import derive_network
from ipnet_mtj.sw.nets import build_model
from ipnet_mtj.sw.train.experiment import load_experiment
from ipnet_mtj.sw.train.qat import (HeadedNetwork, _frac, describe_ipnet, described_from,
                                    integer_metric)

EXP, DESIGN, FP = load_experiment(ROOT / "configs" / "results.yaml")


def frames(n, steps=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.rand(n, steps, 2, 32, 32, generator=g) * 0.4).clamp(max=15)


def trained_like(task, seed=0):
    """An IPNet of ``task`` with the benchmark's layout, calibrated on a batch (its ranges are
    those of a network at the start of training)."""
    torch.manual_seed(seed)
    net = build_model("ipnet", TASKS[task], fp=FP, features=EXP.train.features).eval()
    x = frames(8, seed=seed)
    net.calibrate_current(x, EXP.ipnet.current_spread, EXP.ipnet.firing_rate)
    return net, x


def test_fraction_bits_by_hand():
    assert _frac(0.3, 8, True) == 8          # 0.3 * 2**8 = 76.8 <= 127
    assert _frac(0.7, 8, True) == 7
    assert _frac(2.5, 8, True) == 5          # 2 integer bits
    assert _frac(1.0, 8, False) == 8         # saturates by one LSB at the power of two
    assert _frac(3.9, 8, False) == 6
    assert _frac(1e6, 8, True) == 0 and _frac(1e-30, 8, True) == 40


def test_description_holds_the_trained_ranges():
    net, x = trained_like("gestures11")
    cfg = describe_ipnet(EXP, "gestures11", net, x)
    fixed = derive_network(cfg, host_head=True)
    conv1, conv2, fc, readout = fixed.layers
    assert [lf.activation for lf in fixed.layers] == ["thermal", "relu", "relu", "none"]
    assert conv1.w_frac >= FP.i_frac and conv2.pool == 2 and readout.out_shape[0] == 11
    w0, b0 = net.folded(net.backbone.conv1.weight, net.backbone.conv1.bias)
    for (w, b), lf in zip(((w0, b0), (net.backbone.conv2.weight, net.backbone.conv2.bias),
                           (net.backbone.fc.weight, net.backbone.fc.bias),
                           (net.backbone.readout.weight, net.backbone.readout.bias)),
                          fixed.layers):
        # a bias has at most the accumulator's fraction bits; the thermal layer's weights at
        # least the current's
        for v, width, frac, bound in ((w, lf.w_width, lf.w_frac, FP.i_frac if lf is conv1 else None),
                                      (b, lf.b_width, lf.b_frac, lf.x_frac + lf.w_frac)):
            top = float(v.detach().abs().max()) * 2.0 ** frac
            assert top <= 2 ** (width - 1)                      # fits (a power of 2: one LSB)
            assert top * 2 > 2 ** (width - 1) - 1 or frac == bound   # and no bit is wasted
    assert conv1.fp.thr_table == FP.thr_table                  # the design's neurons


def test_described_float_model_is_the_trained_ipnet():
    """The description in float mode computes what the IPNet computes, up to its formats'
    saturation and the LUT word's scale (y * 255/256): logits within 1 %."""
    net, x = trained_like("gestures11", seed=1)
    fixed = derive_network(describe_ipnet(EXP, "gestures11", net, x), host_head=True)
    headed = HeadedNetwork(described_from(net, fixed), "class")
    with torch.no_grad():
        want, got = net(x), headed(x)
    assert torch.allclose(got, want, atol=0.01 * float(want.abs().max()))
    assert not torch.equal(got, want)


@pytest.mark.parametrize("task", ["gestures22m", "digits_ahead", "steering"])
def test_qat_model_equals_the_golden_model(task):
    """In quantised mode the described benchmark network gives the golden model's logits,
    bit for bit, in every frame; the task's figure follows from them (class: the hardware
    head after the last frame; point: the last frame's logits; sequence: every frame's)."""
    net, x = trained_like(task, seed=2)
    with torch.no_grad():               # logits that depend on the input, not the bias alone
        net.backbone.readout.bias.zero_()
    fixed = derive_network(describe_ipnet(EXP, task, net, x), host_head=True)
    described = described_from(net, fixed)
    described.quantised = True
    with torch.no_grad():
        qat = described.frame_logits(x).double().numpy()
    params = described.integer_params()
    trace = netref.run_network(fixed, params, x.numpy())
    gold = trace.logits * 2.0 ** -fixed.layers[-1].out_frac
    assert np.array_equal(qat, gold) and np.abs(gold).max() > 0
    kind = TASKS[task].kind
    final = np.argmax(trace.logits.sum(1), axis=1)         # the class of the summed logits
    y = {"class": torch.as_tensor(final), "point": torch.rand(8, 2) * 32,
         "sequence": torch.rand(8, 5)}[kind]
    value, logits = integer_metric(fixed, params, TASKS[task], x.numpy(), y.numpy(), 32, batch=3)
    assert np.array_equal(logits, gold)
    if kind == "class":                 # the labels are the final classes, not the first frame's
        assert np.any(np.argmax(trace.logits[:, 0], axis=1) != final)
        want = 1.0
    elif kind == "point":
        want = np.mean(np.linalg.norm(gold[:, -1] * 32 - y.numpy(), axis=1))
    else:
        want = np.sqrt(np.mean((gold[..., 0] - y.numpy()) ** 2))
    assert value == pytest.approx(want, rel=1e-6)


def test_only_a_host_head_reads_a_point_task():
    net, x = trained_like("digits_ahead")
    cfg = describe_ipnet(EXP, "digits_ahead", net, x)
    with pytest.raises(ConfigError, match="training.task: the hardware head classifies; "
                                          "digits_ahead is a point task$"):
        derive_network(cfg)


def test_an_ipnet_with_reads_becomes_an_integer_network():
    """An IPNet whose conv2 takes outputs and reads (``read: both``, configs/full_read.yaml):
    its description has read: both on conv1; the described float model computes what the
    IPNet computes (conv2's weights reordered from the IPNet's [outputs, reads] to the
    interleaved channels: logits within 1 %, and far off without the reordering); in
    quantised mode it equals the golden model bit for bit."""
    from ipnet_mtj.sw.config import load_config
    from ipnet_mtj.sw.fixed import derive_fixed_point
    fp = derive_fixed_point(load_config(ROOT / "configs" / "full_read.yaml"))
    torch.manual_seed(3)
    net = build_model("ipnet", TASKS["gestures11"], fp=fp, features=EXP.train.features,
                      read="both").eval()
    x = frames(8, seed=3)
    net.calibrate_current(x, EXP.ipnet.current_spread, EXP.ipnet.firing_rate)
    cfg = describe_ipnet(EXP, "gestures11", net, x, design="full_read.yaml")
    fixed = derive_network(cfg, host_head=True)
    assert fixed.thermal.read == "both" and fixed.layers[1].in_shape[0] == 16
    described = described_from(net, fixed)
    headed = HeadedNetwork(described, "class")
    with torch.no_grad():
        want, got = net(x), headed(x)
        assert torch.allclose(got, want, atol=0.01 * float(want.abs().max()))
        w = described.layers[1].weight.clone()
        described.layers[1].weight.copy_(torch.cat([w[:, 0::2], w[:, 1::2]], 1))   # unordered
        assert not torch.allclose(headed(x), want, atol=0.05 * float(want.abs().max()))
        described.layers[1].weight.copy_(w)
    described.quantised = True
    with torch.no_grad():
        qat = described.frame_logits(x).double().numpy()
    trace = netref.run_network(fixed, described.integer_params(), x.numpy())
    assert np.array_equal(qat, trace.logits * 2.0 ** -fixed.layers[-1].out_frac)
