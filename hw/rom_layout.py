"""How weights and biases are laid out in the emulator's ROMs.

Neuron ``n`` lives in lane ``n % P`` and group ``n // P``. Lane ``l`` has
its own weight ROM, word ``g*M + m`` = W[g*P + l, m], and bias ROM, word
``g`` = b[g*P + l]. The generator and the exporter both take the images from
here.
"""

import numpy as np

__all__ = ["weight_rom", "bias_rom"]


def weight_rom(fp, weights, lane):
    """Words of lane ``lane``'s weight ROM, as Python ints (signed)."""
    w = np.asarray(weights)
    return [int(v) for v in w[lane::fp.lanes].reshape(-1)]


def bias_rom(fp, biases, lane):
    """Words of lane ``lane``'s bias ROM, as Python ints (signed)."""
    return [int(v) for v in np.asarray(biases)[lane::fp.lanes]]
