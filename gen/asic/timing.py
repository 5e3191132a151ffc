"""Static timing and power of the gate-level netlist with OpenSTA, at the library's corner.

One clock, ``clk``, with a trial period; every other input arrives, and every output is
taken, at the clock edge (input and output delays 0), so the paths checked are the
register-to-register paths and the ports' paths to and from registers, as the accelerator
sits inside a synchronous system. The worst setup slack at the trial period gives the
minimum period, ``period - slack``, and Fmax is its inverse. The critical path's start and
end points are OpenSTA's, as it names them.

Power is OpenSTA's ``report_power`` at Fmax with a *vectorless* activity: every net toggles
with the given probability per cycle (default 0.1) and is high half the time. It is an
estimate of the order of magnitude, named as such in the report (docs/asic.md).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError

__all__ = ["static_timing", "parse_timing", "parse_power", "register_outputs"]

TRIAL_PERIOD_NS = 10.0


def _script(library, netlist, top, period_ns, activity):
    return f"""
read_liberty {library.liberty}
read_verilog {netlist}
link_design {top}
create_clock -name clk -period {period_ns} [get_ports clk]
set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]
set_output_delay 0 -clock clk [all_outputs]
puts "== checks"
report_checks -path_delay max -digits 4
set_power_activity -global -activity {activity} -duty 0.5
puts "== power"
report_power -digits 6
exit
"""


def parse_timing(text):
    """Start point, end point and worst slack (ns) from the script's output."""
    start = re.search(r"^Startpoint:\s*(\S+)", text, re.M)
    end = re.search(r"^Endpoint:\s*(\S+)", text, re.M)
    slack = re.search(r"^\s*(-?[\d.]+)\s+slack \((?:MET|VIOLATED)\)", text, re.M)
    if not (start and end and slack):
        raise ValueError("no timing path in OpenSTA's report")
    return start.group(1), end.group(1), float(slack.group(1))


_INSTANCE = re.compile(r"^\s*(\w+)\s+(\\\S+ |\w+)\s*\((.*?)\);", re.M | re.S)
_Q_PIN = re.compile(r"\.Q\(\s*(\\\S+ |[\w\[\]]+)\s*\)")


def register_outputs(netlist_text):
    """{instance: the net its Q pin drives} for every flip-flop and latch of the netlist.

    A flattened netlist names its cells ``_123_``; the net a register drives keeps the
    design's signal name (``layer.mac.acc0[3]``), so the report names a path's ends by it.
    """
    out = {}
    for m in _INSTANCE.finditer(netlist_text):
        q = _Q_PIN.search(m.group(3))
        if q:
            out[m.group(2).strip().lstrip("\\")] = q.group(1).strip().lstrip("\\")
    return out


def parse_power(text):
    """Total internal, switching and leakage power (W) from ``report_power``."""
    row = re.search(r"^Total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
    if not row:
        raise ValueError("no power table in OpenSTA's report")
    internal, switching, leakage, total = (float(v) for v in row.groups())
    return {"internal_w": internal, "switching_w": switching, "leakage_w": leakage,
            "total_w": total}


def static_timing(library, netlist, top, work, activity=0.1, period_ns=TRIAL_PERIOD_NS):
    """Run OpenSTA on ``netlist``; return Fmax, the critical path and the power at Fmax.

    Returns
    -------
    dict
        ``fmax_mhz``, ``min_period_ns``, ``critical_start``, ``critical_end``,
        ``power`` ({internal_w, switching_w, leakage_w, total_w} at Fmax), ``activity``.
    """
    work = Path(work).resolve()
    first = _run_sta(_script(library, netlist, top, period_ns, activity), work, "sta_trial")
    start, end, slack = parse_timing(first)
    min_period = period_ns - slack
    registers = register_outputs(Path(netlist).read_text())
    start, end = (registers.get(point.split("/")[0], point) for point in (start, end))
    # power depends on the clock: report it again at the period found
    at_fmax = _run_sta(_script(library, netlist, top, round(min_period, 4), activity), work,
                       "sta")
    return {"fmax_mhz": 1000.0 / min_period, "min_period_ns": min_period,
            "critical_start": start, "critical_end": end, "power": parse_power(at_fmax),
            "activity": activity}


def _run_sta(script, work, name):
    tcl = work / f"{name}.tcl"
    tcl.write_text(script)
    log = work / f"{name}.log"
    with open(log, "w") as fh:
        proc = subprocess.run(["sta", "-no_init", "-no_splash", "-exit", str(tcl)], stdout=fh,
                              stderr=subprocess.STDOUT, cwd=work)
    text = log.read_text()
    if proc.returncode or "Error" in text or not text.strip():
        first = next((ln for ln in text.splitlines() if "Error" in ln),
                     f"exit {proc.returncode}" + ("" if text.strip() else ", no output"))
        raise UsageError(f"OpenSTA failed ({first.strip()}); see {log}")
    return text
