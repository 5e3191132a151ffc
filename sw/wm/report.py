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

from .data import binary_task, wm_tasks
from .experiment import load_wm_experiment
from .figures import (decay_figure, interference_figure, nback_figure, recognition_figure,
                      serial_position_figure)
from .report_text import markdown
from .runs import chosen_lrs, validation_score
from .stats import LABELS, MIN_EFFECT, shown, stats

__all__ = ["aggregate_wm", "write_wm_report", "shown", "MIN_EFFECT"]

def stalled(task, scores):
    """Whether a run answers the same way everywhere (never 'yes', or always): training never
    left the start. Such seeds stay in every mean; the report counts them."""
    if binary_task(task):
        c = scores["counts"]
        return c["hits"] + c["false_alarms"] == 0 or c["misses"] + c["correct_rejections"] == 0
    if task == "recall":
        return scores["recall"] + scores["intrusions"] == 0 or \
            scores["recall"] == scores["intrusions"] == 1
    rates = [v for sim in ("dissimilar", "similar") for key in ("recall", "other_list")
             for v in scores[sim][key]]
    return all(v == 0 for v in rates) or all(v == 1 for v in rates)


def headline(task, scores):
    """One number per run for the summary: d' (n-back, recognition), the fraction of list
    items recalled (recall), recall of the cued list over every condition (interference)."""
    if binary_task(task):
        return scores["dprime"]
    if task == "recall":
        return scores["recall"]
    return float(np.mean([v for sim in ("dissimilar", "similar")
                          for v in scores[sim]["recall"]]))


def summary(groups, tasks, models, against=("ipnet", "lstm_matched")):
    """{task: {"scores": {model: stats}, "difference": stats}}: every model's headline score
    per task, and ``against[0]`` minus ``against[1]`` paired by seed."""
    out = {}
    for task in tasks:
        runs = {m: groups.get((task, m), []) for m in models}
        entry = {"scores": {m: stats([headline(task, r["scores"]) for r in rs])
                            for m, rs in runs.items() if rs}}
        a, b = ({r["seed"]: headline(task, r["scores"]) for r in runs.get(m, [])}
                for m in against)
        if a and b:
            entry["difference"] = stats([a[s] - b[s] for s in sorted(a) if s in b])
        out[task] = entry
    return out


def tau_key(tau):
    """The report's key of IPNet at one thermal time constant of its menu."""
    return f"ipnet tau {tau:g} ns"


def model_key(spec, card_tau):
    """A run's row: IPNet at its time constant (the card's ``card_tau`` when the spec has
    none), every other model by name."""
    if spec.model != "ipnet":
        return spec.model
    return tau_key(card_tau if spec.tau_th_ns is None else spec.tau_th_ns)


def choose_taus(exp, groups, card_tau):
    """{task: {"chosen": tau, "validation": {tau: stats}}}: per task, IPNet's time constant
    from the menu (the card's, then the decay sweep's) with the best mean validation score
    over seeds (the first in that order on a tie). Diverged runs score nothing."""
    menu = [card_tau] + [float(t) for t in exp.decay.tau_th_ns if float(t) != card_tau]
    out = {}
    for task in {t for t, _ in groups}:
        scored = {tau: [validation_score(m) for m in groups.get((task, tau_key(tau)), [])]
                  for tau in menu}
        scored = {tau: v for tau, v in scored.items() if v}
        if not scored:
            continue
        chosen = max(scored, key=lambda tau: (float(np.mean(scored[tau])), -menu.index(tau)))
        out[task] = {"chosen": chosen,
                     "validation": {f"{tau:g}": stats(v) for tau, v in scored.items()}}
    return out


def _binary_entry(key, runs_by_level):
    """Accuracy, d', hit and false-alarm rates per level (n of n-back, k of recognition), and
    the load effect: d' at the first level minus d' at the last, paired by seed."""
    levels = list(runs_by_level)
    entry = {}
    for field in ("accuracy", "dprime", "hit_rate", "fa_rate"):
        entry[field] = [stats([r["scores"][field] for r in runs_by_level[v]]) for v in levels]
    if key.startswith("ipnet"):
        entry["dprime_heat_ignored"] = [stats([r["heat_ignored"]["dprime"]
                                               for r in runs_by_level[v]]) for v in levels]
    first = {r["seed"]: r["scores"]["dprime"] for r in runs_by_level[levels[0]]}
    last = {r["seed"]: r["scores"]["dprime"] for r in runs_by_level[levels[-1]]}
    # each level is its own model; the pairs are the seeds both have
    entry["load_effect"] = stats([first[s] - last[s] for s in sorted(first) if s in last])
    return entry


