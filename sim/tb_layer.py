"""cocotb bench: the generated IP layer against the integer reference, every value, every step.

Structure after cocotb's matrix-multiplier example: a driver puts input
samples on ``x`` (with random gaps), a monitor takes outputs from ``y`` (with
random backpressure) and heat from the ``state`` readback port, the
reference model (:mod:`sw.reference`) predicts both, and a scoreboard
compares them as they arrive. One clock loop calls driver and monitor, so
the Python cost per simulated cycle stays low.

Environment (set by :mod:`sim.runner`): IPNET_CONFIG, IPNET_WEIGHTS (the
exported .npz), IPNET_MANIFEST (the build's manifest.json: port names and fields), IPNET_STEPS, IPNET_SEED, IPNET_REPORT (JSON written here) and
optionally IPNET_PROGRESS (a file rewritten after each segment).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from ipnet_mtj.sim.plan import make_plan
from ipnet_mtj.sw import reference
from ipnet_mtj.sw.config import load_config
from ipnet_mtj.sw.fixed import derive_fixed_point


def stream_ports(dut, ports, name):
    """The payload, valid and ready handles of stream ``name``, by the manifest's roles."""
    roles = {p["role"]: p for p in ports if p.get("stream") == name}
    return {role: getattr(dut, p["name"]) for role, p in roles.items()}, roles["payload"]["fields"]


class InputDriver:
    """Drives ``x``: one sample per beat, ``last`` on every ``beats``-th from the segment's
    start, ``valid`` low with probability ``gap``. Port names and the payload's fields come
    from the build's manifest."""

    def __init__(self, dut, ports, beats, rng):
        handles, fields = stream_ports(dut, ports, "x")
        self.valid, self.ready, self.payload = handles["valid"], handles["ready"], handles["payload"]
        self.data, self.last = fields["data"], fields["last"]
        self.mask = (1 << self.data["width"]) - 1
        self.beats = beats
        self.rng = rng
        self.queue, self.pos, self.gap = [], 0, 0.0

    def load(self, samples, gap):
        self.queue, self.pos, self.gap = [int(v) for v in samples], 0, gap

    @property
    def idle(self):
        return self.pos >= len(self.queue)

    def sample(self):
        """Before a rising edge: was the presented beat taken?"""
        if self.valid.value == 1 and self.ready.value == 1:
            self.pos += 1

    def drive(self):
        """After a rising edge: present the next beat, or a gap."""
        if self.pos < len(self.queue) and self.rng.random() >= self.gap:
            last = int(self.pos % self.beats == self.beats - 1)
            self.payload.value = (((self.queue[self.pos] & self.mask) << self.data["offset"])
                                  | (last << self.last["offset"]))
            self.valid.value = 1
        else:
            self.valid.value = 0


class OutputMonitor:
    """Takes ``y`` beats (``ready`` low with probability ``stall``) as (data, last), and
    ``state`` strobes."""

    def __init__(self, dut, ports, rng):
        self.dut, self.rng = dut, rng
        handles, fields = stream_ports(dut, ports, "y")
        self.valid, self.ready, self.payload = handles["valid"], handles["ready"], handles["payload"]
        self.data, self.last = fields["data"], fields["last"]
        self.stall = 0.0
        self.ys, self.states = [], []

    def sample(self):
        dut = self.dut
        if self.valid.value == 1 and self.ready.value == 1:
            word = int(self.payload.value)
            self.ys.append(((word >> self.data["offset"]) & ((1 << self.data["width"]) - 1),
                            (word >> self.last["offset"]) & 1))
        if dut.state__valid.value == 1:
            self.states.append((int(dut.state__index.value), int(dut.state__theta.value)))

    def drive(self):
        self.ready.value = int(self.rng.random() >= self.stall)


class Scoreboard:
    """Compares observed outputs and heat with the reference, in order."""

    def __init__(self, log, n):
        self.log, self.n = log, n
        self.outputs = self.states = self.mismatches = 0
        self.first = []

    def _bad(self, what):
        self.mismatches += 1
        if len(self.first) < 10:
            self.first.append(what)
            self.log.error("mismatch: %s", what)

    def check(self, segment, ys, states, expected):
        exp_y = expected.y[0].reshape(-1)
        exp_t = expected.theta[0].reshape(-1)
        for k, ((got, last), want) in enumerate(zip(ys, exp_y)):
            self.outputs += 1
            if got != want or last != (k % self.n == self.n - 1):
                self._bad(f"segment {segment} step {k // self.n} neuron {k % self.n}: "
                          f"(y, last) ({got}, {last}) != ({want}, {int(k % self.n == self.n - 1)})")
        for k, ((index, got), want) in enumerate(zip(states, exp_t)):
            self.states += 1
            if index != k % self.n or got != want:
                self._bad(f"segment {segment} step {k // self.n} neuron {k % self.n}: "
                          f"state (index {index}, theta {got}) != (index {k % self.n}, theta {want})")


