"""What every network bench compares, apart from how it drives the simulator: the recorded
monitor words and ``y`` beats of one sequence against the golden model's trace
(:func:`check_sequence`), and the hardware's own record for the build report's figures
(:func:`hardware_trace`). The cocotb bench (:mod:`sim.tb_network`) and the native Verilator
bench (:mod:`sim.native`) share them, so both compare the same values the same way."""

from __future__ import annotations

import numpy as np

__all__ = ["unpack", "expected_monitor", "check_sequence", "to_signed", "hardware_trace"]


def unpack(words, widths):
    """Split packed words into fields, high field first: an int64 array per field."""
    if sum(widths.values()) > 63:
        raise ValueError(f"packed words of {sum(widths.values())} bits do not fit int64")
    out, shift = {}, sum(widths.values())
    for name, w in widths.items():
        shift -= w
        out[name] = (words >> shift) & ((1 << w) - 1)
    return out


def expected_monitor(net, trace):
    """The golden model's monitor records of one sequence, per frame and layer, in the
    accelerator's channels-last order: value and heat (thermal layer), as unsigned bits. With
    ``read: both`` a thermal neuron hands on two values, both with its heat."""
    frames = []
    for t in range(trace.label.shape[1]):
        layers = []
        for k, lf in enumerate(net.layers):
            v = trace.act[k][0, t].transpose(1, 2, 0).reshape(-1)     # (h, w, c)
            mask = (1 << lf.out_width) - 1
            theta = (np.repeat(trace.thetas[k][0, t].transpose(1, 2, 0).reshape(-1),
                               lf.per_neuron) if lf.activation == "thermal" else None)
            layers.append((v & mask, theta))
        frames.append(layers)
    return frames


def check_sequence(board, net, widths, mon, ys, trace, seq):
    """Compare one sequence's recorded monitor words and y beats with the golden trace."""
    steps = trace.label.shape[1]
    per_layer = [lf.outputs for lf in net.layers]
    expected = expected_monitor(net, trace)
    fields = unpack(mon, widths["monitor"])
    pos = 0
    for t in range(steps):
        for k, (lf, n) in enumerate(zip(net.layers, per_layer)):
            where = f"seq {seq} frame {t} {lf.name}"
            block = slice(pos, pos + n)
            pos += n
            layer = fields["layer"][block]
            index = fields["index"][block]
            if layer.size != n or (layer != k).any() or \
                    not np.array_equal(np.sort(index), np.arange(n)):
                board.compare(f"{where} layer of the records", layer, np.full(n, k))
                board.compare(f"{where} indices (sorted)", np.sort(index), np.arange(n))
                continue
            order = np.argsort(index)
            want_v, want_theta = expected[t][k]
            board.compare(f"{where} value", fields["value"][block][order], want_v)
            if want_theta is not None:
                board.compare(f"{where} theta", fields["theta"][block][order], want_theta)
    if pos != len(mon):
        board.compare(f"seq {seq} monitor records", len(mon), pos)
    y = unpack(ys, widths["y"])
    classes = net.classes
    logit_w, score_w = widths["y"]["logit"], widths["y"]["score"]
    want_logit = trace.logits[0].reshape(-1) & ((1 << logit_w) - 1)
    want_score = trace.score[0].reshape(-1) & ((1 << score_w) - 1)
    if y["index"].size != steps * classes:
        board.compare(f"seq {seq} y beats", y["index"].size, steps * classes)
        return None
    board.compare(f"seq {seq} y index", y["index"], np.tile(np.arange(classes), steps))
    board.compare(f"seq {seq} logit", y["logit"], want_logit)
    board.compare(f"seq {seq} score", y["score"], want_score)
    last = y["last"].reshape(steps, classes)
    board.compare(f"seq {seq} last", last[:, -1], np.ones(steps, dtype=np.int64))
    labels = y["label"].reshape(steps, classes)[:, -1]
    board.compare(f"seq {seq} label", labels, trace.label[0])
    return int(labels[-1])


def to_signed(bits, width):
    """Two's-complement ``width``-bit fields as signed integers."""
    return np.where(bits >= 1 << (width - 1), bits - (1 << width), bits)


def hardware_trace(net, widths, signed, mon, ys, steps):
    """The hardware's own record of one sequence, for the build report's figures: per frame, the
    thermal layer's values and heats in neuron-index order (with ``read: both`` its outputs,
    without the reads), and each class's logit and score, and the label. None when the
    records are not well formed (the scoreboard says why)."""
    fields = unpack(mon, widths["monitor"])
    k = net.layers.index(net.thermal)
    n = net.thermal.outputs
    before = sum(lf.outputs for lf in net.layers[:k])
    per_frame = sum(lf.outputs for lf in net.layers)
    y = unpack(ys, widths["y"])
    if len(mon) != steps * per_frame or y["index"].size != steps * net.classes:
        return None
    value, theta = np.zeros((steps, n), np.int64), np.zeros((steps, n), np.int64)
    for t in range(steps):
        block = slice(t * per_frame + before, t * per_frame + before + n)
        index = fields["index"][block]
        if not np.array_equal(np.sort(index), np.arange(n)):
            return None
        value[t, index] = fields["value"][block]
        theta[t, index] = fields["theta"][block]
    per = net.thermal.per_neuron            # read: both: the outputs are the even values
    value, theta = value[:, ::per], theta[:, ::per]
    beats = {f: (to_signed(y[f], widths["y"][f]) if signed[f] else y[f]).reshape(steps, -1)
             for f in ("logit", "score", "label")}
    return {"value": value, "theta": theta, "logit": beats["logit"], "score": beats["score"],
            "label": beats["label"][:, -1]}
