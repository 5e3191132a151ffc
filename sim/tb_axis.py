"""cocotb bench: the generated AXI4-Stream wrapper, driven by cocotbext-axi, against the golden model.

An ``AxiStreamSource`` sends each step (layer) or frame (network) as one AXI frame, ``tlast``
on its final beat; an ``AxiStreamSink`` takes the outputs; both pause at random. A
protocol checker samples ``m_axis`` at every rising edge of ``aclk`` and counts violations
of the AXI4-Stream rules the wrapper must keep as a source:

- once ``tvalid`` is high, it stays high, with ``tdata`` and ``tlast`` unchanged, until the
  transfer (``tready`` high);
- ``tvalid`` is low while ``aresetn`` has been low for a whole cycle.

Every output beat is compared with the golden model (:mod:`sw.reference` for the layer,
:mod:`sw.netref` for the network), field by field at the manifest's offsets; the output
frames must end with ``tlast`` exactly where a step or frame ends, and the error flag
must stay low.

Environment (set by :func:`sim.runner.run_axis_bench`): IPNET_KIND (``layer`` or
``network``), IPNET_BUILD (build folder), IPNET_SOURCE (design or network YAML),
IPNET_STIMULUS (.npz ``x``: (T, M) samples, or (T, C, H, W) event counts, each sent as one
byte of ``s_axis_tdata``: values past the data field's range are saturated by the wrapper and by
the golden model alike), IPNET_REPORT, IPNET_SEED.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource


def _pack(fields, values):
    """tdata words from per-field integer arrays at the manifest's offsets (two's complement)."""
    word = 0
    for name, f in fields.items():
        word = word | ((np.asarray(values[name], dtype=object) & ((1 << f["width"]) - 1))
                       << f["offset"])
    return word


def expected_layer(build, source, x):
    """Per step, the N output words, and the fields compared in each."""
    from ipnet_mtj.sw import reference
    from ipnet_mtj.sw.config import load_config
    from ipnet_mtj.sw.fixed import derive_fixed_point
    from ipnet_mtj.sw.fixed import sat_range
    fp = derive_fixed_point(load_config(source))
    x = np.clip(x, *sat_range(fp.x_width, True))     # the wrapper saturates, never wraps
    with np.load(build / "weights.npz") as z:
        y = reference.run(fp, z["weights"], z["biases"], x[None]).y[0]
    return [[int(v) for v in step] for step in y], None


def expected_network(build, source, x, fields):
    """Per frame, the class beats' words; and a mask per beat (the label only on the last)."""
    from ipnet_mtj.sw import netref
    from ipnet_mtj.hw.net_fold import resolve_lanes
    from ipnet_mtj.sw.network import derive_network, load_network
    net = derive_network(resolve_lanes(load_network(source)))
    with np.load(build / "weights.npz") as z:
        params = [(z[f"w{k}"], z[f"b{k}"]) for k in range(len(net.layers))]
    x = netref.quantise_frames(net, x)       # counts past the input width saturate, as sent
    trace = netref.run_network(net, params, x[None])
    label_mask = ((1 << fields["label"]["width"]) - 1) << fields["label"]["offset"]
    everything = sum(((1 << f["width"]) - 1) << f["offset"] for f in fields.values())
    frames, masks = [], []
    for t in range(x.shape[0]):
        words = [int(_pack(fields, {"index": c, "logit": trace.logits[0, t, c],
                                    "score": trace.score[0, t, c],
                                    "label": trace.label[0, t]}))
                 for c in range(net.classes)]
        frames.append(words)
        masks.append([everything & ~label_mask] * (net.classes - 1) + [everything])
    return frames, masks


def _value(signal):
    """A signal's value as an int, or None while it holds x or z (before the first reset)."""
    value = signal.value
    return int(value) if value.is_resolvable else None


