"""The working-memory report: docs/working-memory.md, its JSON and figures, from the runs.

Every number and every sentence that compares a model with the human trends is
computed here from the runs' metrics files; nothing is typed in by hand. A trend
counts as shown when its mean effect over seeds is larger than ``MIN_EFFECT`` and
than twice its standard error over seeds (:func:`shown`, in :mod:`sw.wm.stats` with the
other ways the report states a result; the words are in :mod:`sw.wm.report_text`'s template).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.jobs import git_commit

from .experiment import load_wm_experiment
from .figures import decay_figure, interference_figure, nback_figure, serial_position_figure
from .report_text import markdown
from .runs import chosen_lrs, validation_score
from .stats import LABELS, MIN_EFFECT, shown, stats

__all__ = ["aggregate_wm", "write_wm_report", "shown", "MIN_EFFECT"]

def stalled(task, scores):
    """Whether a run answers the same way everywhere (never 'yes', or always): training never
    left the start. Such seeds stay in every mean; the report counts them."""
    if task.startswith("nback"):
        c = scores["counts"]
        return c["hits"] + c["false_alarms"] == 0 or c["misses"] + c["correct_rejections"] == 0
    if task == "recall":
        return scores["recall"] + scores["intrusions"] == 0 or \
            scores["recall"] == scores["intrusions"] == 1
    rates = [v for sim in ("dissimilar", "similar") for key in ("recall", "other_list")
             for v in scores[sim][key]]
    return all(v == 0 for v in rates) or all(v == 1 for v in rates)


def model_key(spec):
    return spec.model if spec.tau_th_ns is None else f"ipnet tau {spec.tau_th_ns:g} ns"


def aggregate_wm(exp, done, drop_stalled=False):
    """All figures of the report as data (JSON-able): each (task, model) at the learning
    rate chosen on validation (the sweep's runs have only one); ``drop_stalled``: over the
    runs that did not stall only."""
    lrs = chosen_lrs(exp, done)
    groups, tried, diverged, params = {}, {}, [], {}
    for spec, m in sorted(done.items(), key=lambda kv: (kv[0].task, kv[0].model, kv[0].seed)):
        if spec.tau_th_ns is None:
            tried.setdefault(spec.task, {}).setdefault(spec.model, {}).setdefault(
                f"{spec.lr:g}", []).append(validation_score(m))
            if spec.lr != lrs[(spec.task, spec.model)]:
                continue
        if m.get("diverged"):
            diverged.append(spec.name)
            continue
        if drop_stalled and stalled(spec.task, m["scores"]):
            continue
        params.setdefault(spec.model, {})[spec.task] = m["parameters"]
        groups.setdefault((spec.task, model_key(spec)), []).append(m)
    out = {"nback": {}, "recall": {}, "interference": {}, "physics": {}, "stalled": {},
           "diverged": diverged, "parameters": params,
           "learning_rates": {t: {m: {"chosen": lrs[(t, m)],
                                      "validation": {lr: stats(v) for lr, v in by.items()}}
                                  for m, by in models.items()} for t, models in tried.items()}}
    for (task, key), runs in groups.items():
        bad = sorted(r["seed"] for r in runs if stalled(task, r["scores"]))
        if bad:
            out["stalled"].setdefault(key, {})[task] = bad
    ns = list(exp.nback.ns)
    keys = sorted({k for _, k in groups}, key=_order)
    for key in keys:
        runs = {n: groups.get((f"nback{n}", key), []) for n in ns}
        if all(runs.values()):
            entry = {}
            for field in ("accuracy", "dprime", "hit_rate", "fa_rate"):
                entry[field] = [stats([r["scores"][field] for r in runs[n]]) for n in ns]
            if key.startswith("ipnet"):
                entry["dprime_heat_ignored"] = [stats([r["heat_ignored"]["dprime"]
                                                       for r in runs[n]]) for n in ns]
            first = {r["seed"]: r["scores"]["dprime"] for r in runs[ns[0]]}
            last = {r["seed"]: r["scores"]["dprime"] for r in runs[ns[-1]]}
            # each n is its own model; the pairs are the seeds both have
            entry["load_effect"] = stats([first[s] - last[s] for s in sorted(first)
                                          if s in last])
            out["nback"][key] = entry
        rec = groups.get(("recall", key), [])
        if rec:
            curves = {c: [stats(col) for col in zip(*[r["scores"]["curves"][c] for r in rec])]
                      for c in rec[0]["scores"]["curves"]}
            effects = {c: {e: stats([r["scores"]["effects"][c][e] for r in rec])
                           for e in ("primacy", "recency", "mean")}
                       for c in rec[0]["scores"]["effects"]}
            ln, short, slow = max(exp.recall.lengths), min(exp.recall.lengths), \
                max(exp.recall.slots)
            fast = min(exp.recall.slots)
            paired = {}
            for name, (a, b) in (("length", (f"{short}x{fast}", f"{ln}x{fast}")),
                                 ("rate", (f"{ln}x{slow}", f"{ln}x{fast}"))):
                if a != b and a in effects and b in effects:
                    paired[name] = stats([r["scores"]["effects"][a]["mean"]
                                          - r["scores"]["effects"][b]["mean"] for r in rec])
            entry = {"curves": curves, "effects": effects, "paired": paired,
                     "recall": stats([r["scores"]["recall"] for r in rec]),
                     "intrusions": stats([r["scores"]["intrusions"] for r in rec])}
            if key.startswith("ipnet"):
                entry["recall_heat_ignored"] = stats([r["heat_ignored"]["recall"] for r in rec])
            out["recall"][key] = entry
        inter = groups.get(("interference", key), [])
        if inter:
            entry = {}
            for sim in ("dissimilar", "similar"):
                entry[sim] = {
                    "recall": [stats([r["scores"][sim]["recall"][c] for r in inter])
                               for c in range(4)],
                    "other_list": [stats([r["scores"][sim]["other_list"][c] for r in inter])
                                   for c in range(4)],
                    "retroactive": stats([r["scores"][sim]["retroactive"] for r in inter]),
                    "proactive": stats([r["scores"][sim]["proactive"] for r in inter])}
            for effect in ("retroactive", "proactive"):
                entry[f"similarity_{effect}"] = stats(
                    [r["scores"]["similar"][effect] - r["scores"]["dissimilar"][effect]
                     for r in inter])
            if key.startswith("ipnet"):
                entry["heat_ignored_recall"] = stats(
                    [np.mean(r["heat_ignored"]["dissimilar"]["recall"]) for r in inter])
            out["interference"][key] = entry
        phys = [r["physics"] for (t, k), rs in groups.items() if k == key for r in rs
                if "physics" in r]
        if phys:
            out["physics"][key] = {
                "tau_th_ns": phys[0]["tau_th_ns"], "runs": len(phys),
                "temperature_p99_K": max(p["temperature_p99_K"] for p in phys),
                "temperature_max_K": max(p["temperature_max_K"] for p in phys),
                "current_p99_ic0": max(p["current_p99_ic0"] for p in phys),
                "current_max_ic0": max(p["current_max_ic0"] for p in phys),
                "current_limit_ic0": phys[0]["current_limit_ic0"],
                "I_c0_uA": phys[0]["I_c0_uA"], "Tc_K": phys[0]["Tc_K"]}
    return out


def _order(key):
    models = list(LABELS)
    base = key.split()[0]
    tau = float(key.split()[2]) if " tau " in key else -1.0
    return (models.index(base) if base in models else 99, tau)


def write_wm_report(exp_path, done, out):
    """Write working-memory.md, working-memory.json and the figures into ``out``; return
    the paths written."""
    exp, design = load_wm_experiment(exp_path)
    data = aggregate_wm(exp, done)
    learned = aggregate_wm(exp, done, drop_stalled=True)
    data["learned"] = {s: learned[s] for s in ("nback", "recall", "interference")}
    data["meta"] = {"config": str(exp_path), "commit": git_commit() or "unknown",
                    "runs": len(done), "seeds": list(exp.train.seeds),
                    "train_s": sum(m["wall_s"] for m in done.values())}
    text = markdown(exp, design, data)        # before any file: a failure leaves docs as they were
    out = Path(out)
    paths = [out / "working-memory.json"]
    write_atomically(paths[0], lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1) + "\n"))
    figures = {"nback": nback_figure, "serial-position": serial_position_figure,
               "interference": interference_figure, "decay": decay_figure}
    for name, draw in figures.items():
        path = out / f"wm-{name}.png"
        write_atomically(path, lambda tmp, draw=draw: draw(exp, data, tmp))
        paths.append(path)
    md = out / "working-memory.md"
    write_atomically(md, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return [md, *paths]
