"""Place and route (qflow: GrayWolf, qrouter): the routed DEF against the netlist, the DEF
reader on a hand-written file, and the stops that are one line.

The oracles: a DEF written by hand with its figures worked out by hand; the cells' LEF sizes
against the Liberty areas (two files of the library, read independently); a routed DEF
edited by hand (one pin moved to another net, one cell removed) must fail the check."""

from __future__ import annotations

import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from helpers import config_dict, write_config

from ipnet_mtj.gen.asic.cells import run_yosys, synthesise_cells
from ipnet_mtj.gen.asic.layout import (blif_cells, block_of_cell, connectivity_errors,
                                       layout_available, lef_sizes, netlist_blif,
                                       place_and_route, read_def)
from ipnet_mtj.gen.asic.library import find_library

LIBRARY, WHY = find_library()
LAYOUT, LAYOUT_WHY = layout_available()
needs_layout = pytest.mark.skipif(LIBRARY is None or not LAYOUT, reason=WHY or LAYOUT_WHY)

COUNTER = """
module counter(input clk, input rst, input [3:0] step, output reg [7:0] q, output odd,
               output [1:0] k);
  always @(posedge clk) q <= rst ? 8'd0 : q + {4'd0, step};
  assign odd = q[0];
  assign k = 2'b10;
endmodule
"""

HAND_DEF = """VERSION 5.6 ;
DESIGN t ;
UNITS DISTANCE MICRONS 100 ;
DIEAREA ( -100 0 ) ( 900 500 ) ;
COMPONENTS 2 ;
- INVX1_1 INVX1 + PLACED ( 0 0 ) N ;
- FILL_1 FILL + FIXED ( 400 0 ) FS ;
END COMPONENTS
NETS 2 ;
- a
  ( PIN a ) ( INVX1_1 A )
+ ROUTED metal2 ( 100 100 ) ( * 300 ) M2_M1
  NEW metal1 ( 100 300 ) ( 500 * ) ;
- y ( INVX1_1 Y ) ( PIN y ) ;
END NETS
END DESIGN
"""


def test_def_reader_on_a_hand_written_file(tmp_path):
    path = tmp_path / "t.def"
    path.write_text(HAND_DEF)
    d = read_def(path)
    assert d.die == (-1.0, 0.0, 9.0, 5.0)
    assert d.components == {"INVX1_1": ("INVX1", 0.0, 0.0), "FILL_1": ("FILL", 4.0, 0.0)}
    assert d.nets == {"a": [("PIN", "a"), ("INVX1_1", "A")],
                      "y": [("INVX1_1", "Y"), ("PIN", "y")]}
    # metal2 from (1,1) up to (1,3), a via, metal1 from (1,3) right to (5,3)
    assert d.wires == [("metal2", 1.0, 1.0, 1.0, 3.0), ("metal1", 1.0, 3.0, 5.0, 3.0)]
    assert d.vias == 1


def test_a_def_without_its_units_is_one_line(tmp_path):
    from ipnet_mtj.sw.cli import UsageError
    path = tmp_path / "t.def"
    path.write_text(HAND_DEF.replace("UNITS DISTANCE MICRONS 100 ;", ""))
    with pytest.raises(UsageError, match=r"t\.def: no UNITS DISTANCE MICRONS or DIEAREA"):
        read_def(path)


def test_block_of_a_cell_is_the_longest_block_name():
    blocks = ["layer", "layer.mac", "layer.mac_memories", "layer.neurons"]
    assert block_of_cell("layer.mac.c12", "t_top", blocks) == "layer.mac"
    assert block_of_cell("layer.mac.t_top.layer.mac_memories.xbuf.bank0.c3", "t_top",
                         blocks) == "layer.mac_memories"
    assert block_of_cell("layer.c1", "t_top", blocks) == "layer"
    assert block_of_cell("c1", "t_top", blocks) == "(top)"


@pytest.mark.skipif(LIBRARY is None, reason=WHY)
def test_lef_sizes_are_the_liberty_areas():
    sizes = lef_sizes(LIBRARY.lef)
    text = LIBRARY.liberty.read_text()
    areas = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"\bcell\s*\(\s*(\w+)\s*\)\s*\{[^}]*?\barea\s*:\s*([\d.]+)", text)}
    assert len(areas) == 32
    differ = {c: (sizes[c][0] * sizes[c][1], a) for c, a in areas.items()
              if sizes[c][0] * sizes[c][1] != pytest.approx(a, rel=1e-6)}
    # three cells' Liberty areas are not their LEF outlines (docs/asic.md): LATCH 0 (the
    # designs use none), NAND3X1 36 and OAI21X1 23 um2 against 32 um2 in the layout
    assert differ == {"LATCH": (56.0, 0.0), "NAND3X1": (32.0, 36.0), "OAI21X1": (32.0, 23.0)}


