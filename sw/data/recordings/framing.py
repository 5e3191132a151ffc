"""Events to the accelerator's frames: the one binning rule training, the golden model and the
RTL benches share (docs/real-data.md, "Binning").

A sample is the events of one recording from a start time. Time binning: frame ``k``
holds the events with ``start + k * frame_us <= t < start + (k + 1) * frame_us``. Count
binning: the events with ``t >= start``, stably sorted by time, the first
``steps * frame_events`` of them; frame ``k`` holds events ``k * frame_events`` up to
``(k + 1) * frame_events - 1`` (a short recording leaves the last frames partly or
wholly empty). Each event adds 1 to channel 0 (ON) or 1 (OFF) of pixel
``(y * size // height, x * size // width)``: a sensor of ``width x height`` pixels is
downsampled to ``size x size`` by integer division, every sensor pixel falling in exactly
one frame pixel (128 -> 32 sums 4x4 blocks). Counts are not clipped here: the network
floors and saturates them to its input width once (``netref.quantise_frames``), so the
hardware sees what training saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .events import TONIC_MISSING, DataError

__all__ = ["Binning", "to_frames", "denoise", "frame_stats"]


@dataclass(frozen=True)
class Binning:
    mode: str = "time"               #: "time" (fixed duration) or "count" (fixed event count)
    frame_us: int | None = None      #: time mode: frame length, microseconds
    frame_events: int | None = None  #: count mode: events per frame
    denoise_us: int = 0              #: 0: off; else tonic's Denoise filter time, microseconds

    def __post_init__(self):
        if self.mode not in ("time", "count"):
            raise ValueError(f"binning mode {self.mode!r}: must be 'time' or 'count'")
        if self.mode == "time" and not (self.frame_us and self.frame_us > 0):
            raise ValueError("time binning needs frame_us > 0")
        if self.mode == "count" and not (self.frame_events and self.frame_events > 0):
            raise ValueError("count binning needs frame_events > 0")


def denoise(ev, filter_us):
    """tonic's Denoise: drop an event unless one of its 4 neighbours fired within
    ``filter_us`` before it (tonic.functional.denoise_numpy, unchanged)."""
    if not filter_us or len(ev) == 0:
        return ev
    try:
        from tonic.functional import denoise_numpy
    except ImportError:
        raise DataError(TONIC_MISSING) from None
    return denoise_numpy(ev, filter_time=filter_us)


def to_frames(ev, sensor, size, steps, start, binning):
    """Bin one sample's events.

    Parameters
    ----------
    ev : ndarray of :data:`~.events.EVENTS`
    sensor : (int, int)
        The sensor's width and height, pixels.
    size : int
        Frame side, pixels.
    steps : int
        Frames.
    start : int
        The sample's first microsecond.
    binning : Binning

    Returns
    -------
    frames : ndarray, (steps, 2, size, size) float32
        Event counts; channel 0 ON, channel 1 OFF.
    ends : ndarray, (steps,) int64
        Each frame's end, microseconds (exclusive): the time a per-frame target is read at.
        Count binning: one past the frame's last event (an empty frame ends where the one
        before it ended).
    """
    width, height = sensor
    t = ev["t"]
    if binning.mode == "time":
        d = binning.frame_us
        k = (t - start) // d
        keep = (t >= start) & (k < steps)
        sel, k = ev[keep], k[keep]
        ends = start + d * np.arange(1, steps + 1, dtype=np.int64)
    else:
        n = binning.frame_events
        later = ev[t >= start]
        sel = later[np.argsort(later["t"], kind="stable")][:steps * n]
        k = np.arange(len(sel)) // n
        ends = np.full(steps, start, dtype=np.int64)
        for f in range(steps):
            inside = sel["t"][f * n:(f + 1) * n]
            ends[f] = inside[-1] + 1 if len(inside) else (ends[f - 1] if f else start)
    frames = np.zeros((steps, 2, size, size), dtype=np.float32)
    xs = sel["x"].astype(np.int64) * size // width
    ys = sel["y"].astype(np.int64) * size // height
    np.add.at(frames, (k, np.where(sel["p"], 0, 1), ys, xs), 1)
    return frames, ends


def frame_stats(x, width):
    """Events per frame, active-pixel density and saturation of binned samples.

    Parameters
    ----------
    x : ndarray, (S, T, C, H, W)
        Event counts.
    width : int
        The network's input width: a count above ``2**width - 1`` saturates.

    Returns
    -------
    dict
        ``events_per_frame`` (mean), ``density`` (fraction of pixel positions with at least
        one event, either polarity, averaged over frames), ``saturated_pixels`` (fraction of
        non-zero counts above the top) and ``events_lost`` (fraction of events clipped away).
    """
    x = np.asarray(x, dtype=np.float64)
    top = 2 ** width - 1
    total = x.sum()
    nonzero = np.count_nonzero(x)
    return {
        "events_per_frame": float(total / max(1, x.shape[0] * x.shape[1])),
        "density": float(np.mean(x.sum(axis=2) > 0)) if x.size else 0.0,
        "saturated_pixels": float(np.count_nonzero(x > top) / nonzero) if nonzero else 0.0,
        "events_lost": float(np.maximum(x - top, 0).sum() / total) if total else 0.0,
    }