class ProtocolChecker:
    """Counts AXI4-Stream source-rule violations on ``m_axis`` (see the module docstring)."""

    def __init__(self, dut, log):
        self.dut, self.log = dut, log
        self.violations, self.first = 0, []
        self.beats = 0

    def _bad(self, text):
        self.violations += 1
        if len(self.first) < 10:
            self.first.append(text)
            self.log.error("AXI4-Stream violation: %s", text)

    async def run(self):
        dut = self.dut
        prev = None
        cycle = 0
        while True:
            await RisingEdge(dut.aclk)
            cycle += 1
            now = tuple(_value(s) for s in (dut.aresetn, dut.m_axis_tvalid, dut.m_axis_tready,
                                             dut.m_axis_tdata, dut.m_axis_tlast))
            rst_n, valid, ready, tdata, tlast = now
            if rst_n and prev is not None and prev[0] and (valid is None or
                                                           (valid and None in now)):
                self._bad(f"cycle {cycle}: x or z on tvalid, or on tdata/tlast while valid")
            elif prev is not None:
                p_rst_n, p_valid, p_ready, p_tdata, p_tlast = prev
                if p_rst_n and rst_n and p_valid and not p_ready:
                    if not valid:
                        self._bad(f"cycle {cycle}: tvalid dropped before the transfer")
                    elif (tdata, tlast) != (p_tdata, p_tlast):
                        self._bad(f"cycle {cycle}: tdata/tlast changed while stalled")
                if not p_rst_n and not rst_n and valid:
                    self._bad(f"cycle {cycle}: tvalid high during reset")
            self.beats += bool(valid and ready and rst_n)
            prev = now


@cocotb.test()
async def axis_wrapper_matches_golden_model(dut):
    """Every output beat equals the golden model; no AXI4-Stream rule is broken."""
    kind = os.environ["IPNET_KIND"]
    build = Path(os.environ["IPNET_BUILD"])
    source = os.environ["IPNET_SOURCE"]
    manifest = json.loads((build / "manifest.json").read_text())
    axis = manifest["axis"]
    with np.load(os.environ["IPNET_STIMULUS"]) as z:
        x = z["x"]
    rng = random.Random(int(os.environ.get("IPNET_SEED", "1")))
    if kind == "layer":
        want, masks = expected_layer(build, source, x)
        sent = [[int(v) for v in step] for step in x]
    else:
        want, masks = expected_network(build, source, x, axis["m_axis"]["fields"])
        sent = [[int(v) for v in frame.transpose(1, 2, 0).reshape(-1)] for frame in x]
    data_mask = (1 << axis["s_axis"]["tdata_width"]) - 1

    cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
    dut.aresetn.value = 0
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.aclk, dut.aresetn,
                          reset_active_level=False, byte_lanes=1)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.aclk, dut.aresetn,
                         reset_active_level=False, byte_lanes=1)
    src.set_pause_generator(iter(lambda: rng.random() < 0.3, None))
    sink.set_pause_generator(iter(lambda: rng.random() < 0.4, None))
    checker = ProtocolChecker(dut, dut._log)
    cocotb.start_soon(checker.run())
    await ClockCycles(dut.aclk, 3)
    dut.aresetn.value = 1
    await ClockCycles(dut.aclk, 2)

    for step in sent:
        await src.send(AxiStreamFrame([v & data_mask for v in step]))
    compared = mismatches = 0
    first = []
    beats_out = len(want[0])
    cycles_per = 40 * (len(sent[0]) + beats_out) + 200_000
    for t, words in enumerate(want):
        try:
            frame = await with_timeout(sink.recv(), cycles_per * 10, "ns")
        except SimTimeoutError:
            mismatches += 1
            first.append(f"step {t}: no output frame within {cycles_per} cycles")
            break
        got = list(frame.tdata)
        mask = masks[t] if masks else [-1] * len(words)
        if len(got) != len(words):
            mismatches += 1
            first.append(f"step {t}: {len(got)} beats up to tlast, expected {len(words)}")
        for k, (g, w, m) in enumerate(zip(got, words, mask)):
            compared += 1
            if (g & m) != (w & m):
                mismatches += 1
                if len(first) < 10:
                    first.append(f"step {t} beat {k}: tdata {g:#x}, expected {w:#x}")
                    dut._log.error("mismatch: %s", first[-1])
    error = int(getattr(dut, axis["error"]).value)
    report = {"kind": kind, "steps": len(sent), "values_compared": compared,
              "mismatches": mismatches + error, "first_mismatches": first,
              "protocol_violations": checker.violations, "first_violations": checker.first,
              "beats_out": checker.beats, "error_flag": error}
    Path(os.environ["IPNET_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")
    assert not mismatches and not error, f"{mismatches} mismatches (error flag {error}): {first[:3]}"
    assert checker.violations == 0, f"{checker.violations} violations: {checker.first[:3]}"
