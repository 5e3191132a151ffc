"""A recorded task's split as (x, y) arrays, like the generated tasks' (docs/real-data.md).

| task | data set | sample | target |
|---|---|---|---|
| dvsgesture | DVSGesture | a labelled gesture, from its start | class 0..10 |
| dvsgesture22 | DVSGesture | each gesture forward (class c) and played backwards (c + 11) | 22 classes |
| nmnist | NMNIST | a recording, from t = 0 | digit 0..9 |
| steering_ddd20 | DDD20 | consecutive windows of ``steps`` frames of a drive | angle / 180 deg per frame |

Played backwards: a gesture's events in ``[start, end)`` at ``t' = start + end - 1 - t``
with their polarity inverted (a brightness rise seen backwards is a fall), in reverse
order: the event stream of the video run backwards.

Order and size: the split's samples in listing order (recordings sorted or as listed,
gestures as in their CSV, a gesture's backward twin right after it), then shuffled by
``numpy.random.default_rng(seed).permutation`` and cut to ``train`` (``test``) samples when
the split has more. Training's validation samples are the last of that order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ddd20, dvsgesture, nmnist
from .events import DataError
from .framing import Binning, denoise, to_frames

__all__ = ["RECORDED", "Recordings", "data_root", "source_files", "make_recorded_split",
           "ENV_ROOT", "default_frame_us"]

ENV_ROOT = "IPNET_DATA_ROOT"
#: task -> the data set's folder under the data root
RECORDED = {"dvsgesture": "DVSGesture", "dvsgesture22": "DVSGesture", "nmnist": "NMNIST",
            "steering_ddd20": "DDD20"}
#: time binning's default span of a sample, microseconds (frame_us = span // steps)
_SPAN_US = {"DVSGesture": 1_500_000, "NMNIST": 300_000}
_DDD20_FRAME_US = 50_000


@dataclass(frozen=True)
class Recordings:
    root: str | None = None          #: the data root when $IPNET_DATA_ROOT is unset
    binning: str = "time"            #: "time" or "count"
    frame_us: int | None = None      #: time binning's frame; None: the data set's default
    frame_events: int | None = None  #: count binning's events per frame
    denoise_us: int = 0              #: tonic's Denoise filter time; 0: off

    def key(self):
        """What the binned data depend on (not where the files are)."""
        return {k: v for k, v in vars(self).items() if k != "root"}

    def for_dataset(self, dataset, steps):
        """The :class:`Binning` of a data set."""
        frame_us = self.frame_us
        if self.binning == "time" and frame_us is None:
            frame_us = default_frame_us(dataset, steps)
        return Binning(self.binning, frame_us, self.frame_events, self.denoise_us)


def default_frame_us(dataset, steps):
    """Time binning's frame length when the experiment leaves it out."""
    return _DDD20_FRAME_US if dataset == "DDD20" else _SPAN_US[dataset] // steps


def data_root(rec):
    """$IPNET_DATA_ROOT when set, else the experiment's ``data.recordings.root``."""
    root = os.environ.get(ENV_ROOT) or (rec.root if rec is not None else None)
    if not root:
        raise DataError(f"no data root: set {ENV_ROOT} or data.recordings.root in the experiment "
                        f"to the folder holding DVSGesture/, NMNIST/ and DDD20/")
    return Path(root)


def source_files(task, cfg, split):
    """Every file the split reads: their names, sizes and times key the cache."""
    folder = data_root(cfg.recordings) / RECORDED[task]
    module = {"DVSGesture": dvsgesture, "NMNIST": nmnist, "DDD20": ddd20}[RECORDED[task]]
    return module.files(folder, split)


def _pick(count, limit, seed):
    order = np.random.default_rng(seed).permutation(count)
    return order[:limit]


def _gesture_samples(folder, cfg, split, reverse):
    gs = dvsgesture.gestures(folder, split)
    listing = [(g, False) for g in gs] if not reverse else [(g, b) for g in gs for b in (False, True)]
    return listing


def _read_backwards(ev, start, end):
    out = ev[::-1].copy()
    out["t"] = start + end - 1 - out["t"]
    out["p"] = ~out["p"]
    return out


