"""Train a described network (float, then quantisation-aware) and save its integer weights.

``ipnet train configs/network.yaml`` runs two resumable phases with the
trainer of the benchmarks (:func:`sw.train.trainer.train_run`), each with a
cosine learning-rate schedule: float epochs, then quantisation-aware epochs in
which every rounding of the integer datapath is in the forward pass. It then measures, on the test set:

- float accuracy (no rounding), QAT accuracy (torch, quantised mode) and
  integer accuracy (:mod:`sw.netref`, the golden model of the hardware),
  and on how many sequences QAT and integer predict the same class;
- the thermal layer's physics: the largest junction current (units of I_c0)
  and heat, converted to kelvin with the device card, against the Curie
  temperature.

The trained network is two files (written atomically): ``<name>.npz``, the
integer weights and biases of every layer (``w0``, ``b0``, ``w1``, ...), and
``<name>.json``, its provenance (command, network hash, data, commit (``+dirty`` when the
working tree differed from it), the tool versions (:func:`sw.jobs.tool_versions`),
accuracies, physics, saturation, SHA-256 of the .npz).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch

from ipnet_mtj.sw.cli import UsageError, check_output_dir, write_atomically
from ipnet_mtj.sw.config import ConfigError, config_hash, config_to_dict
from ipnet_mtj.sw.data.datasets import TASKS, load_split
from ipnet_mtj.sw.device import coefficients
from ipnet_mtj.sw.fixed import HEAT_GAIN_FRAC, INT_OPS, requantise, sat_range
from ipnet_mtj.sw.jobs import content_hash, file_hash, git_commit, tool_versions
from ipnet_mtj.sw.nets.described import DescribedIPNet
from ipnet_mtj.sw.network import derive_network, load_network, software_lanes
from ipnet_mtj.sw import netref

from .experiment import load_experiment
from .trainer import evaluate, train_run

__all__ = ["network_hash", "trained_paths", "train_network", "load_trained", "save_trained",
           "integer_evaluation", "evaluate_trained", "physics"]


def network_hash(cfg):
    """SHA-256 (16 hex digits) of what trained weights must fit: the input, the layers, the
    thermal design's device card and neuron formats. Lanes, the training recipe and the parts
    of the design a network replaces (name, layer, x/w/b formats, lanes) are left out."""
    from ipnet_mtj.sw.config import load_config
    design = config_to_dict(load_config(cfg.design_path()))
    neurons = {k: v for k, v in design["fixed_point"].items() if k not in ("x", "w", "b")}
    d = {"input": dataclasses.asdict(cfg.input),
         "layers": [_layer_key(spec) for spec in cfg.layers],
         "device": design["device"], "neurons": neurons}
    return content_hash(d, length=16)


def _layer_key(spec):
    """A layer's part of :func:`network_hash`: its fields, without ``read`` when it is
    ``none`` (the meaning of every description written before reads existed), so that
    their trained weights keep their hash."""
    d = dataclasses.asdict(spec)
    if d.get("read") == "none":
        del d["read"]
    return d


def trained_paths(cfg, weights=None):
    """(npz, json) of a network's trained weights. ``weights`` is the .npz or its path without
    suffix; default ``<yaml dir>/trained/<name>``. Any other suffix is part of the name, never
    replaced: ``myw.v2`` gives ``myw.v2.npz`` and ``myw.v2.json``."""
    base = Path(weights) if weights else Path(cfg.source).parent / "trained" / cfg.name
    if base.suffix == ".npz":
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def _check_regular(path):
    """Refuse, before reading, a path that is a folder, a device or a pipe (``/dev/zero``
    would be read until memory runs out)."""
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path}: not a regular file (a folder, device or pipe)")


def save_trained(cfg, params, info, out=None):
    """Write ``<name>.npz`` and ``<name>.json``; return their paths."""
    npz, js = trained_paths(cfg, out)
    arrays = {}
    for k, (w, b) in enumerate(params):
        arrays[f"w{k}"] = np.asarray(w, dtype=np.int64)
        arrays[f"b{k}"] = np.asarray(b, dtype=np.int64)

    def write_npz(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    write_atomically(npz, write_npz)
    info = {**info, "weights_file": npz.name,
            "weights_sha256": file_hash(npz)}
    write_atomically(js, lambda tmp: Path(tmp).write_text(json.dumps(info, indent=2) + "\n"))
    return npz, js


def load_trained(cfg, net, path=None):
    """Integer params of a trained network, checked against its description.

    Raises
    ------
    ConfigError
        One line naming the file and what does not fit (missing, foreign, wrong shape,
        out of format, trained for another description).
    """
    npz, js = trained_paths(cfg, path)
    given = Path(path) if path else None
    if given is not None and given != npz and given.is_file():
        raise ConfigError(f"{given}: not an .npz name: trained weights are <name>.npz with "
                          f"<name>.json beside it (this name reads {npz.name}); give the .npz")
    _check_regular(npz)
    _check_regular(js)
    try:
        with np.load(npz, allow_pickle=False) as z:
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("a single array, not an .npz archive")
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ConfigError(f"{npz}: no trained weights (train them: ipnet train {cfg.source})") \
            from None
    except (OSError, ValueError, EOFError, TypeError, AttributeError, zipfile.BadZipFile,
            zlib.error):
        raise ConfigError(f"{npz}: not a trained-weights .npz (truncated, or not written by "
                          f"ipnet train)") from None
    expected = [f"{kind}{k}" for k in range(len(net.layers)) for kind in ("w", "b")]
    extra = [key for key in arrays if key not in expected]
    if extra:
        raise ConfigError(f"{npz}: {extra[0]}: an array this network does not have (it has "
                          f"{', '.join(expected)}); written for another description?")
    params = []
    for k, lf in enumerate(net.layers):
        for key, shape, width in ((f"w{k}", lf.weight_shape, lf.w_width),
                                  (f"b{k}", (lf.out_shape[0],), lf.b_width)):
            if key not in arrays:
                raise ConfigError(f"{npz}: {key}: missing (layer {lf.name})")
            a = arrays[key]
            if not isinstance(a, np.ndarray):
                raise ConfigError(f"{npz}: {key}: not a numpy array ({type(a).__name__})")
            if tuple(a.shape) != tuple(shape):
                raise ConfigError(f"{npz}: {key}: shape {tuple(a.shape)} does not fit layer "
                                  f"{lf.name} {tuple(shape)}")
            if not np.issubdtype(a.dtype, np.integer):
                raise ConfigError(f"{npz}: {key}: must hold integers, got {a.dtype}")
            lo, hi = sat_range(width, True)
            if a.size and (a.min() < lo or a.max() > hi):
                raise ConfigError(f"{npz}: {key}: values outside the {width}-bit format of layer "
                                  f"{lf.name} ({a.min()}..{a.max()})")
        params.append((arrays[f"w{k}"].astype(np.int64), arrays[f"b{k}"].astype(np.int64)))
    try:
        info = json.loads(js.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{js}: missing: the provenance of {npz.name} "
                          f"(ipnet train writes both)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{js}: not valid JSON ({exc})") from None
    if not isinstance(info, dict):
        raise ConfigError(f"{js}: must be a JSON object, got {type(info).__name__}")
    want = network_hash(cfg)
    if info.get("network_hash") != want:
        raise ConfigError(f"{js}: network_hash: trained for another description "
                          f"({info.get('network_hash')}, this one is {want}); retrain")
    sha = file_hash(npz)
    if "weights_sha256" in info and info["weights_sha256"] != sha:
        raise ConfigError(f"{js}: weights_sha256: does not match {npz.name} (written by another "
                          f"run); retrain")
    return params


def integer_evaluation(net, params, frames, labels, batch=50):
    """Accuracy of the integer golden model and the thermal layers' extremes.

    Returns
    -------
    dict
        ``accuracy``, ``labels`` (predicted), ``max_current_ic0`` (largest |I| before
        saturation, units of I_c0), ``current_saturated`` (fraction of neuron updates
        whose current saturated), ``max_heat`` and ``p99_heat`` (heat units: the largest
        and the 99th percentile of the heat after every neuron update of the test set).
        An all-MTJ network's figures are the largest over its thermal layers (the
        saturated fraction over all their updates).
    """
    layers = net.thermals
    preds, i_max, sat, count = [], 0.0, 0, 0
    hists = {lf.index: np.zeros(1 << lf.fp.theta_width, dtype=np.int64)   # heat after
             for lf in layers}                                           # every update
    for k in range(0, len(frames), batch):
        x = netref.quantise_frames(net, frames[k:k + batch])
        state = netref.initial_state(net, len(x))
        for t in range(x.shape[1]):
            out, state = netref.frame_step(net, params, x[:, t], state)
            for lf in layers:
                fp = lf.fp
                acc = out.acc[lf.index]
                exact = INT_OPS.shr(acc, fp.i_shift)
                i_max = max(i_max, float(np.abs(exact).max()) * 2.0 ** -fp.i_frac)
                i = requantise(INT_OPS, fp, acc)
                sat += int(np.count_nonzero((i == fp.i_lo) | (i == fp.i_hi)))
                count += i.size
                hists[lf.index] += np.bincount(out.thetas[lf.index].reshape(-1),
                                               minlength=hists[lf.index].size)
        preds.append(out.label)
    preds = np.concatenate(preds)
    max_heat = p99_heat = 0.0
    for lf in layers:
        hist, scale = hists[lf.index], 2.0 ** -lf.fp.theta_frac
        cumulative = np.cumsum(hist)
        p99_heat = max(p99_heat, int(np.searchsorted(cumulative, 0.99 * cumulative[-1])) * scale)
        max_heat = max(max_heat, int(np.flatnonzero(hist)[-1]) * scale)
    return {"accuracy": float(np.mean(preds == np.asarray(labels))), "labels": preds,
            "max_current_ic0": i_max, "current_saturated": sat / max(count, 1),
            "max_heat": max_heat, "p99_heat": p99_heat}


def heat_bound(fp):
    """The most heat the integer datapath can ever hold, in heat units.

    The current saturates at i_max = max(|i_lo|, i_hi) * 2**-i_frac (the format's range or the
    card's current limit), so one step adds at most h_max = i_max**2 heat units; with
    floor(alpha * theta) cooling, theta never exceeds h_max / (1 - alpha) (the fixed point of
    theta = alpha theta + h_max), nor theta_hi (the format's ceiling or the heat at T_max).
    With several devices, the largest of g_k h_max / (1 - alpha_k).
    """
    i_max = max(-fp.i_lo, fp.i_hi) * 2.0 ** -fp.i_frac
    ceiling = fp.theta_hi * 2.0 ** -fp.theta_frac
    h_top = sat_range(fp.theta_width, False)[1] * 2.0 ** -fp.theta_frac
    devices = [(a / 2 ** fp.alpha_frac, g / 2 ** HEAT_GAIN_FRAC) for a, g in fp.devices] \
        or [(fp.alpha, 1.0)]
    return min(max(min(i_max * i_max * g, h_top) / (1.0 - a) for a, g in devices), ceiling)


def physics(net, stats):
    """Heat in kelvin against the device card: T = T0 + kappa_K * theta; and the bound that
    the formats guarantee (:func:`heat_bound`)."""
    design = net.design
    coef = coefficients(design.device)
    t_max = design.device.T0_K + coef.kappa_K * stats["max_heat"]
    t_p99 = design.device.T0_K + coef.kappa_K * stats["p99_heat"]
    bound = max(heat_bound(lf.fp) for lf in net.thermals)
    return {
            "heat_bound_units": bound,
            "temperature_bound_K": design.device.T0_K + coef.kappa_K * bound,"max_current_ic0": stats["max_current_ic0"],
            "current_saturated": stats["current_saturated"],
            "max_heat_units": stats["max_heat"], "p99_heat_units": stats["p99_heat"],
            "kelvin_per_heat_unit": coef.kappa_K, "T0_K": design.device.T0_K,
            "max_temperature_K": t_max, "p99_temperature_K": t_p99, "Tc_K": design.device.Tc_K,
            "below_curie": t_max < design.device.Tc_K,
            "bound_below_curie": design.device.T0_K + coef.kappa_K * bound < design.device.Tc_K}


def _check_weights_path(cfg, out):
    """Refuse, before training, weights that could not be written at the end."""
    npz, js = trained_paths(cfg, out)
    check_output_dir(npz.parent, "--out")
    for p in (npz, js):
        if p.is_dir():
            raise UsageError(f"--out: {p} is a folder")


def train_network(path, runs_dir="build/networks", fresh=False, progress=None, out=None,
                  epochs=None, qat_epochs=None):
    """Train the network of ``path``; save its integer weights; return the provenance dict."""
    torch.set_num_threads(1)        # one thread: bit-reproducible training
    cfg = load_network(path)
    net = derive_network(software_lanes(cfg))
    _check_weights_path(cfg, out)
    exp, _, _ = load_experiment(cfg.experiment_path())
    tr = cfg.training
    task = TASKS[tr.task]
    dc = exp.data_config()
    data = Path(runs_dir) / "data"
    train = load_split(tr.task, dc, "train", data)
    test = load_split(tr.task, dc, "test", data)
    torch.manual_seed(tr.seed)
    model = DescribedIPNet(net)
    if tr.start == "calibrated":
        model.calibrate(torch.as_tensor(train[0][:tr.batch], dtype=torch.float32))
    e_float = tr.epochs if epochs is None else epochs
    e_qat = tr.qat_epochs if qat_epochs is None else qat_epochs
    # Checkpoints resume only the run they belong to: same description, recipe and epochs.
    recipe = content_hash([network_hash(cfg), dataclasses.asdict(tr), e_float, e_qat], length=12)
    work = Path(runs_dir) / f"{cfg.name}-{recipe}"
    work.mkdir(parents=True, exist_ok=True)
    if fresh:
        for f in ("float.pt", "qat.pt"):
            (work / f).unlink(missing_ok=True)
    began = time.perf_counter()
    first = train_run(model, task, train, test, dc.size, e_float, tr.batch, tr.lr, tr.seed,
                      work / "float.pt", progress=progress and progress("float"),
                      schedule="cosine", name=f"{cfg.name} float")
    history = {"float": first["history"]}
    if e_qat:
        model.quantised = True
        second = train_run(model, task, train, test, dc.size, e_qat, tr.batch, tr.qat_lr,
                           tr.seed + 1, work / "qat.pt", progress=progress and progress("qat"),
                           schedule="cosine", name=f"{cfg.name} qat")
        history["qat"] = second["history"]
    params = model.integer_params()
    float_acc = first["history"][-1]["test"] if first["history"] else float("nan")
    model.quantised = False
    float_after = evaluate(model, task, *test, dc.size)
    model.quantised = True
    qat_acc = evaluate(model, task, *test, dc.size)
    with torch.no_grad():
        qat_labels = np.concatenate([model(torch.as_tensor(test[0][k:k + 50])).argmax(1).numpy()
                                     for k in range(0, len(test[0]), 50)])
    stats = integer_evaluation(net, params, test[0], test[1])
    info = {
        "network": cfg.name,
        "network_file": str(path),
        "network_hash": network_hash(cfg),
        "design_hash": config_hash(net.design),
        "command": "ipnet train " + " ".join(shlex.quote(a) for a in [str(path)] + (
            [f"--epochs={epochs}"] if epochs is not None else []) + (
            [f"--qat-epochs={qat_epochs}"] if qat_epochs is not None else [])),
        "commit": git_commit(),
        "task": tr.task,
        "data": {"seed": dc.seed, "train": len(train[0]), "test": len(test[0]),
                 "steps": dc.steps, "size": dc.size, "experiment": str(cfg.experiment_path())},
        "training": {"epochs": e_float, "qat_epochs": e_qat, "batch": tr.batch, "lr": tr.lr,
                     "qat_lr": tr.qat_lr, "seed": tr.seed, "wall_s": time.perf_counter() - began},
        "accuracy": {"float": float_acc, "float_after_qat": float_after, "qat": qat_acc,
                     "integer": stats["accuracy"]},
        "qat_integer_agreement": float(np.mean(qat_labels == stats["labels"])),
        "saturation": model.saturation(),
        "physics": physics(net, stats),
        "history": history,
        "python": sys.version.split()[0], "torch": torch.__version__,
        "tools": tool_versions(),
    }
    npz, _ = save_trained(cfg, params, info, out)
    return {**info, "weights_path": str(npz)}


def _test_split(cfg, runs_dir):
    exp, _, _ = load_experiment(cfg.experiment_path())
    return load_split(cfg.training.task, exp.data_config(), "test", Path(runs_dir) / "data")


def evaluate_trained(path, weights=None, runs_dir="build/networks", sequences=None):
    """Integer accuracy and physics of trained weights, measured again on the test set (its
    first ``sequences`` sequences when given); the float and QAT accuracies are those recorded
    when they were trained (on the whole test set)."""
    cfg = load_network(path)
    net = derive_network(software_lanes(cfg))
    params = load_trained(cfg, net, weights)
    npz, js = trained_paths(cfg, weights)
    recorded = json.loads(js.read_text())       # load_trained checked it
    x, y = _test_split(cfg, runs_dir)
    if sequences is not None:
        if not 1 <= sequences <= len(x):
            raise UsageError(f"--sequences: must be >= 1, got {sequences}" if sequences < 1 else
                             f"--sequences: the test set has {len(x)} sequences, asked for "
                             f"{sequences}")
        x, y = x[:sequences], y[:sequences]
    stats = integer_evaluation(net, params, x, y)
    rec = recorded.get("accuracy", {})
    return {"network": cfg.name, "task": cfg.training.task, "sequences": len(x),
            "accuracy": {"float": rec.get("float", float("nan")), "qat": rec.get("qat", float("nan")),
                         "integer": stats["accuracy"]},
            "qat_integer_agreement": recorded.get("qat_integer_agreement", float("nan")),
            "recorded": {"accuracy": rec, "test": recorded.get("data", {}).get("test")},
            "physics": physics(net, stats), "weights_path": str(npz)}
