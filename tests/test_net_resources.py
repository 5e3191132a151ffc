"""The block-RAM model (hw.net_resources) against the elaborated accelerator and hand counts.

Two oracles that do not share the model's code: the memories Amaranth elaborates from
the generated accelerator (names, depths, widths, and whether anything writes them), and
block counts worked by hand from the SB_RAM40_4K configurations. The comparison with
Yosys itself (``make bench-resources``) is a benchmark: a synthesis run per design is too
slow for the suite.
"""

import copy
import subprocess
import sys

import pytest
import yaml
from amaranth.hdl import Fragment, Shape
from amaranth.hdl._mem import MemoryInstance

from ipnet_mtj.gen.network import load_network_design
from ipnet_mtj.hw import net_resources
from ipnet_mtj.hw.net_accel import NetAccelerator
from ipnet_mtj.hw.net_resources import (NetMemory, ice40_blocks, ice40_in_bram, net_memories,
                                        predict_ice40_bram)
from ipnet_mtj.sw.network import derive_network, parse_network

from test_net_hw import NETWORK_YAML, ROOT, random_params


def elaborated_memories(net):
    """(name, depth, width, rom) of every memory in the elaborated accelerator."""
    def walk(frag, name):
        if isinstance(frag, MemoryInstance):
            yield (name, frag._data.depth, Shape.cast(frag._data.shape).width,
                   not frag._write_ports)
        for sub, sub_name, *_ in frag.subfragments:
            yield from walk(sub, sub_name)
    frag = Fragment.get(NetAccelerator(net, random_params(net, 0)), None)
    return sorted(walk(frag, None))


def small_net(lanes, card="bounded.yaml"):
    data = copy.deepcopy(yaml.safe_load(NETWORK_YAML.read_text()))
    data["design"] = card
    data["input"] = {"channels": 2, "size": 8, "width": 4}
    c1, c2, fc, readout = data["layers"]
    c1.update(outputs=2 * lanes, stride=2)    # thermal channels: a multiple of the lanes
    data["layers"] = [c1, c2, fc, readout]
    data["hardware"]["lanes"] = lanes
    return derive_network(parse_network(data, str(ROOT / "configs" / "t.yaml")))


@pytest.mark.parametrize("lanes, card", [(1, "bounded.yaml"), (3, "bounded.yaml"),
                                         (2, "spread.yaml")])
def test_the_inventory_is_what_the_generator_instantiates(lanes, card):
    # spread.yaml adds the neuron unit's offset, alpha and gain ROMs
    net = small_net(lanes, card)
    predicted = sorted(("mem" if m.name == "inbuf" else m.name, m.depth, m.width, m.rom)
                       for m in net_memories(net))
    assert predicted == elaborated_memories(net)


@pytest.mark.parametrize("depth, width, blocks", [
    (4096, 4, 4),     # 1024 x 4: 4 blocks; 2048 x 2: 2 x 2
    (1364, 8, 3),     # 512 x 8: ceil(1364 / 512)
    (2208, 8, 5),
    (2048, 14, 7),    # 2048 x 2: 7 slices; 256 x 16 would take 8
    (256, 8, 1),
    (15, 12, 1),
    (300, 16, 2),     # 256 x 16 twice; 512 x 8 twice too
    (2049, 1, 2),
])
def test_blocks_known_answers(depth, width, blocks):
    assert ice40_blocks(depth, width) == blocks


@pytest.mark.parametrize("depth, width, rom, in_bram", [
    (15, 12, True, False),     # 180 bits / 16 = 11 < 64: logic
    (256, 8, True, True),      # 2048 / 16 = 128 > 64
    (128, 8, True, False),     # 1024 / 16 = 64: a tie stays in logic
    (16, 4, False, False),     # 64 bits of RAM = one block's cost: logic
    (16, 8, False, True),      # 128 > 64
])
def test_block_or_logic_known_answers(depth, width, rom, in_bram):
    assert ice40_in_bram(NetMemory("m", depth, width, rom)) == in_bram


def test_default_network_known_answer():
    # by hand: input 2 x 2048 words of 4 bits (4 blocks of 1024 x 4), 4 weight ROMs of
    # 1364 x 8 (3 each), activations 2208 x 8 (5), heat 2048 x 14 (7 of 2048 x 2),
    # the LUT 256 x 8 (1); the bias ROMs (15 x 12) in logic. Yosys: 29 SB_RAM40_4K.
    net = load_network_design(str(ROOT / "configs" / "network.yaml"), None).net
    assert predict_ice40_bram(net) == 4 + 4 * 3 + 5 + 7 + 1 == 29


def test_a_wrong_logic_cost_is_caught(monkeypatch):
    # a ROM costed like a RAM moves the bias ROMs into block RAM
    net = load_network_design(str(ROOT / "configs" / "network.yaml"), None).net
    monkeypatch.setattr(net_resources, "LOGIC_COST_ROM", 1.0)
    assert predict_ice40_bram(net) != 29


@pytest.mark.parametrize("lanes, message", [
    ("4,x", "error: --lanes must be comma-separated integers, not '4,x'"),
    ("0,4", "error: --lanes must be positive integers, not '0,4'"),
])
def test_bench_bad_lanes_is_one_line(tmp_path, lanes, message):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "bench-resources",
                           str(ROOT / "configs" / "network.yaml"), "--lanes", lanes,
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [message]
    assert not (tmp_path / "out").exists()
