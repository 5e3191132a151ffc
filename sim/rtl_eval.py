"""The generated Verilog in the loop: predictions of a trained network from its RTL.

Like FINN's rtlsim and hls4ml's ``predict`` on a compiled model: :func:`predict_rtl` runs
sequences of event frames through the accelerator's Verilog under Verilator (the cocotb bench
of :mod:`sim.tb_network`, without handshake stress) and returns the label the hardware gives
after each sequence's last frame. The bench still compares every value with the golden model
on the way, so a prediction never comes from hardware that disagrees with it silently.

:func:`evaluate_rtl` is ``ipnet eval NETWORK --backend rtl``: the test sequences through
the RTL and through the integer golden model (:func:`sw.netref.predict`, in this process),
accuracy of each and how many predictions agree, and frames per second. The sequences are
independent: the Verilator build is made once and they run in shards on the flow's job runner
(``--workers``, default the machine's cores; ``--cluster ADDRESS`` for a Ray cluster; one
local worker runs them in this process), merged into one report with the figures of one run.

Python API::

    from ipnet_mtj.gen.network import generate_network, load_network_design
    from ipnet_mtj.sim.rtl_eval import predict_rtl
    design = load_network_design("configs/network.yaml")
    labels = predict_rtl(design, frames)          # frames: (S, T, C, H, W) event counts
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.sw import netref
from ipnet_mtj.sw.cli import UsageError
from ipnet_mtj.sw.jobs import runner_from_args

from .network import load_test_sequences
from .runner import run_network_bench, simulator_available

__all__ = ["predict_rtl", "evaluate_rtl"]


def predict_rtl(design, frames, build=None, work_dir=None, simulator="verilator",
                show_progress=False, runner=None, bench="native"):
    """Labels the generated Verilog gives for sequences of event frames.

    Parameters
    ----------
    design : gen.network.NetworkDesign
        From :func:`gen.network.load_network_design`.
    frames : array_like, (S, T, C, H, W)
        Event counts (quantised to the input format as the golden model does).
    build : path, optional
        The design's build folder (:func:`gen.network.generate_network`); default: generate
        one in a temporary folder.
    work_dir : path, optional
        Where the simulator builds and runs; default: a temporary folder.
    simulator : {"verilator", "icarus"}
    bench : {"native", "cocotb"}
        Verilator's bench: native (:mod:`sim.native`, the clock in C++) or cocotb. Icarus
        always runs the cocotb bench.
    runner : sw.jobs.JobRunner, optional
        An entered runner: the sequences run in shards on it (the simulation built once);
        default: all of them in this process.

    Returns
    -------
    labels : ndarray of int64, (S,)
    report : dict
        The bench's report: values compared, mismatches, cycles, wall time.

    Raises
    ------
    RuntimeError
        When the simulator is missing, the build fails, or the hardware disagrees with the
        golden model on any value.
    """
    ok, why = simulator_available(simulator)
    if not ok:
        raise RuntimeError(f"{simulator}: {why}")
    x = netref.quantise_frames(design.net, frames)
    with tempfile.TemporaryDirectory(prefix="ipnet-rtl-") as tmp:
        tmp = Path(tmp)
        build = Path(build) if build is not None else generate_network(design, tmp / "build")
        work = Path(work_dir) if work_dir is not None else tmp / "work"
        work.mkdir(parents=True, exist_ok=True)
        stim = work / "stimulus.npz"
        np.savez(stim, x=x, y=np.zeros(len(x), dtype=np.int64))
        if simulator == "verilator" and bench == "native":
            from .native import run_network_native
            report = run_network_native(build, design.cfg.source, stim, work, stress=False,
                                        show_progress=show_progress, runner=runner)
        else:
            report = run_network_bench(simulator, build, design.cfg.source, stim, work,
                                       stress=False, show_progress=show_progress, runner=runner)
    return np.asarray(report["predictions"], dtype=np.int64), report


def evaluate_rtl(args):
    """``ipnet eval NETWORK --backend rtl``: RTL against the integer backend; exit code."""
    if args.sequences is not None and args.sequences < 1:
        raise UsageError(f"--sequences: must be >= 1, got {args.sequences}")
    runner = runner_from_args(args)     # --workers, --cluster checked before any work
    ok, why = simulator_available("verilator")
    if not ok:
        raise UsageError(f"--backend rtl: {why}")
    design = load_network_design(args.network, args.weights)
    x, y = load_test_sequences(design, args.sequences, args.runs)
    out = generate_network(design, args.out)
    with runner:
        # one local worker: the sequences run in this process, as one bench
        sharded = runner if runner.engine != "local" or runner.workers > 1 else None
        print(f"{design.top}: {len(x)} test sequences of {x.shape[1]} frames through "
              f"{out / (design.top + '.v')} on Verilator ...", flush=True)
        if sharded is not None:
            print(f"built once, run in {min(len(x), runner.workers)} shards of sequences on "
                  f"{runner.describe()}", flush=True)
        began = time.perf_counter()
        try:
            rtl, report = predict_rtl(design, x, build=out, work_dir=out / "rtl-eval",
                                      show_progress=True, runner=sharded)
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
        wall = time.perf_counter() - began
    integer = netref.predict(design.net, design.params, x)
    same = int(np.sum(rtl == integer))
    frames = int(np.prod(x.shape[:2]))
    print(f"rtl:     accuracy {np.mean(rtl == y):.4f}")
    print(f"integer: accuracy {np.mean(integer == y):.4f}")
    print(f"same prediction on {same} of {len(x)} sequences; {report['values_compared']} values "
          f"compared on the way, {report['mismatches']} mismatches; {frames / wall:.1f} frames/s "
          f"in simulation ({wall:.0f} s with the Verilator build)")
    return 0 if same == len(x) and report["mismatches"] == 0 else 1

