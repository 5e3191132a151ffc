"""The working-memory data sets of an experiment: generated once, cached on disk.

Task names: ``nback<n>`` (one per n of the config), ``recog<k>`` (one per k of the
recognition section, if any), ``recall``, ``interference``. ``nback`` and ``recog`` tasks
answer yes or no at every scored item (:func:`binary_task`).
A split is a dict of arrays: ``x`` (S, T, 2, H, W), ``y`` (the targets) and what
the metrics need besides (serial order, list length, presentation rate,
condition, similarity).
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.data.datasets import Task
from ipnet_mtj.sw.data.wm import (interference_sample, nback_sample, recall_sample,
                                  recognition_sample)
from ipnet_mtj.sw.jobs import content_hash

#: raised whenever the generators change what they make from the same config
DATA_VERSION = 2

__all__ = ["wm_tasks", "wm_task", "binary_task", "task_params", "make_wm_split",
           "load_wm_split"]


def wm_tasks(exp):
    """The task names of an experiment, in run order."""
    recog = [f"recog{k}" for k in exp.recognition.ks] if exp.recognition is not None else []
    return [f"nback{n}" for n in exp.nback.ns] + recog + ["recall", "interference"]


def binary_task(name):
    """Whether task ``name`` answers yes or no at every scored item (n-back, recognition)."""
    return name.startswith(("nback", "recog"))


def wm_task(exp, name):
    """The :class:`~sw.data.datasets.Task` of a working-memory task (kind, outputs)."""
    if binary_task(name):
        return Task(name, "binary_sequence", 1, "accuracy")
    return Task(name, "multilabel", exp.data.vocabulary, "accuracy")


def task_params(exp, name):
    """The config section a task's data depend on (n-back, recognition: with its n or k)."""
    if name.startswith("nback"):
        return {"n": int(name[5:]), **asdict(exp.nback)} | {"ns": None}
    if name.startswith("recog"):
        return {"k": int(name[5:]), **asdict(exp.recognition)} | {"ks": None}
    return asdict(exp.recall) if name == "recall" else asdict(exp.interference)


def make_wm_split(exp, name, split):
    """Generate one split of task ``name``: a dict of arrays (see the module's docstring)."""
    cfg = exp.data_config()
    count = {"train": exp.data.train, "val": exp.data.val, "test": exp.data.test}[split]
    xs, ys, info = [], [], []
    for i in range(count):
        if name.startswith("nback"):
            nb = exp.nback
            x, y, seq = nback_sample(cfg, split, i, int(name[5:]), nb.items, nb.slot,
                                     nb.target_rate)
            info.append({"sequence": seq})
        elif name.startswith("recog"):
            rc = exp.recognition
            x, y, seq = recognition_sample(cfg, split, i, int(name[5:]), rc.items, rc.slot,
                                           rc.target_rate)
            info.append({"sequence": seq})
        elif name == "recall":
            x, y, (length, slot, order) = recall_sample(cfg, split, i, exp.recall.lengths,
                                                        exp.recall.slots)
            info.append({"length": length, "slot": slot, "order": order})
        else:
            ii = exp.interference
            x, y, (cond, similar, a, b) = interference_sample(cfg, split, i, ii.length, ii.slot)
            info.append({"condition": cond, "similar": similar, "list_a": a, "list_b": b})
        xs.append(x)
        ys.append(y)
    out = {"x": np.stack(xs), "y": np.stack(ys)}
    for key in info[0]:
        out[key] = np.stack([np.asarray(d[key]) for d in info])
    return out


def _key(exp, name, split):
    return content_hash({"version": DATA_VERSION, "task": name, "split": split,
                         "data": asdict(exp.data_config()),
                         "params": task_params(exp, name),
                         "count": getattr(exp.data, split)}, length=12)


def load_wm_split(exp, name, split, cache_dir):
    """:func:`make_wm_split` through a cache file (written atomically)."""
    path = Path(cache_dir) / f"{name}-{split}-{_key(exp, name, split)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
            data = {}
        if "x" not in data or "y" not in data or data["x"].ndim != 5:
            raise ConfigError(f"{path}: not a readable data cache (truncated or foreign); "
                              f"delete it and the data are made again")
        return data
    data = make_wm_split(exp, name, split)

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **data)
    write_atomically(path, write)
    return data
