"""The ASIC stage: OSU 0.18 um cells (Yosys), OpenSTA; checked against what does not come
from Yosys or OpenSTA themselves.

- area: every cell's area read from the Liberty file here, times the netlist's own cell
  counts, gives the total Yosys reports, and the blocks add up to it;
- memories: the inventory (ROM/RAM, words, widths) is what the design's configuration says;
- timing: in a hand-written design with one long and one short register-to-register path
  the critical path is the long one, named by its registers, and a longer chain is slower;
- bad input: a missing library and an activity out of range each give one line.
"""

import re
import subprocess
import sys

import pytest

from helpers import DEFAULT_CONFIG, config_dict, write_config

from ipnet_mtj.gen.asic.cells import synthesise_cells
from ipnet_mtj.gen.asic.library import find_library, sta_available
from ipnet_mtj.gen.asic.timing import static_timing

LIBRARY, WHY = find_library()
STA, STA_WHY = sta_available()
needs_library = pytest.mark.skipif(LIBRARY is None, reason=WHY)
needs_sta = pytest.mark.skipif(not STA, reason=STA_WHY)


def liberty_areas(path):
    """{cell: area} read straight from the Liberty text."""
    parts = re.split(r"\bcell\s*\(\s*(\w+)\s*\)\s*\{", path.read_text())
    return {name: float(re.search(r"\barea\s*:\s*([\d.]+)", body).group(1))
            for name, body in zip(parts[1::2], parts[2::2])}


def netlist_cell_counts(text, cells):
    counts = {}
    for m in re.finditer(r"^\s*(\w+)\s+\S+\s*\(", text, re.M):
        if m.group(1) in cells:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def _gate_simulators():
    from ipnet_mtj.sim.runner import simulator_available
    return "icarus,verilator" if simulator_available("verilator")[0] else "icarus"


SIMULATORS = _gate_simulators()


@pytest.fixture(scope="module")
def small_layer(tmp_path_factory):
    """A small layer (16 inputs, 8 neurons, 2 lanes) through ``ipnet asic --gate-level`` on
    Icarus and Verilator (with the energy from Verilator's activity), with the build folder
    given relative to the working directory as ``make`` gives it."""
    folder = tmp_path_factory.mktemp("asic")
    if LIBRARY is None or not STA:
        pytest.skip(WHY or STA_WHY)
    import shutil
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    cfg = write_config(folder / "small.yaml", config_dict(
        name="asic_small", layer={"inputs": 16, "neurons": 8}, hardware={"lanes": 2}))
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "asic", "small.yaml", "--out",
                           "build", "--gate-level", "--simulators", SIMULATORS,
                           "--neuron-steps", "320"], capture_output=True, text=True, cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json
    asic = folder / "build" / "asic_small" / "asic"
    return cfg, asic, json.loads((asic / "asic_report.json").read_text()), proc.stdout


@pytest.mark.slow      # the small layer through synthesis, STA and gate level: 4 min
def test_area_is_the_liberty_areas_of_the_netlist_cells(small_layer):
    _, asic, report, _ = small_layer
    areas = liberty_areas(LIBRARY.liberty)
    assert len(areas) == 32                                   # OSU 0.18 um: 32 cells
    counts = netlist_cell_counts((asic / "netlist.v").read_text(), areas)
    assert counts == report["cell_counts"]
    assert sum(areas[c] * n for c, n in counts.items()) == pytest.approx(report["area_um2"])
    assert sum(b["area_um2"] for b in report["blocks"]) == pytest.approx(report["area_um2"])
    assert any(b["memories"] for b in report["blocks"])
    assert not (asic.parent / "asic.partial").exists()      # put in place once complete


