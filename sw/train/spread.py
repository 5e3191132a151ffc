"""A trained IPNet on chips whose junctions differ: accuracy against device-to-device spread.

Real junctions of one wafer do not switch at one current. The benchmark IPNets are
trained on identical junctions (the card's threshold); this module puts the same
weights on simulated chips, where each thermal neuron's threshold is offset by its own
draw from N(0, sigma^2) (:func:`sw.device.threshold_offsets`, rounded to the datapath's
current LSBs as the offset ROM holds them), and evaluates the test set. Each sigma is
tried on several chips (draws); a result that holds only at sigma 0 depends on a
precision real junctions lack (docs/results-method.md, "Device spread").

The evaluations are cheap (test set only) and cached beside each run in
``<run>.spread.json``, keyed by the run's hash and the sweep.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import torch

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.data.datasets import TASKS, load_split
from ipnet_mtj.sw.fixed import derive_fixed_point, neuron_thermals
from ipnet_mtj.sw.model import channels_first

from .experiment import load_experiment
from .runs import cached_result, data_dir, run_design, run_hash, run_paths, trained_model
from .trainer import evaluate

__all__ = ["chip", "chip_offsets", "chip_thermals", "spread_metrics", "spread_path", "evaluate_spread", "SWEEP_VERSION"]


#: bump when the sweep's meaning changes: cached sweeps of another version are evaluated again
SWEEP_VERSION = 3


def chip(design, shape, seed, **spread):
    """The datapath of one simulated chip: ``design`` with the card's ``spread`` keys
    (``threshold_sigma_ic0``, ``thermal_sigma_rel``) and ``spread_seed: seed``, derived for the
    ``shape``'s neurons by :func:`sw.fixed.derive_fixed_point` itself: the chip a design YAML
    with those keys builds, its offsets and thermals in the hardware's neuron order."""
    device = dataclasses.replace(design.device, spread_seed=seed, **spread)
    layer = dataclasses.replace(design.layer, neurons=int(np.prod(shape)))
    return derive_fixed_point(dataclasses.replace(design, device=device, layer=layer))


def chip_offsets(design, shape, sigma, seed):
    """Threshold offsets (i LSBs, a float tensor of ``shape``) of one simulated chip."""
    return channels_first(chip(design, shape, seed, threshold_sigma_ic0=sigma).thr_offset, shape)


def chip_thermals(design, shape, sigma, seed):
    """Each neuron's (alpha_mult, heat gain) on one simulated chip with a relative spread
    ``sigma`` of R_th and tau, as the datapath's alpha and gain ROMs hold them, as tensors of
    ``shape``."""
    fp = chip(design, shape, seed, thermal_sigma_rel=sigma)
    return tuple(channels_first(v, shape) for v in neuron_thermals(fp))


def spread_metrics(model, design, task, test, size, sigmas, chips, thermal_sigmas=()):
    """{sigma: [test metric per chip]} of a trained IPNet under threshold spread (sigma 0 is
    the model as trained), and {sigma: [...]} under thermal spread. Every thermal stage of an
    all-MTJ model gets its own draw: the main stage's chip seed is the chip, the k-th other
    stage's the chip + 1000 k."""
    out = {"0": [evaluate(model, task, *test, size)]}
    thermal = {}
    # the main stage first (chip seed as before), then any other thermal stage (all-MTJ)
    stages = [model.depth] + [d for d in model.depths if d != model.depth]

    def per_stage(draw, sigma, chip):
        values = {d: draw(design, model.neuron_shape(size, d), sigma, chip + 1000 * k)
                  for k, d in enumerate(stages)}
        return values[model.depth] if len(values) == 1 else values
    try:
        for sigma in sigmas:
            values = []
            for chip in range(chips):
                model.thr_offset = per_stage(chip_offsets, sigma, chip)
                values.append(evaluate(model, task, *test, size))
            out[f"{sigma:g}"] = values
        model.thr_offset = None
        for sigma in thermal_sigmas or ():
            values = []
            for chip in range(chips):
                model.thermal_override = per_stage(chip_thermals, sigma, chip)
                values.append(evaluate(model, task, *test, size))
            thermal[f"{sigma:g}"] = values
    finally:
        model.thr_offset = model.thermal_override = None
    return out, thermal


def spread_path(runs_dir, spec):
    return Path(run_paths(runs_dir, spec)[1]).with_suffix(".spread.json")


def evaluate_spread(exp_path, spec, runs_dir):
    """The spread sweep of one trained IPNet run, from its cache or evaluated now; a dict with
    the run's name, its hash and ``{sigma: [metric per chip]}``."""
    torch.set_num_threads(1)
    exp, design, fp = load_experiment(exp_path)
    design, fp = run_design(exp, design, fp, spec)
    sweep = exp.spread
    metrics_file = json.loads(run_paths(runs_dir, spec)[1].read_text(encoding="utf-8"))
    key = {"run_hash": run_hash(exp, design, spec), "sigmas": [float(s) for s in sweep.sigmas],
           "chips": sweep.chips, "version": SWEEP_VERSION,
           "thermal_sigmas": [float(s) for s in sweep.thermal_sigmas or ()],
           "metric": metrics_file["metric"]}      # a run trained again: its sweep, too
    path = spread_path(runs_dir, spec)
    cached = cached_result(path, key)
    if cached is not None:
        return cached
    model = trained_model(exp, fp, spec, runs_dir)
    dc = exp.data_config()
    test = load_split(spec.task, dc, "test", data_dir(runs_dir))
    metrics, thermal = spread_metrics(model, design, TASKS[spec.task], test, dc.size,
                                      sweep.sigmas, sweep.chips, sweep.thermal_sigmas)
    if not all(math.isfinite(v) for d in (metrics, thermal) for vs in d.values() for v in vs):
        raise ValueError(f"{spec.name}: a non-finite test metric under device spread")
    result = {"name": spec.name, "key": key, "metric": metrics, "thermal": thermal}
    write_atomically(path, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=2) + "\n"))
    return result
