"""The results table as data: each cell's runs at its chosen learning rate, reduced to
statistics over seeds (mean, sample standard deviation), with IPNet's junction physics,
heat-ignored and integer accuracy, the design space, the device spread and the memory energy.
"""

from __future__ import annotations

import math

import numpy as np

from ipnet_mtj.sw.data.datasets import TASKS
from ipnet_mtj.sw.nets import MATCHED
from ipnet_mtj.sw.nets.backbone import CHANNELS

from .energy import digital_memory, read_adc_pj, thermal_joule_pj
from .experiment import variant_design
from .grid import chosen_lrs, chosen_runs
from .runs import STALLED

__all__ = ["aggregate", "stats", "stalled", "restarted", "finite_best"]


def stats(values):
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "n": int(len(a)), "values": [float(v) for v in a]}


def stalled(m):
    """Whether a run stalled (recomputed from its losses, so the criterion is this code's)."""
    return bool(m["val_loss"] > STALLED * m["constant_val_loss"])


def restarted(runs):
    """How many of ``runs`` (seeds) needed a restart (``train.restarts``)."""
    return sum(1 for m in runs if m.get("restarts"))


def finite_best(entries, lower):
    """The entry with the best finite mean, or None."""
    finite = [e for e in entries if math.isfinite(e["mean"])]
    return (min if lower else max)(finite, key=lambda e: e["mean"]) if finite else None


def _cell_stats(runs):
    """Stats of the test metric over a cell's seeds, with its flags and protocol figures."""
    ok = [m for m in runs if "diverged" not in m]
    out = stats([m["metric"] for m in ok]) if ok else {"mean": float("nan"), "std": 0.0,
                                                         "n": 0, "values": []}
    out.update(lr=runs[0]["lr"], stalled=sum(stalled(m) for m in ok),
               diverged=len(runs) - len(ok), restarted=restarted(runs),
               best_epoch=float(np.mean([m["best_epoch"] + 1 for m in ok])) if ok else None,
               epochs_run=float(np.mean([len(m["history"]) for m in ok])) if ok else None)
    return out


def _physics(runs):
    """Junction figures of a cell's IPNet runs: the mean p99 and the largest max over seeds."""
    ph = [m["physics"] for m in runs if "physics" in m]
    if not ph:
        return None
    return {"temperature_p99_K": float(np.mean([p["temperature_p99_K"] for p in ph])),
            "temperature_max_K": max(p["temperature_max_K"] for p in ph),
            "current_p99_ic0": float(np.mean([p["current_p99_ic0"] for p in ph])),
            "current_max_ic0": max(p["current_max_ic0"] for p in ph),
            "T_max_K": ph[0]["T_max_K"], "Tc_K": ph[0]["Tc_K"],
            "current_limit_ic0": ph[0]["current_limit_ic0"],
            "per_seed": ph}


def _spread_stats(sweeps):
    """{sigma: stats over seeds x chips} of some runs' device-spread sweeps."""
    by_sigma = {}
    for sweep in sweeps:
        for sigma, values in sweep["metric"].items():
            by_sigma.setdefault(sigma, []).extend(values)
    return {sigma: stats(v) for sigma, v in sorted(by_sigma.items(), key=lambda kv: float(kv[0]))}


def _spread(exp, spread, part="metric"):
    """Per task, the main table's IPNet (frontier, default options): its spread stats, of the
    threshold sweep (``metric``) or the thermal one (``thermal``)."""
    by_task = {}
    for spec in sorted(spread, key=lambda s: (s.task, s.seed)):
        if spec.depth == 1 and not spec.variant and spread[spec].get(part):
            by_task.setdefault(spec.task, []).append({"metric": spread[spec][part]})
    return {t: _spread_stats(sweeps) for t, sweeps in by_task.items()}


def _design_row(runs, sweeps):
    """One row of the design-space table: accuracy, heat ignored, stalled seeds, physics,
    spread."""
    return {"float": stats([m["metric"] for m in runs]),
            "heat_ignored": stats([m["heat_ignored_metric"] for m in runs]),
            "stalled": sum(stalled(m) for m in runs), "restarted": restarted(runs),
            "physics": _physics(runs),
            "val_loss": float(np.mean([m["val_loss"] for m in runs])),
            "lr": runs[0]["lr"], "spread": _spread_stats(sweeps) if sweeps else {}}


def _read_energy(exp, design, name, runs):
    """{"read_pj": ADC energy per inference} of a variant whose next stage takes the
    resistance read (its option ``read``), else {}."""
    options = exp.ablation.variants[name]
    if options.get("read", "none") == "none":
        return {}
    own = variant_design(exp, name)
    card = own[0] if own else design
    return {"read_pj": read_adc_pj(runs[0]["thermal_neurons"], exp.data.steps,
                                   card.fixed_point.read_bits)}


def _integer_row(row, integer, chosen):
    """Add to a row of the integer table the figures of the integer networks of the runs
    ``chosen`` picks (by spec), seeds in order: rounded, QAT and integer statistics, the
    fraction of equal logits, the first seed's formats, the diverged count."""
    ints = [r for s, r in sorted((integer or {}).items(), key=lambda kv: kv[0].seed)
            if chosen(s)]
    failed = [r for r in ints if "diverged" in r]
    ints = [r for r in ints if "diverged" not in r]
    if failed:
        row["qat_diverged"] = len(failed)
    if ints:
        row.update({k: stats([r[k] for r in ints]) for k in ("ptq", "qat", "integer")},
                   logits_equal=float(np.mean([r["logits_equal"] for r in ints])),
                   formats=ints[0]["layers"])


