"""Anti-aliased drawing of thick segments and disks on a batch of frames (numpy)."""

import numpy as np

__all__ = ["pixel_grid", "segments", "to_pixels"]


def pixel_grid(size):
    """Pixel centres in normalised coordinates [-1, 1] (x right, y down): (size, size) each."""
    c = (np.arange(size) + 0.5) / size * 2 - 1
    return np.meshgrid(c, c, indexing="xy")


def to_pixels(size):
    """Normalised length -> pixels."""
    return size / 2.0


def segments(size, a, b, radius):
    """Coverage in [0, 1] of thick segments a-b, maximum over segments.

    a, b : (F, S, 2) end points per frame; radius : (S,) or scalar, normalised units.
    Returns (F, size, size).
    """
    gx, gy = pixel_grid(size)
    p = np.stack([gx, gy], -1)[None, None]                    # 1, 1, H, W, 2
    a = a[:, :, None, None, :]
    b = b[:, :, None, None, :]
    ab = b - a
    denom = np.maximum((ab * ab).sum(-1), 1e-12)
    t = np.clip(((p - a) * ab).sum(-1) / denom, 0.0, 1.0)
    d = np.linalg.norm(p - (a + t[..., None] * ab), axis=-1)   # F, S, H, W
    r = np.broadcast_to(np.asarray(radius, dtype=np.float64), (a.shape[1],))[None, :, None, None]
    cover = np.clip((r - d) * to_pixels(size) + 0.5, 0.0, 1.0)
    return cover.max(axis=1)
