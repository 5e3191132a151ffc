"""ipnet lint CONFIG: `verilator --lint-only -Wall` on the generated Verilog."""

import argparse
import subprocess
import sys

from ipnet_mtj.hw.lint_waivers import LINT_WAIVERS
from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli

from .design import generate, load_design
from .toolchain import simulator_available

WAIVERS = LINT_WAIVERS


def lint(verilog_path, top, *more):
    """Run Verilator's linter with the project's waivers on ``verilog_path`` (and the files
    ``more``), top module ``top``; return (ok, output)."""
    ok, why = simulator_available("verilator")
    if not ok:
        raise UsageError(why)
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", top,
                           str(WAIVERS), str(verilog_path), *map(str, more)],
                          capture_output=True, text=True)
    return proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet lint", description=__doc__)
    parser.add_argument("config")
    parser.add_argument("--network", help="also lint this network's accelerator (network YAML)")
    parser.add_argument("--out", default="build")
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    design = load_design(args.config)
    builds = [(generate(design, args.out), design.top)]
    if args.network:
        from .network import generate_network, load_network_design
        net_design = load_network_design(args.network)
        builds.append((generate_network(net_design, args.out), net_design.top))
    failed = False
    for (out, top), name in ((b, n) for b in builds for n in (b[1], f"{b[1]}_top", f"{b[1]}_axis")):
        core = [out / f"{top}.v"] if name.endswith("_axis") else []
        ok, text = lint(out / f"{name}.v", name, *core)
        print(f"{name}.v: {'lint-clean' if ok else 'LINT WARNINGS'} (verilator -Wall, waivers in hw/lint.vlt)")
        if not ok:
            sys.stderr.write(text)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    run_cli(main)
