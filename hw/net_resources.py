"""Block RAM of the network accelerator on the iCE40, predicted from the description.

The first piece of the resource half of auto-folding (the cycle half is
:mod:`hw.net_cycles`): every memory the generator instantiates, its depth and width
from :class:`~hw.net_plan.NetPlan` and the thermal layer's fixed point, and the
SB_RAM40_4K blocks Yosys's ``memory_libmap`` gives it. The mapping rule restates the
iCE40 block-RAM library Yosys ships (``share/ice40/brams.txt``: 2048 x 2, 1024 x 4,
512 x 8 or 256 x 16 per block, cost 64) and ``memory_libmap``'s default cost of a bit
in soft logic (1 for a RAM, 1/16 for a ROM): a memory goes to block RAM when its
blocks cost less than its bits in logic, otherwise to flip-flops and LUTs.
"""

from dataclasses import dataclass
from math import ceil

from .net_plan import NetPlan

__all__ = ["NetMemory", "net_memories", "ice40_blocks", "ice40_in_bram", "predict_ice40_bram",
           "ICE40_RAM_SHAPES", "ICE40_BLOCK_COST", "LOGIC_COST_RAM", "LOGIC_COST_ROM"]

#: (depth, width) of one SB_RAM40_4K in each of its read/write configurations.
ICE40_RAM_SHAPES = ((2048, 2), (1024, 4), (512, 8), (256, 16))
#: memory_libmap's cost of one block, and of one bit mapped to soft logic.
ICE40_BLOCK_COST, LOGIC_COST_RAM, LOGIC_COST_ROM = 64, 1.0, 1.0 / 16


@dataclass(frozen=True)
class NetMemory:
    """One memory of the generated accelerator: its instance name, words, bits per word,
    and whether it is a ROM (initialised and never written)."""
    name: str
    depth: int
    width: int
    rom: bool

    @property
    def bits(self):
        return self.depth * self.width


def net_memories(net):
    """Every memory :class:`~hw.net_accel.NetAccelerator` instantiates for ``net``.

    Input buffer (two banks of the input frame), per lane a weight ROM and a bias ROM,
    the activation RAM, and in the neuron unit the heat RAM, the activation LUT (unless
    the thermal layer outputs spikes) and the per-neuron ROMs of device spread and
    per-device time constants.
    """
    plan = NetPlan(net)
    fp = net.thermal.fp
    mems = [NetMemory("inbuf", 2 * plan.in_words, plan.in_width, False)]
    for lane in range(net.lanes):
        mems.append(NetMemory(f"wrom{lane}", plan.w_depth, plan.w_width, True))
        mems.append(NetMemory(f"brom{lane}", plan.b_depth, plan.b_width, True))
    mems.append(NetMemory("act", plan.act_depth, plan.act_width, False))
    mems.append(NetMemory("theta_mem", fp.neurons, fp.theta_width, False))
    if fp.output != "spike":
        mems.append(NetMemory("lut", 1 << fp.z_width, fp.y_width, True))
    if fp.thr_offset:
        from ipnet_mtj.sw.fixed import offset_width
        mems.append(NetMemory("offset_rom", fp.neurons, offset_width(fp), True))
    if fp.devices:
        from ipnet_mtj.sw.fixed import gain_width
        mems.append(NetMemory("alpha_rom", fp.neurons, fp.alpha_frac, True))
        mems.append(NetMemory("gain_rom", fp.neurons, gain_width(fp), True))
    return mems


def ice40_blocks(depth, width):
    """SB_RAM40_4K blocks for a ``depth`` x ``width`` memory: the fewest over the four
    configurations, ceil(depth / D) * ceil(width / W)."""
    return min(ceil(depth / d) * ceil(width / w) for d, w in ICE40_RAM_SHAPES)


def ice40_in_bram(mem):
    """True when Yosys maps ``mem`` to block RAM: its blocks cost less than its bits in
    soft logic (a tie stays in logic)."""
    logic = mem.bits * (LOGIC_COST_ROM if mem.rom else LOGIC_COST_RAM)
    return ICE40_BLOCK_COST * ice40_blocks(mem.depth, mem.width) < logic


def predict_ice40_bram(net):
    """SB_RAM40_4K blocks of the accelerator for ``net``: the sum over its memories that
    go to block RAM."""
    return sum(ice40_blocks(m.depth, m.width) for m in net_memories(net) if ice40_in_bram(m))
