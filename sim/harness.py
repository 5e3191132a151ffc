"""Verilog harnesses that keep Python out of the clock loop, for the layer and the network.

Per-cycle Python is the bottleneck of a cocotb bench (about 40k cycles/s on Verilator for
the single layer). In a harness the stimulus and the responses live in simulation-side
memories instead: the bench writes a run's input words to ``stim.hex``
(``$readmemh``), pulses ``start`` and waits for ``done``. Meanwhile the harness streams the
words into the design's ``x`` port (``last`` on every frame's final beat, pseudo-random gaps
from an LFSR the bench seeds), takes ``y`` under pseudo-random backpressure (a second LFSR),
records the responses, writes them with ``$writememh`` one cycle after the run's end and
raises ``done``. Both LFSRs step ``s >> 1``, XOR ``0xB400`` when the bit shifted out is 1
(a maximal 16-bit Galois LFSR), and only while their probability is non-zero; a beat is
withheld (``y.ready`` held low) in a cycle whose LFSR's low byte is below the probability.

The two harnesses share one template (``templates/harness.v.j2``) and differ in what they
record and when a run ends:

* the single layer (:func:`layer_harness_verilog`, bench :mod:`sim.tb_regress`): a chunk of
  ``beats`` input beats, which may end inside a step (the bench then resets the layer, which
  must drop the partial step); every ``y`` beat to ``y.hex`` and every ``state`` strobe to
  ``s.hex``; the run ends when all beats are in and ``outputs`` outputs and heats are out;
* the network (:func:`harness_verilog`, bench :mod:`sim.tb_network`): ``frames`` whole
  frames in ``beats`` stimulus words (:func:`stimulus_hex`: with event input a word is a
  whole beat, ``last`` included, and frames differ in length); every monitor strobe to ``mon.hex`` (fields :data:`MONITOR_FIELDS`, high to low)
  and every ``y`` beat to ``y.hex``; the run ends with the last frame's label. ``end.hex``
  holds, per frame, the harness's ``cycles`` count (cycles since ``start``) at the handshake
  of the frame's last ``y`` beat: frame k's cost is the difference of entries k and k - 1
  (:func:`frame_cycles`).

The Verilog follows the build's manifest (port names and widths come from the component's
signature), so it tracks the design when the configuration changes. Plain Verilog-2005 that
Icarus and Verilator both run.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

__all__ = ["layer_harness_verilog", "harness_verilog", "stimulus_hex", "frame_cycles", "LAYER_HARNESS_TOP", "HARNESS_TOP",
           "MONITOR_FIELDS"]

LAYER_HARNESS_TOP = "layer_harness"
HARNESS_TOP = "net_harness"
MONITOR_FIELDS = ("layer", "index", "value", "theta")     #: packed high to low in a monitor word

TEMPLATES = Path(__file__).parent / "templates"


def _render(template, **context):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    env.filters["prefix"] = lambda value, text: f"{text}{value}"
    return env.get_template(template).render(**context)


def _is_events(ports):
    """Event input (``hardware.input: events``): ``x`` carries events, not words."""
    return "count" in ports["x__payload"]["fields"]


def stimulus_hex(manifest, frames):
    """The ``stim.hex`` text of one sequence ``frames`` (T, C, H, W quantised) and its beats.

    Dense input: the words of every frame, channels-last (the harness adds ``last``). Event
    input: every frame's events (:func:`hw.net_event_plan.event_beats`), each beat's whole
    payload packed at the manifest's field offsets, ``last`` included.
    """
    import numpy as np

    from ipnet_mtj.hw.net_event_plan import event_beats
    ports = {p["name"]: p for p in manifest["ports"]}
    x = ports["x__payload"]
    if _is_events(ports):
        f = x["fields"]
        order = ("count", "channel", "col", "row", "last")
        words = np.array([sum(v << f[name]["offset"] for name, v in zip(order, beat))
                          for frame in frames for beat in event_beats(frame)], dtype=np.int64)
        width = x["width"]
    else:
        words = np.asarray(frames).transpose(0, 2, 3, 1).reshape(-1).astype(np.int64)
        width = x["fields"]["data"]["width"]
    digits = (width + 3) // 4
    text = "\n".join(np.char.zfill(np.char.mod("%x", words), digits)) + "\n"
    return text, len(words)


def frame_cycles(ends):
    """Each frame's cycles from the ``end.hex`` entries of a run: the first frame's latency
    from ``start`` (its input, the whole pipeline and its label), then the gaps between
    consecutive frames' last label beats (a frame's cost while input keeps coming)."""
    ends = [int(e) for e in ends]
    return [e - p for e, p in zip(ends, [0] + ends[:-1])]


def _input_port(ports):
    """Width of ``x``'s data; the framed layout must hold data at bit 0 and ``last`` above.
    With event input the whole payload (its ``last`` included) is one stimulus word."""
    x = ports["x__payload"]["fields"]
    if _is_events(ports):
        return ports["x__payload"]["width"]
    in_w = x["data"]["width"]
    if (x["data"]["offset"], x["last"]["offset"]) != (0, in_w):
        raise ValueError(f"x__payload fields {x}: expected data at bit 0, last above it")
    return in_w


def layer_harness_verilog(manifest, max_beats, max_outputs):
    """Verilog text of the harness for the layer described by ``manifest``.

    Parameters
    ----------
    manifest : dict
        The build's manifest.json (gen.design).
    max_beats, max_outputs : int
        Input beats and outputs per chunk the memories hold.
    """
    ports = {p["name"]: p for p in manifest["ports"]}
    return _render(
        "layer_harness.v.j2", module=LAYER_HARNESS_TOP, top=manifest["design"],
        stim_file="stim.hex", y_file="y.hex", s_file="s.hex", error="step_error",
        in_w=_input_port(ports), y_w=ports["y__payload"]["width"],
        idx_w=ports["state__index"]["width"], th_w=ports["state__theta"]["width"],
        frame_words=manifest["fixed_point"]["inputs"], stim_depth=max_beats,
        y_depth=max_outputs,
        dut_ports=[".step_error(step_error)", ".state__valid(state__valid)",
                   ".state__index(state__index)", ".state__theta(state__theta)"])


def harness_verilog(manifest, max_frames, stim_file="stim.hex", mon_file="mon.hex",
                    y_file="y.hex", end_file="end.hex"):
    """Verilog text of the harness for the accelerator described by ``manifest``.

    Parameters
    ----------
    manifest : dict
        The build's manifest.json (gen.network).
    max_frames : int
        Frames per sequence the memories hold.
    """
    ports = {p["name"]: p for p in manifest["ports"]}
    frame_words = 1
    for d in manifest["layers"][0]["in_shape"]:
        frame_words *= d
    per_frame = sum(layer["outputs"] for layer in manifest["layers"])   # monitor records
    monitor = {f: ports[f"monitor__{f}"]["width"] for f in MONITOR_FIELDS}
    return _render(
        "net_harness.v.j2", module=HARNESS_TOP, top=manifest["network"],
        events=_is_events(ports),
        stim_file=stim_file, mon_file=mon_file, y_file=y_file, end_file=end_file,
        in_w=_input_port(ports), y_w=ports["y__payload"]["width"],
        last_bit=ports["y__payload"]["fields"]["last"]["offset"],
        monitor=monitor, mon_w=sum(monitor.values()), mon_depth=max_frames * per_frame,
        frame_words=frame_words, stim_depth=max_frames * frame_words,
        y_depth=max_frames * manifest["classes"], end_depth=max_frames,
        dut_ports=[".frame_error(frame_error)"]
        + [f".monitor__{f}(monitor__{f})" for f in ("valid",) + MONITOR_FIELDS])