def aggregate_wm(exp, done, card_tau, drop_stalled=False):
    """All figures of the report as data (JSON-able): each (task, model) at the learning
    rate chosen on validation (the sweep's runs have only one); IPNet once per time constant
    of its menu (``card_tau``, the design's own, and the decay sweep's) and, as ``ipnet``, at
    the time constant chosen per task on validation; ``drop_stalled``: over the runs that did
    not stall only (the choices stay those of every run)."""
    lrs = chosen_lrs(exp, done)
    groups, tried, diverged, params = {}, {}, [], {}
    every = {}
    for spec, m in sorted(done.items(), key=lambda kv: (kv[0].task, kv[0].model, kv[0].seed)):
        if spec.tau_th_ns is None:
            tried.setdefault(spec.task, {}).setdefault(spec.model, {}).setdefault(
                f"{spec.lr:g}", []).append(validation_score(m))
            if spec.lr != lrs[(spec.task, spec.model)]:
                continue
        key = model_key(spec, card_tau)
        every.setdefault((spec.task, key), []).append(m)
        if m.get("diverged"):
            diverged.append(spec.name)
            continue
        if drop_stalled and stalled(spec.task, m["scores"]):
            continue
        params.setdefault(spec.model, {})[spec.task] = m["parameters"]
        groups.setdefault((spec.task, key), []).append(m)
    taus = choose_taus(exp, every, card_tau) if "ipnet" in exp.models else {}
    for task, choice in taus.items():
        groups[(task, "ipnet")] = groups.get((task, tau_key(choice["chosen"])), [])
    out = {"nback": {}, "recognition": {}, "recall": {}, "interference": {}, "physics": {},
           "stalled": {}, "diverged": diverged, "parameters": params, "tau_choice": taus,
           "card_tau_ns": card_tau,
           "learning_rates": {t: {m: {"chosen": lrs[(t, m)],
                                      "validation": {lr: stats(v) for lr, v in by.items()}}
                                  for m, by in models.items()} for t, models in tried.items()}}
    for (task, key), runs in groups.items():
        if key == "ipnet":                  # the chosen rows' runs are their taus' runs
            continue
        bad = sorted(r["seed"] for r in runs if stalled(task, r["scores"]))
        if bad:
            out["stalled"].setdefault(key, {})[task] = bad
    keys = sorted({k for _, k in groups}, key=_order)
    out["summary"] = summary(groups, wm_tasks(exp), [m for m in exp.models if m in keys])
    binary = {"nback": [f"nback{n}" for n in exp.nback.ns],
              "recognition": [f"recog{k}" for k in exp.recognition.ks]
              if exp.recognition is not None else []}
    for key in keys:
        for section, tasks in binary.items():
            runs = {t: groups.get((t, key), []) for t in tasks}
            if tasks and all(runs.values()):
                out[section][key] = _binary_entry(key, runs)
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
        if phys and key != "ipnet":         # the chosen rows' runs are their taus' runs
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
    card = float(design.device.tau_th_ns)
    data = aggregate_wm(exp, done, card)
    learned = aggregate_wm(exp, done, card, drop_stalled=True)
    data["learned"] = {s: learned[s] for s in ("nback", "recognition", "recall",
                                                 "interference")}
    data["meta"] = {"config": str(exp_path), "commit": git_commit() or "unknown",
                    "runs": len(done), "seeds": list(exp.train.seeds),
                    "train_s": sum(m["wall_s"] for m in done.values())}
    text = markdown(exp, design, data)        # before any file: a failure leaves docs as they were
    out = Path(out)
    paths = [out / "working-memory.json"]
    write_atomically(paths[0], lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1) + "\n"))
    figures = {"nback": nback_figure, "recognition": recognition_figure,
               "serial-position": serial_position_figure,
               "interference": interference_figure, "decay": decay_figure}
    if exp.recognition is None:
        del figures["recognition"]
    for name, draw in figures.items():
        path = out / f"wm-{name}.png"
        write_atomically(path, lambda tmp, draw=draw: draw(exp, data, tmp))
        paths.append(path)
    md = out / "working-memory.md"
    write_atomically(md, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return [md, *paths]
