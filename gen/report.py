"""The build report: one HTML page per network build folder, with figures, from its results.

``make sim`` and ``make synth`` call :func:`write_report` at the end of their run; each
rewrites ``build/<name>/report.html`` from whatever results the folder holds, so the page
grows as the flow runs:

- the checkpoint: where the weights came from, float/QAT/integer accuracy, junction heat
  against the device card (``manifest.json``);
- the simulation (``sim_report.json``): per simulator, sequences, values compared,
  mismatches, accuracy; and ``report-traces.png``: for the first test sequence, the
  hardware's own record (``sim/<simulator>/trace.npz``, written by the cocotb bench) over
  the golden model's, recomputed here from the build's weights: heat in kelvin, the
  switching threshold that heat leaves, the neurons' outputs, and the class scores;
- the fixed-point formats of every layer and the thermal coefficients' quantisation;
- the synthesis (``synth/synth_report.json``): resources, Fmax, frames per second.

The page and the figure are written atomically; a result that is missing is said so, not
left out silently.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from ipnet_mtj.sw import fixed, netref
from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.device import coefficients
from ipnet_mtj.sw.network import describe

__all__ = ["write_report", "trace_figure"]

REPORT = "report.html"
FIGURE = "report-traces.png"
NEURONS = 4          #: neurons drawn: the ones whose golden heat varies most in the sequence


def _table(headers, rows, floatfmt="g"):
    from tabulate import tabulate
    return tabulate(rows, headers=headers, tablefmt="html", floatfmt=floatfmt)


def _golden(net, build, x):
    with np.load(build / "weights.npz") as z:
        params = [(z[f"w{k}"], z[f"b{k}"]) for k in range(len(net.layers))]
    k = net.layers.index(net.thermal)
    trace = netref.run_network(net, params, x[None], keep=(k,), keep_theta=True)
    order = lambda a: a[0].transpose(0, 2, 3, 1).reshape(a.shape[1], -1)   # noqa: E731 (h, w, c)
    return {"value": order(trace.act[k]), "theta": order(trace.theta),
            "score": trace.score[0], "label": trace.label[0]}


def trace_figure(net, hw, golden, label, path, simulator):
    """Hardware (markers) over golden model (lines) for the first sequence; a PNG at ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fp = net.thermal.fp
    kappa = coefficients(net.design.device).kappa_K
    t0 = net.design.device.T0_K
    pick = np.argsort(-golden["theta"].std(axis=0), kind="stable")[:NEURONS]
    frames = np.arange(1, golden["theta"].shape[0] + 1)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    kelvin = lambda th: t0 + kappa * th * 2.0 ** -fp.theta_frac       # noqa: E731
    thr = lambda th: fixed.threshold(fixed.INT_OPS, fp, th) * 2.0 ** -fp.i_frac   # noqa: E731
    out = lambda v: v / ((1 << fp.y_width) - 1)                          # noqa: E731
    panels = ((axes[0, 0], kelvin, "theta", "junction temperature [K]"),
              (axes[0, 1], thr, "theta", "switching threshold after the frame [I_c0]"),
              (axes[1, 0], out, "value", "output (switching probability)"))
    for ax, conv, key, ylabel in panels:
        for c, n in zip(colours, pick):
            ax.plot(frames, conv(golden[key][:, n]), "-", color=c, lw=1.2,
                    label=f"neuron {n} golden")
            ax.plot(frames, conv(hw[key][:, n]), "o", color=c, ms=4, mfc="none",
                    label=f"neuron {n} hardware")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0, 0].axhline(net.design.device.Tc_K, color="k", ls=":", lw=1)
    axes[0, 0].text(frames[0], net.design.device.Tc_K, " Curie temperature", va="bottom",
                    fontsize=8)
    ax = axes[1, 1]
    for c, j in zip(colours * 4, range(net.classes)):
        ax.plot(frames, golden["score"][:, j], "-", color=c, lw=1,
                alpha=1.0 if j == label else 0.35)
        ax.plot(frames, hw["score"][:, j], "o", color=c, ms=3, mfc="none",
                alpha=1.0 if j == label else 0.35)
    ax.set_ylabel(f"class scores (true class {label} bold)")
    ax.grid(alpha=0.3)
    for a in axes[1]:
        a.set_xlabel("frame")
    axes[0, 0].legend(fontsize=7, ncol=2, loc="lower right")
    same = all(np.array_equal(hw[k], golden[k]) for k in ("theta", "value", "score"))
    fig.suptitle(f"{net.name}, first test sequence on {simulator}: hardware (o) over golden "
                 f"model (-); {'identical' if same else 'DIFFERENT'}")
    fig.tight_layout()
    write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return same


