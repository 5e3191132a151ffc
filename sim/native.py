"""The network bench at Verilator's own speed: the clock and the sequence loop in C++.

The cocotb bench (:mod:`sim.tb_network`) already keeps the stimulus and the responses in
the harness's memories (:mod:`sim.harness`), but cocotb needs Verilator built with VPI and
public signals, and keeps a Python scheduler on every clock edge. Here the same harness is
built with a small C++ main (``templates/native_main.cpp``) and nothing else: no VPI, no
cocotb, no Python while it runs. The main drives the harness exactly as the cocotb bench
does (the reset, the start pulse, the handshake stress of each sequence, one extra edge
after ``done``), one sequence after another in its own folder, where the harness reads
``stim.hex`` and writes ``mon.hex``, ``y.hex`` and ``end.hex``. Python then compares every recorded
value of every sequence with the golden model, with the cocotb bench's own functions
(:mod:`sim.network_check`): the same values, compared the same way, the same report.

Shards: the build is made once; contiguous shards of sequences run as jobs on the flow's
job runner, each a process of the built binary followed by its comparison, in
``<work>/native/shard<k>``; their reports merge as the cocotb shards' do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

from ipnet_mtj.gen.toolchain import run_tool, simulator_available

from .harness import frame_cycles, stimulus_hex

__all__ = ["build_native", "run_native_shard", "run_network_native"]

MAIN = Path(__file__).parent / "templates" / "native_main.cpp"
BINARY = "net_native"
STRESS = ((0, 0), (77, 0), (0, 128), (77, 77))     #: as the cocotb bench's, cycled per sequence


def build_native(build_dir, work_dir, max_frames, jobs=2):
    """Build the harness of the accelerator in ``build_dir`` with the C++ main; the binary."""
    from .harness import HARNESS_TOP, harness_verilog
    from .runner import _HARNESS_VERILATOR_ARGS, _bench_inputs
    ok, why = simulator_available("verilator")
    if not ok:
        raise RuntimeError(f"verilator: {why}")
    build_dir, manifest, _, dut = _bench_inputs("verilator", build_dir, work_dir)
    work = Path(work_dir).resolve() / "native"
    shutil.rmtree(work / "obj", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    harness = work / f"{HARNESS_TOP}.v"
    harness.write_text(harness_verilog(manifest, max_frames))
    shutil.copy(MAIN, work / MAIN.name)
    cmd = ["verilator", "--cc", "--exe", "--build", "-j", str(jobs), *_HARNESS_VERILATOR_ARGS,
           "--top-module", HARNESS_TOP, "--Mdir", "obj", "-o", BINARY,
           str(dut), harness.name, MAIN.name]
    run_tool(cmd, work / "build.log", cwd=work)
    return work / "obj" / BINARY


def _widths(manifest):
    from .harness import MONITOR_FIELDS
    ports = {p["name"]: p for p in manifest["ports"]}
    widths = {
        "monitor": {f: ports[f"monitor__{f}"]["width"] for f in MONITOR_FIELDS},
        "y": {name: f["width"] for name, f in
              sorted(ports["y__payload"]["fields"].items(), key=lambda kv: -kv[1]["offset"])},
    }
    signed = {name: f["signed"] for name, f in ports["y__payload"]["fields"].items()}
    return widths, signed


class _Log:
    """The scoreboard's log: mismatches kept in a list (the shard's report carries them)."""
    def __init__(self):
        self.lines = []

    def error(self, fmt, *args):
        self.lines.append(fmt % args)

    info = error


def run_native_shard(binary, network_path, build_dir, stimulus, lo, hi, stress, folder,
                     trace_path=None):
    """Sequences ``lo``..``hi - 1`` of ``stimulus`` through the built binary, then every value
    compared with the golden model; the shard's report (the cocotb bench's keys), with
    ``error`` set when the simulation failed."""
    from ipnet_mtj.sw import netref
    from ipnet_mtj.hw.net_fold import resolve_lanes
    from ipnet_mtj.sw.network import derive_network, load_network

    from .network_check import check_sequence, hardware_trace
    from .scoreboard import Scoreboard, read_hex
    began = time.perf_counter()
    cfg = resolve_lanes(load_network(network_path))
    net = derive_network(cfg)
    build = Path(build_dir)
    manifest = json.loads((build / "manifest.json").read_text())
    with np.load(build / "weights.npz") as z:
        params = [(z[f"w{k}"], z[f"b{k}"]) for k in range(len(net.layers))]
    with np.load(stimulus) as z:
        xs, labels = z["x"][lo:hi], np.asarray(z["y"][lo:hi])
    widths, signed = _widths(manifest)
    folder = Path(folder).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    plan = []
    for seq, frames in enumerate(xs, start=lo):
        d = folder / f"seq{seq:05d}"
        d.mkdir()
        text, beats = stimulus_hex(manifest, frames)
        (d / "stim.hex").write_text(text)
        gap, stall = STRESS[seq % len(STRESS)] if stress else (0, 0)
        max_cycles = 200 * frames.shape[0] * (net.macs // net.lanes + 5000)
        plan.append(f"{d} {frames.shape[0]} {beats} {0xACE1 + seq} {gap} {0x1D87 + seq} {stall} "
                    f"{max_cycles}")
    (folder / "plan.txt").write_text("\n".join(plan) + "\n")
    progress = folder / "progress.txt"
    sim_began = time.perf_counter()
    proc = subprocess.run([str(binary), str(folder / "plan.txt"), str(progress), str(len(xs))],
                          capture_output=True, text=True)
    sim_s = time.perf_counter() - sim_began
    base = {"network": cfg.name, "simulator": "verilator", "bench": "native",
            "sequence_offset": lo, "stress": stress}
    if proc.returncode:
        return {**base, "error": f"verilator (native): exit {proc.returncode}: "
                                 f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"}
    log = _Log()
    board = Scoreboard(log)
    hw_pred, golden_pred, cycles, frames_done, per_frame = [], [], 0, 0, []
    for seq, frames in enumerate(xs, start=lo):
        d = folder / f"seq{seq:05d}"
        trace = netref.run_network(net, params, frames[None], keep=tuple(range(len(net.layers))),
                                   keep_theta=True)
        mon, ys = read_hex(d / "mon.hex"), read_hex(d / "y.hex")
        hw_pred.append(check_sequence(board, net, widths, mon, ys, trace, seq))
        seq_cycles, frame_error = (int(v) for v in (d / "result.txt").read_text().split())
        board.compare(f"seq {seq} frame_error", frame_error, 0)
        if seq == lo and trace_path:
            record = hardware_trace(net, widths, signed, mon, ys, frames.shape[0])
            if record is not None:
                np.savez(trace_path, x=frames, **record)
        golden_pred.append(int(trace.label[0, -1]))
        cycles += seq_cycles
        per_frame.append(frame_cycles(read_hex(d / "end.hex")))
        frames_done += frames.shape[0]
    # the bar showed the simulation's progress; now the shard's compared values and mismatches
    progress.write_text(f"{len(xs)} {len(xs)} {board.compared} {board.mismatches} "
                        f"{frames_done}\n")
    return {
        **base, "sequences": len(xs), "frames": frames_done,
        "values_compared": board.compared, "mismatches": board.mismatches,
        "first_mismatches": board.first,
        "hardware_accuracy": float(np.mean(np.asarray(hw_pred) == labels)),
        "golden_accuracy": float(np.mean(np.asarray(golden_pred) == labels)),
        "same_prediction": int(sum(h == g for h, g in zip(hw_pred, golden_pred))),
        "predictions": hw_pred, "cycles": cycles, "frame_cycles": per_frame,
        "cycles_per_frame": cycles / max(frames_done, 1),
        "wall_s": time.perf_counter() - began, "simulation_s": sim_s,
    }


def run_network_native(build_dir, network_path, stimulus, work_dir, stress=True,
                       show_progress=False, runner=None):
    """The native bench over every sequence of ``stimulus`` (.npz ``x``, ``y``): built once,
    run in contiguous shards (one per worker of an entered ``runner``; one without), reports
    merged; written to ``<work>/native/report.json``.

    Raises
    ------
    RuntimeError
        When the build or a shard fails, or a value mismatches.
    """
    from .cocotb_run import progress_bar
    from .shards import merge_shard_reports
    with np.load(stimulus) as z:
        count, max_frames = int(z["x"].shape[0]), int(z["x"].shape[1])
    build_began = time.perf_counter()
    binary = build_native(build_dir, work_dir, max_frames)
    build_s = time.perf_counter() - build_began
    work = Path(work_dir).resolve() / "native"
    workers = 1 if runner is None else max(1, min(runner.workers, count))
    bounds = np.linspace(0, count, workers + 1).astype(int)
    shards = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    trace = Path(work_dir).resolve() / "verilator" / "trace.npz"
    trace.parent.mkdir(parents=True, exist_ok=True)
    trace.unlink(missing_ok=True)
    args = [(binary, str(Path(network_path).resolve()), str(Path(build_dir).resolve()),
             str(Path(stimulus).resolve()), lo, hi, stress, work / f"shard{k}",
             str(trace) if k == 0 else None) for k, (lo, hi) in enumerate(shards)]
    stop = threading.Event()
    watcher = threading.Thread(target=progress_bar, args=(
        "verilator", [a[7] / "progress.txt" for a in args], stop, show_progress))
    watcher.start()
    began = time.perf_counter()
    try:
        if runner is None:
            reports = [run_native_shard(*a) for a in args]
        else:
            reports = runner.map(run_native_shard, args)
    finally:
        stop.set()
        watcher.join()
    failed = [r["error"] for r in reports if "error" in r]
    if failed:
        raise RuntimeError(failed[0])
    report = merge_shard_reports(reports) if len(reports) > 1 else {**reports[0], "shards": 1}
    report.update(bench="native", build_s=build_s, wall_s=time.perf_counter() - began,
                  simulation_s=max(r["simulation_s"] for r in reports))
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if report["mismatches"]:
        raise RuntimeError(f"verilator (native): {report['mismatches']} mismatches, first: "
                           f"{report['first_mismatches'][:3]}")
    return report
