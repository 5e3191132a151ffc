"""How a whole network's weights and biases are laid out in the accelerator's ROMs.

The MAC lanes walk every window in the order kernel row ``kh``, kernel
column ``kw``, input channel ``ci`` (innermost), and a dense layer is a conv
whose kernel is its whole (H, W) input. Lane ``l`` computes output channel
``g*P + l`` of group ``g``; channels beyond C_out are padding (weight 0,
bias 0). Lane ``l``'s weight ROM holds, layer after layer from the layer's
base address, group after group, the ``fan_in`` weights of its channel in
walk order; its bias ROM holds one word per layer and group. Sum pooling
reuses the same weights for every pool offset, so they are stored once.

The Amaranth memories (:mod:`hw.net_engine`) and the ``$readmemh`` exporter
both take the images from here. Pure numpy/Python.
"""

import numpy as np

__all__ = ["layer_groups", "walk_weights", "weight_bases", "bias_bases", "layer_weight_words",
           "layer_bias_words", "weight_images", "bias_images"]


def layer_groups(lf, lanes):
    """G = ceil(C_out / P): groups of output channels of layer ``lf``."""
    return -(-lf.out_shape[0] // lanes)


def walk_weights(lf, weights):
    """A layer's torch-layout weights as (C_out, fan_in) rows in walk order (kh, kw, ci).

    Conv weights are (C_out, C_in, kh, kw). Dense weights are (C_out, C_in*H*W),
    flattened like torch's ``flatten`` of a (C_in, H, W) input: index
    ``c*H*W + h*W + w``; their walk is (h, w, c), the channels-last buffer order.
    """
    w = np.asarray(weights)
    c_in, h, wd = lf.in_shape
    c_out = lf.out_shape[0]
    if w.shape != tuple(lf.weight_shape):
        raise ValueError(f"layer {lf.name}: weights of shape {w.shape}, expected {lf.weight_shape}")
    if lf.kind == "dense":
        w = w.reshape(c_out, c_in, h, wd)
    return w.transpose(0, 2, 3, 1).reshape(c_out, -1)


def weight_bases(net):
    """First word of each layer in every lane's weight ROM, and the ROM depth."""
    bases, total = [], 0
    for lf in net.layers:
        bases.append(total)
        total += layer_groups(lf, net.lanes) * lf.fan_in
    return tuple(bases), total


def bias_bases(net):
    """First word of each layer in every lane's bias ROM, and the ROM depth."""
    bases, total = [], 0
    for lf in net.layers:
        bases.append(total)
        total += layer_groups(lf, net.lanes)
    return tuple(bases), total


def _padded(lf, lanes, rows):
    rows = np.asarray(rows, dtype=np.int64)
    out = np.zeros((layer_groups(lf, lanes) * lanes, *rows.shape[1:]), dtype=np.int64)
    out[:rows.shape[0]] = rows
    return out


def layer_weight_words(lf, lanes, weights, lane):
    """Lane ``lane``'s weight words of one layer: group after group, walk order."""
    return [int(v) for v in _padded(lf, lanes, walk_weights(lf, weights))[lane::lanes].reshape(-1)]


def layer_bias_words(lf, lanes, biases, lane):
    """Lane ``lane``'s bias words of one layer, one per group."""
    b = np.asarray(biases).reshape(-1)
    if b.shape != (lf.out_shape[0],):
        raise ValueError(f"layer {lf.name}: {b.size} biases, expected {lf.out_shape[0]}")
    return [int(v) for v in _padded(lf, lanes, b)[lane::lanes]]


def weight_images(net, params):
    """Every lane's weight ROM: a list of P word lists (signed ints), all layers concatenated.

    Parameters
    ----------
    net : sw.network.NetFixed
    params : sequence of (w, b)
        Integer weights and biases per layer, torch layouts.
    """
    return [[v for lf, (w, _) in zip(net.layers, params)
             for v in layer_weight_words(lf, net.lanes, w, lane)] for lane in range(net.lanes)]


def bias_images(net, params):
    """Every lane's bias ROM: a list of P word lists (signed ints), all layers concatenated."""
    return [[v for lf, (_, b) in zip(net.layers, params)
             for v in layer_bias_words(lf, net.lanes, b, lane)] for lane in range(net.lanes)]
