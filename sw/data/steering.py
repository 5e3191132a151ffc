"""Steering: a procedurally generated road seen from a moving car (analogue of DDD-20).

A road in perspective: lane edges and a dashed centre line whose dashes
stream towards the camera as the car drives, roadside clutter (posts and
bushes) that grows and moves outwards, and a curvature that changes
smoothly over time. The car's lateral offset follows the road with a lag.
Target per frame: the steering angle, here the normalised command that
keeps the car on the lane, ``curvature + 0.5 * heading error``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sample_params", "render"]

HORIZON = 0.28    # fraction of the image height above the road


def sample_params(rng):
    return {
        "curv_coef": rng.standard_normal((2, 3)),
        "curv_phase": rng.uniform(0, 2 * np.pi, size=3),
        "speed": rng.uniform(0.6, 1.2),
        "clutter": rng.uniform(0, 1, size=(8, 3)),   # side, distance phase, kind
        "width": rng.uniform(0.8, 1.1),
    }


def _curvature(p, t):
    k = np.arange(1, 4)
    c = (p["curv_coef"][0] * np.sin(2 * np.pi * t[:, None] * k * 0.7 + p["curv_phase"])).sum(1)
    return 0.6 * np.tanh(0.5 * c)


def render(p, size, frames):
    """(video (frames, size, size), steering (frames,)) ."""
    t = np.arange(frames) / frames
    curv = _curvature(p, t)
    heading = np.zeros(frames)
    for f in range(1, frames):                         # the car lags the road
        heading[f] = 0.85 * heading[f - 1] + 0.15 * curv[f - 1]
    steer = curv + 0.5 * (curv - heading)
    ys = (np.arange(size) + 0.5) / size
    xs = (np.arange(size) + 0.5) / size * 2 - 1
    depth = np.clip((ys - HORIZON) / (1 - HORIZON), 1e-3, 1)      # 0 at horizon, 1 at bottom
    far = 1 / depth                                                # distance ahead
    video = np.empty((frames, size, size))
    travelled = np.cumsum(np.full(frames, p["speed"])) * 0.35
    for f in range(frames):
        centre = (curv[f] - heading[f]) * (1 - depth) ** 2 * 1.2   # road bends towards horizon
        half = 0.75 * p["width"] * depth
        dx = xs[None, :] - centre[:, None]
        img = np.where(ys[:, None] < HORIZON, 0.35, 0.2 + 0 * dx)
        edge = np.abs(np.abs(dx) - half[:, None]) < 0.05 + 0.03 * depth[:, None]
        dash = (np.mod(far + travelled[f], 1.0) < 0.5)[:, None] & (np.abs(dx) < 0.02 + 0.04 * depth[:, None])
        img = np.where((edge | dash) & (ys[:, None] >= HORIZON), 0.9, img)
        for side, phase, kind in p["clutter"]:
            dist = np.mod(phase * 6 - travelled[f] * 0.8, 6.0) + 0.6
            d = 1 / dist
            row = HORIZON + (1 - HORIZON) * d
            if row >= 1:
                continue
            cx = (centre[min(int(row * size), size - 1)] + (1 if side > 0.5 else -1)
                  * (0.75 * p["width"] * d + 0.25 * d + 0.05))
            rad = 0.05 + 0.12 * d * (0.5 + kind)
            blob = ((xs[None, :] - cx) ** 2 + (ys[:, None] - row + rad / 2) ** 2) < rad ** 2
            img = np.where(blob, 0.6 + 0.3 * kind, img)
        video[f] = img
    return np.clip(video, 0, 1), steer.astype(np.float32)