@pytest.fixture(scope="module")
def routed_counter(tmp_path_factory):
    if LIBRARY is None or not LAYOUT:
        pytest.skip(WHY or LAYOUT_WHY)
    work = tmp_path_factory.mktemp("layout")
    (work / "counter.v").write_text(COUNTER)
    cells = synthesise_cells(work / "counter.v", "counter", LIBRARY, work / "syn")
    named = netlist_blif(LIBRARY, work / "syn" / "netlist_sim.v", "counter", work / "syn",
                         run_yosys)
    routed, seconds = place_and_route(work / "syn" / "counter.blif", work / "counter.v",
                                      "counter", work / "pr", 0.5, 600)
    return cells, blif_cells(named), routed


@needs_layout
def test_routed_def_joins_exactly_the_netlists_pins(routed_counter):
    cells, (blif, ports), routed = routed_counter
    d = read_def(routed)
    assert connectivity_errors(d, blif, ports) == []
    placed = [k for k, _, _ in d.components.values() if k != "FILL"]
    assert sorted(placed) == sorted(c.kind for c in blif)
    # the cells placed are the netlist's cells (by type and number)
    counts = {}
    for k in placed:
        counts[k] = counts.get(k, 0) + 1
    # three buffers more than the netlist, worked out by hand: `odd` and `q[0]` are two
    # names of one net, and `k[0]`, `k[1]` are tied to constants (to gnd and vdd)
    buffers = [c for c in blif if not c.path]
    assert sorted(c.pins["Y"] for c in buffers) == ["k[0]", "k[1]", "q[0]"]
    assert {c.pins["Y"]: c.pins["A"] for c in buffers} == {"k[0]": "gnd", "k[1]": "vdd",
                                                           "q[0]": "odd"}
    counts["BUFX2"] -= 3
    assert {k: v for k, v in counts.items() if v} == cells.cell_counts
    x0, y0, x1, y1 = d.die
    sizes = lef_sizes(LIBRARY.lef)
    assert sum(sizes[k][0] * sizes[k][1] for k, _, _ in d.components.values()) \
        <= (x1 - x0) * (y1 - y0)
    assert d.wires and d.vias > 0
    for _, kx, ky in d.components.values():
        assert x0 <= kx <= x1 and y0 <= ky <= y1


@needs_layout
def test_a_moved_pin_or_a_missing_cell_is_caught(routed_counter, tmp_path):
    _, (blif, ports), routed = routed_counter
    text = routed.read_text()
    # one pin of a two-pin-or-more net moved to the output net `odd`
    d = read_def(routed)
    net, pins = next((n, p) for n, p in d.nets.items() if len(p) >= 3 and n != "odd")
    inst, pin = next(p for p in pins if p[0] != "PIN")
    moved = re.sub(rf"\(\s*{re.escape(inst)}\s+{pin}\s*\)", "", text, count=1)
    moved, n = re.subn(r"^(-\s+odd)\s*$", rf"\1 ( {inst} {pin} )", moved, count=1, flags=re.M)
    assert n == 1               # the net's own line, not the PINS entry `- odd + NET odd`
    (tmp_path / "moved.def").write_text(moved)
    assert connectivity_errors(read_def(tmp_path / "moved.def"), blif, ports)
    gone = re.sub(rf"^\s*-\s+{re.escape(blif[0].name)}\s.*$", "", text, count=1, flags=re.M)
    (tmp_path / "gone.def").write_text(gone)
    errors = connectivity_errors(read_def(tmp_path / "gone.def"), blif, ports)
    assert errors[0].startswith(f"cell {blif[0].name} ")
    assert "not placed" in errors[0]
    # a cell the netlist does not have, placed among the others
    extra = re.sub(r"^(COMPONENTS \d+ ;)$", r"\1\n- EXTRA_1 INVX1 + PLACED ( 0 0 ) N ;", text,
                   count=1, flags=re.M)
    assert connectivity_errors(read_def_text(extra, tmp_path), blif, ports) == [
        "DEF cell EXTRA_1 (INVX1) is not in the netlist"]
    # a pin listed on a second net as well
    twice = re.sub(r"^(-\s+odd)\s*$", rf"\1 ( {inst} {pin} )", text, count=1, flags=re.M)
    errors = connectivity_errors(read_def_text(twice, tmp_path), blif, ports)
    assert errors[0].startswith(f"pin {inst} {pin} is on 2 DEF nets")


def read_def_text(text, folder):
    (folder / "edited.def").write_text(text)
    return read_def(folder / "edited.def")


