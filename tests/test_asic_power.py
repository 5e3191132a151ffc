"""Energy from switching activity (gen.asic.saif, gen.asic.liberty_power, gen.asic.power),
checked against figures that do not come from that code:

- a hand-derived known answer: one inverter in a submodule driving a flip-flop, with a
  SAIF file written here; every energy term worked out below from the Liberty tables'
  printed values;
- a deliberate inconsistency (one pin's transitions off by one) and a cell without
  activity outside a RAM macro are refused, naming the pin or the cell;
- the SAIF reader on comments, escapes, a time scale and nested scopes, and the merge of
  shards as sums.

The switching energy of a whole netlist against OpenSTA's, at the same activity, is in
test_asic.py (it needs the small layer built there).
"""

import pytest

from ipnet_mtj.gen.asic.library import find_library
from ipnet_mtj.gen.asic.liberty_power import read_power_library
from ipnet_mtj.gen.asic.power import activity_energy, flatten_json, netlist_json
from ipnet_mtj.gen.asic.saif import Activity, merge_saifs, read_saif

LIBRARY, WHY = find_library()
needs_library = pytest.mark.skipif(LIBRARY is None, reason=WHY)

NETLIST = """
module sub (a, y);
  input a; output y;
  INVX1 u1 (.A(a), .Y(y));
endmodule
module top (clk, a, q);
  input clk, a; output q;
  wire n;
  sub s (.a(a), .y(n));
  DFFPOSX1 r (.CLK(clk), .D(n), .Q(q));
endmodule
"""


