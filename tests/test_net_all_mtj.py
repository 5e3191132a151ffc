"""All-MTJ networks: thermal neurons at several (and at every) activation layer of a network
description, in the golden model, the quantisation-aware model and the accelerator, each
thermal layer with its own heat, constants and neuron unit."""

import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

import ipnet_mtj.hw.net_post as net_post
from helpers import ROOT
from ipnet_mtj.hw.net_cycles import measure_cycles_per_frame, predict_cycles_per_frame
from ipnet_mtj.sw import netref, reference
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.nets.described import DescribedIPNet
from ipnet_mtj.sw.network import derive_network, parse_network
from test_net_hw import Segment, random_frames, random_params, run_and_compare

NETWORK_YAML = ROOT / "configs" / "network.yaml"


def mtj_dict(depths=(0, 1, 2), lanes=2, design="full.yaml", **first):
    """configs/network.yaml shrunk to an 8 x 8 input, thermal neurons at the layers
    ``depths`` (0 conv1, 1 conv2, 2 fc; the readout keeps its logits)."""
    d = copy.deepcopy(yaml.safe_load(NETWORK_YAML.read_text()))
    d["input"] = {"channels": 2, "size": 8, "width": 4}
    conv1, conv2, fc, _ = d["layers"]
    conv1.update(outputs=4, kernel=3, stride=2, padding=1, activation="relu",
                 out={"width": 8, "frac": 5}, **first)                        # 4 x 4
    conv2.update(outputs=4, kernel=3, stride=1, padding=1, pool=2)           # 2 x 2
    fc.update(outputs=6)
    for k in depths:
        d["layers"][k]["activation"] = "thermal"
        d["layers"][k].pop("out", None)
    d["hardware"]["lanes"] = lanes
    d["design"] = design
    return d


def derive(d):
    return derive_network(parse_network(d, str(ROOT / "configs" / "t.yaml")))


def driven_params(net, seed):
    """Random weights; every thermal layer's bias at its threshold, so that its neurons
    switch sometimes and the next thermal layer sees varied inputs."""
    params = random_params(net, seed)
    for lf in net.thermals:
        w, _ = params[lf.index]
        fp = lf.fp
        params[lf.index] = (w, np.full(lf.out_shape[0], fp.thr0 << (fp.i_shift - fp.bias_shift)))
    return params


# -- the description ----------------------------------------------------------------------------

def test_every_thermal_layer_has_its_own_neurons():
    net = derive(mtj_dict())
    assert [lf.activation for lf in net.layers] == ["thermal"] * 3 + ["none"]
    assert [lf.index for lf in net.thermals] == [0, 1, 2] and net.thermal is net.layers[0]
    assert [lf.fp.neurons for lf in net.thermals] == [64, 16, 6]
    assert [lf.fp.inputs for lf in net.thermals] == [18, 36 * 4, 16]     # fan-in x pool^2
    # each layer's current shift follows its own input format and fan-in
    assert len({(lf.fp.i_shift, lf.fp.bias_shift) for lf in net.thermals}) > 1


def test_several_thermal_layers_on_a_spread_chip_are_refused():
    with pytest.raises(ConfigError) as info:
        derive(mtj_dict(design="spread.yaml"))
    assert str(info.value) == (
        f"{ROOT / 'configs' / 't.yaml'}: design: 3 thermal layers on a chip with device "
        f"spread ({ROOT / 'configs' / 'spread.yaml'}): its draws are per neuron of one layer")


# -- the golden model against independent computations -----------------------------------------

def test_golden_model_runs_each_thermal_layer_on_its_own_heat():
    """Each thermal layer of the network equals a lone thermal layer (sw.reference, its own
    state from reset) driven by the accumulators torch's conv2d / linear compute, on exact
    integers, from the previous layer's outputs the golden model recorded."""
    net = derive(mtj_dict())
    params = driven_params(net, 2)
    frames = random_frames(net, 6, seed=5)
    tr = netref.run_network(net, params, frames[None], keep=(0, 1, 2, 3), keep_theta=True)
    x = torch.as_tensor(frames, dtype=torch.float64)
    for lf in net.thermals:
        w, b = (torch.as_tensor(v, dtype=torch.float64) for v in params[lf.index])
        src = x if lf.index == 0 else torch.as_tensor(tr.act[lf.index - 1][0], dtype=torch.float64)
        if lf.kind == "dense":
            acc = src.flatten(1) @ w.T
            acc = acc[:, :, None, None]
        else:
            acc = F.conv2d(src, w, stride=lf.stride, padding=lf.padding)
            acc = F.avg_pool2d(acc, lf.pool) * lf.pool ** 2 if lf.pool > 1 else acc
        acc = acc + (b * 2.0 ** lf.bias_shift)[None, :, None, None]
        seq = acc.numpy().astype(np.int64).transpose(0, 2, 3, 1).reshape(1, len(frames), -1)
        lone = reference.run_currents(lf.fp, seq)
        c, h, wd = lf.out_shape
        y = tr.act[lf.index][0].transpose(0, 2, 3, 1).reshape(len(frames), -1)
        theta = tr.thetas[lf.index][0].transpose(0, 2, 3, 1).reshape(len(frames), -1)
        assert np.array_equal(lone.y[0], y), lf.name
        assert np.array_equal(lone.theta[0], theta), lf.name
        assert theta.max() > 0 and (y > 0).any() and (y == 0).any(), lf.name
    assert tr.thetas[0].shape[2:] == (4, 4, 4) and tr.thetas[1].shape[2:] == (4, 2, 2)