def _checkpoint_section(m):
    cp = m.get("checkpoint") or {}
    acc = cp.get("accuracy") or {}
    phys = cp.get("physics") or {}
    rows = [["weights", cp.get("file")], ["commit", cp.get("commit")],
            ["trained by", cp.get("command")], ["task", cp.get("task")]]
    rows += [[f"{k} accuracy (whole test set)", f"{v:.4f}"] for k, v in acc.items()]
    if phys:
        rows += [["max / p99 junction temperature",
                  f"{phys['max_temperature_K']:.0f} K / {phys['p99_temperature_K']:.0f} K "
                  f"(Curie {phys['Tc_K']:.0f} K)"],
                 ["bound the formats guarantee", f"{phys['temperature_bound_K']:.0f} K"]]
    return "<h2>Checkpoint</h2>" + _table(["", ""], rows)


def _sim_section(build, net):
    path = build / "sim_report.json"
    if not path.exists():
        return "<h2>Simulation</h2><p>No simulation yet: run <code>make sim</code>.</p>", None
    summary = json.loads(path.read_text())
    reports = summary["reports"]
    rows = [[r["simulator"], r["sequences"], r["frames"], r["values_compared"], r["mismatches"],
             r["hardware_accuracy"], r["golden_accuracy"], r["same_prediction"],
             r["cycles_per_frame"]] for r in reports]
    text = ["<h2>Simulation: hardware against the integer golden model</h2>",
            _table(["simulator", "sequences", "frames", "values compared", "mismatches",
                    "hardware accuracy", "golden accuracy", "same prediction", "cycles/frame"],
                   rows, floatfmt=("", "", "", "", "", ".4f", ".4f", "", ".0f")),
            f"<p><b>{sum(r['mismatches'] for r in reports)} mismatches</b> in "
            f"{sum(r['values_compared'] for r in reports)} values compared.</p>"]
    same = None
    for r in sorted(reports, key=lambda r: -r["frames"] / max(r["sequences"], 1)):
        trace = build / "sim" / r["simulator"] / "trace.npz"
        if not trace.exists():
            continue
        with np.load(trace) as z:
            hw = {k: z[k] for k in z.files}
        golden = _golden(net, build, hw["x"])
        with np.load(build / "sim" / f"{r['simulator']}_stimulus.npz") as z:
            label = int(z["y"][0])
        same = trace_figure(net, hw, golden, label, build / FIGURE, r["simulator"])
        text.append(f'<p><img src="{FIGURE}" alt="hardware and golden traces"></p>'
                    f"<p>Traces of the first test sequence as the {r['simulator']} run recorded "
                    f"them (markers) over the golden model recomputed from the build's weights "
                    f"(lines): {'identical' if same else 'they differ'}.</p>")
        break
    else:
        text.append("<p>No hardware trace was recorded (the first sequence's records were not "
                    "well formed, or the run predates traces).</p>")
    return "".join(text), same


def _formats_section(net):
    rows = [[name, f"{real:.6g}", f"{quant:.6g}", f"{err:.2e}"]
            for name, real, quant, err in net.thermal.fp.quantisation]
    return ("<h2>Fixed point</h2><pre>" + html.escape("\n".join(describe(net))) + "</pre>"
            "<h3>Thermal coefficients: device value and fixed-point value</h3>"
            + _table(["coefficient", "device", "fixed point", "relative error"], rows))


def _synth_section(build):
    path = build / "synth" / "synth_report.json"
    if not path.exists():
        return "<h2>Synthesis</h2><p>No synthesis yet: run <code>make synth</code>.</p>"
    s = json.loads(path.read_text())
    cycles = s["cycles_per_frame"]
    rows = [[r["target"], r["lut"], r["ff"], r["bram"], r["spram"], r["dsp"], r["fmax_mhz"],
             r["fmax_mhz"] * 1e6 / cycles, "yes" if r["fits"] else "NO"] for r in s["targets"]]
    return ("<h2>Synthesis</h2>"
            + _table(["target", "LUT", "FF", "BRAM", "SPRAM", "DSP", "Fmax MHz", "frames/s",
                      "fits"], rows, floatfmt=".1f")
            + f"<p>{cycles} cycles per frame (MAC bound {s['mac_bound']:.0f}).</p>")


def write_report(build_dir, net):
    """Write ``build_dir/report.html`` (and its figure) from the folder's results; its path.

    Parameters
    ----------
    build_dir : path
        A build folder of :func:`gen.network.generate_network`.
    net : sw.network.NetFixed
        The network it was generated from.
    """
    build = Path(build_dir)
    m = json.loads((build / "manifest.json").read_text())
    sim, _ = _sim_section(build, net)
    page = "".join([
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(m['network'])}: build report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>{html.escape(m['network'])}: build report</h1>",
        f"<p>Network {html.escape(m['network_file'])}, {m['lanes']} lanes, "
        f"{m['macs_per_frame']} MACs per frame, {m['classes']} classes.</p>",
        _checkpoint_section(m), sim, _formats_section(net), _synth_section(build),
        "</body></html>\n"])
    out = build / REPORT
    write_atomically(out, lambda tmp: Path(tmp).write_text(page))
    return out
