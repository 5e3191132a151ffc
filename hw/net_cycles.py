"""Cycles per frame of the network accelerator: the lanes' lower bound, and a measurement."""

from amaranth.sim import Simulator

from .net_accel import NetAccelerator
from .net_rom_layout import layer_groups

__all__ = ["lower_bound_cycles", "measure_cycles_per_frame"]


def lower_bound_cycles(net):
    """Sum over layers of ceil(C_out / P) * positions * window: the cycles of the MAC lanes.

    Padding lanes of a partial group and padding input positions cost their cycles too.
    """
    total = 0
    for lf in net.layers:
        _, h, w = lf.out_shape
        total += layer_groups(lf, net.lanes) * h * w * lf.window
    return total


def measure_cycles_per_frame(net, params, frames=3):
    """Steady-state cycles between the last output beats of consecutive frames.

    Input beats are offered every cycle and ``y`` is always ready, so the
    figure is the accelerator's own throughput.

    Parameters
    ----------
    net : sw.network.NetFixed
    params : sequence of (w, b)
    frames : int
        Frames to run (at least 2); the last gap is returned.
    """
    dut = NetAccelerator(net, params)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    c, h, w = net.input_shape
    beats = frames * c * h * w
    done_at = []

    async def drive(ctx):
        ctx.set(dut.x.valid, 1)
        ctx.set(dut.x.payload.data, 1)
        for k in range(beats):
            ctx.set(dut.x.payload.last, k % (c * h * w) == c * h * w - 1)
            await ctx.tick().until(dut.x.ready)
        ctx.set(dut.x.valid, 0)

    async def collect(ctx):
        ctx.set(dut.y.ready, 1)
        cycle = 0
        while len(done_at) < frames:
            _, _, valid, last = await ctx.tick().sample(dut.y.valid, dut.y.payload.last)
            cycle += 1
            if valid and last:
                done_at.append(cycle)

    sim.add_testbench(drive)
    sim.add_testbench(collect)
    sim.run()
    gaps = [b - a for a, b in zip(done_at, done_at[1:])]
    return gaps[-1]