@needs_sta
@pytest.mark.slow      # the small layer through synthesis, STA and gate level: 4 min
def test_switching_energy_matches_openstas_at_the_same_activity(small_layer, tmp_path):
    """gen.asic.power's switching energy against OpenSTA's switching power (the vectorless
    figure of the report): every net given the activity OpenSTA was given (0.1 transitions
    per cycle, the clock 2), the two must agree. OpenSTA charges switching to cells' output
    pins, so the nets no cell drives (the top's inputs, constants) are left out of ours."""
    import shutil
    from ipnet_mtj.gen.asic.cells import run_yosys
    from ipnet_mtj.gen.asic.liberty_power import read_power_library
    from ipnet_mtj.gen.asic.power import activity_energy, flatten_json, netlist_json
    from ipnet_mtj.gen.asic.saif import Activity, Saif
    _, asic, report, _ = small_layer
    for name in ("netlist.v", LIBRARY.liberty.name):
        shutil.copyfile(asic / name, tmp_path / name)
    top = "asic_small_top"
    lib = read_power_library(LIBRARY.liberty.read_text())
    flat = flatten_json(netlist_json(tmp_path / "netlist.v", top, tmp_path / LIBRARY.liberty.name,
                                     tmp_path, run_yosys), top, lib.cells)
    cycles = 1000
    clock = set(flat.ports["clk"].values())

    def tc(net):
        return 2 * cycles if net in clock else cycles // 10
    scopes = {("t",): {f"{name}[{i}]": Activity(0, 0, tc(n))
                       for name, bits in flat.ports.items() for i, n in bits.items()}}
    for path, kind, pins in flat.cells:
        scopes[("t",) + path] = {pin: Activity(0, 0, tc(n)) for pin, n in pins.items()}
    ours = activity_energy(flat, top, lib, Saif(cycles * 10e-9, 1e-9, scopes), ("t",))
    driven = {n for _, kind, pins in flat.cells for pin, n in pins.items()
              if pin in lib.cells[kind].outputs}
    undriven = sum(0.5 * tc(n) * lib.cells[kind].inputs[pin] * lib.voltage ** 2
                   for _, kind, pins in flat.cells for pin, n in pins.items()
                   if pin in lib.cells[kind].inputs and n not in driven)
    sta = report["power_w"]["switching_w"] / (report["timing"]["fmax_mhz"] * 1e6)
    assert report["timing"]["activity"] == 0.1
    assert (ours.switching_j - undriven) / cycles == pytest.approx(sta, rel=0.005)


@pytest.mark.slow      # the small layer through synthesis, STA and gate level: 4 min
def test_memory_inventory_is_the_configured_memories(small_layer):
    from ipnet_mtj.sw.config import load_config
    from ipnet_mtj.sw.fixed import derive_fixed_point
    cfg, _, report, _ = small_layer
    fp = derive_fixed_point(load_config(cfg))
    mems = {m["name"]: m for m in report["memories"]}
    lanes = 2
    per_lane = fp.inputs * fp.neurons // lanes
    for lane in range(lanes):
        assert (mems[f"wrom{lane}"]["kind"], mems[f"wrom{lane}"]["words"],
                mems[f"wrom{lane}"]["width"]) == ("ROM", per_lane, fp.w_width)
    theta = mems["theta_mem"]
    assert (theta["kind"], theta["words"]) == ("RAM", fp.neurons)
    assert mems["lut"]["kind"] == "ROM" and mems["lut"]["width"] == fp.y_width


@pytest.mark.slow      # the small layer through synthesis, STA and gate level: 4 min
def test_report_prints_the_figures(small_layer):
    _, _, report, out = small_layer
    t = report["timing"]
    assert 1.0 < t["fmax_mhz"] < 1000.0
    assert f"Fmax {t['fmax_mhz']:.1f} MHz" in out
    assert report["per_second"] == pytest.approx(t["fmax_mhz"] * 1e6 / report["cycles"])
    assert report["energy_per_frame_j"] == pytest.approx(
        report["power_w"]["total_w"] * report["cycles"] / (t["fmax_mhz"] * 1e6))
    # one junction at I_c0 for one pulse, by hand from the card: I^2 R t_p, R in the rest state
    from ipnet_mtj.sw.config import load_config
    dev = load_config(small_layer[0]).device
    r = dev.R_P_ohm * (1 + dev.tmr) if dev.rest_state == "AP" else dev.R_P_ohm
    assert report["mtj_pulse_energy_j"] == pytest.approx(
        (dev.I_c0_uA * 1e-6) ** 2 * r * dev.pulse_ns * 1e-9)
    ends = re.search(r"critical path (\S+) -> (\S+)$", out, re.M).groups()
    assert ends == (t["critical_start"], t["critical_end"])
    assert not any(re.fullmatch(r"_\d+_", e) for e in ends)   # the registers' signals, not _123_


