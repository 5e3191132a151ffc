"""The text of docs/working-memory.md: the template ``templates/working_memory.md.j2`` filled
with the aggregated data of :mod:`sw.wm.report`.

The template holds the words; this module gives it the numbers (``data``, as written to
docs/working-memory.json), the experiment and the design, and the helpers that state them. The
sentences that say whether a model shows a human trend are chosen by :func:`sw.wm.stats.shown`
on the numbers of the same run.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from tabulate import tabulate

from ipnet_mtj.sw.data.wm import CONDITIONS

from .stats import MIN_EFFECT, label, pm, shown

__all__ = ["markdown"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _paragraph(text):
    """One line: the lines of a template block joined with single spaces."""
    return re.sub(r"\s*\n\s*", " ", text.strip())


def _table(rows, head):
    return tabulate(rows, head, tablefmt="github")


def _main_keys(section):
    """The models of a section without the decay sweep's IPNets."""
    return [k for k in section if " tau " not in k]


def _seeds(entry):
    """Seeds behind an aggregated entry (the n of its first statistic)."""
    while isinstance(entry, (dict, list)):
        if isinstance(entry, dict) and "n" in entry and "mean" in entry:
            return entry["n"]
        entry = next(iter(entry.values())) if isinstance(entry, dict) else entry[0]
    return 0


def _decay(exp, data):
    """The decay sweep's IPNets in order of their time constant, the best of them at the
    largest n of n-back and at recall, and the n at which none is above chance."""
    keys = sorted((k for k in data["physics"] if " tau " in k),
                  key=lambda k: data["physics"][k]["tau_th_ns"])
    with_nback = [k for k in keys if k in data["nback"]]
    best_nback = max(with_nback, key=lambda k: data["nback"][k]["dprime"][-1]["mean"],
                     default=None)
    best_recall = max((k for k in keys if k in data["recall"]),
                      key=lambda k: data["recall"][k]["recall"]["mean"], default=None)
    near = []
    if best_nback:
        tops = {n: max(data["nback"][k]["dprime"][j]["mean"] for k in with_nback)
                for j, n in enumerate(exp.nback.ns)}
        near = [n for n, v in tops.items() if v < 0.5]
    return {"keys": keys, "best_nback": best_nback, "best_recall": best_recall,
            "near_chance": near}


def _environment():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"],
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             autoescape=False)
    env.filters.update(paragraph=_paragraph, fmt=format, label=label, pm=pm,
                       prefix=lambda value, text: f"{text}{value}")
    env.globals.update(label=label, pm=pm, shown=shown, table=_table, main_keys=_main_keys,
                       seeds=_seeds, min_effect=MIN_EFFECT)
    return env


def markdown(exp, design, data):
    """docs/working-memory.md for experiment ``exp``, its ``design`` and the aggregated ``data``."""
    template = _environment().get_template("working_memory.md.j2")
    return template.render(
        exp=exp, design=design, data=data, decay=_decay(exp, data), conditions=list(CONDITIONS),
        parameter_tasks=sorted({t for v in data["parameters"].values() for t in v}))
