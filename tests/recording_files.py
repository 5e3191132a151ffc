"""Tiny recordings in each data set's exact file format, written byte by byte here (struct,
h5py), independently of the project's readers: the readers must give back what these wrote.

Formats (docs/real-data.md): IBM's AEDAT 3.1 with its labels CSV and split lists (DVS128
Gesture), tonic's per-gesture .npy layout, N-MNIST's 5-byte ATIS events with an overflow
record, DDD20's raw HDF5 (vlen rows of ASCII host time, cAER header, events; zero padding
to 2048 rows; a frame packet among the polarity packets).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

__all__ = ["aedat31", "nmnist_bin", "ddd20_hdf5", "gesture_events", "fixture_root"]

HEADER = (b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n"
          b"#Start-Time: 2017-01-01 00:00:00 (TZ+0000)\r\n#!END-HEADER\r\n")


def _word(x, y, p, valid=1):
    return (int(x) << 17) | (int(y) << 2) | (int(p) << 1) | valid


def _packet(kind, rows, overflow=0, size=8, spare=0):
    """A packet of ``rows``, with room for ``spare`` more events (eventCapacity > eventNumber,
    the unused bytes zero)."""
    n = len(rows)
    return (struct.pack("<hhiiiiii", kind, 1, size, 4, overflow, n + spare, n, n)
            + b"".join(rows) + bytes(size * spare))


def aedat31(path, x, y, t, p, per_packet=50, invalid=True):
    """An AEDAT 3.1 file of these polarity events (t < 2**31 us), ``per_packet`` per packet,
    with a special-event packet (type 0) first and, when ``invalid``, one invalid event (valid
    bit 0) in the first polarity packet: neither is an event. The first polarity packet has
    room for 3 more events than it holds (eventCapacity > eventNumber)."""
    body = [_packet(0, [struct.pack("<Ii", 1, int(t[0]) if len(t) else 0)])]
    for lo in range(0, len(t), per_packet):
        rows = [struct.pack("<Ii", _word(x[i], y[i], p[i]), int(t[i]))
                for i in range(lo, min(lo + per_packet, len(t)))]
        if invalid and lo == 0:
            rows.insert(0, struct.pack("<Ii", _word(5, 5, 1, valid=0), int(t[0])))
        body.append(_packet(1, rows, spare=3 if lo == 0 else 0))
    Path(path).write_bytes(HEADER + b"".join(body))


def nmnist_bin(path, x, y, t, p):
    """An N-MNIST .bin of these events; an overflow record (y = 240) goes before the first event
    at t >= 2**13, and the later events store t - 2**13 (as the ATIS would)."""
    out = bytearray()
    over = False
    for i in range(len(t)):
        ti = int(t[i])
        if ti >= 2 ** 13 and not over:
            out += bytes([0, 240, 0, 0, 0])
            over = True
        if over:
            ti -= 2 ** 13
        assert 0 <= ti < 2 ** 23
        out += bytes([int(x[i]), int(y[i]), (int(p[i]) << 7) | (ti >> 16), (ti >> 8) & 255,
                      ti & 255])
    Path(path).write_bytes(bytes(out))


def ddd20_hdf5(path, x, y, t_device, p, host_offset, steer_t, steer_deg, per_packet=40):
    """A raw DDD20 recording: polarity packets of device-time events, each row stamped with the
    host time of its first event (device time + ``host_offset``), a frame packet (type 2)
    after the first, tables padded with zero rows to a multiple of 2048; steering samples
    ``(steer_t, steer_deg)`` in host microseconds."""
    import h5py
    rows, stamps = [], []
    for lo in range(0, len(t_device), per_packet):
        idx = range(lo, min(lo + per_packet, len(t_device)))
        payload = b"".join(struct.pack("<Ii", _word(x[i], y[i], p[i]), int(t_device[i]))
                           for i in idx)
        count = len(idx)
        if lo == 0:            # an invalid event (valid bit 0) after the first packet's events
            payload += struct.pack("<Ii", _word(1, 1, 1, valid=0), int(t_device[lo]))
            count += 1
        head = struct.pack("<hhiiiiii", 1, 1, 8, 4, 0, count, count, count)
        host = int(t_device[lo]) + host_offset
        rows.append((str(host).encode(), head, payload))
        stamps.append(host)
        if lo == 0:          # an APS frame packet: skipped by the reader
            frame = struct.pack("<hhiiiiii", 2, 1, 16, 4, 0, 1, 1, 1)
            rows.append((str(host).encode(), frame, bytes(16)))
            stamps.append(host)
    pad = -len(rows) % 2048
    vlen = h5py.vlen_dtype(np.dtype("uint8"))
    with h5py.File(path, "w") as fh:
        data = fh.create_dataset("dvs/data", (len(rows) + pad, 3), dtype=vlen)
        for r, row in enumerate(rows):
            for c in range(3):
                data[r, c] = np.frombuffer(row[c], np.uint8)
        fh["dvs/timestamp"] = np.array(stamps + [0] * pad, dtype=np.int64)
        steer = np.zeros((len(steer_t) + (-len(steer_t) % 2048), 2))
        steer[:len(steer_t), 0], steer[:len(steer_t), 1] = steer_t, steer_deg
        fh["steering_wheel_angle/data"] = steer
        fh["steering_wheel_angle/timestamp"] = steer[:, 0].astype(np.int64)


def gesture_events(cls, start, end, rng, count=240, sensor=128):
    """A dot sweeping across the sensor in one of 11 directions (the class), ON at its front and
    OFF at its back, plus a few noise events: sorted (x, y, t, p) arrays."""
    angle = 2 * np.pi * cls / 11
    t = np.sort(rng.integers(start, end, size=count))
    u = (t - start) / (end - start)
    cx = sensor / 2 + (u - 0.5) * 0.7 * sensor * np.cos(angle)
    cy = sensor / 2 + (u - 0.5) * 0.7 * sensor * np.sin(angle)
    x = np.clip(np.rint(cx + rng.normal(0, 2, count)), 0, sensor - 1).astype(int)
    y = np.clip(np.rint(cy + rng.normal(0, 2, count)), 0, sensor - 1).astype(int)
    p = rng.random(count) < 0.6
    return x, y, t, p


def fixture_root(root, seed=0):
    """A data root with the three data sets in their distributed layouts: DVSGesture (IBM's:
    three recordings, two train one test, each the 11 gestures of 0.8 s), NMNIST (two train
    and one test recording per digit) and DDD20 (three 4 s drives: two train, one tests). Returns what was written."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    base = root / "DVSGesture" / "DvsGesture"
    base.mkdir(parents=True)
    written = {"gestures": {}}
    names = {"train": ["user01_fluorescent", "user02_led"], "test": ["user24_natural"]}
    for split, recs in names.items():
        (base / f"trials_to_{split}.txt").write_text("".join(f"{r}.aedat\n" for r in recs))
        for r in recs:
            parts, rows = [], ["class,startTime_usec,endTime_usec"]
            for k, cls in enumerate(rng.permutation(11)):
                start = 1_000_000 + k * 1_000_000
                end = start + 800_000
                parts.append(gesture_events(cls, start, end, rng))
                rows.append(f"{cls + 1},{start},{end}")
            x, y, t, p = (np.concatenate(a) for a in zip(*parts))
            aedat31(base / f"{r}.aedat", x, y, t, p)
            (base / f"{r}_labels.csv").write_text("\r\n".join(rows) + "\r\n")
            written["gestures"][r] = (x, y, t, p)
    for split, per in (("Train", 2), ("Test", 1)):
        for d in range(10):
            folder = root / "NMNIST" / split / str(d)
            folder.mkdir(parents=True)
            for k in range(per):
                x, y, t, p = gesture_events(d, 0, 300_000, rng, count=150, sensor=34)
                nmnist_bin(folder / f"{k:05d}.bin", x, y, t, p)
    (root / "DDD20").mkdir()
    for k, epoch in enumerate((1499025222, 1499110000, 1499200000)):
        t = np.sort(rng.integers(0, 4_000_000, size=3000))
        x, y = rng.integers(0, 346, 3000), rng.integers(0, 260, 3000)
        p = rng.random(3000) < 0.5
        st = np.arange(0, 4_000_000, 100_000) + 7_000_000
        deg = 30 * np.sin(st / 300_000.0 + k)
        ddd20_hdf5(root / "DDD20" / f"rec{epoch}.hdf5", x, y, t, p, 7_000_000, st, deg)
        written.setdefault("drives", []).append((x, y, t + 7_000_000, p, st, deg))
    return written
