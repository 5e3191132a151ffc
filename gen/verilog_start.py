"""Emitted Verilog that starts correctly on any simulator: the time-zero kick.

Yosys's Verilog backend (which Amaranth uses) gives every module a dummy register,
``reg \\$auto$verilog_backend.cc:N:dump_module$M = 0;``, and puts it into the sensitivity of
every combinational ``always @*`` block, so that a simulator evaluates each block once at
time 0. Icarus Verilog 11 (under cocotb's VPI, for example) may apply that initialiser before
the blocks wait on it; a block whose real inputs then never change (a ``case`` on a register
that stays 0, like the walker's per-layer constants during the whole first layer) holds X
forever, and ``x.ready`` of the accelerator stays X.

:func:`time_zero_kick` adds, after each such register, a second change of it::

    `ifndef SYNTHESIS
      /* verilator lint_off INITIALDLY */
      initial \\$auto$...$M <= 1'b1;
      /* verilator lint_on INITIALDLY */
    `endif

The non-blocking assignment takes effect in the non-blocking-assignment region of time 0,
after every process has started and reached its first wait, so every combinational block is
evaluated once more, on every simulator. It has no delay: no timescale matters, and
Verilator needs no ``--timing`` option (a ``#`` delay would make Verilator 5 stop with
NEEDTIMINGOPT); its lint warning INITIALDLY is switched off around the line. It is guarded by
``SYNTHESIS``, which Yosys defines by default in ``read_verilog``: synthesis never sees it (on
an FPGA combinational logic has no start-up event). The generators apply it to every Verilog file they write (``gen.design``,
``gen.network``), so an integrator's own bench needs no kick by hand.
"""

from __future__ import annotations

import re

__all__ = ["time_zero_kick"]

_DUMMY = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;\n", re.M)


def time_zero_kick(text):
    """``text`` with every Yosys dummy register changed once more at time 0 (``#0``), outside
    synthesis; text that already has the kick is returned unchanged."""
    if "`ifndef SYNTHESIS  // time-zero kick" in text:
        return text
    return _DUMMY.sub(lambda m: f"{m.group(0)}`ifndef SYNTHESIS  // time-zero kick (gen/verilog_start.py)\n"
                                f"{m.group(1)}/* verilator lint_off INITIALDLY */\n"
                                f"{m.group(1)}initial {m.group(2)} <= 1'b1;\n"
                                f"{m.group(1)}/* verilator lint_on INITIALDLY */\n`endif\n", text)
