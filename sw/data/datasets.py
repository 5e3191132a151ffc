"""The benchmark tasks: generated offline, deterministic per seed, cached on disk.

Every sample has its own generator, seeded by (seed, task, split, index),
so a sample does not depend on how many others are made, and a cache file is
regenerated identically. Classification sets are balanced: label = index mod
classes.

| task | input | target | metric |
|---|---|---|---|
| gestures11 | events of a gesture | 11 classes | accuracy |
| gestures22 | the 11 and their time reversals | 22 classes | accuracy |
| gestures22m | the 11 and their event frames in reverse order (memory only) | 22 classes | accuracy |
| digits | a moving handwritten digit | 10 classes | accuracy |
| digits_ahead | the same videos | glyph centre `ahead` steps after the last frame | error, pixels |
| steering | a road from a moving car | steering per frame | RMSE |

Recorded tasks (``dvsgesture``, ``dvsgesture22``, ``nmnist``, ``steering_ddd20``) read an
event camera's recordings instead (:mod:`.recordings.tasks`, docs/real-data.md); their
cache key adds the name, size and modification time of every file they read.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ipnet_mtj.sw.cli import write_atomically
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.jobs import content_hash

from . import digits, gestures, steering
from .dvs import SensorNoise, bin_events, video_to_events
from .recordings.tasks import Recordings, data_root, make_recorded_split, source_files

__all__ = ["TASKS", "Task", "DataConfig", "make_split", "load_split", "gesture_video",
           "memory_twin"]


@dataclass(frozen=True)
class Task:
    name: str
    kind: str          #: "class", "point" (one 2-D position) or "sequence" (a value per frame)
    outputs: int
    metric: str
    source: str = "generated"    #: "generated" here, or "recorded" (read from a data root)


TASKS = {
    "gestures11": Task("gestures11", "class", 11, "accuracy"),
    "gestures22": Task("gestures22", "class", 22, "accuracy"),
    "digits": Task("digits", "class", 10, "accuracy"),
    "digits_ahead": Task("digits_ahead", "point", 2, "error_px"),
    "steering": Task("steering", "sequence", 1, "rmse"),
    # appended last: a task's seed is its position here, so earlier tasks keep their data
    "gestures22m": Task("gestures22m", "class", 22, "accuracy"),
    "dvsgesture": Task("dvsgesture", "class", 11, "accuracy", "recorded"),
    "dvsgesture22": Task("dvsgesture22", "class", 22, "accuracy", "recorded"),
    "nmnist": Task("nmnist", "class", 10, "accuracy", "recorded"),
    "steering_ddd20": Task("steering_ddd20", "sequence", 1, "rmse", "recorded"),
}
_SPLITS = {"train": 0, "test": 1}
_DIGIT_SPLIT = 1300     # glyphs below this index train, the rest test: unseen writers at test


@dataclass(frozen=True)
class DataConfig:
    size: int = 32          #: frame side, pixels
    steps: int = 16         #: frames per sample
    substeps: int = 3       #: camera sub-steps per frame
    train: int = 600
    test: int = 200
    ahead: int = 4          #: digits_ahead: frames after the last one
    seed: int = 0
    noise: SensorNoise = field(default_factory=SensorNoise)
    recordings: Recordings | None = None   #: recorded tasks: data root and binning

    def describe(self):
        """The fields a run's hash covers: ``recordings`` only when set, and then without the
        data root (runs made before recorded tasks existed keep their hash; moving the data
        root keeps it too)."""
        d = {k: v for k, v in asdict(self).items() if k != "recordings"}
        if self.recordings is not None:
            d["recordings"] = self.recordings.key()
        return d

    def key(self, task, split):
        fields = {k: v for k, v in asdict(self).items() if k != "recordings"}
        if TASKS[task].source == "recorded":
            rec = self.recordings or Recordings()
            root = data_root(rec)
            files = [(str(f.relative_to(root)), f.stat().st_size, f.stat().st_mtime_ns)
                     for f in source_files(task, self, split)]
            fields = {"size": self.size, "steps": self.steps, "seed": self.seed,
                      "count": self.train if split == "train" else self.test,
                      "recordings": rec.key(), "files": files}
        return content_hash({"task": task, "split": split, **fields}, length=12)


def _rng(cfg, task, split, index):
    return np.random.default_rng([cfg.seed, list(TASKS).index(task), _SPLITS[split], index])


def gesture_video(cls22, params, size, frames):
    """Class 0..10: the gesture; 11..21: gesture cls22 - 11 played backwards."""
    video = gestures.render(cls22 % 11, params, size, frames)
    return video[::-1].copy() if cls22 >= 11 else video


def memory_twin(cfg, split, index, reverse=True):
    """Sample ``index`` of gestures22m: the event frames of a forward gesture (class
    ``label % 11``), in reverse frame order when the label is 11..21 (and ``reverse``).

    Unlike gestures22, whose twins are the *video* played backwards (which swaps event
    polarities and stroke shapes, so single frames tell them apart), a twin here holds
    exactly the forward sample's frames: order is the only cue, and a model without memory
    sees the same multiset of frames for a gesture and its twin.
    """
    rng = _rng(cfg, "gestures22m", split, index)
    label = index % TASKS["gestures22m"].outputs
    video = gestures.render(label % 11, gestures.sample_params(rng), cfg.size,
                            cfg.steps * cfg.substeps)
    x = bin_events(video_to_events(video, cfg.noise, rng), cfg.steps)
    return (x[::-1].copy() if label >= 11 and reverse else x), label


def _sample(task, cfg, split, index, glyphs):
    if task == "gestures22m":
        return memory_twin(cfg, split, index)
    rng = _rng(cfg, task, split, index)
    frames = cfg.steps * cfg.substeps
    if task in ("gestures11", "gestures22"):
        label = index % TASKS[task].outputs
        video = gesture_video(label, gestures.sample_params(rng), cfg.size, frames)
        target = label
    elif task in ("digits", "digits_ahead"):
        images, labels = glyphs
        lo, hi = (0, _DIGIT_SPLIT) if split == "train" else (_DIGIT_SPLIT, len(images))
        pool = np.flatnonzero((labels[lo:hi] == index % 10)) + lo
        pick = pool[rng.integers(len(pool))]
        params = digits.sample_params(rng, cfg.size)
        video = digits.render(images[pick], params, cfg.size, frames)
        if task == "digits":
            target = int(labels[pick])
        else:
            corner = digits.trajectory(params, cfg.size, frames + cfg.ahead * cfg.substeps)[-1]
            target = (corner + digits.GLYPH / 2).astype(np.float32)
    else:
        video, steer = steering.render(steering.sample_params(rng), cfg.size, frames)
        target = steer[cfg.substeps - 1::cfg.substeps]
    x = bin_events(video_to_events(video, cfg.noise, rng), cfg.steps)
    return x, target


def make_split(task, cfg, split):
    """Generate one split: (x (S, T, 2, H, W) float32, y)."""
    if task not in TASKS:
        raise KeyError(task)
    if TASKS[task].source == "recorded":
        return make_recorded_split(task, cfg, split)
    count = cfg.train if split == "train" else cfg.test
    glyphs = digits.load_glyphs() if task.startswith("digits") else None
    xs, ys = zip(*(_sample(task, cfg, split, i, glyphs) for i in range(count)))
    return np.stack(xs), np.stack([np.asarray(y) for y in ys])


def _read_cache(path):
    """(x, y) of a cache file; a one-line ConfigError naming it if it is truncated or foreign."""
    try:
        with np.load(path, allow_pickle=False) as z:
            x, y = z["x"], z["y"]
    except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError,
            zipfile.BadZipFile, zlib.error):
        x = y = None
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray) or x.ndim != 5 \
            or len(x) != len(y):
        raise ConfigError(f"{path}: not a readable data cache (truncated or foreign); delete it "
                          f"and the data are made again")
    return x, y


def load_split(task, cfg, split, cache_dir):
    """:func:`make_split` through a cache file (written atomically)."""
    cache_dir = Path(cache_dir)
    path = cache_dir / f"{task}-{split}-{cfg.key(task, split)}.npz"
    if path.exists():
        return _read_cache(path)
    x, y = make_split(task, cfg, split)

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, x=x, y=y)
    write_atomically(path, write)
    return x, y
