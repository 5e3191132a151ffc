"""cocotb bench: the generated network accelerator against the integer golden model, every value.

Python wakes once per sequence (sim/harness.py holds stimulus and
responses in simulation memories). For each test sequence the bench writes
its frames, resets the accelerator, starts the harness with a handshake-stress
setting, waits for the last label, and then compares, frame by frame:

- every output of every layer (the thermal layer's LUT words, ReLU
  activations, logits), in the accelerator's channels-last index order,
- every thermal neuron's heat after the frame,
- every class beat: logit, running score, and the label after the frame,

with :func:`sw.netref.run_network` (driver = harness, monitor = its
recorded memories, model = golden model, scoreboard below, after cocotb's
matrix-multiplier example). The label after the last frame is the
hardware's prediction; its accuracy is reported beside the golden model's.

Environment (set by sim.runner.run_network_bench): IPNET_NETWORK (network
YAML), IPNET_BUILD (build folder: manifest.json, weights.npz), IPNET_STIMULUS
(.npz with ``x`` (S, T, C, H, W) input integers and ``y`` labels),
IPNET_REPORT, IPNET_PROGRESS (optional), IPNET_STRESS (``on``/``off``), IPNET_TRACE
(optional: where to save the hardware's record of the first sequence, for the
build report's figures), IPNET_SEQUENCE_OFFSET (optional, default 0: the index of
the stimulus's first sequence in the whole run, when the run is split into
shards; the handshake stress, its seeds and the names in mismatch messages use
the whole run's index, so a sharded run drives every sequence exactly as an
unsharded one).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout

from ipnet_mtj.hw.net_fold import resolve_lanes
from ipnet_mtj.sim.harness import MONITOR_FIELDS, frame_cycles, stimulus_hex
from ipnet_mtj.sim.network_check import check_sequence, hardware_trace
from ipnet_mtj.sim.scoreboard import Scoreboard, read_hex
from ipnet_mtj.sw import netref
from ipnet_mtj.sw.network import derive_network, load_network

STRESS = ((0, 0), (77, 0), (0, 128), (77, 77))     #: (gap, stall) out of 256, cycled per sequence


@cocotb.test()
async def network_matches_golden_model(dut):
    """Every layer's every value, every heat, logit, score and label equals the golden model."""
    cfg = resolve_lanes(load_network(os.environ["IPNET_NETWORK"]))
    net = derive_network(cfg)
    build = Path(os.environ["IPNET_BUILD"])
    manifest = json.loads((build / "manifest.json").read_text())
    with np.load(build / "weights.npz") as z:
        params = [(z[f"w{k}"], z[f"b{k}"]) for k in range(len(net.layers))]
    with np.load(os.environ["IPNET_STIMULUS"]) as z:
        xs, labels = z["x"], z["y"]
    stress = os.environ.get("IPNET_STRESS", "on") == "on"
    ports = {p["name"]: p for p in manifest["ports"]}
    widths = {
        "monitor": {f: ports[f"monitor__{f}"]["width"] for f in MONITOR_FIELDS},
        "y": {name: f["width"] for name, f in
              sorted(ports["y__payload"]["fields"].items(), key=lambda kv: -kv[1]["offset"])},
    }
    signed = {name: f["signed"] for name, f in ports["y__payload"]["fields"].items()}
    board = Scoreboard(dut._log)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    for name in ("start", "frames", "beats", "gap_seed", "gap_prob", "stall_seed", "stall_prob"):
        getattr(dut, name).value = 0
    progress = os.environ.get("IPNET_PROGRESS")
    began = time.perf_counter()
    cycles = frames_done = 0
    hw_pred, golden_pred, per_frame = [], [], []
    offset = int(os.environ.get("IPNET_SEQUENCE_OFFSET", "0"))
    for seq, frames in enumerate(xs, start=offset):
        steps = frames.shape[0]
        text, beats = stimulus_hex(manifest, frames)
        Path("stim.hex").write_text(text)
        gap, stall = STRESS[seq % len(STRESS)] if stress else (0, 0)
        dut.rst.value = 1
        await ClockCycles(dut.clk, 2)
        dut.rst.value = 0
        dut.frames.value = steps
        dut.beats.value = beats
        dut.gap_seed.value = 0xACE1 + seq
        dut.gap_prob.value = gap
        dut.stall_seed.value = 0x1D87 + seq
        dut.stall_prob.value = stall
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        await with_timeout(RisingEdge(dut.done), 2000 * steps * (net.macs // net.lanes + 5000),
                           "ns")
        await RisingEdge(dut.clk)
        trace = netref.run_network(net, params, frames[None], keep=tuple(range(len(net.layers))),
                                   keep_theta=True)
        mon = read_hex("mon.hex")
        ys = read_hex("y.hex")
        hw_pred.append(check_sequence(board, net, widths, mon, ys, trace, seq))
        board.compare(f"seq {seq} frame_error", int(dut.frame_error.value), 0)
        if seq == offset and os.environ.get("IPNET_TRACE"):
            record = hardware_trace(net, widths, signed, mon, ys, steps)
            if record is not None:
                np.savez(os.environ["IPNET_TRACE"], x=frames, **record)
        golden_pred.append(int(trace.label[0, -1]))
        cycles += int(dut.cycles.value)
        per_frame.append(frame_cycles(read_hex("end.hex")))
        frames_done += steps
        if progress:
            Path(progress).write_text(f"{seq + 1 - offset} {len(xs)} {board.compared} "
                                      f"{board.mismatches} {frames_done}\n")
    labels = np.asarray(labels)[:len(xs)]
    report = {
        "network": cfg.name,
        "sequences": len(xs),
        "sequence_offset": offset,
        "frames": frames_done,
        "values_compared": board.compared,
        "mismatches": board.mismatches,
        "first_mismatches": board.first,
        "hardware_accuracy": float(np.mean(np.asarray(hw_pred) == labels)),
        "golden_accuracy": float(np.mean(np.asarray(golden_pred) == labels)),
        "same_prediction": int(sum(h == g for h, g in zip(hw_pred, golden_pred))),
        "predictions": hw_pred,
        "cycles": cycles,
        "cycles_per_frame": cycles / max(frames_done, 1),
        "frame_cycles": per_frame,
        "stress": stress,
        "wall_s": time.perf_counter() - began,
    }
    Path(os.environ["IPNET_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")
    dut._log.info("compared %d values over %d sequences: %d mismatches; hardware accuracy %.4f, "
                  "golden %.4f", board.compared, len(xs), board.mismatches,
                  report["hardware_accuracy"], report["golden_accuracy"])
    assert board.mismatches == 0, f"{board.mismatches} mismatches, first: {board.first[:3]}"