@pytest.mark.parametrize("edit, message", [
    (("+ PLACED ( 0 0 ) N", "+ UNPLACED"), "component INVX1_1 is not placed"),
    (("- y ( INVX1_1 Y ) ( PIN y ) ;", "- a ( INVX1_1 Y ) ( PIN y ) ;"), "net a twice"),
    (("END NETS", ""), "NETS: no END NETS"),
    (("- y ( INVX1_1 Y ) ( PIN y ) ;", "- y ( INVX1_1 Y ) ( PIN ;"), "NETS: an entry ends early"),
    (("- y ( INVX1_1 Y ) ( PIN y ) ;", "- y ( INVX1_1 Y ) ( PIN y )"),
     "NETS: the last entry has no ';'"),
    (("( 100 100 ) ( * 300 )", "( * 100 ) ( * 300 )"), "net a: '*' with no point before it"),
    (("( 100 100 )", "( 1o0 100 )"), "could not convert string to float: '1o0'"),
    (("- FILL_1", "FILL_1"), "COMPONENTS: expected '-', got 'FILL_1'"),
])
def test_a_malformed_def_is_one_line(tmp_path, edit, message):
    from ipnet_mtj.sw.cli import UsageError
    assert edit[0] in HAND_DEF
    path = tmp_path / "t.def"
    path.write_text(HAND_DEF.replace(edit[0], edit[1], 1))
    with pytest.raises(UsageError) as err:
        read_def(path)
    assert str(err.value).startswith(f"{path}: malformed DEF: ")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_new_netlist_takes_its_old_layout_with_it(tmp_path):
    from ipnet_mtj.gen.asic.stage import replace_asic_folder
    for folder in ("asic", "layout", "asic.partial"):
        (tmp_path / folder).mkdir()
    (tmp_path / "layout" / "layout_report.json").write_text("{}")
    (tmp_path / "asic.partial" / "asic_report.json").write_text("{}")
    assert replace_asic_folder(tmp_path / "asic.partial", tmp_path) == tmp_path / "asic"
    assert (tmp_path / "asic" / "asic_report.json").exists()
    assert not (tmp_path / "layout").exists() and not (tmp_path / "asic.partial").exists()


def test_a_design_above_the_cell_limit_stops_in_one_line(tmp_path, capsys):
    import json
    from ipnet_mtj.gen.asic.layout_stage import run_layout
    (tmp_path / "asic").mkdir()
    (tmp_path / "asic" / "asic_report.json").write_text(json.dumps(
        {"cell_counts": {"INVX1": 7, "NAND2X1": 5}}))
    args = SimpleNamespace(layout_max_cells=11, layout_density=0.6, layout_timeout=60)
    assert run_layout(LIBRARY, "t_top", tmp_path, args) is None
    out = capsys.readouterr().out
    assert out == ("place and route stops here: 12 cells, above --layout-max-cells 11 "
                   "(GrayWolf and qrouter would take more than about 15 minutes on 2 cores; "
                   "docs/asic.md)\n")
    assert not (tmp_path / "layout.partial").exists()
    stopped = json.loads((tmp_path / "layout" / "layout_report.json").read_text())
    assert stopped == {"stopped": out.strip(), "cells": 12, "max_cells": 11}


@pytest.mark.parametrize("option, value, message", [
    ("--layout-density", "0.99", "--layout-density: must be in [0.1, 0.95], got 0.99"),
    ("--layout-max-cells", "0", "--layout-max-cells: must be at least 1, got 0"),
    ("--layout-timeout", "-1", "--layout-timeout: must be positive, got -1.0"),
])
def test_bad_layout_options_are_one_line(tmp_path, option, value, message):
    cfg = write_config(tmp_path / "c.yaml", config_dict())
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "asic", str(cfg), "--layout",
                           option, value, "--out", str(tmp_path / "b")],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == f"error: {message}\n"
    assert not (tmp_path / "b").exists()


@needs_layout
def test_a_run_over_its_time_is_killed_in_one_line(routed_counter, tmp_path):
    from ipnet_mtj.sw.cli import UsageError
    syn = routed_counter[2].parents[2] / "syn"
    with pytest.raises(UsageError, match=r"^place and route: place ran over --layout-timeout "
                                         r"0 s; see .*qflow_place\.out$"):
        place_and_route(syn / "counter.blif", syn / "counter.v", "counter", tmp_path / "pr",
                        0.5, 0.2)
    # the step's process group is gone (qflow's tcsh and the placer it started)
    assert subprocess.run(["pgrep", "-f", str(tmp_path / "pr")], capture_output=True).stdout == b""
