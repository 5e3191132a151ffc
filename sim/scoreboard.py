"""What the cocotb benches that read recorded memories share: the ``$writememh`` reader and
the scoreboard that counts compared values and keeps the first mismatches."""

from pathlib import Path

import numpy as np

__all__ = ["read_hex", "Scoreboard"]


_HEX = np.full(256, -1, dtype=np.int64)
for _k, _c in enumerate("0123456789abcdef"):
    _HEX[ord(_c)] = _HEX[ord(_c.upper())] = _k


def read_hex(path):
    """Words of a $writememh file (comments and address marks skipped), int64 (<= 63 bits).
    Words of one width (as $writememh writes them) are decoded in numpy; an x or z digit, or
    mixed widths, fall back to Python's ``int(w, 16)`` (which refuses x and z)."""
    words = []
    for line in Path(path).read_text().split("\n"):
        line = line.split("//")[0].strip()
        if line and not line.startswith("@"):
            words.extend(line.split())
    if words and len({len(w) for w in words}) == 1 and len(words[0]) <= 15:
        digits = _HEX[np.frombuffer("".join(words).encode(), dtype=np.uint8)]
        digits = digits.reshape(len(words), len(words[0]))
        if (digits >= 0).all():
            return digits @ (16 ** np.arange(digits.shape[1] - 1, -1, -1, dtype=np.int64))
    return np.array([int(w, 16) for w in words], dtype=np.int64)


class Scoreboard:
    """Counts compared values and mismatches; keeps the first mismatches."""

    def __init__(self, log):
        self.log = log
        self.compared = self.mismatches = 0
        self.first = []

    def compare(self, what, got, want):
        got, want = np.asarray(got), np.asarray(want)
        self.compared += want.size
        if got.shape != want.shape:
            self._bad(f"{what}: {got.size} values, expected {want.size}")
            self.mismatches += want.size
            return
        bad = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
        self.mismatches += bad.size
        for k in bad[:3]:
            self._bad(f"{what}[{k}]: {got.reshape(-1)[k]} != {want.reshape(-1)[k]}")

    def _bad(self, text):
        if len(self.first) < 20:
            self.first.append(text)
            self.log.error("mismatch: %s", text)