CHAINS = """
module chains(input clk, input [7:0] a, output reg [7:0] short_q, output reg [7:0] long_q);
  reg [7:0] short_r, long_r;
  always @(posedge clk) begin
    short_r <= a;
    long_r <= a;
    short_q <= short_r + 8'd1;
    long_q <= {LONG};
  end
endmodule
"""


def _chains(tmp_path, stages):
    long = "long_r"
    for k in range(stages):
        long = f"(({long} * 8'd{3 + 2 * k}) ^ (long_r >> {1 + k % 7}))"
    src = tmp_path / f"chains{stages}.v"
    src.write_text(CHAINS.replace("{LONG}", long))
    cells = synthesise_cells(src, "chains", LIBRARY, f"work{stages}")
    # folders given relative to the working directory, as `ipnet asic --out build` does
    return static_timing(LIBRARY, cells.netlist, "chains", f"work{stages}")


@needs_library
@needs_sta
def test_critical_path_is_the_long_chain(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    two, four = _chains(tmp_path, 2), _chains(tmp_path, 4)
    for t in (two, four):
        assert t["critical_start"].startswith("long_r[")
        assert t["critical_end"].startswith("long_q[")
    assert four["min_period_ns"] > two["min_period_ns"] * 1.3


def _one_line(proc, text):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr == f"error: {text}\n"


def test_missing_library_is_one_line(tmp_path):
    import os
    env = dict(os.environ, IPNET_ASIC_LIBRARY=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "asic", str(DEFAULT_CONFIG),
                           "--out", str(tmp_path / "build")], capture_output=True, text=True,
                          env=env)
    _one_line(proc, f"the OSU 0.18 um cell library is not installed (osu018_stdcells.lib, "
                    f"osu018_stdcells.lef, osu018_stdcells.v, osu018_stdcells.sp not in "
                    f"{tmp_path}; Debian package qflow-tech-osu018)")
    assert not (tmp_path / "build" / "ipnet_layer" / "asic").exists()


def test_activity_out_of_range_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "asic", str(DEFAULT_CONFIG),
                           "--activity", "0", "--out", str(tmp_path)], capture_output=True,
                          text=True)
    _one_line(proc, "--activity: must be in (0, 1], got 0.0")


@pytest.mark.parametrize("extra, text", [
    ([], "--record: the energy comes from the gate-level run; add --gate-level"),
    (["--gate-level", "--simulators", "icarus"],
     "--record: the energy comes from the Verilator run; --simulators must include verilator"),
])
def test_record_without_its_run_is_one_line(tmp_path, extra, text):
    from helpers import ROOT
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "asic",
                           str(ROOT / "configs" / "network.yaml"), "--record",
                           str(tmp_path / "e.json"), *extra, "--out", str(tmp_path)],
                          capture_output=True, text=True)
    _one_line(proc, text)
    missing = tmp_path / "no" / "e.json"
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", "asic",
                           str(ROOT / "configs" / "network.yaml"), "--gate-level", "--record",
                           str(missing), "--out", str(tmp_path)], capture_output=True, text=True)
    _one_line(proc, f"--record: folder {missing.parent} does not exist")
    assert not list(tmp_path.iterdir())


RAMS = """
module rams(input clk, input we, input [5:0] wa, ra, rb, input [7:0] wd, input [1:0] be,
            output reg [7:0] qa, output reg [7:0] qb);
  reg [7:0] mem [0:{WORDS}];
  always @(posedge clk) begin
    if (we & be[0]) mem[wa][3:0] <= wd[3:0];
    if (we & {SECOND}) mem[wa][7:4] <= wd[7:4];
    qa <= mem[ra];
    {READ_B}
  end
endmodule
"""


@needs_library
@pytest.mark.parametrize("words, second, read_b, why", [
    (63, "be[1]", "", "memory mem of rams: a write enable per bit (the compiler writes whole "
                      "words)"),
    (63, "be[0]", "qb <= mem[rb];", "memory mem of rams: 2 read and 1 write ports (the "
                                    "compiler takes 1 and 1)"),
    (70000, "be[0]", "", "memory mem of rams: unsupported memory size 70001 x 8 (the compiler "
                         "builds 2..65536 words of 1..64 bits)"),
])
def test_a_ram_the_compiler_cannot_build_is_one_line(tmp_path, words, second, read_b, why):
    """A RAM outside what the flip-flop RAM compiler builds stops the synthesis with one line
    naming the memory, before Yosys maps anything; nothing is left but the logs."""
    from ipnet_mtj.sw.cli import UsageError
    src = tmp_path / "rams.v"
    src.write_text(RAMS.replace("{WORDS}", str(words)).replace("{SECOND}", second)
                   .replace("{READ_B}", read_b))
    with pytest.raises(UsageError) as err:
        synthesise_cells(src, "rams", LIBRARY, tmp_path / "work")
    assert str(err.value) == why
    assert not (tmp_path / "work" / "netlist.v").exists()


