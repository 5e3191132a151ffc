"""The results report: docs/results.md, results.json and the figures, from an experiment's runs.

The runs themselves are scheduled by :mod:`.grid` and reduced to statistics by
:mod:`.aggregate`; this module writes what a reader sees, each file atomically.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import config_hash
from ipnet_mtj.sw.data.datasets import TASKS
from ipnet_mtj.sw.device import LN2, coefficients
from ipnet_mtj.sw.jobs import file_hash, git_commit

from .aggregate import aggregate, finite_best
from .energy import SOURCE
from .experiment import load_experiment
from .runs import STALLED

__all__ = ["write_outputs", "LOWER_IS_BETTER"]

LOWER_IS_BETTER = {"error_px", "rmse"}


def _fmt(stats, metric):
    scale = 100 if metric == "accuracy" else 1
    return f"{stats['mean'] * scale:.2f} ± {stats['std'] * scale:.2f}"


def _md_table(headers, rows, align):
    """A Markdown pipe table (GitHub's syntax, with alignment colons) as lines; cells as given
    (no number parsing), ``align`` one letter per column, ``l`` or ``r``."""
    from tabulate import tabulate
    return tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True,
                    colalign=[{"l": "left", "r": "right"}[a] for a in align]).splitlines()


def _markdown(exp, design, results, meta):
    tasks = [t for t in exp.tasks if t in results["tasks"]]
    models = sorted({m for t in tasks for m in results["tasks"][t]["models"]},
                    key=lambda m: (m != "ipnet", m))
    units = {"accuracy": "acc. %", "error_px": "error px", "rmse": "RMSE"}
    lines = [
        "# IPNet and baselines on the generated dynamic-vision benchmarks",
        "",
        f"Made by `make results` (`ipnet results {meta['config']}`) at commit `{meta['commit']}`, "
        f"experiment config hash `{meta['config_hash']}`, design `{meta['design']}` "
        f"(hash `{meta['design_hash']}`), {meta['date']}: {meta['runs']} runs, "
        f"{meta['train_cpu_min']:.0f} CPU-minutes of training"
        + (f" and {meta['qat_cpu_min']:.0f} of quantisation-aware training"
           if meta.get("qat_cpu_min") else "")
        + " (one thread each); this invocation "
        f"took {meta['wall_min']:.1f} min on {meta['cores']} cores (runs already trained are "
        f"read back). Mean ± sample standard deviation over seeds {exp.train.seeds}. "
        f"Data: {exp.data.train - exp.train.validation} training, {exp.train.validation} "
        f"validation (carved from the training data) and {exp.data.test} test samples per task, "
        f"{exp.data.steps} frames of {exp.data.size}x{exp.data.size}. "
        "The data sets are generated offline (docs/results-method.md); these are not DVS Gesture or "
        "DDD-20 figures and are not comparable with the paper's.",
        "",
        f"Protocol, the same for every model: Adam, batch {exp.train.batch}, a cosine schedule over "
        f"at most {exp.train.max_epochs} epochs, early stopping with a patience of "
        f"{exp.train.patience} epochs on the validation loss; the test figure is that of the epoch with the lowest "
        f"validation loss; each learning rate of {list(exp.train.lrs)} is tried and the one with "
        "the lowest mean validation loss over seeds is reported (the test split chooses nothing). "
        f"A seed whose best validation loss stays above {STALLED:g} of the best constant answer's "
        "is counted as *stalled*; one whose loss or weights stop being finite as *diverged*. "
        "Stalled seeds stay in the means; diverged ones are left out and counted.",
        "",
    ]
    rows = []
    for m in models:
        cells = []
        for t in tasks:
            entry = results["tasks"][t]["models"].get(m)
            if entry is None:
                cells.append("–")
                continue
            metric = results["tasks"][t]["metric"]
            best = finite_best(results["tasks"][t]["models"].values(), metric in LOWER_IS_BETTER)
            text = _fmt(entry, metric)
            text = f"**{text}**" if entry is best else text
            flags = [f"{entry[k]} {k}" for k in ("stalled", "diverged") if entry[k]]
            cells.append(text + (f" ({', '.join(flags)})" if flags else ""))
        e = results["energy"][m]
        energy = f"{e['pj']:.3g} pJ"
        ratio = "1 (marginal 0)" if m == "ipnet" else f"{e['ratio_vs_ipnet']:.3g}x"
        params = results["parameters"][m].get(tasks[0]) or next(iter(results["parameters"][m].values()))
        rows.append([m, params, *cells, energy, ratio])
    lines += _md_table(["model", "params", *(f"{t} ({units[TASKS[t].metric]})" for t in tasks),
                        "memory energy / inference", "vs IPNet"], rows, "lr" + "r" * len(tasks) + "rr")
    lines += ["", "Best mean per task in bold. Where IPNet stands, task by task:", ""]
    for t in tasks:
        ms = results["tasks"][t]["models"]
        if "ipnet" not in ms:
            continue
        metric = results["tasks"][t]["metric"]
        lower = metric in LOWER_IS_BETTER
        others = {k: v for k, v in ms.items() if k != "ipnet"}
        best = finite_best(others.values(), lower)
        ip = ms["ipnet"]["mean"]
        if best is None or not math.isfinite(ip):
            lines.append(f"- {t}: no comparison (no finite mean for IPNet or the baselines).")
            continue
        best_name = next(k for k, v in others.items() if v is best)
        bb = best["mean"]
        wins = ip < bb if lower else ip > bb
        verb = "beats" if wins else ("ties with" if ip == bb else "**loses to**")
        if lower and bb:
            change = (ip - bb) / bb * 100
            diff_text = f"error {abs(change):.1f} % {'lower' if change < 0 else 'higher'}"
        elif lower:
            diff_text = f"error {ip - bb:+.3g}"
        else:
            diff_text = f"{(ip - bb) * 100:+.2f} points"
        lines.append(f"- {t}: IPNet {verb} the best baseline ({best_name}): {diff_text}.")
    lines += ["", "## Chosen learning rate and epochs", "",
              "Per model and task: the learning rate chosen on validation, and the mean epoch "
              "whose weights are reported / the mean number of epochs run.", ""]
    rows = []
    for m in models:
        cells = []
        for t in tasks:
            e = results["tasks"][t]["models"].get(m)
            cells.append("–" if e is None or e["best_epoch"] is None else
                         f"{e['lr']:g}: {e['best_epoch']:.0f} / {e['epochs_run']:.0f}")
        rows.append([m, *cells])
    lines += _md_table(["model", *tasks], rows, "l" + "r" * len(tasks))
    lines += ["", "## IPNet's junctions", "",
              "Over every thermal-neuron update of the test set, at the chosen learning rate: the "
              "99th percentile (mean over seeds; of every 7th value) and the maximum (over seeds) "
              "of the junction temperature and of |I|, beside the card's bounds "
              f"(design `{meta['design']}`).", ""]
    rows = []
    for t, ph in results["physics"].items():
        bound = f"{ph['T_max_K']:.0f}" if ph["T_max_K"] is not None else "none"
        rows.append([t, f"{ph['temperature_p99_K']:.0f}", f"{ph['temperature_max_K']:.0f}",
                     f"{bound} (Tc {ph['Tc_K']:.0f})", f"{ph['current_p99_ic0']:.2f}",
                     f"{ph['current_max_ic0']:.2f}", f"{ph['current_limit_ic0']:.2f}"])
    lines += _md_table(["task", "p99 T [K]", "max T [K]", "T_max [K]", "p99 |I| [I_c0]",
                        "max |I| [I_c0]", "limit [I_c0]"], rows, "lrrrrrr")
    lines += ["", "## What the memory gives, and the integer datapath", "",
              "IPNet's test figure as trained (float), with the same weights but the heat ignored "
              "at evaluation (every threshold at its ambient value: what is left without the "
              "memory), and as one integer network: every layer in the fixed point the "
              "accelerator computes, measured by its golden model (`sw/netref.py`). \"Rounded\" "
              "is the float weights rounded to the network's formats; \"integer\" is after "
              f"{exp.integer.epochs if exp.integer else 0} epochs of quantisation-aware "
              "training from them (validation chooses the epoch), the hardware's figure. "
              "\"Logits equal\" is the fraction of test sequences on which the QAT model in "
              "torch and the golden model give the same logits in every frame. Classification "
              "uses the hardware's head; digits_ahead and steering read the logits on the host "
              "(docs/results-method.md, \"The integer network\").", ""]
    dash = lambda q, k, t: _fmt(q[k], TASKS[t].metric) if k in q else "–"  # noqa: E731
    lines += _md_table(["task", "float", "heat ignored", "rounded", "integer (QAT)",
                        "logits equal"],
                       [[t, dash(q, "float", t), dash(q, "heat_ignored", t), dash(q, "ptq", t),
                         dash(q, "integer", t) + (f" ({q['qat_diverged']} diverged)"
                                                  if q.get("qat_diverged") else ""),
                         f"{q['logits_equal'] * 100:.0f} %" if "logits_equal" in q else "–"]
                        for t, q in results["quantisation"].items()], "lrrrrr")
    formats = {t: q["formats"] for t, q in results["quantisation"].items() if "formats" in q}
    if formats:
        lines += ["", "Formats of each task's integer network (its first seed; s/u: signed/unsigned, "
                      "width.fraction; the thermal layer's neurons are the design's):", ""]
        for t, layers in formats.items():
            lines.append(f"- {t}: " + "; ".join(
                f"{f['name']} w s{f['weight']['width']}.{f['weight']['frac']}, "
                f"b s{f['bias']['width']}.{f['bias']['frac']}"
                + (f", out {'s' if f['activation'] == 'none' else 'u'}{f['out']['width']}."
                   f"{f['out']['frac']}" if f.get("out") else "") for f in layers))
    lines += _design_space(exp, results, units)
    lines += _target(exp, design, results)
    if results["spread"]:
        sigmas = list(next(iter(results["spread"].values())))
        lines += ["", "## Device spread", "",
                  "Each trained IPNet above, unchanged, on simulated chips whose junctions differ: "
                  "every thermal neuron's switching threshold is offset by its own draw from "
                  "N(0, sigma²), rounded to the datapath's current LSB as the offset ROM holds it "
                  f"(`configs/spread.yaml` is such a chip in hardware). {exp.spread.chips} chips per "
                  "sigma and seed; mean ± standard deviation over seeds x chips. Sigma 0 is the "
                  "table's own figure.", ""]
        thermal = results["thermal_spread"]
        t_sigmas = list(next(iter(thermal.values()))) if thermal else []
        if t_sigmas:
            lines[-2] += (" The last columns scale every junction's thermal resistance and, "
                          "independently, its time constant by its own 1 + N(0, s²) (the "
                          "datapath's alpha and heat-gain ROMs; `thermal_sigma_rel` of a card), "
                          "threshold unchanged.")
        rows = []
        for t, by_sigma in results["spread"].items():
            metric = TASKS[t].metric
            rows.append([t, *(_fmt(by_sigma[sg], metric) for sg in sigmas),
                         *(_fmt(thermal[t][sg], metric) if t in thermal else "–"
                           for sg in t_sigmas)])
        lines += _md_table(["task", *(f"sigma {sg} I_c0" for sg in sigmas),
                            *(f"R_th, tau sigma {float(sg) * 100:g} %" for sg in t_sigmas)], rows,
                           "l" + "r" * (len(sigmas) + len(t_sigmas)))
        lines += ["", "![accuracy against device spread](results-spread.png)"]
    e_ip = results["energy"].get("ipnet", {})
    lines += ["", "## Memory energy model", "",
              f"Per inference ({exp.data.steps} frames). Digital memories: 16-bit words of state, gate "
              f"values, recurrent weights or buffered maps, times the energy of a 64-bit access for the "
              f"smallest memory that holds the footprint ({SOURCE}: 8 KB SRAM 10 pJ, 32 KB 20 pJ, "
              "1 MB 100 pJ, DRAM 2 nJ). IPNet's state is the junctions' heat: it reads and writes no bit, "
              "so its marginal memory energy is 0. The table charges it, conservatively, with all the "
              f"Joule heat of its thermal layer ({e_ip.get('model', '')}), which the neurons spend on "
              "computing anyway. Details: sw/train/energy.py.", ""]
    rows = []
    for m in models:
        e = results["energy"][m]
        if m == "ipnet":
            rows.append(["ipnet", "0", "0", "–", f"{e['pj']:.3g} pJ (Joule heat; marginal 0)"])
        else:
            rows.append([m, f"{e['bits']:,}", f"{e['footprint_bytes']:,.0f} B", f"{e['pj_per_64b']:g}",
                         f"{e['pj']:.3g} pJ"])
    lines += _md_table(["model", "bits read+written", "footprint", "pJ per 64-bit access", "energy"],
                       rows, "lrrrr")
    lines += ["", "![results](results.png)", ""]
    return "\n".join(lines)


def _design_space(exp, results, units):
    """The design-space table: the thermal layer at each depth (memory at the frontier) and
    each ablation variant, with the heat ignored and under device spread."""
    task = exp.ablation.task
    metric = TASKS[task].metric
    where = {"1": "thermal layer at the first convolution (sensing frontier): the default",
             "2": "thermal layer at the second convolution",
             "3": "thermal layer at the dense features"}
    rows = [(f"depth {d}", where[d], st) for d, st in results["ablation"].items()]
    rows += [(name, ", ".join(f"{k} {v}" for k, v in st["options"].items()), st)
             for name, st in results["variants"].items()]
    sigmas = [sg for sg in ("0.02", "0.05") if any(sg in st["spread"] for _, _, st in rows)]
    scale = 100 if metric == "accuracy" else 1
    table = []
    for name, change, st in rows:
        gives = (st["float"]["mean"] - st["heat_ignored"]["mean"]) * scale
        table.append([name, change, f"{st['lr']:g}", _fmt(st["float"], metric),
                      _fmt(st["heat_ignored"], metric), f"{gives:+.1f}",
                      *(_fmt(st["spread"][sg], metric) if sg in st["spread"] else "–"
                        for sg in sigmas),
                      str(st["stalled"]),
                      f"{st['physics']['temperature_p99_K']:.0f}" if st["physics"] else "–"])
    lines = ["", f"## IPNet's design space ({task}): memory at the frontier and the ablation", "",
             "Each row changes one thing from the default IPNet (thermal layer at the first "
             "convolution, one gain and offset for the current, surrogate width 0.25 I_c0, the "
             "heat's gradient kept, trained on identical junctions, starting at the working "
             "threshold). Every row runs the whole learning-rate grid and reports the rate "
             f"chosen on validation. *Memory gives*: the test figure minus the one with the heat ignored at "
             f"evaluation, in {'points' if scale == 100 else units[metric]}; the sigma columns "
             "evaluate the same weights on chips with that threshold spread (I_c0; "
             "\"Device spread\" below).", ""]
    lines += _md_table(["IPNet", "change", "lr", units[metric], "heat ignored", "memory gives",
                        *(f"sigma {sg}" for sg in sigmas), "stalled seeds", "p99 T [K]"], table,
                       "ll" + "r" * (6 + len(sigmas)))
    return lines


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
    width = (math.log(math.log(10) / LN2) - math.log(math.log(10 / 9) / LN2)) / coef.delta0
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
    """The issue's target on the ablation task, judged on validation: the IPNet row with the
    lowest mean validation loss against LSTM; the bound that binds; what the row's card allows
    one frame to remember."""
    from .experiment import variant_design
    task = exp.ablation.task
    metric = TASKS[task].metric
    lstm = results["tasks"].get(task, {}).get("models", {}).get("lstm")
    rows = {f"depth {d}": st for d, st in results["ablation"].items()}
    rows.update(results["variants"])
    rows = {k: v for k, v in rows.items() if v.get("val_loss") is not None and v["physics"]}
    if lstm is None or not rows or metric in LOWER_IS_BETTER:
        return []
    name = min(rows, key=lambda k: rows[k]["val_loss"])
    st, ph = rows[name], rows[name]["physics"]
    gap = (st["float"]["mean"] - lstm["mean"]) * 100
    t_max = ph["T_max_K"]
    spread = st["spread"].get("0.02")
    reached = (gap > 0 and (t_max is None or ph["temperature_p99_K"] <= t_max)
               and spread is not None and spread["mean"] > lstm["mean"])
    binds = []
    if ph["current_p99_ic0"] >= 0.99 * ph["current_limit_ic0"]:
        binds.append(f"the current limit (p99 |I| {ph['current_p99_ic0']:.2f} I_c0 at the limit "
                     f"{ph['current_limit_ic0']:.2f})")
    if t_max is not None and ph["temperature_max_K"] >= t_max - 12:
        binds.append(f"T_max (max {ph['temperature_max_K']:.0f} K)")
    lines = ["", f"## The target on {task}", "",
             f"The IPNet row with the lowest mean validation loss in the design-space table is "
             f"**{name}**: {_fmt(st['float'], metric)} against LSTM's {_fmt(lstm, metric)} "
             f"({gap:+.1f} points), p99 junction temperature {ph['temperature_p99_K']:.0f} K "
             f"(T_max {'none' if t_max is None else f'{t_max:.0f} K'})"
             + (f", {_fmt(spread, metric)} under a threshold spread of 0.02 I_c0" if spread else "")
             + ". The target (ahead of LSTM, p99 temperature within T_max, still ahead under a "
             f"spread of 0.02 I_c0) is **{'reached' if reached else 'not reached'}**.", ""]
    if binds:
        lines += [f"Bound that binds: {' and '.join(binds)}. "
                  + ("The temperature stays below T_max: within the card the current runs out first."
                     if len(binds) == 1 and binds[0].startswith("the current") else "")]
    own = variant_design(exp, name) if name in results["variants"] else None
    card = own[0] if own else design
    mem = _device_memory(card)
    if mem:
        k = len(mem["alpha"])
        ratio = [d / mem["width_ic0"] for d in mem["drop_ic0"]]
        lines += ["", f"What this row's card ({card.name}) allows one frame to remember"
                  + (f", over its {k} devices (tau_th_ns_devices; lowest to highest)" if k > 1 else "")
                  + f": a step at the current limit ({mem['limit_ic0']:.2f} I_c0) heats the "
                  f"junction by {_span(mem['rise_K'], '.0f')} K "
                  f"({_span(mem['kappa_K'], '.1f')} K per step at I_c0) and lowers its threshold "
                  f"by {_span(mem['drop_ic0'], '.3f')} I_c0, {_span(ratio, '.1f')} times the "
                  f"switching curve's 10-90 % width ({mem['width_ic0']:.3f} I_c0); with alpha = "
                  f"{_span(mem['alpha'], '.3f')} per frame that drop falls below half the width "
                  f"after {_span(mem['frames'], '.0f')} frames of silence. A memory stronger "
                  "per frame needs more threshold shift per unit of "
                  "allowed current: a larger thermal resistance (more kelvin per step at the same "
                  "current, up to T_max), a threshold that falls faster with temperature (a larger "
                  "I_c0 exponent n, a lower Curie temperature), or a higher breakdown voltage over "
                  "resistance; a longer one needs a longer thermal time constant. `make devices` "
                  "(docs/devices/results.md) trains IPNet on cards with these levers changed."]
    return lines


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
    markdown = _markdown(exp, design, results, meta)
    write_atomically(out / "results.json", lambda tmp: Path(tmp).write_text(text))
    write_atomically(out / "results.md", lambda tmp: Path(tmp).write_text(markdown))
    write_atomically(out / "results.png", lambda tmp: _plot(exp, results, tmp))
    if results["spread"]:
        write_atomically(out / "results-spread.png", lambda tmp: _plot_spread(results, tmp))
    return results

