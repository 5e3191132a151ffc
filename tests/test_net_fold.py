"""``lanes: auto`` (hw.net_fold): the description's keys, the choice and its errors.

The oracles are synthesis and placement, measured (``make bench-resources``,
``make synth-fold``): the default network at 8 lanes needs 33 block RAMs and 11 DSPs, more
than the UP5K's 30 and 8, and fits the ECP5-25F; 4 lanes fit both. The choice rule is
checked against those facts and against frames per second worked from the cycle counts
the simulation measures (143,751, 71,914, 35,984 and 18,044 cycles at 1, 2, 4, 8 lanes).
"""

import math

import pytest
import yaml

from helpers import ROOT
from ipnet_mtj.gen.network import load_network_design
from ipnet_mtj.gen.network_synth import fold_outcome, fold_table
from ipnet_mtj.hw.net_fold import choose_lanes, fold_candidates, resolve_lanes
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.network import derive_network, parse_network, software_lanes

SOURCE = str(ROOT / "configs" / "auto.yaml")     # the design YAML resolves next to it


def auto_cfg(**fold):
    d = yaml.safe_load((ROOT / "configs" / "network.yaml").read_text())
    d["hardware"] = {"lanes": "auto", "fold": fold}
    return parse_network(d, SOURCE)


def error_of(hardware):
    d = yaml.safe_load((ROOT / "configs" / "network.yaml").read_text())
    d["hardware"] = hardware
    with pytest.raises(ConfigError) as info:
        parse_network(d, SOURCE)
    return str(info.value).removeprefix(SOURCE + ": ")


@pytest.mark.parametrize("hardware, message", [
    ({"lanes": "auto"}, "hardware.fold: missing: lanes: auto needs the device (and goal) the "
                        "lanes are chosen for"),
    ({"lanes": 4, "fold": {"device": "ice40_up5k"}}, "hardware.fold: only with lanes: auto, got lanes: 4"),
    ({"lanes": "many"}, "hardware.lanes: must be an integer between 1 and 64 or auto, got 'many'"),
    ({"lanes": 2.5}, "hardware.lanes: must be int or str, got 2.5"),
    ({"lanes": "auto", "fold": {"device": "xc7"}},
     "hardware.fold.device: must be one of ice40_up5k, ecp5_25f, ecp5_85f, got 'xc7'"),
    ({"lanes": "auto", "fold": {"device": "ice40_up5k", "frames_per_second": 0}},
     "hardware.fold.frames_per_second: must be > 0, got 0.0"),
    ({"lanes": "auto", "fold": {"device": "ice40_up5k", "event_density": 0.1}},
     "hardware.fold.event_density: only with hardware.input: events, got input: dense"),
    ({"lanes": "auto", "input": "events", "fold": {"device": "ice40_up5k", "event_density": 2}},
     "hardware.fold.event_density: must be between 0 and 1, got 2.0"),
])
def test_bad_fold_is_one_line(hardware, message):
    assert error_of(hardware) == message


def test_the_fastest_that_fits_each_device():
    chosen, rows = choose_lanes(auto_cfg(device="ice40_up5k"))
    assert [r.lanes for r in rows] == [1, 2, 4, 8]       # the lanes divide the 8 thermal channels
    assert chosen.lanes == 4
    assert rows[3].over == ("BRAM 33/30", "DSP 11/8")
    assert choose_lanes(auto_cfg(device="ecp5_25f"))[0].lanes == 8


@pytest.mark.parametrize("goal, lanes", [(100, 1), (208, 1), (209, 2), (417, 2), (418, 4),
                                         (833, 4)])
def test_a_goal_takes_the_fewest_lanes_that_reach_it(goal, lanes):
    # at 30 MHz: 1 lane 30e6 / 143,751 = 208.7 frames/s, 2 lanes 417.2, 4 lanes 833.7
    assert choose_lanes(auto_cfg(device="ice40_up5k", frames_per_second=goal))[0].lanes == lanes


def test_frames_per_second_are_the_clock_over_the_cycles():
    rows = fold_candidates(auto_cfg(device="ecp5_25f", clock_mhz=60))
    assert [r.cycles for r in rows] == [143751, 71914, 35984, 18044]
    assert [round(r.frames_per_second) for r in rows] == [417, 834, 1667, 3325]