def test_ram_compiler_structure():
    """The banks the compiler cuts a RAM into, and its buffer trees' fan-out bound, read
    from the Verilog it writes."""
    from ipnet_mtj.gen.asic.ffram import FANOUT, macro_verilog, ram_structure
    assert ram_structure(2048) == (64, 32, 32)
    assert ram_structure(2056) == (65, 32, 8)
    assert ram_structure(20) == (1, 20, 20)
    text = macro_verilog([(2056, 8)], ("BUFX4", "A", "Y"))
    assert text.count("ipnet_ffram_bank_32x8 bank") == 64
    # the last bank's 8 rows need 3 address bits; it decodes all 5 low bits
    assert text.count("ipnet_ffram_bank_8x8_a5 bank") == 1
    # in every module (the macro and its banks), no net (a port, a row select or a buffer's
    # output) appears on more than FANOUT right-hand sides, but the clock
    for module in text.split("\nmodule ")[1:]:
        uses = {}
        for line in module.splitlines()[1:]:
            if line.lstrip().startswith(("input", "output")):
                continue                                         # declarations
            line = re.sub(r"wire (\w+)(;| =)|\.Y\(\w+\)|reg \[[^]]*\] \w+;", "", line)
            line = re.sub(r"\.\w+\(", "(", line)                # a port's name is not a use
            line = re.sub(r"<= *row\d+\[\d+\] *;|row\d+\[\d+\] <=", "", line)
            for net in re.findall(r"\b(buf\d+|sel\d+|w[abd]\[\d+\]|r[ab]\[\d+\]|we|re)(?!\w)",
                                  line):
                uses[net] = uses.get(net, 0) + 1
        assert uses and max(uses.values()) <= FANOUT, \
            (module.split("(")[0], max(uses.items(), key=lambda kv: kv[1]))


SWAPS = {"NAND2X1": "NOR2X1", "NOR2X1": "NAND2X1", "AND2X1": "OR2X1", "OR2X1": "AND2X1",
         "XOR2X1": "XNOR2X1", "XNOR2X1": "XOR2X1", "AOI21X1": "OAI21X1", "OAI21X1": "AOI21X1",
         "AOI22X1": "OAI22X1", "OAI22X1": "AOI22X1"}


def swap_one_cell(text, q_net):
    """The netlist with the gate that drives ``q_net``'s flip-flop's D input replaced by one of
    another function with the same pins (NAND for NOR, XOR for XNOR, ...)."""
    cells = list(re.finditer(r"^  (\w+) (\S+) \((.*?)\);", text, re.M | re.S))
    dff = next(m for m in cells if m.group(1) == "DFFPOSX1"
               and re.search(rf"\.Q\(\\?{re.escape(q_net)} ?\)", m.group(3)))
    d_net = re.search(r"\.D\(([^)]+)\)", dff.group(3)).group(1)
    gate = next(m for m in cells if re.search(rf"\.Y\({re.escape(d_net)}\)", m.group(3)))
    assert gate.group(1) in SWAPS, f"{q_net}'s D is driven by {gate.group(1)}"
    return text[:gate.start(1)] + SWAPS[gate.group(1)] + text[gate.end(1):]


@pytest.fixture(scope="module")
def small_netlist(small_layer):
    """The small layer with its monitor port (``<name>.v``, what the benches drive) on the
    cells, as ``--gate-level`` synthesised it: the config, the build folder, the netlist for
    simulation."""
    cfg, asic, _, _ = small_layer
    return cfg, asic.parent, asic.parent / "gate" / "netlist_sim.v"


