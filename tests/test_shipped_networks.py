"""The shipped networks beyond the default one: configs/network_read.yaml (the resistance read
handed on beside the outputs) and configs/network_all_mtj.yaml (thermal neurons at every
activation). Their trained weights fit their descriptions, the golden model measures again
what training recorded, their junctions stay within the card's bounds, and the accelerator
computes two frames of a real test sequence with the trained weights bit for bit."""

import json

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.sw.network import derive_network, load_network
from ipnet_mtj.sw.train.network_train import (_test_split, evaluate_trained, load_trained,
                                              network_hash, trained_paths)
from test_net_hw import Segment, run_and_compare

SHIPPED = ["network_read.yaml", "network_all_mtj.yaml"]


@pytest.fixture(scope="module", params=SHIPPED)
def shipped(request):
    path = ROOT / "configs" / request.param
    cfg = load_network(path)
    return path, cfg, derive_network(cfg)


def test_what_makes_them_different(shipped):
    path, _, net = shipped
    if path.name == "network_read.yaml":
        assert net.thermal.read == "both" and net.layers[1].in_shape == (16, 16, 16)
        assert net.thermal.fp.read_bits == 4
    else:
        assert [lf.index for lf in net.thermals] == [0, 1, 2]


def test_weights_fit_and_their_figures_reproduce(shipped):
    path, cfg, net = shipped
    params = load_trained(cfg, net)
    assert len(params) == len(net.layers)
    recorded = json.loads(trained_paths(cfg)[1].read_text())
    assert recorded["network_hash"] == network_hash(cfg)
    again = evaluate_trained(path)
    assert again["accuracy"]["integer"] == recorded["accuracy"]["integer"]
    assert again["accuracy"]["integer"] > 0.5                  # 11 classes: chance is 0.09
    phys = again["physics"]
    assert phys["max_temperature_K"] < phys["Tc_K"] and phys["bound_below_curie"]
    assert phys["max_temperature_K"] <= phys["temperature_bound_K"]
    assert phys["max_current_ic0"] > 0


def test_accelerator_with_the_trained_weights(shipped):
    """Two frames of the first test sequence: every value of every layer, heats, logits."""
    path, cfg, net = shipped
    params = load_trained(cfg, net)
    x, _ = _test_split(cfg, "build/networks")
    frames = np.clip(np.floor(x[0, :2]), 0, (1 << net.input_width) - 1).astype(np.int64)
    thermal_values = sum(lf.outputs for lf in net.thermals)
    assert run_and_compare(net, params, [Segment(frames)]) == 2 * (
        sum(lf.outputs for lf in net.layers) + thermal_values + net.classes)
