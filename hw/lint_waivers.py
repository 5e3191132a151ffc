"""Where the Verilator lint waivers of the Verilog Amaranth emits live: ``hw/lint.vlt``.

The waivers belong to the hardware (each rule waives an idiom of Amaranth/Yosys output,
commented in the file); the linter (:mod:`gen.lint`), every build folder (:mod:`gen.axis`
copies it there) and the Verilator benches (:mod:`sim.runner`) read this one file. It is
package data of ``ipnet_mtj.hw``.
"""

from pathlib import Path

__all__ = ["LINT_WAIVERS"]

#: Verilator lint waivers for the Verilog Amaranth emits; shipped in every build folder.
LINT_WAIVERS = Path(__file__).resolve().parent / "lint.vlt"