@needs_library
@pytest.mark.slow      # the small layer through synthesis, STA and gate level: 4 min
def test_gate_level_netlist_matches_the_golden_model_on_icarus(small_layer, small_netlist,
                                                               tmp_path):
    import json
    from ipnet_mtj.sim.runner import run_regress_bench
    cfg, build, netlist = small_netlist
    gate = json.loads((build / "gate" / "gate_report.json").read_text())
    run = gate["simulations"][0]
    assert run["simulator"] == "icarus" and run["mismatches"] == 0
    assert run["values_compared"] > 1000 and run["neuron_steps"] >= 320
    assert run["rtl_mismatches"] == 0 and run["rtl_over_gate"] > 1
    assert "gate-level" in small_layer[3] and not (build / "gate.partial").exists()
    # one gate of the first lane's accumulator, LSB, swapped for another function: caught
    wrong = tmp_path / "wrong_netlist.v"
    wrong.write_text(swap_one_cell(netlist.read_text(), "acc0[0]"))
    with pytest.raises(RuntimeError, match="cocotb test failed"):
        run_regress_bench("icarus", build, cfg, 8 * 40, 1, tmp_path / "wrong",
                          netlist=[LIBRARY.verilog, wrong])
    assert json.loads((tmp_path / "wrong" / "icarus" / "report.json").read_text())["mismatches"] > 0


@needs_library
@pytest.mark.slow      # the small layer through synthesis, STA and gate level: 4 min
def test_gate_level_netlist_matches_the_golden_model_on_verilator(small_netlist):
    """The same netlist on Verilator, with the cell models written from the Liberty file
    (checked against the library's own in test_liberty_cell_models_agree_...). (The swapped
    gate is shown caught on Icarus above; a second Verilator build of a netlist costs
    minutes, as cocotb makes every net public.)"""
    import json
    if "verilator" not in SIMULATORS:
        pytest.skip("verilator not available")
    _, build, _ = small_netlist
    gate = json.loads((build / "gate" / "gate_report.json").read_text())
    [run] = [r for r in gate["simulations"] if r["simulator"] == "verilator"]
    assert run["mismatches"] == 0 and run["values_compared"] > 1000


@needs_library
@pytest.mark.slow      # the small layer through synthesis, STA and gate level: 4 min
def test_energy_from_the_verilator_runs_activity(small_layer, small_netlist):
    """The energy of the Verilator run (sim.gate_energy): every cell charged from its own
    activity (the names of the netlist and of the SAIF file agree on every net, or the run
    fails), the blocks add up to the whole, the RAM macros' access models within a factor
    1.5 of their cells' own energy (within 2 on the accesses alone, idle cycles taken out),
    the neuron unit a part of the whole, all shown."""
    import json
    if "verilator" not in SIMULATORS:
        pytest.skip("verilator not available")
    _, build, _ = small_netlist
    e = json.loads((build / "gate" / "gate_report.json").read_text())["energy"]
    assert e["cells_from_activity"] > 1000 and e["cells_in_macro_models"] == 0
    assert e["nets_without_activity"] == 0
    assert e["macro_model_j"] == 0 and not e["macros_charged_by_model"]
    assert sum(b["dynamic_j"] for b in e["blocks"]) == pytest.approx(e["dynamic_j"])
    assert e["dynamic_j"] == pytest.approx(e["switching_j"] + e["internal_j"])
    assert {m["macro"] for m in e["macro_check"]} == {"ipnet_ffram_8x16", "ipnet_ffram_32x8"}
    for m in e["macro_check"]:
        assert 1 / 1.5 < m["model_over_cells"] < 1.5, m
        assert 0.5 < m["above_idle_model_over_cells"] < 2, m      # the accesses alone
    assert 0 < e["neuron_unit_per_update_j"] < e["energy_per_neuron_update_j"]
    assert e["energy_per_cycle_j"] * e["simulated_cycles"] == pytest.approx(e["dynamic_j"])
    assert e["neuron_updates"] >= 320 and e["macs"] == 16 * e["neuron_updates"]
    assert "thermal neuron unit" in small_layer[3] and "per neuron update" in small_layer[3]


