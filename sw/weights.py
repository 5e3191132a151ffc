"""Integer weights and biases of a layer.

Until trained weights are exported (a later issue), the shipped design uses
a seeded generator: weights drawn so that a uniform input in [0, 1) drives
the mean current near the switching threshold, which exercises heating,
cooling and both saturations.
"""

from __future__ import annotations

import numpy as np

from .fixed import INT_OPS

__all__ = ["seeded_weights"]


def seeded_weights(fp, seed):
    """Return ``(W, b)``, int64 arrays of shape (N, M) and (N,), reproducible per seed."""
    rng = np.random.default_rng(seed)
    m, n = fp.inputs, fp.neurons
    # mean current thr0 for x ~ U[0, 1): sum_m w_m * 0.5 = thr0
    mean_w = (fp.thr0 / 2 ** fp.i_frac) / (0.5 * m) * 2 ** fp.w_frac
    w = np.round(rng.normal(mean_w, 4.0 * max(1.0, mean_w), size=(n, m))).astype(np.int64)
    b = np.round(rng.normal(0.0, 4.0, size=n)).astype(np.int64)
    return INT_OPS.sat(w, fp.w_width, True), INT_OPS.sat(b, fp.b_width, True)