def test_quantised_model_equals_the_golden_model():
    for d in (mtj_dict(), mtj_dict(depths=(1, 2)), mtj_dict(design="full_read.yaml", read="both")):
        net = derive(d)
        torch.manual_seed(0)
        model = DescribedIPNet(net)
        assert len(model.extra_gain) == len(net.thermals) - 1
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
        model.quantised = True
        frames = random_frames(net, 5, seed=7)[None].repeat(2, 0).astype(np.float32)
        with torch.no_grad():
            logits = model.frame_logits(torch.as_tensor(frames)).double().numpy()
        trace = netref.run_network(net, model.integer_params(), frames)
        assert np.array_equal(logits * 2.0 ** net.layers[-1].out_frac, trace.logits)
        assert np.abs(trace.logits).max() > 0
        model.quantised = False
        model(torch.as_tensor(frames)).sum().backward()
        for k, g in model.extra_gain.items():
            assert g.grad is not None and g.grad != 0, k


# -- the accelerator --------------------------------------------------------------------------

@pytest.mark.parametrize("depths,lanes,first", [
    ((0, 1, 2), 2, {}),
    ((1, 2), 2, {}),
    ((0, 1), 4, {"design": "full_read.yaml", "read": "both"}),
])
def test_accelerator_matches_the_golden_model(depths, lanes, first):
    d = mtj_dict(depths, lanes, design=first.pop("design", "full.yaml"), **first)
    net = derive(d)
    params = driven_params(net, 4)
    frames = random_frames(net, 5, seed=6)
    compared = run_and_compare(net, params, [Segment(frames[:3]), Segment(frames[3:])],
                               stall=0.2)
    assert compared > 5 * sum(lf.outputs for lf in net.layers)


def test_accelerator_with_event_input():
    d = mtj_dict()
    d["hardware"]["input"] = "events"
    net = derive(d)
    run_and_compare(net, driven_params(net, 4), [Segment(random_frames(net, 4, seed=2))],
                    stall=0.2)


def test_a_neuron_unit_with_another_layers_constants_is_caught(monkeypatch):
    """A mutant: every thermal layer's neuron unit built with the first layer's constants
    (its own neuron count), as if the layers shared one unit's configuration."""
    net = derive(mtj_dict())
    first = net.thermal.fp
    real = net_post.NeuronUnit
    monkeypatch.setattr(net_post, "NeuronUnit", lambda fp, **kw: real(
        dataclasses.replace(first, neurons=fp.neurons, acc_width=max(fp.acc_width,
                                                                     first.acc_width)), **kw))
    with pytest.raises(AssertionError, match="layer conv2"):
        run_and_compare(net, driven_params(net, 4), [Segment(random_frames(net, 3, seed=6))])


@pytest.mark.parametrize("depths,lanes", [((0, 1, 2), 1), ((0, 1, 2), 2), ((1, 2), 2), ((1,), 4), ((0, 1), 4)])
def test_cycle_prediction_is_exact(depths, lanes):
    """Every thermal layer after the first costs THERMAL_TURN at its turn."""
    net = derive(mtj_dict(depths, lanes))
    assert predict_cycles_per_frame(net) == measure_cycles_per_frame(net, random_params(net, 1))


def test_verilog_has_a_rom_of_its_own_per_unit_and_lints_clean(tmp_path):
    """Every neuron unit's LUT is a ROM of its own name (lut, lut1, lut2: the build writes
    lut<j>.hex for each), and the Verilog of an all-MTJ network with a read passes Verilator's
    -Wall lint with the project's waivers."""
    from amaranth.back import verilog

    from ipnet_mtj.gen.lint import lint
    from ipnet_mtj.gen.rom_files import rom_memories
    from ipnet_mtj.gen.toolchain import simulator_available
    from ipnet_mtj.hw.net_accel import NetAccelerator
    net = derive(mtj_dict(design="full_read.yaml", read="both"))
    text = verilog.convert(NetAccelerator(net, random_params(net, 0)), name="all_mtj",
                           emit_src=False)
    roms = rom_memories(text)
    assert {"lut", "lut1", "lut2"} <= set(roms)
    assert all(roms[f"lut{j or ''}"] == (8, 1 << lf.fp.z_width)
               for j, lf in enumerate(net.thermals))
    if not simulator_available("verilator")[0]:
        pytest.skip("no verilator")
    (tmp_path / "all_mtj.v").write_text(text)
    ok, out = lint(tmp_path / "all_mtj.v", "all_mtj")
    assert ok, out


def test_calibrated_start_centres_every_thermal_layer():
    """training.start: calibrated: after DescribedIPNet.calibrate each thermal layer's mean
    output over the batch, as the next layer receives it (the LUT word over 2**8), is
    0.5 * 255/256, every layer on the calibrated layers before it; the fixed start leaves the
    deeper layers far from it."""
    net = derive(mtj_dict())
    x = torch.as_tensor(random_frames(net, 6 * 8, seed=3).reshape(8, 6, *net.input_shape),
                        dtype=torch.float32)
    torch.manual_seed(0)
    model = DescribedIPNet(net)
    fixed = [model._run(x, stop=lf.index + 1).mean().item() for lf in net.thermals]
    starts = model.calibrate(x)
    assert len(starts) == 3 and all(g > 0 for g, _ in starts)
    for lf in net.thermals:
        mean = model._run(x, stop=lf.index + 1).mean().item()
        assert mean == pytest.approx(0.5 * 255 / 256, abs=0.01), lf.name
    assert max(abs(m - 0.5) for m in fixed) > 0.2


def test_bad_start_is_refused():
    d = mtj_dict()
    d["training"]["start"] = "warm"
    with pytest.raises(ConfigError) as info:
        parse_network(d, "t.yaml")
    assert str(info.value) == "t.yaml: training.start: must be one of fixed, calibrated, got 'warm'"
