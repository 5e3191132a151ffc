"""The experiment and network-training stages of ``ipnet`` (the front door, flow/cli.py, picks
them by the target's kind: a network description's ``train``/``eval`` are this module's
``net-train``/``net-eval``).

    ipnet data    CONFIG [--task T] [--width W]     make (and cache) the data sets; events per
                                                     frame, active pixels, saturation
    ipnet params  CONFIG                            parameter counts, side by side
    ipnet train   CONFIG --task T --model M [--seed S] [--depth D] [--lr LR] [--epochs E] [--fresh]
    ipnet eval    CONFIG --task T --model M [--seed S] [--depth D] [--lr LR]
    ipnet results CONFIG [--workers N] [--cluster ADDRESS] [--out docs]
    ipnet train NETWORK [--fresh] [--out PATH]      train a described network (float, then QAT)
    ipnet eval  NETWORK [--weights PATH] [--sequences N]   recorded float/QAT accuracy,
                                                     integer accuracy measured again
    ipnet eval  NETWORK --backend rtl [--sequences N]   the same through the Verilog

CONFIG is an experiment YAML such as configs/results.yaml. Runs, checkpoints
and cached data live under --runs (default build/runs). Training resumes from
its checkpoint unless --fresh is given. CPU only.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli
from ipnet_mtj.sw.jobs.runner import add_runner_args

__all__ = ["main"]


def _common(p):
    p.add_argument("config", help="experiment YAML, e.g. configs/results.yaml")
    p.add_argument("--runs", default="build/runs", help="runs, checkpoints and data cache")


def _spec_args(p):
    p.add_argument("--task", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--depth", type=int, default=1, help="ipnet: depth of the thermal layer (1-3)")
    p.add_argument("--lr", type=float, help="a learning rate of train.lrs (default: the first)")


def _parser(backends=("integer",)):
    parser = argparse.ArgumentParser(prog="ipnet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help="generate and cache the data sets")
    _common(p)
    p.add_argument("--task", action="append", help="only this task (repeatable)")
    p.add_argument("--width", type=int, default=4,
                   help="input width whose saturation is reported (default 4: counts 0..15)")
    p = sub.add_parser("params", help="parameter counts of every model")
    _common(p)
    p = sub.add_parser("train", help="train one run (resumes from its checkpoint)")
    _common(p)
    _spec_args(p)
    p.add_argument("--epochs", type=int, help="override train.max_epochs")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p = sub.add_parser("eval", help="evaluate a trained run")
    _common(p)
    _spec_args(p)
    p = sub.add_parser("results", help="all runs -> docs/results.{md,json,png}")
    _common(p)
    add_runner_args(p)
    p.add_argument("--out", default="docs")
    p = sub.add_parser("net-train", prog="ipnet train",
                       help="train a described network; save its integer weights")
    p.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    p.add_argument("--runs", default="build/networks", help="checkpoints and data cache")
    p.add_argument("--out", help="weights path without suffix (default <yaml dir>/trained/<name>)")
    p.add_argument("--fresh", action="store_true", help="ignore existing checkpoints")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--qat-epochs", type=int, help="override training.qat_epochs")
    p = sub.add_parser("net-eval", prog="ipnet eval",
                       help="accuracy of a trained network: float, QAT, integer")
    p.add_argument("network", help="network YAML, e.g. configs/network.yaml")
    p.add_argument("--weights", help="trained .npz (default <yaml dir>/trained/<name>.npz)")
    p.add_argument("--runs", default="build/networks", help="data cache")
    p.add_argument("--backend", choices=backends, default="integer",
                   help="integer: the golden model in numpy; rtl: the generated Verilog under "
                        "Verilator (the `ipnet` command; compares with the integer backend)")
    p.add_argument("--sequences", type=int,
                   help="the first N test sequences (default: the whole test set)")
    p.add_argument("--out", default="build", help="rtl: build folder root")
    add_runner_args(p, "rtl: shards of sequences run at once (default: the machine's cores)")
    return parser


def _network_command(args):
    from .network_train import train_network
    if args.command == "net-train":
        for name, least in (("epochs", 1), ("qat_epochs", 0)):
            value = getattr(args, name)
            if value is not None and value < least:
                raise UsageError(f"--{name.replace('_', '-')}: must be >= {least}, got {value}")
        bars = []

        def bar(phase):
            bars.append(_Bar(f"{Path(args.network).stem} {phase}"))
            return bars[-1]
        try:
            info = train_network(args.network, args.runs, fresh=args.fresh, out=args.out,
                                 epochs=args.epochs, qat_epochs=args.qat_epochs, progress=bar)
        finally:
            for b in bars:
                b.close()
    else:
        from .network_train import evaluate_trained
        if args.sequences is not None and args.sequences < 1:
            raise UsageError(f"--sequences: must be >= 1, got {args.sequences}")
        info = evaluate_trained(args.network, args.weights, args.runs, args.sequences)
    acc, phys = info["accuracy"], info["physics"]
    if args.command == "net-eval":
        # what training recorded (whole test set) and what the golden model measures now,
        # each labelled, so that the two are never mistaken for each other
        rec = info["recorded"]
        test = f"{rec['test']} test sequences" if rec.get("test") else "the test set"

        def fmt(value):
            return "none" if value is None else f"{value:.4f}"
        print(f"{info['network']} on {info['task']}, recorded at training ({test}): float "
              f"{fmt(rec['accuracy'].get('float'))}, QAT {fmt(rec['accuracy'].get('qat'))}, "
              f"integer {fmt(rec['accuracy'].get('integer'))} "
              f"({info['qat_integer_agreement']:.4f} of predictions equal QAT's)")
        print(f"measured now by the integer golden model on {info['sequences']} test sequences: "
              f"integer accuracy {acc['integer']:.4f}")
        print(f"thermal layer, measured now: max |I| {phys['max_current_ic0']:.3f} I_c0 "
              f"({100 * phys['current_saturated']:.2f} % saturated), max heat "
              f"{phys['max_heat_units']:.2f} units = {phys['max_temperature_K']:.0f} K "
              f"(p99 {phys['p99_temperature_K']:.0f} K; Tc {phys['Tc_K']:.0f} K; bound of the "
              f"formats {phys['temperature_bound_K']:.0f} K)")
        return 0
    print(f"{info['network']} on {info['task']}: float {acc['float']:.4f}, QAT {acc['qat']:.4f}, "
          f"integer {acc['integer']:.4f} ({info['qat_integer_agreement']:.4f} of predictions "
          f"equal QAT's)")
    print(f"thermal layer: max |I| {phys['max_current_ic0']:.3f} I_c0 "
          f"({100 * phys['current_saturated']:.2f} % saturated), max heat "
          f"{phys['max_heat_units']:.2f} units = {phys['max_temperature_K']:.0f} K "
          f"(p99 {phys['p99_temperature_K']:.0f} K; Tc {phys['Tc_K']:.0f} K; bound of the "
          f"formats {phys['temperature_bound_K']:.0f} K)")
    if args.command == "net-train":
        print(f"wrote {info['weights_path']} and its .json")
    return 0


def _check_spec(exp, args):
    from ipnet_mtj.sw.data.datasets import TASKS
    from ipnet_mtj.sw.nets import MODELS
    from .trainer import RunSpec
    if args.task not in TASKS:
        raise UsageError(f"--task: unknown task {args.task!r} (choose from {', '.join(TASKS)})")
    if args.model not in MODELS:
        raise UsageError(f"--model: unknown model {args.model!r} (choose from {', '.join(MODELS)})")
    if args.depth not in (1, 2, 3):
        raise UsageError(f"--depth: must be 1, 2 or 3, got {args.depth}")
    if args.seed < 0:
        raise UsageError(f"--seed: must be >= 0, got {args.seed}")
    lrs = [float(v) for v in exp.train.lrs]
    lr = lrs[0] if args.lr is None else args.lr
    if lr not in lrs:
        raise UsageError(f"--lr: must be one of train.lrs ({', '.join(f'{v:g}' for v in lrs)}), "
                         f"got {args.lr:g}")
    return RunSpec(args.task, args.model, args.seed, args.depth if args.model == "ipnet" else 1,
                   lr)


class _Bar:
    """Training progress: one tqdm bar per epoch on stderr, the batch loss in its postfix.

    Called ``(epoch, step, steps, loss)`` after each batch (the trainer's ``progress``). The bar
    is made at the first call, so nothing is drawn before training starts (errors stay one line).
    """

    def __init__(self, label):
        self.label, self.bar, self.epoch = label, None, None

    def __call__(self, epoch, step, steps, loss):
        from tqdm import tqdm
        if self.bar is None or epoch != self.epoch:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=steps, desc=f"{self.label} epoch {epoch + 1}", unit="batch",
                            initial=step - 1)
            self.epoch = epoch
        self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        self.bar.update(step - self.bar.n)
        if step == steps:
            self.close()

    def close(self):
        """End the bar's line (also when training stops early, so an error gets its own line)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _check_outputs(args):
    """Refuse folders that cannot be written before any long work (data, training)."""
    if args.command in ("data", "train", "results", "net-train", "net-eval"):
        check_output_dir(args.runs, "--runs")
    if args.command == "results" or (args.command == "net-eval" and args.backend != "integer"):
        check_output_dir(args.out, "--out")


def main(argv, backends=None):
    """The ``ipnet`` command. ``backends`` maps more ``net-eval --backend`` names to functions
    of the parsed arguments (the hardware backends live above sw, in sim, and register here)."""
    backends = dict(backends or {})
    args = _parser(("integer", *backends)).parse_args(argv)
    _check_outputs(args)
    if args.command == "net-eval" and args.backend != "integer":
        return backends[args.backend](args)
    if args.command.startswith("net-"):
        return _network_command(args)
    from .experiment import load_experiment
    exp, design, fp = load_experiment(args.config)

    if args.command == "data":
        from tabulate import tabulate
        from ipnet_mtj.sw.data.datasets import TASKS, load_split
        from ipnet_mtj.sw.data.recordings.framing import frame_stats
        from .runs import data_dir
        if not 1 <= args.width <= 16:
            raise UsageError(f"--width: must be 1..16, got {args.width}")
        tasks = args.task or exp.tasks
        for t in tasks:
            if t not in TASKS:
                raise UsageError(f"--task: unknown task {t!r} (choose from {', '.join(TASKS)})")
        rows = []
        for t in tasks:
            for split in ("train", "test"):
                began = time.perf_counter()
                x, y = load_split(t, exp.data_config(), split, data_dir(args.runs))
                st = frame_stats(x, args.width)
                rows.append([t, split, len(x), "x".join(map(str, x.shape[1:])),
                             st["events_per_frame"], 100 * st["density"],
                             100 * st["saturated_pixels"], 100 * st["events_lost"],
                             time.perf_counter() - began])
                print(f"{t} {split}: {len(x)} samples", flush=True)
        print(tabulate(rows, headers=["task", "split", "samples", "frames", "events/frame",
                                      "active px %", f"saturated px % (w={args.width})",
                                      "events lost %", "s"],
                       tablefmt="plain", floatfmt=("", "", "", "", ".1f", ".2f", ".2f", ".2f",
                                                   ".1f")))
        return 0

    if args.command == "params":
        from ipnet_mtj.sw.data.datasets import TASKS
        from ipnet_mtj.sw.nets import MODELS, build_model, count_parameters
        from tabulate import tabulate
        tasks = list(exp.tasks)
        rows = [[m] + [count_parameters(build_model(m, TASKS[t], fp=fp, features=exp.train.features))
                       for t in tasks] for m in MODELS]
        print(tabulate(rows, headers=["model", *tasks], tablefmt="plain", numalign="right"))
        return 0

    if args.command in ("train", "eval"):
        spec = _check_spec(exp, args)
        from .runs import execute, read_metrics, run_paths
        if args.command == "train":
            if args.epochs is not None and args.epochs < 1:
                raise UsageError(f"--epochs: must be >= 1, got {args.epochs}")
            bar = _Bar(spec.name)
            try:
                metrics = execute(args.config, spec, args.runs, epochs=args.epochs,
                                  resume=not args.fresh, progress=bar)
            finally:
                bar.close()
        else:
            path = run_paths(args.runs, spec)[1]
            if not path.exists():
                raise UsageError(f"{path}: no such run; train it first (ipnet train ...)")
            metrics = read_metrics(path)
        from .grid import run_line
        print(f"{spec.name}: {run_line(metrics)}, {metrics['parameters']} parameters")
        if "physics" in metrics:
            ph = metrics["physics"]
            t_max = "none" if ph["T_max_K"] is None else f"{ph['T_max_K']:.0f} K"
            print(f"junctions: p99 {ph['temperature_p99_K']:.0f} K, max "
                  f"{ph['temperature_max_K']:.0f} K (T_max {t_max}, Tc {ph['Tc_K']:.0f} K); "
                  f"|I| p99 {ph['current_p99_ic0']:.2f}, max {ph['current_max_ic0']:.2f} I_c0 "
                  f"(limit {ph['current_limit_ic0']:.2f})")
        return 0

    from ipnet_mtj.sw.jobs import runner_from_args
    from .grid import run_grid, run_integer, run_spread
    from .results import write_outputs
    began = time.perf_counter()
    with runner_from_args(args) as runner:
        done = run_grid(args.config, args.runs, runner)
        spread = run_spread(args.config, args.runs, done, runner)
        integer = run_integer(args.config, args.runs, done, runner)
    write_outputs(args.config, done, args.out, time.perf_counter() - began, spread, integer)
    print(f"wrote {args.out}/results.md, results.json, results.png "
          f"({(time.perf_counter() - began) / 60:.1f} min)")
    return 0


def entry():
    run_cli(main)


if __name__ == "__main__":
    entry()
