"""How the working-memory report states a result: statistics over seeds, when an effect counts
as shown, a model's name and a mean ± standard deviation.

Shared by the aggregation (:mod:`sw.wm.report`), the text (:mod:`sw.wm.report_text`) and the
figures (:mod:`sw.wm.figures`). A trend counts as shown when its mean effect over seeds is
larger than ``MIN_EFFECT`` and than twice its standard error over seeds (:func:`shown`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MIN_EFFECT", "LABELS", "stats", "shown", "label", "pm"]

MIN_EFFECT = 0.02       #: smallest effect (probability, or d' / 10) that counts as shown
LABELS = {"ipnet": "IPNet", "ipnet_earlier": "IPNet, earlier set-up", "lstm": "LSTM",
          "gru": "GRU", "rnn": "RNN", "lstm_matched": "LSTM, IPNet's size",
          "gru_matched": "GRU, IPNet's size",
          "framesum": "no memory"}


def stats(values):
    a = np.asarray([v for v in values if v is not None], dtype=float)
    if len(a) == 0:
        return {"mean": None, "std": None, "se": None, "n": 0, "values": []}
    std = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return {"mean": float(a.mean()), "std": std, "se": std / math.sqrt(len(a)), "n": int(len(a)),
            "values": [float(v) for v in a]}


def shown(st, scale=1.0):
    """Whether an effect's statistics show it: at least 2 seeds, mean > MIN_EFFECT * scale and
    > 2 SE."""
    return st["mean"] is not None and st["n"] >= 2 and st["mean"] > MIN_EFFECT * scale \
        and st["mean"] > 2 * st["se"]


def label(key):
    """A model's name in the report: ``ipnet tau 5 ns`` is "IPNet, tau 5 ns"."""
    if key.startswith("ipnet tau"):
        return f"IPNet, tau {key.split()[2]} ns"
    return LABELS.get(key, key)


def pm(st, digits=2, scale=1.0):
    """Mean ± standard deviation of a statistic, or n/a without any value."""
    if st["mean"] is None:
        return "n/a"
    return f"{st['mean'] * scale:.{digits}f} ± {st['std'] * scale:.{digits}f}"
