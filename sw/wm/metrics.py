"""Scores of the working-memory tasks, from a model's outputs on a test split.

An output counts as "yes" (a match, an item recalled) when its logit is above 0,
i.e. the model gives it a probability above one half.

- n-back: accuracy over the scored frames, hit rate, false-alarm rate and
  d' = z(hit rate) - z(false-alarm rate), with the log-linear correction of
  Hautus (1995): (count + 0.5) / (trials + 1), so that rates of 0 or 1 stay finite.
- Free recall: for each list length and presentation rate, the probability that
  the item at serial position p is recalled (the serial-position curve); primacy =
  mean of the first two positions minus the mean of the middle ones, recency = the
  last two minus the middle (the middle: positions 3 .. L-2, so lists of 5 or more);
  intrusions = the rate at which items not in the list are reported.
- Interference: recall of the cued list in each condition and similarity;
  retroactive effect = recall of A without B after it minus recall of A with B;
  proactive effect = recall of B without A before it minus recall of B with A;
  a positive effect is a loss caused by the other list. Other-list intrusions:
  the rate at which the other list's items are reported as the cued list's.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

__all__ = ["dprime", "nback_metrics", "serial_position", "primacy_recency", "recall_metrics",
           "interference_metrics"]

_Z = NormalDist().inv_cdf


def dprime(hits, misses, false_alarms, correct_rejections):
    """d' with the log-linear correction (Hautus 1995)."""
    h = (hits + 0.5) / (hits + misses + 1.0)
    f = (false_alarms + 0.5) / (false_alarms + correct_rejections + 1.0)
    return _Z(h) - _Z(f)


def nback_metrics(logits, y):
    """``logits`` and ``y`` (S, T); y is 1 (match), 0 (no match) or -1 (not scored)."""
    logits, y = np.asarray(logits), np.asarray(y)
    scored = y >= 0
    said, truth = logits[scored] > 0, y[scored] > 0
    hits, misses = int((said & truth).sum()), int((~said & truth).sum())
    fas, crs = int((said & ~truth).sum()), int((~said & ~truth).sum())
    return {"accuracy": (hits + crs) / max(1, hits + misses + fas + crs),
            "hit_rate": hits / max(1, hits + misses), "fa_rate": fas / max(1, fas + crs),
            "dprime": dprime(hits, misses, fas, crs),
            "counts": {"hits": hits, "misses": misses, "false_alarms": fas,
                       "correct_rejections": crs}}


def serial_position(recalled, order, length):
    """P(recalled) at each serial position of lists of ``length``.

    ``recalled`` (S, K) bool; ``order`` (S, >= length) the item at each position.
    """
    recalled, order = np.asarray(recalled), np.asarray(order)
    rows = np.arange(len(order))[:, None]
    return recalled[rows, order[:, :length]].mean(0)


def primacy_recency(curve):
    """(primacy, recency) of a serial-position curve, or (None, None) below 5 positions."""
    curve = np.asarray(curve, dtype=float)
    if len(curve) < 5:
        return None, None
    middle = curve[2:-2].mean()
    return float(curve[:2].mean() - middle), float(curve[-2:].mean() - middle)


def recall_metrics(logits, y, length, slot, order):
    """Serial-position curves per (length, slot) (keys ``"<length>x<slot>"``), their primacy
    and recency, recall and intrusion rates overall."""
    said = np.asarray(logits) > 0
    y = np.asarray(y) > 0
    length, slot = np.asarray(length), np.asarray(slot)
    curves, effects = {}, {}
    for ln in sorted(set(length.tolist())):
        for sl in sorted(set(slot.tolist())):
            pick = (length == ln) & (slot == sl)
            if not pick.any():
                continue
            curve = serial_position(said[pick], np.asarray(order)[pick], ln)
            key = f"{ln}x{sl}"
            curves[key] = [float(v) for v in curve]
            primacy, recency = primacy_recency(curve)
            effects[key] = {"primacy": primacy, "recency": recency, "mean": float(curve.mean())}
    return {"curves": curves, "effects": effects,
            "recall": float((said & y).sum() / max(1, y.sum())),
            "intrusions": float((said & ~y).sum() / max(1, (~y).sum()))}


def interference_metrics(logits, y, condition, similar, list_a, list_b):
    """Recall per condition (0..3, see sw.data.wm.CONDITIONS) and similarity (0, 1), the
    retroactive and proactive effects, and other-list intrusions."""
    said = np.asarray(logits) > 0
    y = np.asarray(y) > 0
    condition, similar = np.asarray(condition), np.asarray(similar)
    list_a, list_b = np.asarray(list_a), np.asarray(list_b)
    rows = np.arange(len(said))[:, None]
    out = {}
    for sim, label in ((0, "dissimilar"), (1, "similar")):
        rate, other = {}, {}
        for cond in range(4):
            pick = (condition == cond) & (similar == sim)
            cued, rival = (list_a, list_b) if cond < 2 else (list_b, list_a)
            rate[cond] = float(said[rows, cued][pick].mean()) if pick.any() else float("nan")
            other[cond] = float(said[rows, rival][pick].mean()) if pick.any() else float("nan")
        out[label] = {"recall": [rate[c] for c in range(4)],
                      "other_list": [other[c] for c in range(4)],
                      "retroactive": rate[1] - rate[0], "proactive": rate[3] - rate[2]}
    return out
