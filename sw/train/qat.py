"""The benchmark IPNet as one integer network: its description, quantisation-aware training, and
the golden model's figure (the integer column of docs/results.md).

A trained benchmark IPNet (thermal neurons at the first convolution) has the layers of a
network description (docs/network.md): conv1 with the thermal neurons, conv2 with 2 x 2
pooling, a dense layer, the readout. :func:`describe_ipnet` writes that description, each
format chosen from the trained network's ranges on training data (as hls4ml's ``auto``
precision does), at the widths of the experiment's ``integer:`` section; the thermal
layer's formats are the design's. :func:`integer_run` then

1. copies the best float weights into :class:`~sw.nets.described.DescribedIPNet`;
2. trains it quantisation-aware (every rounding of the datapath in the forward pass,
   straight-through gradients) for ``integer.epochs`` epochs, keeping the epoch with the
   lowest validation loss, like every run;
3. measures the test figure with the golden model (:mod:`sw.netref`, the integer network the
   accelerator computes bit for bit), before QAT (the float weights rounded) and after, and
   on how many test sequences the QAT model's logits equal the golden model's.

Classification tasks use the hardware's own head (the class of the summed logits). The
point and sequence tasks read the logits of every frame on the host and apply the task's
head there (``host_head``): the accelerator computes those logits, its head only classifies.

Results are cached beside the run in ``<run>.qat.json`` (checkpoint ``<run>.qat.pt``), keyed
by the run's hash, its float figure, the ``integer:`` section and :data:`QAT_VERSION`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ipnet_mtj.sw import netref
from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.data.datasets import TASKS, load_split
from ipnet_mtj.sw.nets.described import DescribedIPNet
from ipnet_mtj.sw.nets.base import TaskHead
from ipnet_mtj.sw.network import derive_network, parse_network

from .experiment import load_experiment
from .runs import (cached_result, data_dir, ipnet_options, run_hash, run_paths, split_validation,
                   trained_model)
from .trainer import Diverged, metric_of, predict, stale_checkpoint, train_run

__all__ = ["describe_ipnet", "described_from", "HeadedNetwork", "integer_metric", "integer_run",
           "qat_path", "QAT_VERSION"]

#: bump when the integer run's meaning changes: cached results of another version run again
QAT_VERSION = 2


def _int_bits(value):
    """Bits left of the binary point that hold ``value`` (> 0): 0 up to 1, 1 up to 2, -1 up to
    1/2, ... (-40 for 0)."""
    return math.ceil(math.log2(value)) if value > 0 else -40


def _frac(value, width, signed):
    """The most fraction bits with which ``value`` (a largest magnitude) fits ``width`` bits
    (a value at a power of two saturates by one LSB), within 0..40."""
    return min(40, max(0, width - (1 if signed else 0) - _int_bits(value)))


@torch.no_grad()
def _ranges(model, x):
    """Largest magnitudes over ``x`` of each stage's weights, biases and outputs (the thermal
    stage's with IPNet's gain and offset folded in): [(w, b, out)] per layer."""
    bb, seen = model.backbone, {}
    hooks = [bb.fc.register_forward_hook(lambda m, i, o: seen.__setitem__("conv2", i[0])),
             bb.readout.register_forward_hook(lambda m, i, o: seen.update(fc=i[0], logits=o))]
    try:
        model.eval()
        model(torch.as_tensor(x))
    finally:
        for h in hooks:
            h.remove()
    w0, b0 = model.folded(bb.conv1.weight, bb.conv1.bias)
    top = lambda t: float(t.abs().max())  # noqa: E731
    return [(top(w0), top(b0), None),
            (top(bb.conv2.weight), top(bb.conv2.bias), top(seen["conv2"])),
            (top(bb.fc.weight), top(bb.fc.bias), top(seen["fc"])),
            (top(bb.readout.weight), top(bb.readout.bias), top(seen["logits"]))]


def describe_ipnet(exp, task, model, x, name="benchmark", counts=None, lr=None, seed=0,
                   design=None):
    """The network description (a :class:`sw.network.NetworkConfig`, checked and derivable) of
    a trained benchmark IPNet of ``task``, its formats from the ranges over training samples
    ``x`` at the widths of ``exp.integer``; the input holds event counts up to ``counts``
    (default: ``x``'s largest). ``lr`` and ``seed`` (the run's) are recorded in its training
    section. ``design``: the design file the model's neurons come from (a variant's own;
    default the experiment's). An IPNet with a resistance read (``read``) gets the same
    ``read`` on its thermal layer: conv2 then takes the reads on the LUT word's scale, and
    with ``both`` outputs and reads interleaved (:func:`described_from` reorders conv2's
    weights)."""
    if model.depth != 1 or model.gain.dim() or len(model.depths) > 1:
        raise ValueError("the integer network needs IPNet's default layout: thermal neurons at "
                         "the first convolution only, one gain and offset")
    spec, fp = exp.integer, model.fp
    (w0, b0, _), conv2, fc, readout = _ranges(model, x)
    counts = int(np.max(np.asarray(x))) if counts is None else int(counts)
    width = max(1, counts.bit_length())                     # event counts of the data
    # the thermal layer: the current's LSB is 2**-i_frac I_c0, the input has no fraction
    # bits, so its weights need at least i_frac of them; the width grows to hold their range
    f0 = max(fp.i_frac, _frac(w0, spec.weight_bits, True))
    w0_width = max(spec.weight_bits, f0 + 1 + _int_bits(w0))
    layers = [{"name": "conv1", "kind": "conv", "outputs": model.backbone.channels[0],
               "kernel": 5, "stride": 2, "padding": 2, "activation": "thermal",
               "weight": {"width": w0_width, "frac": f0},
               "bias": {"width": spec.bias_bits, "frac": min(f0, _frac(b0, spec.bias_bits, True))},
               **({"read": model.read} if model.read != "none" else {})}]
    side = (exp.data.size - 1) // 2 + 1             # conv1: 5 x 5, stride 2, padding 2
    side = (side - 1) // 2 + 1                      # conv2: 3 x 3, stride 2, padding 1
    pool = side // 4                                # the backbone pools to 4 x 4
    if side % 4 or pool & (pool - 1):
        raise ValueError(f"data.size {exp.data.size}: conv2's {side} x {side} output does not "
                         "pool to 4 x 4 by a power of 2")
    x_frac, pool_shift = fp.y_width if fp.output == "lut" else 0, 2 * (pool.bit_length() - 1)
    for (w, b, out), (lname, extra, act) in zip(
            (conv2, fc, readout),
            (("conv2", {"kind": "conv", "kernel": 3, "stride": 2, "padding": 1, "pool": pool},
              "relu"),
             ("fc", {"kind": "dense"}, "relu"), ("readout", {"kind": "dense"}, "none"))):
        outputs = {"conv2": model.backbone.channels[1], "fc": model.backbone.features,
                   "readout": TASKS[task].outputs}[lname]
        fw = _frac(w, spec.weight_bits, True)
        room = x_frac + fw + (pool_shift if lname == "conv2" else 0)   # out.frac at most this
        out_bits, signed = (spec.logit_bits, True) if act == "none" else (spec.activation_bits, False)
        fo = min(room, _frac(out, out_bits, signed))
        layers.append({"name": lname, "outputs": outputs, "activation": act, **extra,
                       "weight": {"width": spec.weight_bits, "frac": fw},
                       "bias": {"width": spec.bias_bits,
                                "frac": min(x_frac + fw, _frac(b, spec.bias_bits, True))},
                       "out": {"width": out_bits, "frac": fo}})
        x_frac = fo
    data = {"name": name, "design": design or exp.design,
            "input": {"channels": int(np.shape(x)[2]), "size": exp.data.size, "width": width},
            "layers": layers, "hardware": {"lanes": spec.lanes},
            "training": {"experiment": Path(exp.source).name, "task": task,
                         "epochs": exp.train.max_epochs, "qat_epochs": spec.epochs,
                         "batch": exp.train.batch,
                         "lr": float(exp.train.lrs[0] if lr is None else lr),
                         "qat_lr": float(spec.lr), "seed": int(seed)}}
    return parse_network(data, str(Path(exp.source)), host_head=True)


class HeadedNetwork(nn.Module):
    """A :class:`~sw.nets.described.DescribedIPNet` with the benchmark task's head (the mean of
    the frame logits, the last frame's, or every frame's)."""

    def __init__(self, described, kind):
        super().__init__()
        self.net, self.head = described, TaskHead(kind)

    def forward(self, x):
        return self.head(self.net.frame_logits(x))


@torch.no_grad()
def described_from(model, net):
    """The described network ``net`` holding a trained IPNet's float weights, gain and offset
    (float mode; its activations saturate at their formats). The thermal neurons pass on
    their LUT word over 2**y_width, y * (2**y_width - 1) / 2**y_width, where the IPNet passes
    y: conv2's weights are scaled back by the inverse (the reads of a layer with ``read`` are
    on the same scale). The IPNet hands on outputs then reads (``torch.cat``), the description
    interleaves them (neuron c's output at channel 2c, its read at 2c + 1): conv2's input
    channels are reordered to match."""
    described = DescribedIPNet(net, surrogate_width=model.surrogate_width)
    bb, fp = model.backbone, net.thermal.fp
    scale = 2 ** fp.y_width / ((1 << fp.y_width) - 1) if fp.output == "lut" else 1.0
    for mine, theirs in zip(described.layers, (bb.conv1, bb.conv2, bb.fc, bb.readout)):
        w = theirs.weight
        if theirs is bb.conv2:
            w = w * scale
            if net.thermal.read == "both":           # [y_0..y_C-1, r_0..r_C-1] -> y_0, r_0, ..
                c = w.shape[1] // 2
                w = torch.stack([w[:, :c], w[:, c:]], 2).flatten(1, 2)
        mine.weight.copy_(w)
        mine.bias.copy_(theirs.bias)
    described.gain.copy_(model.gain)
    described.offset.copy_(model.offset)
    return described


def integer_metric(net, params, task, x, y, size, batch=50):
    """The test figure of the golden model (:mod:`sw.netref`) with integer ``params``, and its
    logits (B, T, outputs) in real units. A class task takes the hardware head's class after
    the last frame; the others apply the task's head to the logits."""
    labels, logits = [], []
    for k in range(0, len(x), batch):
        trace = netref.run_network(net, params, x[k:k + batch])
        labels.append(trace.label[:, -1])
        logits.append(trace.logits * 2.0 ** -net.layers[-1].out_frac)
    logits = np.concatenate(logits)
    if task.kind == "class":
        value = float(np.mean(np.concatenate(labels) == np.asarray(y)))
    else:
        out = TaskHead(task.kind)(torch.as_tensor(logits, dtype=torch.float32))
        value = metric_of(task.kind, out, torch.as_tensor(y), size)
    return value, logits


def qat_path(runs_dir, spec):
    """(checkpoint, result) of a run's integer network."""
    base = Path(run_paths(runs_dir, spec)[1])
    return base.with_suffix(".qat.pt"), base.with_suffix(".qat.json")


def integer_run(exp_path, spec, runs_dir):
    """The integer network of one trained benchmark IPNet run, from its cache or trained now: a
    dict with the run's name, the cache key, the description's layers, and the figures
    ``float`` (the run's), ``described_float`` (the description in float mode, before QAT),
    ``ptq`` (golden model, the float weights rounded), ``qat`` (torch, quantised mode),
    ``integer`` (golden model after QAT) and ``logits_equal`` (fraction of test sequences
    whose every frame logit is the same in the QAT model and the golden model)."""
    torch.set_num_threads(1)
    exp, design, fp = load_experiment(exp_path)
    if exp.integer is None:
        raise ValueError(f"{exp_path}: no integer: section")
    metrics = json.loads(run_paths(runs_dir, spec)[1].read_text(encoding="utf-8"))
    recipe = {k: v for k, v in dataclasses.asdict(exp.integer).items() if k != "variants"}
    key = {"run_hash": run_hash(exp, design, spec), "metric": metrics["metric"],
           "integer": recipe, "version": QAT_VERSION}
    ckpt, out = qat_path(runs_dir, spec)
    cached = cached_result(out, key)
    if cached is not None:
        return cached
    began = time.perf_counter()
    task, dc = TASKS[spec.task], exp.data_config()
    train, val = split_validation(exp, load_split(spec.task, dc, "train", data_dir(runs_dir)))
    test = load_split(spec.task, dc, "test", data_dir(runs_dir))
    model = trained_model(exp, fp, spec, runs_dir)
    cfg = describe_ipnet(exp, spec.task, model, train[0][:exp.train.batch * 2],
                         counts=np.max(train[0]), lr=spec.lr, seed=spec.seed,
                         design=ipnet_options(exp, spec).get("design"))
    net = derive_network(cfg, host_head=True)
    described = described_from(model, net)
    headed = HeadedNetwork(described, task.kind)
    described_float = metric_of(task.kind, predict(headed, test[0]), torch.as_tensor(test[1]),
                                dc.size)
    ptq, _ = integer_metric(net, described.integer_params(), task, *test, dc.size)
    described.quantised = True
    tag = json.dumps(key, sort_keys=True)     # the float run's figure, too: its weights
    try:
        result = train_run(headed, task, train, test, dc.size, exp.integer.epochs,
                           exp.train.batch, exp.integer.lr, spec.seed, ckpt, schedule="cosine",
                           tag=tag, name=f"{spec.name} qat", validation=val,
                           patience=exp.train.patience, test_each_epoch=False,
                           resume=not (ckpt.exists() and stale_checkpoint(ckpt, tag)))
    except Diverged as exc:             # recorded; the table counts it
        res = {"name": spec.name, "key": key, "diverged": str(exc),
               "wall_s": time.perf_counter() - began}
        write_atomically(out, lambda tmp: Path(tmp).write_text(json.dumps(res, indent=2) + "\n"))
        return res
    params = described.integer_params()
    integer, logits = integer_metric(net, params, task, *test, dc.size)
    with torch.no_grad():
        described.eval()
        qat_logits = torch.cat([described.frame_logits(torch.as_tensor(test[0][k:k + 50],
                                                                       dtype=torch.float64))
                                for k in range(0, len(test[0]), 50)]).double().numpy()
    equal = float(np.mean(np.all(qat_logits == logits, axis=(1, 2))))
    res = {"name": spec.name, "key": key,
           "layers": [dataclasses.asdict(layer) for layer in cfg.layers],
           "float": metrics["metric"], "described_float": described_float, "ptq": ptq,
           "qat": result["metric"], "integer": integer, "logits_equal": equal,
           "best_epoch": result.get("best_epoch"), "history": result["history"],
           "wall_s": time.perf_counter() - began}
    write_atomically(out, lambda tmp: Path(tmp).write_text(json.dumps(res, indent=2) + "\n"))
    return res
