"""Measure the layer's cycles per time step in Amaranth simulation (no gaps, no backpressure)."""

from amaranth.sim import Simulator

from .layer import IPLayer

__all__ = ["measure_cycles_per_step", "lower_bound_cycles"]


def lower_bound_cycles(fp):
    """max(N*M / P, N): the MAC lanes' work, or one output beat per neuron."""
    return max(fp.neurons * fp.inputs / fp.lanes, fp.neurons)


def measure_cycles_per_step(fp, weights, biases, steps=4):
    """Steady-state cycles between the last outputs of consecutive steps.

    Inputs are offered every cycle and outputs always accepted, so the figure
    is the layer's own throughput.
    """
    dut = IPLayer(fp, weights, biases)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    done_at = []

    async def drive(ctx):
        ctx.set(dut.x.valid, 1)
        for k in range(steps * fp.inputs):
            ctx.set(dut.x.payload.last, k % fp.inputs == fp.inputs - 1)
            await ctx.tick().until(dut.x.ready)
        ctx.set(dut.x.valid, 0)

    async def collect(ctx):
        ctx.set(dut.y.ready, 1)
        cycle = outputs = 0
        while outputs < steps * fp.neurons:
            _, _, valid = await ctx.tick().sample(dut.y.valid)
            cycle += 1
            if valid:
                outputs += 1
                if outputs % fp.neurons == 0:
                    done_at.append(cycle)

    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    gaps = [b - a for a, b in zip(done_at, done_at[1:])]
    return max(gaps[1:] or gaps)