@needs_library
@pytest.mark.slow      # the small layer through synthesis, STA and gate level: 4 min
def test_a_macro_characterisation_is_kept_and_reused(small_netlist, tmp_path):
    """The run kept each macro's characterisation under the hash of its inputs; with the
    same inputs it is reused without building a bench, and any input changed is another
    key."""
    from ipnet_mtj.gen.asic.ffram import macro_netlist
    from ipnet_mtj.sim.macro_energy import CYCLES, cache_key, characterise_macro
    from ipnet_mtj.sw.jobs.hashing import file_hash
    if "verilator" not in SIMULATORS:
        pytest.skip("verilator not available")
    _, build, netlist = small_netlist
    cache = build.parent / ".cache" / "macro_energy"
    kept = sorted(cache.glob("*.json"))
    assert [k.name.split("-")[0] for k in kept] == ["ipnet_ffram_32x8", "ipnet_ffram_8x16"]
    models = build / "gate" / "cells_verilator.v"
    cells = macro_netlist(netlist.read_text(), 8, 16)
    liberty = file_hash(LIBRARY.liberty)
    key = cache_key(cells, models.read_text(), CYCLES, 7, liberty)
    assert cache / f"ipnet_ffram_8x16-{key}.json" in kept
    m = characterise_macro(8, 16, None, models, netlist, None, tmp_path / "work",
                           cache_dir=cache, liberty_hash=liberty)
    assert m["macro"] == "ipnet_ffram_8x16" and m["reused"].endswith(f"{key}.json")
    assert not (tmp_path / "work").exists()            # nothing built
    assert len({key, cache_key(cells + " ", models.read_text(), CYCLES, 7, liberty),
                cache_key(cells, models.read_text() + " ", CYCLES, 7, liberty),
                cache_key(cells, models.read_text(), CYCLES + 1, 7, liberty),
                cache_key(cells, models.read_text(), CYCLES, 8, liberty),
                cache_key(cells, models.read_text(), CYCLES, 7, "other")}) == 6


MACRO_DESIGN = """
module ram100x6(input clk, input we, input re, input [6:0] wa, ra, input [5:0] wd,
                output reg [5:0] q);
  reg [5:0] mem [0:99];
  always @(posedge clk) begin
    if (we) mem[wa] <= wd;
    if (re) q <= mem[ra];
  end
endmodule
"""


@needs_library
def test_ram_macro_cells_match_its_model(tmp_path):
    """A macro of 100 words x 6 bits (4 banks, the last of 4 rows), its cells on Icarus
    against its behavioural model: equal on every read; one gate of a bank swapped: not."""
    import shutil
    from ipnet_mtj.sim.gate_level import check_macros, macro_shapes
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    src = tmp_path / "ram100x6.v"
    src.write_text(MACRO_DESIGN)
    netlist = synthesise_cells(src, "ram100x6", LIBRARY, tmp_path / "work").netlist \
        .with_name("netlist_sim.v")
    text = netlist.read_text()
    assert macro_shapes(text) == [(100, 6)]
    [ok] = check_macros([(100, 6)], LIBRARY, netlist, tmp_path / "ok", cycles=400)
    assert ok["banks"] == 4 and ok["compared"] > 150 and ok["mismatches"] == 0
    bank = text.index("module ipnet_ffram_bank_32x6")
    gate = next(m for m in re.finditer(r"^  (\w+) (\S+) \(", text[bank:], re.M)
                if m.group(1) in SWAPS)
    start = bank + gate.start(1)
    wrong = tmp_path / "wrong.v"
    wrong.write_text(text[:start] + SWAPS[gate.group(1)] + text[start + len(gate.group(1)):])
    [bad] = check_macros([(100, 6)], LIBRARY, wrong, tmp_path / "bad", cycles=400)
    assert bad["mismatches"] > 0


