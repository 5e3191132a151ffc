"""python -m gen CONFIG [--out DIR]: write a design's Verilog, ROM images and manifest."""

import argparse

from sw.cli import run_cli

from .design import generate, load_design


def quantisation_table(fp):
    """Lines reporting each coefficient: device value, fixed-point value, relative error."""
    lines = [f"{'coefficient':<24}{'device':>14}{'fixed point':>14}{'rel. error':>12}"]
    for name, real, quant, err in fp.quantisation:
        lines.append(f"{name:<24}{real:>14.6g}{quant:>14.6g}{err:>12.2e}")
    return lines


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m gen", description=__doc__)
    parser.add_argument("config", help="design YAML, e.g. configs/default.yaml")
    parser.add_argument("--out", default="build", help="build root (default: build)")
    args = parser.parse_args(argv)
    design = load_design(args.config)
    out = generate(design, args.out)
    print("\n".join(quantisation_table(design.fp)))
    print(f"wrote {out}/ ({design.top}.v, {design.top}_top.v, ROM images, manifest.json)")


if __name__ == "__main__":
    run_cli(main)
