"""What the cocotb benches that read recorded memories share: the ``$writememh`` reader and
the scoreboard that counts compared values and keeps the first mismatches."""

from pathlib import Path

import numpy as np

__all__ = ["read_hex", "Scoreboard"]


def read_hex(path):
    """Words of a $writememh file (comments and address marks skipped), int64 (<= 63 bits)."""
    words = []
    for line in Path(path).read_text().split("\n"):
        line = line.split("//")[0].strip()
        if line and not line.startswith("@"):
            words.extend(line.split())
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