def _models_testbench(cells, seed=1):
    """An Icarus testbench that drives the library's model of every cell and the model
    written from the Liberty file (renamed ``M_<cell>``) with the same inputs and prints
    one line per output that differs: every input combination of a combinational cell;
    for a register, random inputs with the clock moved on its own step."""
    import random
    rng = random.Random(seed)
    lines = ["`timescale 1ns/10ps", "module models_tb;"]
    body = []
    for k, cell in enumerate(cells):
        ins, outs = cell.inputs, list(cell.outputs)
        for p in ins:
            lines.append(f"  reg c{k}_{p};")
        for p in outs:
            lines.append(f"  wire c{k}_{p}_lib, c{k}_{p}_ours;")
        for tag, mod in (("lib", cell.name), ("ours", f"M_{cell.name}")):
            conns = [f".{p}(c{k}_{p})" for p in ins] + [f".{p}(c{k}_{p}_{tag})" for p in outs]
            lines.append(f"  {mod} u{k}_{tag} ({', '.join(conns)});")
        check = " ".join(f'if (c{k}_{p}_lib !== c{k}_{p}_ours) $display("MISMATCH {cell.name}.{p}'
                         f' %b %b", c{k}_{p}_lib, c{k}_{p}_ours);' for p in outs)
        if cell.ff is None and cell.latch is None:
            for v in range(1 << len(ins)):
                sets = " ".join(f"c{k}_{p} = {(v >> i) & 1};" for i, p in enumerate(ins))
                body.append(f"    {sets} #1 {check}")
        else:
            clock = "CLK"
            data = [p for p in ins if p != clock]
            body.append(f"    c{k}_{clock} = 0; " + " ".join(f"c{k}_{p} = 1;" for p in data)
                        + " #1;")
            for step in range(300):
                values = {p: int(rng.random() < (0.8 if p in "RS" else 0.5)) for p in data}
                if values.get("R") == 0 and values.get("S") == 0:
                    values[rng.choice("RS")] = 1      # one asynchronous input at a time
                sets = " ".join(f"c{k}_{p} = {v};" for p, v in values.items())
                body.append(f"    {sets} #1 " + (check if step > 2 else ""))
                body.append(f"    c{k}_{clock} = ~c{k}_{clock}; #1 " + (check if step > 2 else ""))
    lines += ["  initial begin", *body, '    $display("DONE");', "    $finish;", "  end",
              "endmodule"]
    return "\n".join(lines) + "\n"


@needs_library
def test_liberty_cell_models_agree_with_the_librarys_own(tmp_path):
    """The zero-delay models written from the Liberty file (Verilator's) against the
    library's Verilog models, every cell, on Icarus; and a wrong function is caught."""
    import shutil
    from ipnet_mtj.gen.asic.cell_models import read_cells, verilator_models
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    text = LIBRARY.liberty.read_text()
    ours = verilator_models(text)
    modelled = [c for c in read_cells(text)
                if re.search(rf"^module {c.name} \(", ours, re.M)]
    assert {"DFFPOSX1", "DFFNEGX1", "DFFSR", "LATCH", "MUX2X1", "FAX1", "XOR2X1"} <= \
        {c.name for c in modelled}

    def run(models):
        (tmp_path / "ours.v").write_text(re.sub(r"^module (\w+) \(", r"module M_\1 (",
                                                models, flags=re.M))
        (tmp_path / "tb.v").write_text(_models_testbench(modelled))
        subprocess.run(["iverilog", "-o", str(tmp_path / "tb.vvp"), str(tmp_path / "tb.v"),
                        str(tmp_path / "ours.v"), str(LIBRARY.verilog)], check=True,
                       capture_output=True)
        out = subprocess.run(["vvp", "-n", str(tmp_path / "tb.vvp")], capture_output=True,
                             text=True).stdout
        assert "DONE" in out
        return [ln for ln in out.splitlines() if ln.startswith("MISMATCH")]

    assert run(ours) == []
    # a deliberate error in one model (the mux's inversion dropped) is caught
    wrong = ours.replace("assign Y = (~((S & A) | ((~S) & B)));", "assign Y = ((S & A) | ((~S) & B));")
    assert wrong != ours
    assert any(ln.startswith("MISMATCH MUX2X1.Y") for ln in run(wrong))


@pytest.mark.parametrize("function, verilog", [
    ("(!((S A) + (!S B)))", "(~((S & A) | ((~S) & B)))"),    # OSU's MUX2X1
    ("A B^C", "(A & (B ^ C))"),                              # XOR binds before AND
    ("A+B^C D", "(A | ((B ^ C) & D))"),                      # ... and AND before OR
    ("A'*B|C", "(((~A) & B) | C)"),                          # postfix inversion, * and |
])
def test_liberty_function_known_answers(function, verilog):
    from ipnet_mtj.gen.asic.cell_models import function_to_verilog
    assert function_to_verilog(function) == verilog


@pytest.mark.parametrize("function", ["", "A &", "(A", "!", "A $ B"])
def test_liberty_function_errors(function):
    from ipnet_mtj.gen.asic.cell_models import function_to_verilog
    with pytest.raises(ValueError, match="Liberty function"):
        function_to_verilog(function)
