"""IBM's AEDAT 3.1 files (DVS128 Gesture's ``userNN_<lighting>.aedat``), read here.

tonic 1.7.0's ``read_dvs_ibm`` cannot read them (it unpacks the three header fields of
every packet into two names, and reads a header whose lines end in LF alone as version
3.0), so this reader is the project's own; docs/real-data.md gives the byte layout.

Layout: ASCII header lines, each starting with ``#``, the first ``#!AER-DAT3.1``, the last
``#!END-HEADER``; then packets to the end of the file, each a 28-byte little-endian header
(int16 eventType, int16 eventSource, int32 eventSize, eventTSOffset, eventTSOverflow,
eventCapacity, eventNumber, eventValid) and ``eventCapacity * eventSize`` bytes of events.
A polarity event (eventType 1, 8 bytes) is a uint32 word (bit 0 valid, bit 1 polarity,
bits 2-16 y, bits 17-31 x) and an int32 timestamp in microseconds, extended by
``eventTSOverflow << 31``. Other event types are skipped; invalid events are dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .events import DataError, events

__all__ = ["read_aedat31"]

_PACKET = np.dtype([("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"),
                    ("ts_overflow", "<i4"), ("capacity", "<i4"), ("number", "<i4"),
                    ("valid", "<i4")])
POLARITY = 1


def _header_end(raw, path):
    if not raw.startswith(b"#!AER-DAT3"):
        raise DataError(f"{path}: not an AEDAT 3.x file (its first line is not '#!AER-DAT3.x')")
    pos = 0
    while pos < len(raw) and raw[pos:pos + 1] == b"#":
        end = raw.find(b"\n", pos)
        if end < 0:
            break
        line = raw[pos:end].rstrip(b"\r")
        pos = end + 1
        if line == b"#!END-HEADER":
            return pos
    raise DataError(f"{path}: truncated AEDAT header (no '#!END-HEADER' line)")


def read_aedat31(path, sensor=(128, 128)):
    """The polarity events of an AEDAT 3.1 file.

    Parameters
    ----------
    path : path-like
    sensor : (int, int)
        Width and height: an event outside them is a corrupt file.

    Returns
    -------
    ndarray of :data:`~.events.EVENTS`, in file order.

    Raises
    ------
    DataError
        One line naming the file and the byte offset of what is wrong.
    """
    path = Path(path)
    raw = path.read_bytes()
    pos = _header_end(raw, path)
    words, stamps = [], []
    while pos < len(raw):
        if pos + _PACKET.itemsize > len(raw):
            raise DataError(f"{path}: truncated at byte {pos}: a packet header needs 28 bytes, "
                            f"{len(raw) - pos} left")
        head = np.frombuffer(raw, _PACKET, count=1, offset=pos)[0]
        size, capacity = int(head["size"]), int(head["capacity"])
        if size <= 0 or capacity < 0 or not 0 <= int(head["number"]) <= capacity:
            raise DataError(f"{path}: corrupt packet header at byte {pos} (eventSize {size}, "
                            f"eventCapacity {capacity}, eventNumber {int(head['number'])})")
        body = pos + _PACKET.itemsize
        end = body + size * capacity
        if end > len(raw):
            raise DataError(f"{path}: truncated at byte {pos}: the packet holds {size * capacity} "
                            f"bytes of events, {len(raw) - body} left")
        if int(head["type"]) == POLARITY:
            if size != 8:
                raise DataError(f"{path}: corrupt polarity packet at byte {pos}: eventSize "
                                f"{size}, expected 8")
            ev = np.frombuffer(raw, "<u4", count=2 * int(head["number"]), offset=body)
            words.append(ev[0::2])
            stamps.append(ev[1::2].view("<i4").astype(np.int64)
                          + (int(head["ts_overflow"]) << 31))
        pos = end
    word = np.concatenate(words) if words else np.zeros(0, "<u4")
    t = np.concatenate(stamps) if stamps else np.zeros(0, np.int64)
    keep = (word & 1).astype(bool)
    word, t = word[keep], t[keep]
    x = (word >> 17) & 0x7FFF
    y = (word >> 2) & 0x7FFF
    bad = np.flatnonzero((x >= sensor[0]) | (y >= sensor[1]))
    if len(bad):
        i = bad[0]
        raise DataError(f"{path}: corrupt event {i} (counting valid events): pixel ({x[i]}, {y[i]}) outside the "
                        f"{sensor[0]}x{sensor[1]} sensor")
    return events(x, y, t, ((word >> 1) & 1).astype(bool))
