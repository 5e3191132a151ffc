"""The working-memory figures, drawn from the aggregated report data (sw.wm.report).

Each function takes (experiment, data, path) and writes one PNG: mean over seeds
as a line, one standard deviation as a band.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .stats import label  # noqa: E402

__all__ = ["nback_figure", "recognition_figure", "serial_position_figure",
           "interference_figure", "decay_figure"]

COLOURS = {"ipnet": "#d62728", "ipnet_earlier": "#ff7f0e", "lstm": "#1f77b4", "gru": "#2ca02c",
           "rnn": "#9467bd", "lstm_matched": "#17becf", "gru_matched": "#bcbd22",
           "framesum": "#7f7f7f"}


def _band(ax, xs, st, colour, style="-", name=None, marker="o"):
    mean = [s["mean"] for s in st]
    std = [s["std"] for s in st]
    ax.plot(xs, mean, style, color=colour, marker=marker, ms=4, label=name)
    ax.fill_between(xs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                    color=colour, alpha=0.15, lw=0)


def _main(data, section):
    return [k for k in data[section] if " tau " not in k]


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def _binary_figure(section, levels, target_rate, name, title, path, data):
    """Accuracy and d' against the task's level (n, k), every model."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for key in _main(data, section):
        e = data[section][key]
        _band(axes[0], levels, e["accuracy"], COLOURS[key], name=label(key))
        _band(axes[1], levels, e["dprime"], COLOURS[key], name=label(key))
        if "dprime_heat_ignored" in e:
            _band(axes[1], levels, e["dprime_heat_ignored"], COLOURS[key], ":",
                  f"{label(key)}, heat ignored", marker="x")
    axes[0].axhline(1 - target_rate, color="k", lw=0.8, ls="--", label="always 'no'")
    axes[1].axhline(0, color="k", lw=0.8, ls="--")
    axes[0].set(xlabel=name, ylabel="accuracy", title=f"{title}: accuracy", xticks=levels)
    axes[1].set(xlabel=name, ylabel="d'", title=f"{title}: sensitivity d'", xticks=levels)
    axes[1].legend(fontsize=7)
    axes[0].legend(fontsize=7)
    _save(fig, path)


def nback_figure(exp, data, path):
    """Accuracy and d' against n, every model."""
    _binary_figure("nback", list(exp.nback.ns), exp.nback.target_rate, "n", "n-back", path,
                   data)


def recognition_figure(exp, data, path):
    """Accuracy and d' against k (was the item among the last k?), every model."""
    _binary_figure("recognition", list(exp.recognition.ks), exp.recognition.target_rate, "k",
                   "recognition", path, data)


def serial_position_figure(exp, data, path):
    """Recall probability against serial position: one panel per list length, both rates."""
    lengths, slots = list(exp.recall.lengths), list(exp.recall.slots)
    fig, axes = plt.subplots(1, len(lengths), figsize=(3.3 * len(lengths) + 1.6, 3.4), sharey=True,
                             squeeze=False)
    styles = ["-", "--", ":", "-."]
    for ax, ln in zip(axes[0], lengths):
        for key in _main(data, "recall"):
            for k, sl in enumerate(slots):
                st = data["recall"][key]["curves"].get(f"{ln}x{sl}")
                if st:
                    _band(ax, range(1, ln + 1), st, COLOURS[key], styles[k % 4])
        ax.set(xlabel="serial position", title=f"free recall, lists of {ln}",
               xticks=range(1, ln + 1), ylim=(-0.02, 1.02))
    axes[0][0].set_ylabel("P(recalled)")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=COLOURS[k], marker="o", ms=4, label=label(k))
               for k in _main(data, "recall")]
    handles += [Line2D([], [], color="k", ls=styles[k % 4],
                       label=f"{sl} frame{'s' if sl > 1 else ''}/item")
                for k, sl in enumerate(slots)]
    axes[0][-1].legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    _save(fig, path)


def interference_figure(exp, data, path):
    """Retroactive and proactive effects, dissimilar and similar lists, every model."""
    keys = _main(data, "interference")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    width = 0.8 / max(1, len(keys))
    for ax, effect in zip(axes, ("retroactive", "proactive")):
        for j, key in enumerate(keys):
            e = data["interference"][key]
            means = [e[s][effect]["mean"] for s in ("dissimilar", "similar")]
            errs = [e[s][effect]["std"] for s in ("dissimilar", "similar")]
            ax.bar([x + j * width for x in (0, 1)], means, width, yerr=errs, capsize=2,
                   color=COLOURS[key], label=label(key))
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks([0.4 - width / 2, 1.4 - width / 2], ["dissimilar lists", "similar lists"])
        ax.set(title=f"{effect} interference", ylabel="recall lost to the other list")
    axes[1].legend(fontsize=7)
    _save(fig, path)


def decay_figure(exp, data, path):
    """IPNet's thermal time constant: d' against n, and the serial-position curve."""
    keys = [k for k in data["nback"] if " tau " in k]
    taus = {k: data["physics"][k]["tau_th_ns"] for k in keys if k in data["physics"]}
    keys = sorted(taus, key=taus.get)
    cmap = plt.get_cmap("viridis")
    ns = list(exp.nback.ns)
    ln, sl = max(exp.recall.lengths), min(exp.recall.slots)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for j, key in enumerate(keys):
        colour = cmap(j / max(1, len(keys) - 1))
        name = f"tau {taus[key]:g} ns"
        _band(axes[0], ns, data["nback"][key]["dprime"], colour, name=name)
        st = data["recall"].get(key, {}).get("curves", {}).get(f"{ln}x{sl}")
        if st:
            _band(axes[1], range(1, ln + 1), st, colour, name=name)
    axes[0].axhline(0, color="k", lw=0.8, ls="--")
    axes[0].set_ylim(-0.25, max(1.0, axes[0].get_ylim()[1]))    # chance is not a scale
    axes[0].set(xlabel="n", ylabel="d'", title="IPNet n-back against tau", xticks=ns)
    axes[1].set(xlabel="serial position", ylabel="P(recalled)", ylim=(-0.02, 1.02),
                title=f"IPNet free recall (lists of {ln}, {sl} frame/item)",
                xticks=range(1, ln + 1))
    axes[0].legend(fontsize=7)
    _save(fig, path)
