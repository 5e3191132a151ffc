"""N-MNIST (Orchard et al., 2015): MNIST digits seen by an ATIS camera on a pan-tilt unit, three
saccades of about 100 ms, 34x34 pixels. ``<data root>/NMNIST/Train/<digit>/*.bin`` and
``Test/<digit>/*.bin``, as the distributed Train.zip and Test.zip unpack.

A .bin file is 5-byte events: byte 0 x, byte 1 y, bit 7 of byte 2 the polarity (1 ON),
the other 23 bits of bytes 2-4 the timestamp in microseconds (big-endian). A record with
y = 240 is a timestamp overflow: every later event's time grows by 2**13 and the record
is not an event. tonic's ``read_mnist_file`` reads it; a file whose length is not a
multiple of 5 is truncated, an event outside 34x34 is corrupt.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .events import EVENTS, PUBLISHED, TONIC_MISSING, DataError

__all__ = ["SENSOR", "CLASSES", "digits", "read_digit", "files"]

SENSOR = (34, 34)
CLASSES = 10
_DIR = {"train": "Train", "test": "Test"}


def files(folder, split):
    """The split's recordings, sorted by path."""
    base = Path(folder) / _DIR[split]
    found = sorted(base.glob("[0-9]/*.bin"))
    if not found:
        raise DataError(f"{base}: no N-MNIST recordings (expected {_DIR[split]}/<digit>/*.bin as "
                        f"Train.zip and Test.zip unpack); published at {PUBLISHED['NMNIST']}")
    return found


def digits(folder, split):
    """(file, label) of every recording of the split, sorted by path."""
    return [(f, int(f.parent.name)) for f in files(folder, split)]


def read_digit(path):
    """The events of one recording (tonic's reader, its overflow rule), checked."""
    try:
        from tonic.io import read_mnist_file
    except ImportError:
        raise DataError(TONIC_MISSING) from None
    path = Path(path)
    n = path.stat().st_size
    if n % 5:
        raise DataError(f"{path}: truncated ({n} bytes is not a whole number of 5-byte events)")
    ev = read_mnist_file(str(path), dtype=EVENTS)
    bad = np.flatnonzero((ev["x"] >= SENSOR[0]) | (ev["y"] >= SENSOR[1]))
    if len(bad):
        i = bad[0]
        raise DataError(f"{path}: corrupt event {i}: pixel ({ev['x'][i]}, {ev['y'][i]}) outside "
                        f"the 34x34 sensor")
    return ev
