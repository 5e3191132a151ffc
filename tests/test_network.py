"""The network description, its integer reference and the QAT model, against independent oracles."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from helpers import ROOT
from ipnet_mtj.sw import netref
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.fixed import INT_OPS, accumulate_score, requantise_output
from ipnet_mtj.sw.nets.described import DescribedIPNet
from ipnet_mtj.sw.network import derive_network, load_network, parse_network

NETWORK = ROOT / "configs" / "network.yaml"
SOURCE = str(ROOT / "configs" / "t.yaml")     # resolves design: default.yaml


def network_dict():
    return yaml.safe_load(NETWORK.read_text())


def small_dict(lanes=2):
    """A small network (8 x 8 input) with every layer kind, for quick checks."""
    d = network_dict()
    d["input"]["size"] = 8
    d["layers"][0].update(outputs=4, kernel=3, stride=2, padding=1)
    d["layers"][1].update(outputs=4, kernel=3, stride=1, padding=1, pool=2)
    d["layers"][2]["outputs"] = 6
    d["hardware"]["lanes"] = lanes
    return d


def derive(d):
    return derive_network(parse_network(d, SOURCE))


def random_params(net, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for lf in net.layers:
        wl, wh = -(1 << (lf.w_width - 1)), 1 << (lf.w_width - 1)
        bl, bh = -(1 << (lf.b_width - 1)), 1 << (lf.b_width - 1)
        out.append((rng.integers(wl, wh, size=lf.weight_shape),
                    rng.integers(bl // 8, bh // 8, size=lf.out_shape[0])))
    return out


def random_frames(net, batch, steps, seed=0, density=0.3):
    rng = np.random.default_rng(seed)
    shape = (batch, steps) + net.input_shape
    return rng.integers(0, 1 << net.input_width, size=shape) * (rng.random(shape) < density)


def error_of(d):
    with pytest.raises(ConfigError) as info:
        parse_network(d, "bad.yaml")
    return str(info.value)


# -- the description ---------------------------------------------------------------------------------

def test_default_network_shapes_and_macs():
    net = derive_network(load_network(NETWORK))
    assert [lf.out_shape for lf in net.layers] == [(8, 16, 16), (8, 4, 4), (32, 1, 1), (11, 1, 1)]
    # hand count: conv1 8*16*16 * 2*5*5; conv2 8*4*4 * 8*3*3 * 2*2; fc 32 * 128; readout 11 * 32
    assert [lf.macs for lf in net.layers] == [102400, 36864, 4096, 352]
    th = net.thermal
    assert th.index == 0 and th.fp.neurons == 2048 and th.fp.inputs == 50 and th.fp.lanes == 4
    assert (th.out_width, th.out_frac) == (8, 8)      # LUT word over 2**8 feeds conv2
    conv2 = net.layers[1]
    # x u8.8, w s8.7, pooled 2x2 (pool_shift 2): out u8.5 -> shift 8 + 2 + 7 - 5
    assert (conv2.pool_shift, conv2.out_shift, conv2.bias_shift) == (2, 12, 7)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["layers"][0].update(out={"width": 8, "frac": 4}),
     "bad.yaml: layers[0].out: must be absent: a thermal layer's output is the design's LUT "
     "(or spike) format"),
    (lambda d: d["layers"][1].update(activation="thermal"),
     "bad.yaml: layers[1].out: must be absent: a thermal layer's output is the design's LUT "
     "(or spike) format"),
    (lambda d: d["layers"][0].update(activation="relu", out={"width": 8, "frac": 4}),
     "bad.yaml: layers: needs at least one layer with activation thermal, got 0"),
    (lambda d: d["layers"][2].update(activation="none"),
     "bad.yaml: layers[2].activation: none (logits) must be the last layer's activation, and only its"),
    (lambda d: d["layers"][1].update(pool=3),
     "bad.yaml: layers[1].pool: must be a power of 2, got 3"),
    (lambda d: d["layers"][1].update(pool=4, stride=3),
     "bad.yaml: layers[1].pool: must divide the 6 x 6 convolution output, got 4"),
    (lambda d: d["layers"][3].update(outputs=10),
     "bad.yaml: layers[3].outputs: must equal the classes of gestures11 (11), got 10"),
    (lambda d: d["layers"][2].update(name="conv1"),
     "bad.yaml: layers[2].name: duplicate layer name 'conv1'"),
    (lambda d: d["layers"][2].update(kernel=3),
     "bad.yaml: layers[2].kernel: not used by a dense layer (leave it out), got 3"),
    (lambda d: d["layers"][1].update(colour="red"),
     "bad.yaml: layers[1].colour: unknown key (allowed: name, kind, outputs, activation, weight, "
     "bias, out, kernel, stride, padding, pool, read)"),
    (lambda d: d["layers"][0].update(outputs=10),
     "bad.yaml: layers[0].outputs: a thermal layer's channels must be a multiple of "
     "hardware.lanes (4), got 10"),
    (lambda d: d["layers"][2]["out"].update(frac=20),
     "bad.yaml: layers[2].out.frac: must be <= input frac + weight.frac (5 + 7), got 20"),
    (lambda d: d["training"].update(task="steering"),
     "bad.yaml: training.task: the hardware head classifies; steering is a sequence task"),
    (lambda d: d.update(layers=[]), "bad.yaml: layers: must be a non-empty list of layers"),
])
def test_bad_description_one_line(edit, message, tmp_path):
    d = network_dict()
    edit(d)
    # parse relative to configs/ so the design resolves, but name the file bad.yaml
    with pytest.raises(ConfigError) as info:
        parse_network(d, str(ROOT / "configs" / "bad.yaml"))
    assert str(info.value) == message.replace("bad.yaml", str(ROOT / "configs" / "bad.yaml"))


def test_missing_design_names_the_network_file(tmp_path):
    d = network_dict()
    d["design"] = "nowhere.yaml"
    with pytest.raises(ConfigError) as info:
        parse_network(d, str(tmp_path / "n.yaml"))
    assert str(info.value).startswith(f"{tmp_path / 'n.yaml'}: design: {tmp_path / 'nowhere.yaml'}: "
                                      "cannot read")


# -- the arithmetic, against hand-derived values ------------------------------------------------------

def test_requantise_and_head_known_answers():
    acc = np.array([-5, 0, 7, 1000, 1100, -1100])
    # floor(acc / 4), then unsigned 8-bit saturation (the ReLU) or signed 8-bit
    assert requantise_output(INT_OPS, acc, 2, 8, False).tolist() == [0, 0, 1, 250, 255, 0]
    assert requantise_output(INT_OPS, acc, 2, 8, True).tolist() == [-2, 0, 1, 127, 127, -128]
    assert accumulate_score(INT_OPS, np.array([120, -120, 3]), np.array([10, -10, -5]), 8).tolist() \
        == [127, -128, -2]


def test_head_takes_first_index_on_ties():
    net = derive(small_dict())
    params = random_params(net)
    params[-1] = (np.zeros_like(params[-1][0]), np.zeros_like(params[-1][1]))
    params[-1][1][[3, 7]] = 5                   # two classes tie on every frame
    trace = netref.run_network(net, params, random_frames(net, 2, 3))
    assert (trace.label == 3).all()
    lf = net.layers[-1]
    assert (trace.score[:, -1, 3] == 3 * ((5 << lf.bias_shift) >> lf.out_shift)).all()


# -- the reference's accumulators, against torch's own conv, pooling and linear ----------------------

@pytest.mark.parametrize("which", ["default", "small"])
def test_accumulators_equal_torch(which):
    net = derive_network(load_network(NETWORK)) if which == "default" else derive(small_dict())
    params = random_params(net, seed=3)
    x = netref.quantise_frames(net, random_frames(net, 3, 1, seed=4))[:, 0]
    out, _ = netref.frame_step(net, params, x, netref.initial_state(net, 3))
    h = x
    for lf, (w, b), acc, act in zip(net.layers, params, out.acc, out.act):
        ht = torch.as_tensor(h, dtype=torch.float64)
        wt = torch.as_tensor(w, dtype=torch.float64)
        if lf.kind == "dense":
            ref = F.linear(ht.flatten(1), wt)[:, :, None, None]
        else:
            ref = F.conv2d(ht, wt, stride=lf.stride, padding=lf.padding)
            ref = F.avg_pool2d(ref, lf.pool) * lf.pool ** 2
        ref = ref + torch.as_tensor(b * 2.0 ** lf.bias_shift)[None, :, None, None]
        assert np.array_equal(acc, ref.numpy().astype(np.int64)), lf.name
        if lf.activation == "relu":   # floor(acc / 2**shift), clipped to [0, 2**width - 1]
            want = np.clip(np.floor(ref.numpy() / 2.0 ** lf.out_shift), 0, 2 ** lf.out_width - 1)
            assert np.array_equal(act, want), lf.name
        h = act


def test_thermal_layer_is_the_single_layer_reference_in_channels_last_order(tmp_path):
    """Stochastic neurons draw the LFSR in update order: the network's is channels-last, and
    the channels-first order gives other spikes."""
    from ipnet_mtj.sw import reference
    design = yaml.safe_load((ROOT / "configs" / "bounded.yaml").read_text())
    design["fixed_point"]["output"] = "stochastic"
    (tmp_path / "stochastic.yaml").write_text(yaml.safe_dump(design))
    d = small_dict()
    d["design"] = str(tmp_path / "stochastic.yaml")
    d["layers"][1]["bias"]["frac"] = 6            # conv2's input is now a 1-bit spike
    net = derive(d)
    lf = net.thermal
    params = random_params(net, seed=5)
    rng = np.random.default_rng(7)                # currents near threshold: 0 < p < 1
    params[0] = (rng.integers(-2, 3, size=lf.weight_shape),
                 np.full(lf.out_shape[0], lf.fp.thr0 << (lf.fp.i_shift - lf.bias_shift)))
    frames = random_frames(net, 2, 6, seed=6)
    trace = netref.run_network(net, params, frames, keep=(0,), keep_theta=True)
    acc = np.stack([netref.layer_accumulator(lf, netref.quantise_frames(net, frames[:, t]), *params[0])
                    for t in range(6)], axis=1)                       # B, T, C, H, W
    ref = reference.run_currents(lf.fp, acc.transpose(0, 1, 3, 4, 2))   # channels last
    assert np.array_equal(trace.act[0], ref.y.transpose(0, 1, 4, 2, 3))
    assert np.array_equal(trace.theta, ref.theta.transpose(0, 1, 4, 2, 3))
    assert trace.theta.max() > 0 and 0 < trace.act[0].mean() < 1
    channels_first = reference.run_currents(lf.fp, acc)
    assert not np.array_equal(trace.act[0], channels_first.y)


# -- the QAT model computes the integer network ------------------------------------------------------

@pytest.mark.parametrize("which", ["default", "small", "full", "spread", "taus"])
def test_quantised_model_equals_integer_reference(which):
    """``full``: the small network on configs/full.yaml's thermal neurons (threshold table,
    current limit, heat cap); ``spread``: on configs/spread.yaml's, whose offsets are in the
    hardware's (h, w, c) neuron order; ``taus``: configs/taus.yaml's eight devices, one per
    channel."""
    if which == "default":
        net = derive_network(load_network(NETWORK))
    else:
        d = small_dict()
        if which != "small":
            d["design"] = f"{which}.yaml"
        if which == "taus":                 # 8 devices: one per channel
            d["layers"][0]["outputs"] = 8
        net = derive(d)
    assert bool(net.thermal.fp.thr_offset) == (which == "spread")
    fp = net.thermal.fp                     # taus: 8 devices; spread: one per neuron
    assert len(fp.devices) == {"taus": 8, "spread": fp.neurons}.get(which, 0)
    torch.manual_seed(0)
    model = DescribedIPNet(net)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.quantised = True
    frames = random_frames(net, 4, 5, seed=7).astype(np.float32)
    with torch.no_grad():
        logits = model.frame_logits(torch.as_tensor(frames)).double().numpy()
    trace = netref.run_network(net, model.integer_params(), frames)
    assert np.array_equal(logits * 2.0 ** net.layers[-1].out_frac, trace.logits)
    assert np.abs(trace.logits).max() > 0
    model.quantised = False                   # the float model is not the integer one
    with torch.no_grad():
        flt = model.frame_logits(torch.as_tensor(frames)).double().numpy()
    assert not np.array_equal(flt * 2.0 ** net.layers[-1].out_frac, trace.logits)


def test_quantised_gradients_reach_every_layer():
    net = derive(small_dict())
    model = DescribedIPNet(net)
    model.quantised = True
    frames = torch.as_tensor(random_frames(net, 2, 3, seed=1).astype(np.float32))
    model(frames).sum().backward()
    for k, layer in enumerate(model.layers):
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0, k


def test_integer_params_round_and_saturate():
    net = derive(small_dict())
    model = DescribedIPNet(net)
    with torch.no_grad():
        model.layers[1].weight.fill_(10.0)      # far outside s8.7
        model.layers[1].weight[0, 0, 0, 0] = 0.3
    w, _ = model.integer_params()[1]
    assert w.max() == 127 and w[0, 0, 0, 0] == round(0.3 * 128)
    assert model.saturation()["conv2"]["weights"] > 0.99



def test_devices_must_divide_the_thermal_channels():
    d = small_dict()
    d["design"] = "taus.yaml"
    with pytest.raises(ConfigError) as err:
        derive(d)
    assert str(err.value).endswith("design: 8 devices (device.tau_th_ns_devices of "
                                   f"{ROOT / 'configs' / 'taus.yaml'}) must divide layer "
                                   "layers[0]'s 4 channels: channel c is device c mod K")