async def reset(dut, cycles=2):
    dut.rst.value = 1
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0


@cocotb.test()
async def layer_matches_integer_reference(dut):
    """Every output and every neuron's heat equals the integer reference at every step."""
    cfg = load_config(os.environ["IPNET_CONFIG"])
    fp = derive_fixed_point(cfg)
    rom = np.load(os.environ["IPNET_WEIGHTS"])
    weights, biases = rom["weights"], rom["biases"]
    seed = int(os.environ.get("IPNET_SEED", "1"))
    plan = make_plan(fp, weights, int(os.environ.get("IPNET_STEPS", "40")), seed)
    rng = random.Random(seed)

    ports = json.loads(Path(os.environ["IPNET_MANIFEST"]).read_text())["ports"]
    driver = InputDriver(dut, ports, fp.inputs, rng)
    monitor = OutputMonitor(dut, ports, rng)
    board = Scoreboard(dut._log, fp.neurons)
    driver.valid.value = 0
    monitor.ready.value = 0
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await reset(dut)

    progress = os.environ.get("IPNET_PROGRESS")
    started = time.perf_counter()
    cycles = 0
    scenario_steps = {}
    for index, segment in enumerate(plan):
        steps = len(segment.x)
        expected = reference.run(fp, weights, biases, segment.x[None])
        want = steps * fp.neurons
        driver.load(segment.x.reshape(-1), segment.gap)
        monitor.ys, monitor.states, monitor.stall = [], [], segment.stall
        limit = 50 * (steps * fp.groups * (fp.inputs + 8) + 100) + 1000
        spent = 0
        while len(monitor.ys) < want or len(monitor.states) < want or not driver.idle:
            await FallingEdge(dut.clk)
            driver.sample()
            monitor.sample()
            await RisingEdge(dut.clk)
            driver.drive()
            monitor.drive()
            spent += 1
            assert spent < limit, (f"segment {index} ({segment.scenario}): timed out after {spent} "
                                   f"cycles with {len(monitor.ys)}/{want} outputs")
        board.check(index, monitor.ys, monitor.states, expected)
        if int(dut.step_error.value) != 0:
            board._bad(f"segment {index}: step_error set on well-framed input")
        if segment.partial:     # part of a step that the reset must drop
            driver.load(segment.x[0, :segment.partial], 0.0)
            while not driver.idle:
                await FallingEdge(dut.clk)
                driver.sample()
                await RisingEdge(dut.clk)
                driver.drive()
                spent += 1
        driver.valid.value = 0
        await reset(dut)
        cycles += spent + 2
        scenario_steps[segment.scenario] = scenario_steps.get(segment.scenario, 0) + steps
        if progress:
            with open(progress, "w") as fh:
                fh.write(f"{index + 1} {len(plan)} {board.outputs + board.states} {board.mismatches}\n")

    neuron_steps = sum(len(s.x) for s in plan) * fp.neurons
    report = {
        "design": cfg.name,
        "segments": len(plan),
        "resets": len(plan),
        "steps": sum(len(s.x) for s in plan),
        "neuron_steps": neuron_steps,
        "outputs_compared": board.outputs,
        "states_compared": board.states,
        "values_compared": board.outputs + board.states,
        "mismatches": board.mismatches,
        "first_mismatches": board.first,
        "cycles": cycles,
        "wall_s": time.perf_counter() - started,
        "scenario_steps": scenario_steps,
    }
    with open(os.environ["IPNET_REPORT"], "w") as fh:
        json.dump(report, fh, indent=2)
    dut._log.info("compared %d outputs and %d thermal states over %d neuron-steps: %d mismatches",
                  board.outputs, board.states, neuron_steps, board.mismatches)
    assert board.outputs == neuron_steps and board.states == neuron_steps, "values went missing"
    assert board.mismatches == 0, f"{board.mismatches} mismatches, first: {board.first[:3]}"
