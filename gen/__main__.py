"""python -m ipnet_mtj.gen CONFIG [--out DIR]: write a design's Verilog, ROM images and manifest."""

import argparse

from ipnet_mtj.sw.cli import check_output_dir, run_cli

from .design import generate, load_design
from .rom_files import add_rom_arguments, check_rom_arguments


def quantisation_table(fp):
    """Lines reporting each coefficient: device value, fixed-point value, relative error."""
    from tabulate import tabulate
    return tabulate(fp.quantisation, headers=("coefficient", "device", "fixed point", "rel. error"),
                    tablefmt="plain", numalign="right",
                    floatfmt=("", ".6g", ".6g", ".2e")).splitlines()


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet verilog", description=__doc__)
    parser.add_argument("config", help="design YAML, e.g. configs/default.yaml")
    parser.add_argument("--out", default="build", help="build root (default: build)")
    add_rom_arguments(parser)
    args = parser.parse_args(argv)
    check_output_dir(args.out, "--out")
    check_rom_arguments(args)
    design = load_design(args.config)
    out = generate(design, args.out, args.roms, args.rom_prefix, log=print)
    print("\n".join(quantisation_table(design.fp)))
    print(f"wrote {out}/ ({design.top}.v, {design.top}_top.v, ROM images, manifest.json)")


if __name__ == "__main__":
    run_cli(main)