def aggregate(exp, design, done, spread=None, integer=None):
    """Tables as data, at each cell's chosen learning rate: metrics per task and model (with
    stalled and diverged seeds counted), IPNet's junction physics, heat-ignored and integer
    accuracy, the depth ablation, accuracy against device spread, memory energy, and the
    protocol."""
    lrs = chosen_lrs(exp, done)
    done = dict(sorted(chosen_runs(exp, done).items(),
                       key=lambda kv: (kv[0].task, kv[0].model, kv[0].depth, kv[0].seed)))
    table = {}                      # per-seed values in seed order, whatever order runs finished in
    for spec, m in done.items():
        if spec.model == "ipnet" and (spec.depth != 1 or spec.variant):
            continue
        table.setdefault(spec.task, {}).setdefault(spec.model, []).append(m)
    results = {"protocol": {"max_epochs": exp.train.max_epochs, "patience": exp.train.patience,
                            "validation": exp.train.validation, "lrs": list(exp.train.lrs),
                            "seeds": list(exp.train.seeds),
                            "ipnet_seeds": exp.train.seeds_of("ipnet"),
                            "restarts": exp.train.restarts, "stalled_fraction": STALLED},
               "chosen_lr": {"/".join(map(str, k)): v for k, v in sorted(lrs.items())},
               "tasks": {}, "physics": {}, "ablation": {}, "quantisation": {}, "energy": {},
               "parameters": {}, "spread": _spread(exp, spread or {}),
               "thermal_spread": _spread(exp, spread or {}, "thermal")}
    for task, models in table.items():
        results["tasks"][task] = {"metric": TASKS[task].metric,
                                  "models": {k: _cell_stats(v) for k, v in models.items()}}
        for k, v in models.items():
            results["parameters"].setdefault(k, {})[task] = v[0]["parameters"]
        runs = [m for m in models.get("ipnet", []) if "diverged" not in m]
        if runs:
            results["physics"][task] = _physics(runs)
            results["quantisation"][task] = {
                "float": stats([m["metric"] for m in runs]),
                "heat_ignored": stats([m["heat_ignored_metric"] for m in runs])}
            _integer_row(results["quantisation"][task], integer,
                         lambda s, task=task: s.task == task and not s.variant)
    ablation, variants, sweeps = {}, {}, {}
    for spec, m in done.items():
        if spec.task == exp.ablation.task and spec.model == "ipnet" and "diverged" not in m:
            key = spec.variant or str(spec.depth)
            (variants if spec.variant else ablation).setdefault(key, []).append(m)
            if spread and spec in spread:
                sweeps.setdefault(key, []).append(spread[spec])
    results["ablation"] = {d: _design_row(v, sweeps.get(d)) for d, v in sorted(ablation.items())}
    for name in (exp.integer.variants if exp.integer else ()):    # integer.variants' rows
        runs = variants.get(name, [])
        if runs:
            row = results["quantisation"][f"{exp.ablation.task}, {name}"] = {
                "task": exp.ablation.task, "variant": name,
                "float": stats([m["metric"] for m in runs]),
                "heat_ignored": stats([m["heat_ignored_metric"] for m in runs])}
            _integer_row(row, integer, lambda s, name=name: s.variant == name)
    results["variants"] = {name: _design_row(variants[name], sweeps.get(name)) | {
        "options": exp.ablation.variants[name]} | _read_energy(exp, design, name, variants[name])
        for name in (exp.ablation.variants or {}) if name in variants}
    # memory energy per inference (one sample of `steps` frames)
    steps = exp.data.steps
    ipnet_runs = [m for s, m in done.items() if s.model == "ipnet" and s.depth == 1
                  and not s.variant and "diverged" not in m]
    msq = (float(np.mean([m["physics"]["current_mean_square_ic0"] for m in ipnet_runs]))
           if ipnet_runs else float("nan"))
    neurons = ipnet_runs[0]["thermal_neurons"] if ipnet_runs else 0
    ipnet_pj = thermal_joule_pj(msq, neurons, steps, design.device)
    models = sorted({s.model for s in done})
    for name in models:
        if name == "ipnet":
            results["energy"][name] = {"pj": ipnet_pj, "marginal_pj": 0.0, "bits": 0,
                                       "model": f"Joule heat of {neurons} MTJs, mean (I/I_c0)^2 = {msq:.3g}"}
        else:
            cell, width = MATCHED.get(name, name), exp.train.features
            if name in MATCHED:         # its width on the ablation task (else any task's)
                widths = {s.task: m["features"] for s, m in done.items() if s.model == name}
                width = widths.get(exp.ablation.task, next(iter(widths.values())))
            e = digital_memory(cell, steps, width, CHANNELS, exp.data.size)
            e["ratio_vs_ipnet"] = (e["pj"] / ipnet_pj if math.isfinite(ipnet_pj) and ipnet_pj
                                   else float("nan"))
            results["energy"][name] = e
    return results
