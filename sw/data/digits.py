"""Moving digits: scikit-learn's bundled handwritten digits bouncing on a canvas.

The 8x8 digit images (0..16) are upsampled 2x to 16x16 and move with a
constant velocity, bouncing off the canvas walls. Two tasks share the
videos: the digit's class, and its position k steps after the last frame
(centre of the glyph, in pixels).
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_glyphs", "sample_params", "render", "trajectory"]

GLYPH = 16


def load_glyphs():
    """(images (1797, 16, 16) in [0, 1], labels). Shipped inside scikit-learn: no download."""
    from sklearn.datasets import load_digits
    d = load_digits()
    img = np.kron(d.images / 16.0, np.ones((2, 2)))
    return img.astype(np.float32), d.target.astype(np.int64)


def sample_params(rng, size):
    span = size - GLYPH
    speed = rng.uniform(0.35, 0.8)          # pixels per sub-step
    ang = rng.uniform(0, 2 * np.pi)
    return {"pos": rng.uniform(0, span, size=2), "vel": speed * np.array([np.cos(ang), np.sin(ang)])}


def trajectory(p, size, frames):
    """Top-left corner per sub-step, (frames, 2), with reflection at the walls."""
    span = size - GLYPH
    raw = p["pos"][None, :] + np.arange(frames)[:, None] * p["vel"][None, :]
    folded = np.mod(raw, 2 * span)
    return np.where(folded > span, 2 * span - folded, folded)


def render(glyph, p, size, frames):
    """Intensity video (frames, size, size): the glyph at sub-pixel positions (bilinear)."""
    corner = trajectory(p, size, frames)
    video = np.full((frames, size, size), 0.1, dtype=np.float64)
    for f, (x, y) in enumerate(corner):
        ix, iy = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - ix, y - iy
        canvas = np.zeros((size + 1, size + 1))
        for dy, dx, wgt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)),
                            (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
            canvas[iy + dy: iy + dy + GLYPH, ix + dx: ix + dx + GLYPH] += wgt * glyph
        video[f] += 0.85 * canvas[:size, :size]
    return np.clip(video, 0, 1)
