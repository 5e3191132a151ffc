"""The tables, ratios and figure of ``ipnet bench-events`` (:mod:`sim.event_bench`): pure
functions of its measured rows (sweep, test sets, dense twin) and the placed clocks."""

from __future__ import annotations

import math

from ipnet_mtj.sw.cli import write_atomically

__all__ = ["plot", "fps", "table", "ratios"]


def plot(path, sweep, tests, dense, fmax_of):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    d = [r["density"] * 100 for r in sweep]
    axes[0].plot(d, [r["cycles_per_frame"] for r in sweep], "o-", label="event input")
    if dense:
        axes[0].axhline(dense["cycles_per_frame"], color="k", ls="--", label="dense input")
    for t in tests:
        axes[0].plot(t["density"] * 100, t["cycles_per_frame"], "s", ms=8,
                     label=f"{t['task']} test set")
    axes[0].set(xlabel="non-zero input words, %", ylabel="cycles per frame",
                title="cycles per frame (Verilator)")
    for target, mhz in fmax_of.get("events", {}).items():
        line, = axes[1].plot(d, [mhz * 1e6 / r["cycles_per_frame"] for r in sweep], "o-",
                             label=f"{target}, events")
        for t in tests:
            axes[1].plot(t["density"] * 100, mhz * 1e6 / t["cycles_per_frame"], "s", ms=8,
                         color=line.get_color())
        dense_mhz = fmax_of.get("dense", {}).get(target)
        if dense and dense_mhz:
            axes[1].axhline(dense_mhz * 1e6 / dense["cycles_per_frame"], color=line.get_color(),
                            ls="--", label=f"{target}, dense (its own Fmax)")
    axes[1].set(xlabel="non-zero input words, %", ylabel="frames/s at placed Fmax",
                yscale="log", title="frames per second (squares: test sets)")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    write_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def fps(fmax_of, label, key, cycles):
    mhz = fmax_of.get(label, {}).get(key, float("nan"))
    return mhz * 1e6 / cycles if not math.isnan(mhz) else float("nan")


def table(sweep, tests, dense, fmax_of, keys):
    from tabulate import tabulate

    from ipnet_mtj.gen.synth import TARGETS
    heads = ["input", "density %", "events/frame", "cycles/frame", "predicted", "over dense"]
    heads += [f"{TARGETS[k].name} frames/s" for k in keys]
    rows = []
    base = dense["cycles_per_frame"] if dense else float("nan")

    def row(name, density, events, cycles, predicted, label="events"):
        return [name, None if density is None else density * 100, events, cycles, predicted,
                cycles / base] + \
            [fps(fmax_of, label, k, cycles) for k in keys]
    for r in sweep:
        rows.append(row("sweep", r["density"], r["events_per_frame"], r["cycles_per_frame"],
                        r["predicted_cycles_per_frame"]))
    for t in tests:
        rows.append(row(f"{t['task']} test ({t['sequences']} seq.)", t["density"],
                        t["events_per_frame"], t["cycles_per_frame"],
                        t["predicted_cycles_per_frame"]))
    if dense:
        rows.append(row("dense twin (any density)", None, None, dense["cycles_per_frame"],
                        dense.get("predicted_cycles_per_frame"), "dense"))
    fmax = [f"{TARGETS[k].name} Fmax {fmax_of[label][k]:.1f} MHz ({label})"
            for label in fmax_of for k in keys]
    return tabulate(rows, headers=heads, tablefmt="plain", numalign="right", missingval="-",
                    floatfmt=("", ".1f", ".0f", ".0f", ".0f", ".3f")
                    + (".0f",) * len(keys)).splitlines() \
        + ([", ".join(fmax)] if fmax else [])


def ratios(sweep, tests, dense, fmax_of, keys, densities):
    """The issue's two ratios: event over dense frames/s on the UP5K at each test set's
    density (target >= 3), event over dense cycles at 100 % density (target <= 1.10)."""
    out = []
    if not dense:
        return out
    key = "ice40_up5k" if "ice40_up5k" in keys else (keys[0] if keys else None)
    if 100.0 in densities:
        full = sweep[densities.index(100.0)]["cycles_per_frame"]
        ratio = full / dense["cycles_per_frame"]
        out.append({"name": "full_density_cycles_over_dense", "value": ratio, "target": 1.10,
                    "met": ratio <= 1.10,
                    "line": f"100 % density: event cycles/frame {full:.0f} over dense "
                            f"{dense['cycles_per_frame']:.0f} = {ratio:.3f} (target <= 1.10: "
                            f"{'met' if ratio <= 1.10 else 'NOT met'})"})
        if key is not None:
            rate = (fps(fmax_of, "events", key, full)
                    / fps(fmax_of, "dense", key, dense["cycles_per_frame"]))
            out.append({"name": "full_density_frames_per_second_over_dense", "value": rate,
                        "target": 1 / 1.10, "met": rate >= 1 / 1.10,
                        "line": f"100 % density: event over dense {key} frames/s at placed "
                                f"Fmax = {rate:.3f} (target >= 1/1.10 = 0.909: "
                                f"{'met' if rate >= 1 / 1.10 else 'NOT met'})"})
    for t in tests:
        if key is None:
            ratio = dense["cycles_per_frame"] / t["cycles_per_frame"]
            what = "cycles"
        else:
            ratio = (fps(fmax_of, "events", key, t["cycles_per_frame"])
                     / fps(fmax_of, "dense", key, dense["cycles_per_frame"]))
            what = f"{key} frames/s at placed Fmax"
        out.append({"name": f"{t['task']}_speedup", "value": ratio, "target": 3.0,
                    "met": ratio >= 3.0, "basis": what,
                    "line": f"{t['task']} test set ({t['density'] * 100:.2f} % of words): event "
                            f"over dense {what} = {ratio:.2f}x (target >= 3: "
                            f"{'met' if ratio >= 3.0 else 'NOT met'})"})
    return out