def saif_text(d_transitions=40):
    return f"""// written by hand for the test
(SAIFILE
(SAIFVERSION "2.0")
(DIRECTION "backward")
(DIVIDER / )
(TIMESCALE 1 ns)
(DURATION 1000)
(INSTANCE tb
  (INSTANCE dut
    (NET
      (clk (T0 500) (T1 500) (TC 200))
      (a (T0 500) (T1 500) (TC 40))
      (q (T0 500) (T1 500) (TC 10)))
    (INSTANCE s
      (NET (a (T0 500) (T1 500) (TC 40)) (y (T0 500) (T1 500) (TC 40)))
      (INSTANCE u1 (NET (A (T0 500) (T1 500) (TC 40)) (Y (T0 500) (T1 500) (TC 40)))))
    (INSTANCE r
      (NET (CLK (T0 500) (T1 500) (TC 200)) (D (T0 500) (T1 500) (TC {d_transitions}))
           (Q (T0 500) (T1 500) (TC 10))))))
)
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    if LIBRARY is None:
        pytest.skip(WHY)
    import shutil
    from ipnet_mtj.gen.asic.cells import run_yosys
    work = tmp_path_factory.mktemp("power")
    shutil.copyfile(LIBRARY.liberty, work / LIBRARY.liberty.name)
    (work / "n.v").write_text(NETLIST)
    lib = read_power_library(LIBRARY.liberty.read_text())
    flat = flatten_json(netlist_json(work / "n.v", "top", work / LIBRARY.liberty.name, work,
                                     run_yosys), "top", lib.cells)
    return work, lib, flat


@needs_library
def test_known_answer_by_hand(small, tmp_path):
    work, lib, flat = small
    (tmp_path / "a.saif").write_text(saif_text())
    r = activity_energy(flat, "top", lib, read_saif(tmp_path / "a.saif"), ("tb", "dut"))
    v2 = 1.8 ** 2
    # switching: each transition charges every input pin on the net, C V^2 / 2
    # (pin capacitances: INVX1 A 0.00932456 pF, DFFPOSX1 D 0.00882947, CLK 0.0279235)
    switching = 0.5 * v2 * (40 * 0.00932456 + 40 * 0.00882947 + 200 * 0.0279235) * 1e-12
    # internal, INVX1 Y: load 0.00882947 pF lies between the table's 0.005 and 0.0125,
    # fraction f; slew at the tables' smallest, 0.06 ns (column 0)
    f = (0.00882947 - 0.005) / (0.0125 - 0.005)
    inv_rise = 0.023555 + (0.023165 - 0.023555) * f
    inv_fall = 0.009213 + (0.009047 - 0.009213) * f
    inv = 40 * (inv_rise + inv_fall) / 2
    # DFFPOSX1 CLK pin (ideal clock: the smallest slew, 0.06 ns): rise 0.006865, fall 0.11034
    clk = 200 * (0.006865 + 0.11034) / 2
    # D pin: the inverter's output slew at that load is below 0.06 ns, so the table's edge
    d = 40 * (0.045424 + 0.08841) / 2
    # Q: no load (clamped to 0.005 pF), clock slew 0.06 ns: rise 0.040752, fall 0.064773
    q = 10 * (0.040752 + 0.064773) / 2
    internal = (inv + clk + d + q) * 1e-12
    leakage = (0.0221741 + 0.160725) * 1e-9 * 1000e-9
    assert r.switching_j == pytest.approx(switching, rel=1e-6)
    assert r.internal_j == pytest.approx(internal, rel=1e-6)
    assert r.leakage_j == pytest.approx(leakage, rel=1e-6)
    assert r.cells_simulated == 2 and r.cells_not_simulated == 0
    assert set(r.blocks) == {"(top)", "sub"}
    assert r.blocks["sub"]["internal_j"] == pytest.approx(inv * 1e-12, rel=1e-6)


@needs_library
def test_a_pin_that_disagrees_with_its_net_is_refused(small, tmp_path):
    work, lib, flat = small
    (tmp_path / "b.saif").write_text(saif_text(d_transitions=41))
    with pytest.raises(ValueError, match=r"gives \S+ 4[01] transitions and another pin of "
                                         r"its net 4[01]: its names do not match"):
        activity_energy(flat, "top", lib, read_saif(tmp_path / "b.saif"), ("tb", "dut"))


@needs_library
def test_a_cell_without_activity_is_refused(small, tmp_path):
    work, lib, flat = small
    text = saif_text()
    start = text.index("    (INSTANCE r")
    (tmp_path / "c.saif").write_text(text[:start] + "))\n)\n")
    with pytest.raises(ValueError, match=r"cell r \(DFFPOSX1\) has no activity"):
        activity_energy(flat, "top", lib, read_saif(tmp_path / "c.saif"), ("tb", "dut"))
    with pytest.raises(ValueError, match="no scope tb/x"):
        activity_energy(flat, "top", lib, read_saif(tmp_path / "c.saif"), ("tb", "x"))


def test_saif_reader(tmp_path):
    path = tmp_path / "d.saif"
    path.write_text("""/* block comment */ (SAIFILE (SAIFVERSION "2.0") (TIMESCALE 10 ps)
      (DURATION 50) (INSTANCE top (NET (data\\[3\\] (T0 20) (T1 30) (TX 0) (TC 7)))
        (INSTANCE "cell" u (PORT (A (T0 1) (T1 49) (TC 1)))))) """)
    s = read_saif(path)
    assert s.duration_s == pytest.approx(500e-12) and s.timescale_s == pytest.approx(10e-12)
    assert s.scopes[("top",)]["data[3]"] == Activity(20, 30, 7)
    assert s.scopes[("top", "u")]["A"] == Activity(1, 49, 1)
    m = merge_saifs([s, s])
    assert m.duration_s == pytest.approx(1e-9) and m.scopes[("top",)]["data[3]"].tc == 14
    (tmp_path / "e.saif").write_text("(VCD 1)")
    with pytest.raises(ValueError, match="not a SAIF file"):
        read_saif(tmp_path / "e.saif")
    (tmp_path / "f.saif").write_text("(SAIFILE (DURATION 5) (INSTANCE top (NET (a (TC 1)")
    with pytest.raises(ValueError, match="ends inside a group|not closed"):
        read_saif(tmp_path / "f.saif")


def test_liberty_table_lookup_known_answers():
    """A table without its own indices takes its template's; lookups interpolate linearly on
    each axis and clamp at the edges; units come from the header (pF x V^2 = pJ, ns)."""
    text = """library (x) { time_unit : "1ns"; capacitive_load_unit (1, pf); nom_voltage : 1.0;
      power_lut_template (e) { variable_1 : total_output_net_capacitance;
        variable_2 : input_transition_time; index_1 ("0.0, 1.0"); index_2 ("0.0, 2.0"); }
      cell (A) { cell_leakage_power : 3; pin (Y) { direction : output; function : "1";
        internal_power () { related_pin : "Y";
          rise_power (e) { values ("1, 2", "3, 4"); }
          fall_power (e) { index_2 ("0.0, 4.0"); values ("1, 2", "3, 4"); } } } } }"""
    arc = read_power_library(text).cells["A"].energy["Y"][0]
    assert arc.rise(1e-12, 2e-9) == pytest.approx(4e-12)
    assert arc.rise(0.5e-12, 1e-9) == pytest.approx(2.5e-12)       # (1+2+3+4)/4
    assert arc.rise(5e-12, -1.0) == pytest.approx(3e-12)           # clamped: row 1, column 0
    assert arc.fall(0.0, 2e-9) == pytest.approx(1.5e-12)           # its own slew axis, 0..4 ns
    assert read_power_library(text).cells["A"].leakage_w == pytest.approx(3e-9)
    with pytest.raises(ValueError, match="table template 'f' is not defined"):
        read_power_library(text.replace("rise_power (e)", "rise_power (f)"))


def test_saif_value_that_is_not_a_number_is_refused(tmp_path):
    path = tmp_path / "g.saif"
    path.write_text("(SAIFILE (DURATION 5) (INSTANCE top (NET (a (T0 1) (TC many)))))")
    with pytest.raises(ValueError, match=r"g.saif: net a: TC 'many' is not a number"):
        read_saif(path)