def test_event_input_is_folded_at_its_event_density():
    # measured on the default event design at 4 lanes (make bench-events, Verilator): an empty
    # frame 12,429 cycles, a full one 36,068; the fold's figure bounds them from above by at
    # most 78 cycles (hw/net_cycles.py predict_event_cycles)
    d = yaml.safe_load((ROOT / "configs" / "network_events.yaml").read_text())
    for density, measured in ((0.0, 12429), (1.0, 36068), (None, 36068)):
        fold = {"device": "ice40_up5k", "clock_mhz": 36}
        if density is not None:
            fold["event_density"] = density
        d["hardware"] = {"lanes": "auto", "input": "events", "fold": fold}
        rows = {r.lanes: r for r in fold_candidates(parse_network(d, SOURCE))}
        assert measured <= rows[4].cycles <= measured + 78
    # a goal between the empty and the full frame's rate: met at 4 lanes only when sparse
    d["hardware"]["fold"] = {"device": "ice40_up5k", "clock_mhz": 36, "frames_per_second": 2000,
                             "event_density": 0.02}
    assert choose_lanes(parse_network(d, SOURCE))[0].lanes == 4
    d["hardware"]["fold"]["event_density"] = 1.0
    with pytest.raises(ConfigError, match="frames_per_second: 2000 is out of reach"):
        choose_lanes(parse_network(d, SOURCE))


def test_an_unreachable_goal_names_the_best():
    with pytest.raises(ConfigError) as info:
        choose_lanes(auto_cfg(device="ice40_up5k", frames_per_second=3000))
    assert str(info.value) == (f"{SOURCE}: hardware.fold.frames_per_second: 3000 is out of reach "
                               f"on the iCE40 UP5K at 30 MHz: the fastest design that fits, 4 "
                               f"lanes, gives 834")


def test_a_device_too_small_for_one_lane(monkeypatch):
    from ipnet_mtj.hw import net_fold
    from ipnet_mtj.sw.fpga import FPGAS, Fpga
    monkeypatch.setitem(net_fold.FPGAS, "ice40_up5k",
                        Fpga("tiny", "ice40", 5280, 5280, 20, 0, 8))
    with pytest.raises(ConfigError) as info:
        choose_lanes(auto_cfg(device="ice40_up5k"))
    assert str(info.value) == (f"{SOURCE}: hardware.fold.device: no lane count fits the tiny "
                               f"(1 lane needs BRAM 28/20)")
    assert FPGAS is net_fold.FPGAS


def test_auto_must_be_resolved_before_the_hardware():
    cfg = auto_cfg(device="ice40_up5k")
    with pytest.raises(ConfigError, match="hardware.lanes: auto: choose the lanes first"):
        derive_network(cfg)
    assert derive_network(software_lanes(cfg)).lanes == 1
    resolved = resolve_lanes(cfg)
    assert resolved.hardware.lanes == 4 and resolved.hardware.fold == cfg.hardware.fold
    assert derive_network(resolved).lanes == 4


def test_the_shipped_fold_description_loads_with_its_lanes():
    design = load_network_design(str(ROOT / "configs" / "network_fold.yaml"),
                                 str(ROOT / "configs" / "trained" / "ipnet_g11.npz"))
    assert design.net.lanes == 8
    table = fold_table(design.cfg)
    assert table[0] == ("lanes: auto for the ECP5-25F, at least 3000 frames/s at 60 MHz "
                        "(predicted from the description, hw/net_fold.py):")
    assert table[-2].split()[0] == "8" and table[-2].split()[-1] == "<-"


@pytest.mark.parametrize("fmax, fits, met", [(80.0, True, True), (50.0, True, False),
                                             (80.0, False, False), (math.nan, False, False)])
def test_the_goal_is_judged_on_the_placed_design(fmax, fits, met):
    fold = auto_cfg(device="ecp5_25f", frames_per_second=3000, clock_mhz=60).hardware.fold
    rows = {"ecp5_25f": {"target": "ECP5-25F (CABGA256)", "fmax_mhz": fmax, "fits": fits}}
    out = fold_outcome(fold, 8, 18044, rows)     # 3,000 frames/s need 54.1 MHz at 18,044 cycles
    assert out["met"] is met
    assert out["line"].endswith(": met" if met else ": NOT met")
    assert fold_outcome(fold, 8, 18044, {})["met"] is None
