"""Energy per frame, per MAC and per neuron update from a gate-level simulation's activity.

The Verilator gate-level run of ``ipnet asic ... --gate-level`` records every net's
switching activity (SAIF, :func:`sim.cocotb_run.build`); this module turns it into energy
with the Liberty file's power view (:func:`gen.asic.power.activity_energy`; the method is
in docs/asic.md, "Energy from activity"):

* the cells the simulation ran are charged from their own activity;
* each RAM macro shape is characterised on its own (:mod:`sim.macro_energy`). A macro the
  simulation ran as a behavioural model (the network's) is charged by that model from its
  clock cycles, read-address transitions and writes in the SAIF file. A macro the
  simulation ran cell by cell (the layer's) is charged from its cells, and the model's
  prediction is put beside it: the check of the model (``macro_check``);
* the energy is that of the simulated run at the bench's clock, leakage apart; the figures
  at Fmax add the leakage power over the time the work takes at Fmax.
"""

from __future__ import annotations

import time
from pathlib import Path

from ipnet_mtj.gen.asic.cells import run_yosys
from ipnet_mtj.gen.asic.ffram import MACRO_PREFIX
from ipnet_mtj.gen.asic.liberty_power import read_power_library
from ipnet_mtj.gen.asic.power import activity_energy, block_of, flatten_json, netlist_json
from ipnet_mtj.gen.asic.saif import merge_saifs, read_saif
from ipnet_mtj.sw.cli import UsageError
from ipnet_mtj.sw.jobs.hashing import file_hash

from .macro_energy import access_counts, characterise_macro, macro_energy_j

__all__ = ["gate_energy", "NEURON_BLOCK"]

# the thermal neuron unit's blocks: the read-cool-heat-write datapath and its memories (the
# heat RAM, the cooling table)
NEURON_BLOCK = "neurons"


def _is_neuron_block(name):
    return name.split(".")[-1] in (NEURON_BLOCK, f"{NEURON_BLOCK}_memories")


