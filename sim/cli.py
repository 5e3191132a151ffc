"""The ``ipnet`` command with every backend.

The commands themselves are :mod:`sw.train.cli`'s; this module, at the top of the pipeline,
adds the backends that need the generated hardware (``net-eval --backend rtl``,
:func:`sim.rtl_eval.evaluate_rtl`), so that sw never imports upward.

``entry`` (the ``ipnet`` console script) imports the commands inside :func:`sw.cli.run_cli`,
so Ctrl-C while they import (torch, numpy) is ``error: interrupted``, exit code 130.
"""

import sys

__all__ = ["main", "entry"]


def _rtl(args):
    from .rtl_eval import evaluate_rtl
    return evaluate_rtl(args)


def main(argv):
    from ipnet_mtj.sw.train import cli as train_cli
    return train_cli.main(argv, backends={"rtl": _rtl})


def entry():
    try:
        from ipnet_mtj.sw.cli import run_cli
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    run_cli(main)


if __name__ == "__main__":
    entry()
