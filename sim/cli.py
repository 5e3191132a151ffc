"""The ``ipnet`` command with every backend.

The commands themselves are :mod:`sw.train.cli`'s; this module, at the top of the pipeline,
adds the backends that need the generated hardware (``net-eval --backend rtl``,
:func:`sim.rtl_eval.evaluate_rtl`), so that sw never imports upward.
"""

from ipnet_mtj.sw.cli import run_cli
from ipnet_mtj.sw.train import cli as train_cli

__all__ = ["main", "entry"]


def _rtl(args):
    from .rtl_eval import evaluate_rtl
    return evaluate_rtl(args)


def main(argv):
    return train_cli.main(argv, backends={"rtl": _rtl})


def entry():
    run_cli(main)


if __name__ == "__main__":
    entry()
