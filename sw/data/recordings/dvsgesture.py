"""DVS128 Gesture (Amir et al., CVPR 2017): 29 subjects, 3 lighting conditions, 11 gestures,
a 128x128 DVS128 camera. Two layouts of ``<data root>/DVSGesture`` are read:

- IBM's distribution (``DvsGesture.tar.gz``), in ``DVSGesture/`` or ``DVSGesture/DvsGesture/``:
  ``trials_to_train.txt`` and ``trials_to_test.txt`` list the recordings of each split
  (``userNN_<lighting>.aedat``, AEDAT 3.1, read by :func:`.aedat.read_aedat31`); beside each,
  ``userNN_<lighting>_labels.csv`` with a header line and rows ``class,startTime_usec,
  endTime_usec`` (class 1..11). A gesture is the events with ``start <= t < end``; its
  label is ``class - 1``.
- tonic's layout (``ibmGestureTrain/`` and ``ibmGestureTest/``): ``userNN_<lighting>/<c>.npy``,
  one gesture each, an (N, 4) array of columns x, y, p, t with t in milliseconds (tonic
  multiplies it by 1000); its label is ``c``, its span the first to one past the last
  event.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .aedat import read_aedat31
from .events import PUBLISHED, DataError, events

__all__ = ["SENSOR", "CLASSES", "Gesture", "gestures", "read_gesture", "files"]

SENSOR = (128, 128)
CLASSES = 11
_SPLIT_FILE = {"train": "trials_to_train.txt", "test": "trials_to_test.txt"}
_TONIC_DIR = {"train": "ibmGestureTrain", "test": "ibmGestureTest"}


@dataclass(frozen=True)
class Gesture:
    file: Path       #: the recording (.aedat) or tonic's per-gesture .npy
    start: int       #: first microsecond
    end: int         #: one past the last microsecond
    label: int       #: 0..10


def _layout(folder):
    folder = Path(folder)
    if all((folder / d).is_dir() for d in _TONIC_DIR.values()):
        return "tonic", folder
    for base in (folder / "DvsGesture", folder):
        if all((base / f).is_file() for f in _SPLIT_FILE.values()):
            return "ibm", base
    raise DataError(f"{folder}: no DVS128 Gesture data (expected DvsGesture/trials_to_train.txt, "
                    f"trials_to_test.txt and the userNN_<lighting>.aedat recordings with their "
                    f"_labels.csv, or tonic's ibmGestureTrain/ and ibmGestureTest/); published at "
                    f"{PUBLISHED['DVSGesture']}")


def _listed(base, split):
    listing = base / _SPLIT_FILE[split]
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    if not names:
        raise DataError(f"{listing}: lists no recordings")
    out = []
    for name in names:
        rec = base / name
        labels = rec.with_name(rec.stem + "_labels.csv")
        for f in (rec, labels):
            if not f.is_file():
                raise DataError(f"{f}: missing (listed in {listing}); the data set is incomplete")
        out.append((rec, labels))
    return out


def _labels(path):
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a labels CSV (byte {e.start} is not ASCII)") from None
    rows = []
    for n, row in enumerate(csv.reader(text.splitlines()), start=1):
        if n == 1 or not row:
            continue
        try:
            cls, start, end = (int(v) for v in row)
        except ValueError:
            raise DataError(f"{path}: line {n}: expected class,startTime_usec,endTime_usec "
                            f"(integers), got {','.join(row)!r}") from None
        if not 1 <= cls <= CLASSES or start >= end:
            raise DataError(f"{path}: line {n}: class must be 1..{CLASSES} and start < end, "
                            f"got {','.join(row)!r}")
        rows.append((cls - 1, start, end))
    return rows


def files(folder, split):
    """Every file the split reads (for the cache's fingerprint)."""
    kind, base = _layout(folder)
    if kind == "ibm":
        return [base / _SPLIT_FILE[split]] + [f for pair in _listed(base, split) for f in pair]
    return sorted((base / _TONIC_DIR[split]).glob("*/*.npy"))


def _read_npy(path):
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npy file ({str(e).splitlines()[0]})") from None
    if a.ndim != 2 or a.shape[1] != 4:
        raise DataError(f"{path}: expected an (N, 4) array of x, y, p, t, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all() \
            or (a[:, :3] != np.round(a[:, :3])).any():
        raise DataError(f"{path}: x, y and p must be whole numbers and t finite")
    x, y = a[:, 0].astype(np.int64), a[:, 1].astype(np.int64)
    if len(a) and (x.min() < 0 or y.min() < 0 or x.max() >= SENSOR[0] or y.max() >= SENSOR[1]):
        raise DataError(f"{path}: pixels outside the 128x128 sensor")
    return events(x, y, np.rint(a[:, 3] * 1000).astype(np.int64), a[:, 2] > 0)


def gestures(folder, split):
    """The split's gestures, in listing order (recordings as listed, rows as in the CSV)."""
    kind, base = _layout(folder)
    out = []
    if kind == "ibm":
        for rec, labels in _listed(base, split):
            out += [Gesture(rec, s, e, c) for c, s, e in _labels(labels)]
        return out
    for f in sorted((base / _TONIC_DIR[split]).glob("*/*.npy")):
        if not f.stem.isdigit() or not 0 <= int(f.stem) < CLASSES:
            raise DataError(f"{f}: a gesture file's name must be its class 0..10")
        ev = _read_npy(f)
        span = (int(ev["t"].min()), int(ev["t"].max()) + 1) if len(ev) else (0, 1)
        out.append(Gesture(f, *span, int(f.stem)))
    if not out:
        raise DataError(f"{base / _TONIC_DIR[split]}: no gesture files (userNN_<lighting>/<c>.npy)")
    return out


def read_gesture(gesture, cache=None):
    """The events of one gesture (``start <= t < end``), in file order. ``cache`` (a dict)
    keeps the last recording read, so a recording's gestures read it once."""
    cache = {} if cache is None else cache
    if cache.get("file") != gesture.file:
        ev = (read_aedat31(gesture.file, SENSOR) if gesture.file.suffix == ".aedat"
              else _read_npy(gesture.file))
        cache.clear()
        cache.update(file=gesture.file, events=ev)
    ev = cache["events"]
    return ev[(ev["t"] >= gesture.start) & (ev["t"] < gesture.end)]