def gate_energy(library, netlist, top, saif_files, scope, work, *, fmax_mhz, neuron_updates,
                macs, frames=None, mtj_pulse_j=None, cache_dir=None):
    """The energy figures of a gate-level run (a JSON-ready dict).

    Parameters
    ----------
    library : gen.asic.library.CellLibrary
    netlist : Path
        The simulated hierarchical netlist (``netlist_sim.v``, in ``work`` with the
        library's Liberty file beside it, as :func:`gen.asic.cells.synthesise_cells`
        leaves them).
    top : str
    saif_files : list of Path
        The run's SAIF files (one per shard).
    scope : tuple of str
        The netlist's top instance in the SAIF files (``("layer_harness", "dut")``).
    fmax_mhz, neuron_updates, macs, frames, mtj_pulse_j
        Fmax of the ASIC stage; the neuron updates, MACs and frames (network) the run did;
        the energy of one MTJ pulse, put beside the neuron unit's energy per update.
    cache_dir : Path, optional
        Where the RAM macros' characterisations are kept and reused
        (:func:`sim.macro_energy.characterise_macro`).
    """
    began = time.monotonic()
    work = Path(work)
    try:
        plib = read_power_library(library.liberty.read_text())
        netlist_dict = netlist_json(netlist, top, work / library.liberty.name, work, run_yosys)
        flat = flatten_json(netlist_dict, top, plib.cells)
        saif = merge_saifs(read_saif(f) for f in saif_files)
        result = activity_energy(flat, top, plib, saif, scope)
        clock = saif.scopes[tuple(scope)].get("clk")
        if clock is None or clock.tc < 2:
            raise ValueError(f"the SAIF file's scope {'/'.join(scope)} has no running clk")
        for path in [*result.macros, *result.macro_j]:
            nets = saif.scopes.get(tuple(scope) + path, {})
            if not {"clk", "we"} <= set(nets):
                raise ValueError(f"the SAIF file has no clk and we of RAM macro "
                                 f"{'/'.join(path)}")
    except ValueError as err:
        raise UsageError(f"energy from activity: {err}") from None
    cycles = clock.tc // 2
    # the clock's own period (its time high and low over its cycles), not the run's length
    period = (clock.t0 + clock.t1) * saif.timescale_s / cycles
    blocks = {k: dict(v) for k, v in result.blocks.items()}
    shapes = sorted({tuple(int(x) for x in m[len(MACRO_PREFIX):].split("x"))
                     for m in set(flat.modules.values())
                     if m.startswith(MACRO_PREFIX) and not m.startswith(MACRO_PREFIX + "bank")})
    models = {}
    for words, width in shapes:
        print(f"  energy of RAM macro {words} x {width}, its cells on Verilator ...", flush=True)
        m = characterise_macro(words, width, netlist_dict, work / "cells_verilator.v", netlist,
                               plib, work / "macro_energy", cache_dir=cache_dir,
                               liberty_hash=file_hash(library.liberty))
        models[m["macro"]] = m
    leakage_w = result.leakage_j / result.duration_s
    charged, check = [], []
    for path, module in sorted(result.macros.items()):       # run as behavioural models
        c, toggles, writes = access_counts(saif.scopes[tuple(scope) + path], period,
                                           saif.timescale_s)
        e = macro_energy_j(models[module], c, toggles, writes)
        block = blocks.setdefault(block_of(path, flat.modules, top),
                                  {"switching_j": 0.0, "internal_j": 0.0, "leakage_j": 0.0})
        block["macro_model_j"] = block.get("macro_model_j", 0.0) + e
        leakage_w += models[module]["leakage_w"]
        block["leakage_j"] += models[module]["leakage_w"] * result.duration_s
        charged.append({"instance": "/".join(path), "macro": module, "cycles": c,
                        "block": block_of(path, flat.modules, top),
                        "read_address_toggles": sum(toggles), "writes": writes, "energy_j": e})
    for path, direct in sorted(result.macro_j.items()):      # run cell by cell
        module = flat.modules[path]
        c, toggles, writes = access_counts(saif.scopes[tuple(scope) + path], period,
                                           saif.timescale_s)
        e = macro_energy_j(models[module], c, toggles, writes)
        check.append({"instance": "/".join(path), "macro": module, "cycles": c,
                      "block": block_of(path, flat.modules, top),
                      "read_address_toggles": sum(toggles), "writes": writes, "cells_j": direct,
                      "model_j": e, "model_over_cells": e / direct if direct else None,
                      # the part an access costs, the idle cycles' share taken out of both
                      "above_idle_model_over_cells":
                          (e - c * models[module]["idle_j"]) / (direct - c * models[module]["idle_j"])
                          if direct > c * models[module]["idle_j"] else None})

    def dynamic(b):
        return b["switching_j"] + b["internal_j"] + b.get("macro_model_j", 0.0)
    total_dynamic = sum(dynamic(b) for b in blocks.values())
    f_hz = fmax_mhz * 1e6

    def at_fmax(dyn_j, work_cycles):         # energy of work taking work_cycles at Fmax
        return dyn_j + leakage_w * work_cycles / f_hz
    neuron_dyn = sum(dynamic(b) for name, b in blocks.items() if _is_neuron_block(name))
    out = {
        "simulated_cycles": cycles, "clock_period_ns": period * 1e9,
        "switching_j": sum(b["switching_j"] for b in blocks.values()),
        "internal_j": sum(b["internal_j"] for b in blocks.values()),
        "macro_model_j": sum(b.get("macro_model_j", 0.0) for b in blocks.values()),
        "dynamic_j": total_dynamic, "leakage_w": leakage_w,
        "energy_per_cycle_j": total_dynamic / cycles,
        "power_at_fmax_w": total_dynamic / cycles * f_hz + leakage_w, "fmax_mhz": fmax_mhz,
        "neuron_updates": neuron_updates, "macs": macs,
        "energy_per_neuron_update_j": at_fmax(total_dynamic, cycles) / neuron_updates,
        "energy_per_mac_j": at_fmax(total_dynamic, cycles) / macs,
        "neuron_unit_per_update_j": neuron_dyn / neuron_updates,
        "mtj_pulse_energy_j": mtj_pulse_j,
        "blocks": [{"name": k, **v, "dynamic_j": dynamic(v)} for k, v in blocks.items()],
        "cells_from_activity": result.cells_simulated,
        "nets_without_activity": result.nets_without_activity,
        "cells_in_macro_models": result.cells_not_simulated,
        "macros_charged_by_model": charged, "macro_check": check,
        "neuron_unit_macros": sorted({m["macro"] for m in charged + check
                                      if _is_neuron_block(m["block"])}),
        "macro_models": list(models.values()), "wall_s": time.monotonic() - began,
    }
    if frames:
        out["frames"] = frames
        out["energy_per_frame_j"] = at_fmax(total_dynamic, cycles) / frames
    return out
