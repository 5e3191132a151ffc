"""DDD20 (Hu et al., 2020): a DAVIS346 (346x260) driving, and the car's steering wheel angle.
``<data root>/DDD20/*.hdf5``, the raw ``rec<epoch>.hdf5`` recordings as distributed.

A recording's ``dvs/data`` is an (L, 3) table of variable-length uint8 rows: the host's
timestamp in ASCII, a 28-byte cAER packet header (as in AEDAT 3.1:
:mod:`.aedat`), the packet's events; ``dvs/timestamp`` is (L,) int64, the host's
microseconds. ``steering_wheel_angle/data`` is (L, 2) float64: host microseconds and the
angle in degrees. Tables are padded with zero rows to a multiple of 2048: a row whose
timestamp is 0 ends the table. Polarity packets (type 1) give 8-byte events as in
AEDAT 3.1 (x bits 17-31, y bits 2-16, polarity bit 1, valid bit 0, int32 device
microseconds); other packets (frames, IMU) are skipped.

Clocks: events carry the camera's microseconds, the steering the host's. One offset per
recording maps camera to host time: the host timestamp of the first polarity packet minus
the device time of its first event.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .aedat import POLARITY, _PACKET
from .events import PUBLISHED, DataError, events

__all__ = ["SENSOR", "recordings", "read_drive", "steering_at", "files", "SCALE_DEG"]

SENSOR = (346, 260)   # as the file stores them: ddd20-utils rotates by 180 degrees, this does not
SCALE_DEG = 180.0     #: the target is the angle divided by this (about -2..2 in city driving)


def files(folder, split):
    """The split's recordings: all ``*.hdf5`` sorted by name (by date for ``rec<epoch>``); the
    last fifth (at least one) tests, the rest train: later drives are the test set."""
    found = sorted(Path(folder).glob("*.hdf5"))
    if len(found) < 2:
        raise DataError(f"{folder}: DDD20 needs at least 2 recordings (*.hdf5: one to train, one "
                        f"to test), found {len(found)}; published at {PUBLISHED['DDD20']}")
    test = max(1, len(found) // 5)
    return found[:-test] if split == "train" else found[-test:]


recordings = files


def _table_end(stamps):
    zero = np.flatnonzero(np.asarray(stamps) == 0)
    return int(zero[0]) if len(zero) else len(stamps)


def read_drive(path):
    """(events in host microseconds, steering (K, 2) float64 [host us, degrees]) of a recording.

    Raises
    ------
    DataError
        Not HDF5, a missing table, or a truncated or corrupt packet: one line each.
    """
    import h5py
    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"{path}: not a readable HDF5 file ({str(e).splitlines()[0]})") from None
    with fh:
        for key in ("dvs/data", "dvs/timestamp", "steering_wheel_angle/data"):
            if key not in fh:
                raise DataError(f"{path}: no {key} table (not a DDD20 recording)")
        stamps = fh["dvs/timestamp"][()]
        rows = fh["dvs/data"]
        if rows.ndim != 2 or rows.shape[1] != 3 or len(rows) != len(stamps):
            raise DataError(f"{path}: dvs/data must be (L, 3) rows beside dvs/timestamp (L,), "
                            f"got {rows.shape} and {stamps.shape}")
        n = _table_end(stamps)
        xs, ys, ts, ps = [], [], [], []
        offset = None
        for r in range(n):
            head, body = bytes(rows[r, 1]), bytes(rows[r, 2])
            if len(head) != _PACKET.itemsize:
                raise DataError(f"{path}: dvs/data row {r}: the packet header has {len(head)} "
                                f"bytes, expected 28")
            h = np.frombuffer(head, _PACKET)[0]
            if int(h["type"]) != POLARITY:
                continue
            count = int(h["number"])
            if int(h["size"]) != 8 or count < 0 or len(body) < 8 * count:
                raise DataError(f"{path}: dvs/data row {r}: truncated or corrupt polarity packet "
                                f"({len(body)} bytes for {count} events of {int(h['size'])})")
            w = np.frombuffer(body, "<u4", count=2 * count)
            word, t = w[0::2], w[1::2].view("<i4").astype(np.int64) + (int(h["ts_overflow"]) << 31)
            keep = (word & 1).astype(bool)
            word, t = word[keep], t[keep]
            if not len(t):
                continue
            if offset is None:
                offset = int(stamps[r]) - int(t[0])
            xs.append((word >> 17) & 0x7FFF)
            ys.append((word >> 2) & 0x7FFF)
            ts.append(t + offset)
            ps.append(((word >> 1) & 1).astype(bool))
        steer = fh["steering_wheel_angle/data"][()]
    if steer.ndim != 2 or steer.shape[1] != 2:
        raise DataError(f"{path}: steering_wheel_angle/data must be (L, 2), got {steer.shape}")
    steer = steer[:_table_end(steer[:, 0])]
    if not len(steer):
        raise DataError(f"{path}: steering_wheel_angle/data holds no samples")
    if not xs:
        raise DataError(f"{path}: dvs/data holds no polarity events")
    ev = events(*(np.concatenate(a) for a in (xs, ys, ts, ps)))
    bad = np.flatnonzero((ev["x"] >= SENSOR[0]) | (ev["y"] >= SENSOR[1]))
    if len(bad):
        i = bad[0]
        raise DataError(f"{path}: corrupt event {i}: pixel ({ev['x'][i]}, {ev['y'][i]}) outside "
                        f"the 346x260 sensor")
    return ev, steer


def steering_at(steer, times):
    """The angle held at each time (the last sample at or before it; the first sample before
    the first), divided by :data:`SCALE_DEG`: float32."""
    i = np.searchsorted(steer[:, 0], np.asarray(times) - 1, side="right") - 1
    return (steer[np.maximum(i, 0), 1] / SCALE_DEG).astype(np.float32)
