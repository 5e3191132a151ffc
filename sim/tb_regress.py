"""cocotb bench for the regression matrix: the layer at scale, Python awake once per chunk.

The harness (:mod:`sim.harness`) streams a chunk of steps from simulation memory;
the bench compares every output (with its ``last``) and every heat (with its neuron index)
with the integer reference, whose state it carries from chunk to chunk. Chunks cycle
through scenarios, each under one of several gap/backpressure settings:

- ``random``: uniform inputs over the whole format;
- ``burst``: every input at the same full-scale value, so currents saturate and the heat
  climbs to its ceiling;
- ``silence``: zero inputs for the whole chunk (the bias alone), long enough to cool;
- ``reset``: random steps, then part of one more step, then a reset inside that step.

Environment (set by :func:`sim.runner.run_regress_bench`): IPNET_CONFIG, IPNET_WEIGHTS,
IPNET_MANIFEST, IPNET_NEURON_STEPS, IPNET_CHUNK_STEPS, IPNET_SEED, IPNET_REPORT,
IPNET_PROGRESS (optional).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from ipnet_mtj.sim.scoreboard import Scoreboard, read_hex
from ipnet_mtj.sw import reference
from ipnet_mtj.sw.config import load_config
from ipnet_mtj.sw.fixed import derive_fixed_point, sat_range

SCENARIOS = ("random", "burst", "silence", "reset")
STRESS = ((0, 0), (77, 0), (0, 128), (77, 77), (200, 200))   #: (gap, stall) out of 256


def chunk_inputs(fp, scenario, steps, rng):
    """(steps, M) inputs of one chunk, and the beats of a partial step after it (reset)."""
    lo, hi = sat_range(fp.x_width, True)
    m = fp.inputs
    if scenario == "burst":
        x = np.full((steps, m), rng.choice([lo, hi]), dtype=np.int64)
    elif scenario == "silence":
        x = np.zeros((steps, m), dtype=np.int64)
    else:
        x = rng.integers(lo, hi + 1, size=(steps, m))
    partial = rng.integers(lo, hi + 1, size=int(rng.integers(1, m))) if (
        scenario == "reset" and m > 1) else np.zeros(0, dtype=np.int64)
    return x, partial


@cocotb.test()
async def layer_matches_reference_at_scale(dut):
    """Every output, last bit and heat of every neuron-step equals the integer reference."""
    cfg = load_config(os.environ["IPNET_CONFIG"])
    fp = derive_fixed_point(cfg)
    with np.load(os.environ["IPNET_WEIGHTS"]) as z:
        weights, biases = z["weights"], z["biases"]
    ports = {p["name"]: p for p in json.loads(Path(os.environ["IPNET_MANIFEST"]).read_text())["ports"]}
    y_fields = ports["y__payload"]["fields"]
    th_w = ports["state__theta"]["width"]
    target = int(os.environ["IPNET_NEURON_STEPS"])
    chunk = int(os.environ["IPNET_CHUNK_STEPS"])
    rng = np.random.default_rng(int(os.environ.get("IPNET_SEED", "1")))
    progress = os.environ.get("IPNET_PROGRESS")
    n, x_digits = fp.neurons, (fp.x_width + 3) // 4
    board = Scoreboard(dut._log)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    for name in ("start", "beats", "outputs", "gap_seed", "gap_prob", "stall_seed", "stall_prob"):
        getattr(dut, name).value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0
    state = reference.initial_state(fp, 1)
    began = time.perf_counter()
    done_steps = cycles = resets = k = 0
    scenario_steps = {s: 0 for s in SCENARIOS}
    chunks = -(-target // (n * chunk))
    while done_steps * n < target:
        scenario = SCENARIOS[k % len(SCENARIOS)]
        gap, stall = STRESS[(k // len(SCENARIOS)) % len(STRESS)]
        steps = min(chunk, -(-(target - done_steps * n) // n))
        x, partial = chunk_inputs(fp, scenario, steps, rng)
        beats = np.concatenate([x.reshape(-1), partial]) & ((1 << fp.x_width) - 1)
        Path("stim.hex").write_text("".join(f"{int(v):0{x_digits}x}\n" for v in beats))
        dut.beats.value = len(beats)
        dut.outputs.value = steps * n
        dut.gap_seed.value, dut.gap_prob.value = 0xACE1 + k, gap
        dut.stall_seed.value, dut.stall_prob.value = 0x1D87 + k, stall
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        await RisingEdge(dut.done)
        await RisingEdge(dut.clk)
        cycles += int(dut.cycles.value)
        acc = reference.currents(fp, weights, biases, x[None])
        trace = reference.run_currents(fp, acc, state)
        state = reference.LayerState(theta=trace.theta[:, -1].copy(),
                                     updates=state.updates + steps * n)
        ys, ss = read_hex("y.hex"), read_hex("s.hex")
        where = f"chunk {k} ({scenario}, gap {gap}, stall {stall})"
        data = (ys >> y_fields["data"]["offset"]) & ((1 << y_fields["data"]["width"]) - 1)
        last = (ys >> y_fields["last"]["offset"]) & 1
        board.compare(f"{where} y", data, trace.y[0].reshape(-1))
        board.compare(f"{where} y.last", last, np.tile(np.arange(n) == n - 1, steps))
        board.compare(f"{where} state index", ss >> th_w, np.tile(np.arange(n), steps))
        board.compare(f"{where} theta", ss & ((1 << th_w) - 1), trace.theta[0].reshape(-1))
        board.compare(f"{where} step_error", int(dut.step_error.value), 0)
        if scenario == "reset" and len(partial):
            dut.rst.value = 1
            await RisingEdge(dut.clk)
            dut.rst.value = 0
            state = reference.initial_state(fp, 1)
            resets += 1
        done_steps += steps
        scenario_steps[scenario] += steps
        k += 1
        if progress:
            Path(progress).write_text(f"{k} {chunks} {board.compared} {board.mismatches}\n")
    report = {
        "design": cfg.name, "neuron_steps": done_steps * n, "steps": done_steps,
        "chunks": k, "resets": resets, "cycles": cycles,
        "values_compared": board.compared, "mismatches": board.mismatches,
        "first_mismatches": board.first, "scenario_steps": scenario_steps,
        "wall_s": time.perf_counter() - began,
    }
    Path(os.environ["IPNET_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")
    assert board.mismatches == 0, f"{board.mismatches} mismatches, first: {board.first[:3]}"
