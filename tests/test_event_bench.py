"""``ipnet bench-events``: its stimulus, its arithmetic worked by hand, the twin check and its
bad input. The figures themselves come from ``make bench-events`` (simulation and place and
route), not a test."""

import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.sim.event_bench import (density_frames, predicted_cycles, steady_cycles,
                                       twin_difference, word_density)
from ipnet_mtj.sim.harness import frame_cycles
from ipnet_mtj.sw.network import derive_network, load_network, with_lanes

EVENTS = ROOT / "configs" / "network_events.yaml"
DENSE = ROOT / "configs" / "network.yaml"


@pytest.mark.parametrize("density, active", [(0.0, 0), (0.05, 102), (0.5, 1024), (1.0, 2048)])
def test_density_frames_have_exactly_the_asked_words(density, active):
    x = density_frames((2, 32, 32), density, 3, 15, np.random.default_rng(7))
    assert x.shape == (3, 2, 32, 32)
    assert [(f != 0).sum() for f in x] == [active] * 3
    assert x.min() >= 0 and x.max() <= 15
    assert word_density(x) == (active / 2048, float(active))
    again = density_frames((2, 32, 32), density, 3, 15, np.random.default_rng(7))
    assert (again == x).all()


def test_word_density_by_hand():
    x = np.zeros((2, 3, 1, 2, 2), dtype=np.int64)     # 6 frames of 4 words
    x[0, 0, 0, 0, 0] = 3
    x[1, 2, 0, 1, :] = 1                               # 1 + 2 words non-zero in 6 frames
    assert word_density(x) == (3 / 24, 0.5)


def test_frame_cycles_and_steady_cycles_by_hand():
    assert frame_cycles([100, 250, 390]) == [100, 150, 140]
    assert steady_cycles([[100, 150, 140], [90, 160]]) == [150, 140, 160]


def test_cycle_model_beside_measured_frames_of_the_default_event_design():
    # measured by make bench-events (Verilator, the default event design): an empty frame
    # 12,429 cycles, a full one 36,068; the first figure of a sequence is its latency (skipped)
    net = derive_network(load_network(EVENTS))
    x = np.zeros((2, 3, *net.input_shape), np.int64)
    x[1, 2] = 1
    pred, lo, hi = predicted_cycles(net, x, [[14479, 12429, 12429], [14479, 12429, 36068]])
    # by hand: the dense walk's 35,984 cycles without the first layer's 25,600 MAC cycles
    # (16 x 16 positions x 2 groups x 50), 16 x 16 x 2 = 512 flushes of P = 4 cycles,
    # EVENT_TURN -2: 12,430; a full frame adds its scatter commands: each of the 32 input
    # rows reaches 2 or 3 of the 16 output rows (5 rows, stride 2, padding 2), 77 in all,
    # the same for columns: 2 channels x 77 x 77 x 2 groups = 23,716
    assert (lo, hi) == (1, 78)
    assert pred == pytest.approx((3 * 12430 + 12430 + 23716) / 4)


def test_the_shipped_networks_are_twins_and_a_changed_one_is_not():
    events = derive_network(load_network(EVENTS))
    dense = derive_network(load_network(DENSE))
    assert twin_difference(events, dense) is None
    assert twin_difference(events, derive_network(with_lanes(load_network(DENSE), 2))) \
        == "lanes differs"
    assert twin_difference(dense, dense) == "ipnet_g11 has hardware.input: dense, not events"
    assert twin_difference(events, events) == \
        "ipnet_g11_events has hardware.input: events, not dense"


@pytest.mark.parametrize("args, message", [
    ([str(DENSE)], f"error: {DENSE}: hardware.input is dense; bench-events needs a network "
                   f"with hardware.input: events\n"),
    ([str(EVENTS), "--densities", "5,120"],
     "error: --densities: percentages must lie in 0..100, got '5,120'\n"),
    ([str(EVENTS), "--densities", "5,x"],
     "error: --densities: expected percentages separated by commas, got '5,x'\n"),
    ([str(EVENTS), "--icarus-densities", "3"], "error: --icarus-densities: [3.0] not among "
                                                "--densities\n"),
    ([str(EVENTS), "--frames", "1"], "error: --frames: must be >= 2, got 1\n"),
    ([str(EVENTS), "--dense", str(EVENTS)],
     f"error: --dense {EVENTS}: not the dense twin of {EVENTS}: ipnet_g11_events has "
     f"hardware.input: events, not dense\n"),
])
def test_bad_input_one_line(args, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "bench-events", *args,
                           "--weights", str(ROOT / "configs" / "trained" / "ipnet_g11.npz"),
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert (proc.returncode, proc.stderr) == (2, message)
    assert list(tmp_path.iterdir()) == []
