"""The FPGAs the flow targets and what each one holds: one table for synthesis's capacity
checks (:mod:`gen.synth`), the resource model (:mod:`hw.net_resources`) and the lane choice
of ``lanes: auto`` (:mod:`hw.net_fold`).

Capacities are the vendors' data-sheet figures: the iCE40 UltraPlus UP5K has 5,280 logic
cells (a LUT4 and a flip-flop each), 30 sysMEM blocks of 4 kbit, 4 SPRAM blocks of 256 kbit
and 8 DSP blocks (Lattice DS1056); the ECP5 LFE5U-25F and -85F have 24,288 and 83,640 LUT4s
(a flip-flop beside each), 56 and 208 sysMEM blocks of 18 kbit and 28 and 156 18 x 18
multipliers (Lattice FPGA-DS-02012).
"""

from dataclasses import dataclass

__all__ = ["Fpga", "FPGAS"]


@dataclass(frozen=True)
class Fpga:
    """One device: its name, the resource model's family ("ice40" or "ecp5") and its LUTs,
    flip-flops, block RAMs, SPRAMs and DSP blocks."""
    name: str
    family: str
    lut: int
    ff: int
    bram: int
    spram: int
    dsp: int

    def over(self, used):
        """``["BRAM 33/30", ...]``: what ``used`` (a dict of the same five counts) needs
        beyond this device."""
        return [f"{k.upper()} {used[k]}/{getattr(self, k)}" for k in ("lut", "ff", "bram", "spram", "dsp")
                if used[k] > getattr(self, k)]


FPGAS = {
    "ice40_up5k": Fpga("iCE40 UP5K", "ice40", 5280, 5280, 30, 4, 8),
    "ecp5_25f": Fpga("ECP5-25F", "ecp5", 24288, 24288, 56, 0, 28),
    "ecp5_85f": Fpga("ECP5-85F", "ecp5", 83640, 83640, 208, 0, 156),
}
