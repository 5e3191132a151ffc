# amaranth: UnusedElaboratable=no
"""The resistance read in a network description: what the next layer takes of each thermal
neuron (``read: none | read | both``), in the description, the integer golden model, the
quantisation-aware model and the accelerator (Amaranth simulation), bit for bit."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

import ipnet_mtj.hw.neuron_unit as neuron_unit
from helpers import ROOT
from ipnet_mtj.hw.net_cycles import measure_cycles_per_frame, predict_cycles_per_frame
from ipnet_mtj.sw import netref, reference
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.fixed import read_scale
from ipnet_mtj.sw.nets.described import DescribedIPNet
from ipnet_mtj.sw.network import derive_network, parse_network
from test_net_hw import Segment, random_frames, random_params, run_and_compare

NETWORK_YAML = ROOT / "configs" / "network.yaml"


def read_dict(read="both", lanes=2, conv1=4, design="full_read.yaml"):
    """configs/network.yaml shrunk to an 8 x 8 input, its thermal layer on the read card."""
    d = copy.deepcopy(yaml.safe_load(NETWORK_YAML.read_text()))
    d["input"] = {"channels": 2, "size": 8, "width": 4}
    conv1_spec, conv2_spec, fc_spec, _ = d["layers"]
    conv1_spec.update(outputs=conv1, kernel=3, stride=2, padding=1, read=read)   # 4 x 4
    conv2_spec.update(outputs=3, kernel=3, stride=1, padding=1, pool=2)
    fc_spec.update(outputs=6)
    d["hardware"]["lanes"] = lanes
    d["design"] = design
    return d


def derive(d, source=None):
    return derive_network(parse_network(d, str(source or ROOT / "configs" / "t.yaml")))


def error_of(d, source=None):
    with pytest.raises(ConfigError) as info:
        derive(d, source)
    return str(info.value)


def near_threshold_params(net, seed):
    """Random weights, the thermal layer's currents near its threshold so that the neurons
    switch sometimes and warm to many heats (every read code in play)."""
    params = random_params(net, seed)
    lf = net.thermal
    w = np.random.default_rng(seed).integers(-40, 41, size=lf.weight_shape)
    params[0] = (w, np.full(lf.out_shape[0], lf.fp.thr0 << (lf.fp.i_shift - lf.fp.bias_shift)))
    return params


# -- the description ----------------------------------------------------------------------------

def test_read_both_doubles_the_next_layers_inputs():
    plain, both, only = (derive(read_dict(r)) for r in ("none", "both", "read"))
    assert plain.layers[1].in_shape == (4, 4, 4) and only.layers[1].in_shape == (4, 4, 4)
    assert both.layers[1].in_shape == (8, 4, 4)
    assert both.layers[1].weight_shape == (3, 8, 3, 3)
    th = both.thermal
    assert th.out_shape == (4, 4, 4) and th.neurons == 64 and th.outputs == 128
    assert th.fp.neurons == 64                      # the neurons are not doubled
    # 2**8 - 1 = 255 = 15 * 17: the 4-bit read is 17 LUT steps a code
    assert read_scale(th.fp) == 17


@pytest.mark.parametrize("change,message", [
    (lambda d: d["layers"][1].update(read="both"),
     "t.yaml: layers[1].read: only a thermal layer has a resistance read, got both after "
     "activation relu"),
    (lambda d: d.update(design="full.yaml"),
     "t.yaml: layers[0].read: both: the design has no resistance read (fixed_point.read_bits)"),
    (lambda d: d["layers"][0].update(read="half"),
     "layers[0].read: must be one of none, read, both, got 'half'"),
])
def test_bad_reads_are_refused(change, message):
    d = read_dict()
    change(d)
    assert message in error_of(d)


def test_a_read_that_is_not_a_whole_number_of_lut_steps_is_refused(tmp_path):
    """read_bits 3: 2**3 - 1 = 7 does not divide 255."""
    card = yaml.safe_load((ROOT / "configs" / "full_read.yaml").read_text())
    card["fixed_point"]["read_bits"] = 3
    (tmp_path / "read3.yaml").write_text(yaml.safe_dump(card))
    d = read_dict(design="read3.yaml")
    assert ("layers[0].read: both: read_bits (3) must divide the LUT's y width (8): the read's "
            "code must be a whole number of LUT steps") in error_of(d, tmp_path / "t.yaml")


# -- the golden model against an independent one --------------------------------------------------

def test_golden_model_interleaves_outputs_and_reads_by_hand():
    """conv2's accumulator with read: both equals torch's conv2d over channels built here:
    channel 2c the outputs of the same network with read: none, channel 2c + 1 the read
    table looked up with numpy at the heat the step ends with, times 17 (255 / 15)."""
    both, plain = derive(read_dict("both")), derive(read_dict("none"))
    params = near_threshold_params(both, 3)
    frames = random_frames(both, 6, seed=4)
    b_tr = netref.run_network(both, params, frames[None], keep=(0, 1), keep_theta=True)
    plain_params = [params[0]] + [None] * 3
    fp = plain.thermal.fp
    state = reference.initial_state(fp, 1)
    table = np.asarray(fp.read_table)
    w2, bias2 = params[1]
    lf2 = both.layers[1]
    codes = set()
    for t, x in enumerate(frames):
        acc = netref.layer_accumulator(plain.layers[0], x[None], *plain_params[0])
        flat = acc.transpose(0, 2, 3, 1).reshape(1, -1)
        y, _, state = reference.step(fp, flat, state)
        code = table[np.minimum(state.theta >> fp.read_shift, len(table) - 1)]
        codes.update(code.ravel().tolist())
        y = y.reshape(1, 4, 4, 4).transpose(0, 3, 1, 2)
        r = (code * 17).reshape(1, 4, 4, 4).transpose(0, 3, 1, 2)
        x2 = np.empty((1, 8, 4, 4), dtype=np.int64)
        x2[:, 0::2], x2[:, 1::2] = y, r
        assert np.array_equal(b_tr.act[0][0, t], x2[0])
        conv = F.conv2d(torch.as_tensor(x2, dtype=torch.float64),
                        torch.as_tensor(w2, dtype=torch.float64), padding=1)
        pooled = F.avg_pool2d(conv, 2) * 4
        want = pooled.numpy() + (bias2 << lf2.bias_shift)[None, :, None, None]
        got = netref.layer_accumulator(lf2, b_tr.act[0][:, t], w2, bias2)
        assert np.array_equal(got, want.astype(np.int64))
    assert len(codes) >= 6                          # the reads are not all one code


def test_quantised_model_equals_the_golden_model_with_reads():
    for read in ("both", "read"):
        net = derive(read_dict(read))
        torch.manual_seed(0)
        model = DescribedIPNet(net)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
            model.gain.fill_(3.0)
        model.quantised = True
        frames = random_frames(net, 5, seed=7)[None].repeat(3, 0).astype(np.float32)
        with torch.no_grad():
            logits = model.frame_logits(torch.as_tensor(frames)).double().numpy()
        trace = netref.run_network(net, model.integer_params(), frames, keep=(0,))
        assert np.array_equal(logits * 2.0 ** net.layers[-1].out_frac, trace.logits), read
        assert np.abs(trace.logits).max() > 0


# -- the accelerator --------------------------------------------------------------------------

@pytest.mark.parametrize("read,lanes", [("both", 2), ("read", 2), ("both", 4)])
def test_accelerator_hands_on_reads_bit_exact(read, lanes):
    net = derive(read_dict(read, lanes=lanes, conv1=4 if lanes == 2 else 8))
    params = near_threshold_params(net, 5)
    frames = random_frames(net, 5, seed=8)
    compared = run_and_compare(net, params, [Segment(frames[:3]), Segment(frames[3:])],
                               stall=0.2)
    assert compared > 5 * net.thermal.outputs


def test_a_wrong_read_in_the_accelerator_is_caught(monkeypatch):
    """A mutant: the hardware's read one code too high."""
    net = derive(read_dict("both"))
    params = near_threshold_params(net, 5)
    frames = random_frames(net, 3, seed=8)
    real = neuron_unit.read_output
    monkeypatch.setattr(neuron_unit, "read_output",
                        lambda ops, fp, theta: real(ops, fp, theta) + read_scale(fp))
    with pytest.raises(AssertionError, match="layer conv1"):
        run_and_compare(net, params, [Segment(frames)])


