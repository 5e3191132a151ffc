"""The build report: one HTML page per network build folder, with figures, from its results.

``make sim``, ``make synth`` and ``make asic`` call :func:`write_report` at the end of their run; each
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
- the synthesis (``synth/synth_report.json``): resources, Fmax, frames per second;
- the ASIC flow (``asic/asic_report.json``, ``make asic``): cells, area per block, Fmax,
  frames per second, power and energy per frame and per neuron update, gate-level
  mismatches.

The page's words and markup are the template ``templates/report.html.j2``, filled here with
the folder's records. The page and the figure are written atomically; a result that is missing
is said so, not left out silently.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import jinja2
import markupsafe
import numpy as np

from ipnet_mtj.sw import fixed, netref
from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.device import coefficients
from ipnet_mtj.sw.network import describe

__all__ = ["write_report", "trace_figure"]

REPORT = "report.html"
FIGURE = "report-traces.png"
TEMPLATES = Path(__file__).resolve().parent / "templates"
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
    per = net.thermal.per_neuron               # read: both: the outputs are the even values
    return {"value": order(trace.act[k])[:, ::per], "theta": order(trace.theta),
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


def _trace(build, net, reports):
    """Draw the trace figure from the run with the most frames per sequence that recorded one:
    its simulator and whether hardware and golden model agree, or None."""
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
        return {"simulator": r["simulator"], "same": same}
    return None


def _escape(value):
    """A value as the page shows it: escaped as html.escape does (quotes too), unless it is
    already HTML (a table)."""
    return value if hasattr(value, "__html__") else markupsafe.Markup(html.escape(str(value)))


def _environment():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"],
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             autoescape=True, finalize=_escape)
    env.filters.update(fmt=format)
    env.globals.update(table=lambda *a, **k: markupsafe.Markup(_table(*a, **k)))
    return env


def _record(path):
    return json.loads(path.read_text()) if path.exists() else None


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
    sim = _record(build / "sim_report.json")
    page = _environment().get_template(REPORT + ".j2").render(
        m=json.loads((build / "manifest.json").read_text()), sim=sim,
        trace=_trace(build, net, sim["reports"]) if sim else None, figure=FIGURE,
        formats="\n".join(describe(net)), quantisation=net.thermal.fp.quantisation,
        synth=_record(build / "synth" / "synth_report.json"),
        asic=_record(build / "asic" / "asic_report.json"),
        gate=_record(build / "gate" / "gate_report.json"),
        layout=_record(build / "layout" / "layout_report.json"))
    out = build / REPORT
    write_atomically(out, lambda tmp: Path(tmp).write_text(page))
    return out
