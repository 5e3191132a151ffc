"""The cycle model (hw.net_cycles.predict_cycles_per_frame) against the simulated accelerator.

The measurement (Amaranth simulation of the generated accelerator, three frames, the last
gap between label beats) is the oracle: the model reads only the description. The designs
are chosen to reach every term: thermal groups that stall the engine (a 1 x 1 first
convolution whose window of 2 cycles is shorter than the neuron unit's P + 6), requantised
groups that stall it (more real lanes than the next group's window, and exactly as many),
the walk's return that hides part of a stall, 4 to 6 layers, 1 to 16 lanes.
"""

import copy

import pytest
import yaml

from ipnet_mtj.hw import net_cycles
from ipnet_mtj.hw.net_cycles import (lower_bound_cycles, measure_cycles_per_frame,
                                     predict_cycles_per_frame)
from ipnet_mtj.sw.network import derive_network, parse_network

from test_net_hw import NETWORK_YAML, ROOT, random_params


def net_of(lanes, conv1, fcs, conv2=3, k1=3):
    """configs/network.yaml shrunk to 2 x 8 x 8 input, with dense layers ``fcs`` before the
    readout and a ``k1`` x ``k1`` first convolution of stride 2."""
    data = copy.deepcopy(yaml.safe_load(NETWORK_YAML.read_text()))
    data["input"] = {"channels": 2, "size": 8, "width": 4}
    c1, c2, fc, readout = data["layers"]
    c1.update(outputs=conv1, kernel=k1, stride=2, padding=k1 // 2)
    c2.update(outputs=conv2, kernel=3, stride=1, padding=1, pool=2)
    dense = []
    for n, outputs in enumerate(fcs):
        layer = copy.deepcopy(fc)
        layer.update(name=f"fc{n}", outputs=outputs)
        dense.append(layer)
    data["layers"] = [c1, c2, *dense, readout]
    data["hardware"]["lanes"] = lanes
    return derive_network(parse_network(data, str(ROOT / "configs" / "t.yaml")))


DESIGNS = {
    # lanes, conv1, dense, conv2, k1           what it reaches
    "one lane": (1, 4, [6], 3, 3),             # no stall; drains of one lane
    "thermal stalls": (2, 16, [12, 5], 3, 1),  # window 2 < P + 6 on every thermal group
    "hidden turn": (16, 16, [12, 5], 3, 1),    # 11 logits in one group, then a 2-cycle window
    "equal hold": (4, 8, [6, 9, 4], 7, 3),     # readout groups of 4 lanes, window 4; 6 layers
    "relu stalls": (8, 8, [6, 9, 4], 7, 3),    # 8 lanes into windows of 6 and 4
    "odd lanes": (3, 24, [7], 4, 1),           # partial groups everywhere
    "wide": (12, 24, [15], 6, 1),
    "partial first": (5, 5, [3, 17], 2, 3),
}


@pytest.mark.parametrize("name", DESIGNS)
def test_prediction_is_the_simulated_figure(name):
    net = net_of(*DESIGNS[name])
    measured = measure_cycles_per_frame(net, random_params(net, 0), frames=3)
    assert predict_cycles_per_frame(net) == measured
    assert measured >= lower_bound_cycles(net)


@pytest.mark.parametrize("constant", ["THERMAL_HOLD", "LAYER_TURN", "FRAME_TURN"])
def test_a_constant_off_by_one_is_caught(monkeypatch, constant):
    """The designs above pin each constant: one cycle more changes the figure of a design
    whose simulated value test_prediction_is_the_simulated_figure checks."""
    nets = [net_of(*DESIGNS[name]) for name in ("thermal stalls", "equal hold")]
    before = [predict_cycles_per_frame(net) for net in nets]
    monkeypatch.setattr(net_cycles, constant, getattr(net_cycles, constant) + 1)
    assert [predict_cycles_per_frame(net) for net in nets] != before


def test_known_answer_of_a_stalled_thermal_layer():
    """Worked by hand. 2 lanes, 16 thermal channels over 4 x 4 positions: 128 groups with a
    window of 2 (1 x 1 x 2), each holding the hand-over register 2 + 6 cycles, so each of
    the 127 that follow another waits 8 - 2 + 1 = 7 cycles: 889. Turns: 16 + 3 x 10 (conv2,
    fc0, fc1). Drains: 2 (thermal) + 1 (conv2: 3 = 2 + 1) + 2 (fc0: 12) + 1 (fc1: 5). The
    readout's last group (1 of 11 lanes) leaves before the first group needs the register."""
    net = net_of(*DESIGNS["thermal stalls"])
    assert predict_cycles_per_frame(net) == lower_bound_cycles(net) + 889 + 46 + 6
