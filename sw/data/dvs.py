"""A DVS event camera in numpy: log-intensity changes against a contrast threshold.

Each pixel keeps a reference log intensity. Whenever the current log
intensity has moved by n whole thresholds from it, the pixel emits n events
of that polarity and moves its reference by n thresholds (the standard
contrast model of event cameras). Sensor noise: per-pixel threshold mismatch
(Gaussian, relative sigma), background activity (Bernoulli events of random
polarity), and hot pixels that fire ON at every sub-step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SensorNoise", "video_to_events", "bin_events"]

LOG_EPS = 0.05     # log(I + eps): dark pixels do not explode


@dataclass(frozen=True)
class SensorNoise:
    contrast: float = 0.2          #: nominal threshold, log-intensity units
    threshold_sigma: float = 0.03  #: relative per-pixel mismatch of the thresholds
    background_rate: float = 0.002 #: noise events per pixel per sub-step
    hot_pixels: int = 2            #: pixels that fire ON at every sub-step


def video_to_events(video, noise, rng, reset_on_event=False):
    """Events of an intensity video.

    Parameters
    ----------
    video : ndarray, (F, H, W)
        Intensity in [0, 1] at F sub-steps.
    noise : SensorNoise
    rng : numpy.random.Generator
    reset_on_event : bool
        False (the default, every benchmark task): a pixel that fires moves its reference
        by the whole thresholds it crossed, so the remainder below one threshold stays
        with the pixel. True: it resets its reference to the current log intensity, as the
        pixel circuit resets its differencing amplifier after an event (Lichtsteiner et
        al. 2008); then a pixel that returns to an earlier intensity holds nothing of
        what it saw in between (the working-memory tasks: the camera itself must not
        remember the items).

    Returns
    -------
    ndarray, (F, 2, H, W) int16
        ON (channel 0) and OFF (channel 1) event counts per sub-step. Sub-step 0
        only sets the references and has no contrast events.
    """
    f, h, w = video.shape
    log_i = np.log(video.astype(np.float64) + LOG_EPS)
    c_on = noise.contrast * np.clip(1 + noise.threshold_sigma * rng.standard_normal((h, w)), 0.5, 1.5)
    c_off = noise.contrast * np.clip(1 + noise.threshold_sigma * rng.standard_normal((h, w)), 0.5, 1.5)
    ref = log_i[0].copy()
    out = np.zeros((f, 2, h, w), dtype=np.int16)
    for t in range(1, f):
        d = log_i[t] - ref
        n_on = np.floor(np.maximum(d, 0) / c_on)
        n_off = np.floor(np.maximum(-d, 0) / c_off)
        ref += n_on * c_on - n_off * c_off
        if reset_on_event:
            fired = (n_on + n_off) > 0
            ref[fired] = log_i[t][fired]
        out[t, 0] = n_on
        out[t, 1] = n_off
    if noise.background_rate > 0:
        ba = rng.random((f, h, w)) < noise.background_rate
        pol = rng.random((f, h, w)) < 0.5
        out[:, 0] += (ba & pol)
        out[:, 1] += (ba & ~pol)
    if noise.hot_pixels:
        idx = rng.choice(h * w, size=noise.hot_pixels, replace=False)
        out[:, 0].reshape(f, -1)[:, idx] += 1
    return out


def bin_events(events, steps):
    """Sum F sub-steps of events into ``steps`` frames: (steps, 2, H, W) float32."""
    f = events.shape[0]
    if f % steps:
        raise ValueError(f"{f} sub-steps do not split into {steps} frames")
    return events.reshape(steps, f // steps, *events.shape[1:]).sum(axis=1).astype(np.float32)
