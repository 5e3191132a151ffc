"""The results report: docs/results.md, results.json and the figures, from an experiment's runs.

The runs themselves are scheduled by :mod:`.grid` and reduced to statistics by
:mod:`.aggregate`; this module writes what a reader sees, each file atomically. The words of
docs/results.md are the template ``templates/results.md.j2``; :func:`markdown` fills it with the
results record (``results`` and ``meta``, as written to results.json), the experiment and the
helpers here, which format the numbers and compute the target's figures.
:func:`markdown_from_json` renders the page again from a results.json alone.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import jinja2
import numpy as np

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import config_hash
from ipnet_mtj.sw.data.datasets import TASKS
from ipnet_mtj.sw.device import coefficients, switching_width
from ipnet_mtj.sw.nets.ipnet import SURROGATE_DEFAULT, SURROGATE_PER_WIDTH
from ipnet_mtj.sw.jobs import file_hash, git_commit

from .aggregate import aggregate, finite_best
from .energy import ADC_FOM_FJ, ADC_SOURCE, SOURCE
from .experiment import load_experiment, variant_design
from .runs import STALLED

__all__ = ["write_outputs", "markdown", "markdown_from_json", "LOWER_IS_BETTER"]

LOWER_IS_BETTER = {"error_px", "rmse"}
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: the make target that runs each shipped experiment, named in its report's header
MAKE_TARGETS = {"results.yaml": "make results", "devices.yaml": "make devices",
                "robust.yaml": "make robust"}


def _fmt(stats, metric):
    scale = 100 if metric == "accuracy" else 1
    return f"{stats['mean'] * scale:.2f} ± {stats['std'] * scale:.2f}"


def _md_table(headers, rows, align):
    """A Markdown pipe table (GitHub's syntax, with alignment colons); cells as given (no number
    parsing), ``align`` one letter per column, ``l`` or ``r``."""
    from tabulate import tabulate
    return tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True,
                    colalign=[{"l": "left", "r": "right"}[a] for a in align])


def _paragraph(text):
    """One line: the lines of a template block joined with single spaces."""
    return re.sub(r"\s*\n\s*", " ", text.strip())


def _name_of(entries, entry):
    """The key of ``entry`` (the object itself, as :func:`finite_best` returns it) in ``entries``."""
    return next(k for k, v in entries.items() if v is entry)


def _device_memory(design):
    """What the card lets one frame remember: the heat of one step at the current limit, the
    threshold drop it causes, against the switching curve's 10-90 % width, and how many
    frames of silence bring that drop below half the width.

    A card with several devices (``tau_th_ns_devices``) gets one figure per device, each with
    its own alpha and heat gain (:func:`sw.device.device_thermals`): ``rise_K``,
    ``drop_ic0``, ``frames``, ``kappa_K`` and ``alpha`` are lists in the devices' order
    (one element for a card with one device); ``limit_ic0`` and ``width_ic0`` are shared."""
    from ipnet_mtj.sw.device import current_limit, device_thermals, threshold_at
    dev, coef = design.device, coefficients(design.device)
    limit = current_limit(dev)
    if limit is None:
        return None
    width = switching_width(coef.delta0)
    out = {"limit_ic0": limit, "width_ic0": width, "rise_K": [], "drop_ic0": [], "frames": [],
           "kappa_K": [], "alpha": []}
    for alpha, gain in device_thermals(dev) or [(coef.alpha, 1.0)]:
        kappa = coef.kappa_K * gain             # kelvin per step at I_c0 of this device
        rise = kappa * limit ** 2
        if dev.T_max_K is not None:
            rise = min(rise, dev.T_max_K - dev.T0_K)
        drop = threshold_at(dev, dev.T0_K) - threshold_at(dev, dev.T0_K + rise)
        frames = math.log(0.5 * width / drop) / math.log(alpha) if drop > 0.5 * width else 0.0
        for key, value in (("rise_K", rise), ("drop_ic0", drop), ("frames", frames),
                           ("kappa_K", kappa), ("alpha", alpha)):
            out[key].append(value)
    return out


def _span(values, fmt):
    """``values`` as one figure, or 'lo to hi' over several devices."""
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else \
        f"{format(lo, fmt)} to {format(hi, fmt)}"


def _target(exp, design, results):
    """The figures of the issue's target on the ablation task, judged on validation: the IPNet
    row with the lowest mean validation loss against LSTM, whether the target is reached, which
    bound binds, and what the row's card allows one frame to remember; None where there is no
    such comparison (no LSTM, no row with a validation loss and physics, or a lower-is-better
    metric)."""
    task = exp.ablation.task
    lstm = results["tasks"].get(task, {}).get("models", {}).get("lstm")
    rows = {f"depth {d}": st for d, st in results["ablation"].items()}
    rows.update(results["variants"])
    rows = {k: v for k, v in rows.items() if v.get("val_loss") is not None and v["physics"]}
    if lstm is None or not rows or TASKS[task].metric in LOWER_IS_BETTER:
        return None
    name = min(rows, key=lambda k: rows[k]["val_loss"])
    st, ph = rows[name], rows[name]["physics"]
    gap = (st["float"]["mean"] - lstm["mean"]) * 100
    t_max = ph["T_max_K"]
    spread = st["spread"].get("0.02")
    own = variant_design(exp, name) if name in results["variants"] else None
    card = own[0] if own else design
    mem = _device_memory(card)
    return {
        "name": name, "row": st, "physics": ph, "lstm": lstm, "gap": gap, "spread": spread,
        "reached": (gap > 0 and (t_max is None or ph["temperature_p99_K"] <= t_max)
                    and spread is not None and spread["mean"] > lstm["mean"]),
        "current_binds": ph["current_p99_ic0"] >= 0.99 * ph["current_limit_ic0"],
        "temperature_binds": t_max is not None and ph["temperature_max_K"] >= t_max - 12,
        "card": card.name, "memory": mem,
        "ratio": [d / mem["width_ic0"] for d in mem["drop_ic0"]] if mem else None}


def _environment():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"],
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             autoescape=False)
    env.filters.update(paragraph=_paragraph, fmt=format)
    env.globals.update(table=_md_table, stat=_fmt, span=_span, finite_best=finite_best,
                       name_of=_name_of, isfinite=math.isfinite,
                       metric_of=lambda task: TASKS[task].metric)
    return env


CMOS_RECORD = "asic-energy.json"


def cmos_record(folder):
    """The measured CMOS energy of the emulator (``asic-energy.json`` in ``folder``, written by
    ``ipnet asic NETWORK --gate-level --record``), or None: a row of the memory-energy table."""
    path = Path(folder) / CMOS_RECORD
    return json.loads(path.read_text()) if path.exists() else None


def markdown(exp, design, results, meta, cmos=None):
    """docs/results.md for experiment ``exp``, its ``design``, the aggregated ``results`` and the
    run's ``meta`` (results.json holds both: ``meta`` and the rest); ``cmos``: the measured CMOS
    record (:func:`cmos_record`), a row of the memory-energy table when given."""
    tasks = [t for t in exp.tasks if t in results["tasks"]]
    models = sorted({m for t in tasks for m in results["tasks"][t]["models"]},
                    key=lambda m: (m != "ipnet", m))
    return _environment().get_template("results.md.j2").render(
        exp=exp, results=results, meta=meta, tasks=tasks, models=models,
        lower_is_better=LOWER_IS_BETTER, stalled=STALLED, source=SOURCE,
        target=_target(exp, design, results), cmos=cmos,
        surrogate=surrogate_text(exp.ipnet.surrogate_width, design), adc_fom=ADC_FOM_FJ,
        adc_source=ADC_SOURCE, make_target=MAKE_TARGETS.get(Path(meta["config"]).name))


def surrogate_text(width, design):
    """The default IPNet's surrogate width in words: ``width`` as the experiment sets it
    (None: the model's 0.25 I_c0; ``device``: tied to ``design``'s switching curve)."""
    if width == "device":
        width = SURROGATE_PER_WIDTH * switching_width(coefficients(design.device).delta0)
        return (f"surrogate width {SURROGATE_PER_WIDTH:g} times the device's 10-90 % "
                f"switching width, {width:.3g} I_c0")
    return f"surrogate width {SURROGATE_DEFAULT if width is None else width:g} I_c0"


def markdown_from_json(exp_path, json_path):
    """docs/results.md again from the results.json it was written with and the experiment
    config ``exp_path`` (its design as the config names it now)."""
    exp, design, _ = load_experiment(exp_path)
    results = json.loads(Path(json_path).read_text())
    meta = results.pop("meta")
    return markdown(exp, design, results, meta, cmos_record(Path(json_path).parent))


def _plot(exp, results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tasks = [t for t in exp.tasks if t in results["tasks"]]
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.4))
    for ax, t in zip(np.atleast_1d(axes), tasks):
        ms = results["tasks"][t]["models"]
        names = sorted(ms, key=lambda m: (m != "ipnet", m))
        scale = 100 if results["tasks"][t]["metric"] == "accuracy" else 1
        means = [ms[n]["mean"] * scale for n in names]
        stds = [ms[n]["std"] * scale for n in names]
        colors = ["tab:red" if n == "ipnet" else "tab:gray" for n in names]
        ax.bar(range(len(names)), means, yerr=stds, color=colors, capsize=3)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{t} ({results['tasks'][t]['metric']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def _plot_spread(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for t, by_sigma in results["spread"].items():
        sigmas = [float(s) for s in by_sigma]
        base = by_sigma["0"]["mean"]
        rel = [by_sigma[s]["mean"] / base if base else float("nan") for s in by_sigma]
        ax.plot(sigmas, rel, marker="o", label=f"{t} ({TASKS[t].metric})")
    ax.set_xlabel("threshold spread sigma [I_c0]")
    ax.set_ylabel("test metric / metric at sigma 0")
    ax.set_title("IPNet against device-to-device spread", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def write_outputs(exp_path, done, out_dir, wall_s, spread=None, integer=None):
    """docs/results.md, docs/results.json, docs/results.png (and results-spread.png)."""
    exp, design, _ = load_experiment(exp_path)
    results = aggregate(exp, design, done, spread, integer)
    meta = {"config": str(exp_path), "commit": git_commit() or "unknown",
            "config_hash": file_hash(exp_path, 16),
            "design": str(exp.design_path()), "design_hash": config_hash(design),
            "date": time.strftime("%Y-%m-%d"), "wall_min": wall_s / 60, "cores": os.cpu_count(),
            "train_cpu_min": sum(m.get("wall_s", 0.0) for m in done.values()) / 60,
            "qat_cpu_min": sum(r.get("wall_s", 0.0) for r in (integer or {}).values()) / 60,
            "runs": len(done)}
    out = Path(out_dir)
    text = json.dumps({"meta": meta, **results}, indent=2, default=float) + "\n"
    page = markdown(exp, design, results, meta, cmos_record(out))
    write_atomically(out / "results.json", lambda tmp: Path(tmp).write_text(text))
    write_atomically(out / "results.md", lambda tmp: Path(tmp).write_text(page))
    write_atomically(out / "results.png", lambda tmp: _plot(exp, results, tmp))
    if results["spread"]:
        write_atomically(out / "results-spread.png", lambda tmp: _plot_spread(results, tmp))
    return results