@pytest.mark.parametrize("lanes,conv1,kernel", [(2, 4, 3), (8, 8, 3), (4, 8, 1)])
def test_cycle_prediction_with_reads_is_exact(lanes, conv1, kernel):
    """Two values a neuron: the neuron unit holds a group 2P + THERMAL_HOLD cycles and drains
    in 2P; with lanes 8 and kernel 1 that stalls the engine."""
    d = read_dict("both", lanes=lanes, conv1=conv1)
    d["layers"][0].update(kernel=kernel, padding=kernel // 2)
    net = derive(d)
    assert predict_cycles_per_frame(net) == measure_cycles_per_frame(net, random_params(net, 1))


def test_quantised_model_in_float64_after_the_thermal_layer():
    """A wide next layer (16 input channels of 8 bits: a 26-bit accumulator) makes the QAT
    model run in float64; the thermal layer's outputs and reads then meet float64 weights."""
    d = read_dict("both", lanes=2, conv1=8)
    d["layers"][1]["weight"] = {"width": 12, "frac": 11}
    net = derive(d)
    assert max(lf.acc_width for lf in net.layers) > 25
    torch.manual_seed(1)
    model = DescribedIPNet(net)
    assert model.exact_dtype == torch.float64
    with torch.no_grad():
        model.gain.fill_(3.0)
    model.quantised = True
    frames = random_frames(net, 4, seed=2)[None].astype(np.float32)
    with torch.no_grad():
        logits = model.frame_logits(torch.as_tensor(frames)).double().numpy()
    trace = netref.run_network(net, model.integer_params(), frames)
    assert np.array_equal(logits * 2.0 ** net.layers[-1].out_frac, trace.logits)


def test_bench_harness_holds_every_value_a_layer_writes():
    """The Verilog benches' monitor memory holds a frame's every record: with read: both the
    thermal layer writes two values a neuron (the manifest's ``outputs``), 128 + 12 + 6 + 11
    per frame here, not the 64 neurons' count."""
    import re

    from ipnet_mtj.gen.network import _layers_manifest
    from ipnet_mtj.gen.ports import port_manifest
    from ipnet_mtj.hw.net_accel import NetAccelerator
    from ipnet_mtj.sim.harness import harness_verilog
    net = derive(read_dict("both"))
    rows = _layers_manifest(net)
    assert [r["outputs"] for r in rows] == [128, 12, 6, 11]
    manifest = {"ports": port_manifest(NetAccelerator(net, random_params(net, 0))),
                "layers": rows, "network": "read_net", "classes": net.classes}
    text = harness_verilog(manifest, max_frames=3)
    depth = re.search(r"mon_mem \[0:(\d+)\]", text).group(1)
    assert int(depth) == 3 * (128 + 12 + 6 + 11) - 1


def test_event_cycle_prediction_with_reads_is_an_upper_bound():
    """With event input and read: both a flush command costs max(2P, FLUSH_MIN): the
    prediction is at or above every measured frame (an upper bound, as without reads)."""
    from ipnet_mtj.hw.net_cycles import (event_frame_macs, measure_frame_cycles,
                                         predict_event_cycles)
    for lanes, conv1 in ((1, 4), (2, 4), (4, 8)):
        d = read_dict("both", lanes=lanes, conv1=conv1)
        d["hardware"]["input"] = "events"
        net = derive(d)
        frames = random_frames(net, 4, seed=3)
        measured = measure_frame_cycles(net, random_params(net, 5), frames)
        predicted = [predict_event_cycles(net, event_frame_macs(net, f)) for f in frames[1:]]
        assert all(p >= m for p, m in zip(predicted, measured)), (lanes, predicted, measured)
