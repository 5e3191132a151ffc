"""``ipnet``: the one front door of the flow.

``ipnet STAGE [TARGET.yaml] [options]`` runs one stage of :mod:`.stages` on its target; ``ipnet
--help`` lists the stages, one line each; ``ipnet STAGE --help`` gives a stage's targets, and
``ipnet STAGE TARGET.yaml --help`` the options of the implementation that target selects. Every
make target is one line calling this command.

The target is the first argument that names a ``.yaml``/``.yml`` file, else the stage's first
argument when it is not an option. A stage with one kind of target passes its arguments on unread, so its
implementation reports a bad file in its own words; a stage with several kinds reads the file
(:func:`ipnet_mtj.sw.config.read_yaml`: one line for a missing, special or oversized file) and
refuses one of no kind it takes, with one line that names the kinds it takes.

``entry`` (the console script) imports the stages inside :func:`ipnet_mtj.sw.cli.run_cli`, so
Ctrl-C while they import is ``error: interrupted``, exit code 130.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["main", "entry", "help_text", "eval_with_hardware"]

WIDTH = 96      #: columns of the help text


def help_text():
    """The text of ``ipnet --help``: every stage with its one line, by group."""
    import textwrap
    from .stages import GROUPS, KINDS, STAGES
    lines = ["usage: ipnet STAGE [TARGET.yaml] [options]", "",
             *textwrap.wrap("IPNet on magnetic tunnel junctions: train a network, generate its "
                            "accelerator, simulate it against the integer golden model, "
                            "synthesise it, and run the experiments. ipnet STAGE --help gives a "
                            "stage's targets and options.", WIDTH)]
    column = max(len(s.name) for s in STAGES) + 2       # the summaries' column
    for group, title in GROUPS.items():
        lines += ["", f"{title}:"]
        for stage in (s for s in STAGES if s.group == group):
            alias = f" (also: {', '.join(stage.aliases)})" if stage.aliases else ""
            lines += textwrap.wrap(stage.summary + alias, WIDTH,
                                   initial_indent=f"  {stage.name:<{column}}",
                                   subsequent_indent=" " * (column + 2))
    kinds = "; ".join(f"{key}: {what}" for key, what in KINDS.values())
    lines += ["", *textwrap.wrap(f"TARGET is a YAML file whose top-level key gives its kind "
                                 f"({kinds}).", WIDTH),
              *textwrap.wrap("results, wm, regress, sim and eval --backend rtl run their "
                             "independent jobs on local worker processes (--workers N, default "
                             "all cores) or on a Ray cluster (--cluster ADDRESS, or "
                             "RAY_ADDRESS): docs/flow.md.", WIDTH)]
    return "\n".join(lines)


def _stage_help(stage):
    from .stages import KINDS
    kinds = [k for k in stage.targets if k is not None]
    target = "|".join(f"{k.upper()}.yaml" for k in kinds)
    lines = [f"usage: ipnet {stage.name} {target} [options]".rstrip(), "", stage.summary]
    for kind in kinds:
        lines.append(f"  {kind.upper()}: {KINDS[kind][1]} ({KINDS[kind][0]}:); its options: "
                     f"ipnet {stage.name} {kind.upper()}.yaml --help")
    if None in stage.targets:
        lines.append(f"  options: ipnet {stage.name} --help shows them")
    return "\n".join(lines)


def _target_argument(args):
    """The target among a stage's arguments: the first one that names a ``.yaml``/``.yml``
    file, else the stage's first argument when it is not an option (an option's value such
    as ``--workers 2`` or ``--weights W.npz`` never is); None when there is none."""
    for a in args:
        if not a.startswith("-") and a.endswith((".yaml", ".yml")):
            return a
    return args[0] if args and not args[0].startswith("-") else None


def _call(target, argv):
    module, function = target.main.split(":")
    return getattr(importlib.import_module(module), function)(list(target.prefix) + argv)


def main(argv):
    """Run ``ipnet`` with ``argv`` (without the program name); the exit code."""
    from ipnet_mtj.sw.cli import UsageError
    from .stages import KINDS, kind_of, stage_named
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(help_text())
        return 0
    if argv[0] == "--version":
        from importlib.metadata import version
        print(f"ipnet {version('ipnet-mtj')}")
        return 0
    stage = stage_named(argv[0])
    if stage is None:
        raise UsageError(f"unknown stage {argv[0]!r} (ipnet --help lists the stages)")
    rest = argv[1:]
    if None in stage.targets:
        return _call(stage.targets[None], rest)
    path = _target_argument(rest)
    if path is None and any(a in ("-h", "--help") for a in rest):
        print(_stage_help(stage))
        return 0
    if len(stage.targets) == 1:
        return _call(next(iter(stage.targets.values())), rest)
    takes = " or ".join(f"{KINDS[k][1]} ({KINDS[k][0]}:)" for k in stage.targets)
    if path is None:
        raise UsageError(f"ipnet {stage.name}: give a target: {takes}")
    from ipnet_mtj.sw.config import read_yaml
    kind = kind_of(read_yaml(path))
    if kind not in stage.targets:
        raise UsageError(f"{path}: not {takes}; ipnet {stage.name} takes one of those")
    return _call(stage.targets[kind], rest)


def eval_with_hardware(argv):
    """``ipnet eval NETWORK``: :mod:`ipnet_mtj.sw.train.cli`'s ``net-eval`` with the backend
    that needs the generated hardware (``--backend rtl``, :func:`sim.rtl_eval.evaluate_rtl`),
    registered here at the top of the pipeline so that sw never imports upward."""
    from ipnet_mtj.sw.train import cli as train_cli

    def rtl(args):
        from ipnet_mtj.sim.rtl_eval import evaluate_rtl
        return evaluate_rtl(args)
    return train_cli.main(argv, backends={"rtl": rtl})


def entry():
    """The ``ipnet`` console script."""
    try:
        from ipnet_mtj.sw.cli import run_cli
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    run_cli(main)


if __name__ == "__main__":
    entry()
