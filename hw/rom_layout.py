"""How weights and biases are laid out in the emulator's ROMs.

Neuron ``n`` lives in lane ``n % P`` and group ``n // P``. Lane ``l`` has
its own weight ROM, word ``g*M + m`` = W[g*P + l, m], and bias ROM, word
``g`` = b[g*P + l]. The generator and the exporter both take the images from
here.
"""

import numpy as np

__all__ = ["weight_rom", "bias_rom"]


def _at_least_two(words):
    """A ROM of one word would have a 0-bit address, which Yosys writes as ``[-1:0]`` and
    Verilator refuses; such a ROM gets an unused second word of 0."""
    return words + [0] * (2 - len(words))


def weight_rom(fp, weights, lane):
    """Words of lane ``lane``'s weight ROM, as Python ints (signed)."""
    w = np.asarray(weights)
    return _at_least_two([int(v) for v in w[lane::fp.lanes].reshape(-1)])


def bias_rom(fp, biases, lane):
    """Words of lane ``lane``'s bias ROM, as Python ints (signed): one per group, at least 2."""
    return _at_least_two([int(v) for v in np.asarray(biases)[lane::fp.lanes]])