def make_recorded_split(task, cfg, split):
    """(x (S, steps, 2, size, size) float32 counts, y) of a recorded task's split."""
    dataset = RECORDED[task]
    folder = data_root(cfg.recordings) / dataset
    limit = cfg.train if split == "train" else cfg.test
    binning = (cfg.recordings or Recordings()).for_dataset(dataset, cfg.steps)
    if dataset == "DVSGesture":
        out = _gesture_split(folder, cfg, split, task == "dvsgesture22", limit, binning)
    elif dataset == "NMNIST":
        listing = nmnist.digits(folder, split)
        out = []
        for i in _pick(len(listing), limit, cfg.seed):
            f, label = listing[i]
            ev = denoise(nmnist.read_digit(f), binning.denoise_us)
            out.append((to_frames(ev, nmnist.SENSOR, cfg.size, cfg.steps, 0, binning)[0], label))
    else:
        out = _drive_split(folder, cfg, split, limit, binning)
    xs, ys = zip(*out)
    return np.stack(xs), np.stack([np.asarray(y) for y in ys])


def _gesture_split(folder, cfg, split, reverse, limit, binning):
    gs = dvsgesture.gestures(folder, split)
    listing = [(g, b) for g in gs for b in ((False, True) if reverse else (False,))]
    if not listing:
        raise DataError(f"{folder}: the {split} split holds no gestures (its labels CSVs have "
                        f"no rows)")
    picked = _pick(len(listing), limit, cfg.seed)
    cache = {}
    # read each recording once: visit the picked samples file by file, place them in order
    out = [None] * len(picked)
    for slot in sorted(range(len(picked)), key=lambda s: (str(listing[picked[s]][0].file),
                                                           listing[picked[s]][0].start)):
        g, backwards = listing[picked[slot]]
        ev = denoise(dvsgesture.read_gesture(g, cache), binning.denoise_us)
        if backwards:
            ev = _read_backwards(ev, g.start, g.end)
        frames, _ = to_frames(ev, dvsgesture.SENSOR, cfg.size, cfg.steps, g.start, binning)
        out[slot] = (frames, g.label + (dvsgesture.CLASSES if backwards else 0))
    return out


def _read_drive(f, binning):
    ev, steer = ddd20.read_drive(f)
    ev = denoise(ev, binning.denoise_us)
    return ev[np.argsort(ev["t"], kind="stable")], steer


def _drive_split(folder, cfg, split, limit, binning):
    """Every drive's windows listed (drive by drive, in time order), picked, then only the
    picked ones binned: a drive is read twice rather than all its windows kept."""
    drives = ddd20.files(folder, split)
    listing = []
    for d, f in enumerate(drives):
        ev, _ = _read_drive(f, binning)
        listing += [(d, w) for w in _window_starts(ev, cfg, binning)]
    if not listing:
        raise DataError(f"{folder}: the {split} drives are shorter than one sample "
                        f"({cfg.steps} frames)")
    picked = _pick(len(listing), limit, cfg.seed)
    out = [None] * len(picked)
    for d in sorted({listing[i][0] for i in picked}):
        ev, steer = _read_drive(drives[d], binning)
        for slot in (s for s in range(len(picked)) if listing[picked[s]][0] == d):
            lo, start = listing[picked[slot]][1]
            if binning.mode == "time":
                hi = np.searchsorted(ev["t"], start + cfg.steps * binning.frame_us)
            else:
                hi = lo + cfg.steps * binning.frame_events
            frames, ends = to_frames(ev[lo:hi], ddd20.SENSOR, cfg.size, cfg.steps, start, binning)
            out[slot] = (frames, ddd20.steering_at(steer, ends))
    return out


def _window_starts(ev, cfg, binning):
    """A drive's samples, consecutive from its first event, as (first event index, start us):
    time binning every ``steps * frame_us``, count binning every ``steps * frame_events``
    events; a last, partial sample is dropped (so is a drive with no events)."""
    if not len(ev):
        return []
    if binning.mode == "time":
        span = cfg.steps * binning.frame_us
        first, last = int(ev["t"][0]), int(ev["t"][-1])
        starts = list(range(first, last + 2 - span, span))
        return list(zip(np.searchsorted(ev["t"], starts).tolist(), starts))
    n = cfg.steps * binning.frame_events
    return [(lo, int(ev["t"][lo])) for lo in range(0, len(ev) - n + 1, n)]
