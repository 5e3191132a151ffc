"""Working-memory task generators: what the frames show is what the labels say.

The checks read the items back from the event frames of a noise-free camera
(every lit pixel of an item gives the same number of ON events, worked out by hand
below from the contrast model), so they do not trust the generators' own
bookkeeping of which item went where.
"""

import dataclasses
import math

import numpy as np
import pytest

from ipnet_mtj.sw.data.dvs import LOG_EPS, SensorNoise
from ipnet_mtj.sw.data.wm import (BLANK_LEVEL, ITEM_LEVEL, WMData, cue_pattern,
                                  interference_sample, nback_sample, recall_sample,
                                  recognition_sample, render_slots, vocabulary)

CLEAN = WMData(size=12, noise=SensorNoise(contrast=0.2, threshold_sigma=0.0, background_rate=0.0,
                                          hot_pixels=0))
NOISY = WMData(size=12)

# By hand: a pixel going from the screen (0.2) to an item (1.0) crosses
# (ln(1.05) - ln(0.25)) / 0.2 = 7.18 thresholds: 7 ON events, and (resetting its reference
# to ln(1.05) as it fires) as many OFF events when the item goes.
ON_EVENTS = math.floor((math.log(ITEM_LEVEL + LOG_EPS) - math.log(BLANK_LEVEL + LOG_EPS)) / 0.2)


def test_hand_count_of_events():
    assert ON_EVENTS == 7
    pattern = np.zeros((12, 12), dtype=bool)
    pattern[3, 4] = pattern[7, 1] = True
    x = render_slots(CLEAN, [(None, 1), (pattern, 1), (None, 2)], np.random.default_rng(0))
    assert x.shape == (4, 2, 12, 12)
    assert x[0].sum() == 0 and x[2:].sum() == 0            # blank slots: no events at all
    assert np.array_equal(x[1, 0] > 0, pattern) and set(np.unique(x[1, 0])) == {0, ON_EVENTS}
    assert np.array_equal(x[1, 1] > 0, pattern)            # it goes within its own frame
    assert set(np.unique(x[1, 1])) == {0, ON_EVENTS}


def test_the_camera_remembers_nothing_between_items():
    # threshold mismatch but no random events: A, B, A must give A's frame twice over
    cfg = WMData(size=12, noise=SensorNoise(contrast=0.2, threshold_sigma=0.1,
                                            background_rate=0.0, hot_pixels=0))
    vocab = vocabulary(cfg)
    for seed in range(5):
        x = render_slots(cfg, [(vocab[0], 1), (vocab[1], 1), (vocab[0], 1)],
                         np.random.default_rng(seed))
        assert np.array_equal(x[0], x[2])
    # the benchmark's camera keeps a remainder per pixel: there the history shows
    from ipnet_mtj.sw.data.dvs import video_to_events
    video = np.full((7, 12, 12), BLANK_LEVEL)
    video[1][vocab[0]] = video[3][vocab[1]] = video[5][vocab[0]] = ITEM_LEVEL
    differ = [not np.array_equal(e[1], e[5]) for e in
              (video_to_events(video, cfg.noise, np.random.default_rng(s)) for s in range(5))]
    assert any(differ)


def decode(x, vocab):
    """The item each frame's ON events show (-1: blank frame, -2: anything else)."""
    out = []
    for frame in x:
        on = frame[0] > 0
        hits = [k for k in range(len(vocab)) if np.array_equal(on, vocab[k])]
        out.append(hits[0] if hits else (-1 if not on.any() else -2))
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_nback_labels_match_the_frames(n):
    vocab = vocabulary(CLEAN)
    for i in range(20):
        x, y, seq = nback_sample(CLEAN, "test", i, n, items=10)
        shown = decode(x, vocab)
        assert shown == list(seq)
        for t in range(10):
            assert y[t] == (-1 if t < n else float(shown[t] == shown[t - n]))


def test_nback_label_sits_on_the_last_frame_of_a_slot():
    x, y, seq = nback_sample(CLEAN, "test", 0, 2, items=6, slot=3)
    assert x.shape[0] == 18
    scored = np.flatnonzero(y >= 0)
    assert list(scored) == [8, 11, 14, 17]
    assert decode(x[::3], vocabulary(CLEAN)) == list(seq)   # items appear at slot starts


def test_nback_target_rate():
    y = np.concatenate([nback_sample(NOISY, "train", i, 2)[1] for i in range(300)])
    assert abs((y == 1).sum() / (y >= 0).sum() - 1 / 3) < 0.03


@pytest.mark.parametrize("k", [1, 2, 4])
def test_recognition_labels_match_the_frames(k):
    # the items read back from the frames; "among the last k" worked out from them alone
    vocab = vocabulary(CLEAN)
    for i in range(20):
        x, y, seq = recognition_sample(CLEAN, "test", i, k, items=10)
        shown = decode(x, vocab)
        assert shown == list(seq)
        for t in range(10):
            assert y[t] == (-1 if t < k else float(shown[t] in shown[t - k:t]))


def test_recognition_with_k_1_is_1_back():
    # k = 1 asks the 1-back question (a different draw of the same rule)
    x, y, seq = recognition_sample(CLEAN, "test", 3, 1, items=12)
    assert all(y[t] == float(seq[t] == seq[t - 1]) for t in range(1, 12)) and y[0] == -1


def test_recognition_target_rate_and_slots():
    y = np.concatenate([recognition_sample(NOISY, "train", i, 4)[1] for i in range(300)])
    assert abs((y == 1).sum() / (y >= 0).sum() - 1 / 3) < 0.03
    x, y, seq = recognition_sample(CLEAN, "test", 0, 2, items=6, slot=3)
    assert x.shape[0] == 18 and list(np.flatnonzero(y >= 0)) == [8, 11, 14, 17]
    with pytest.raises(ValueError, match=r"k must lie in \[1, vocabulary\), got 16"):
        recognition_sample(CLEAN, "test", 0, 16)


def test_recall_frames_and_targets():
    vocab = vocabulary(CLEAN)
    lengths, slots = (3, 5), (1, 2)
    seen = set()
    for i in range(8):
        x, y, (length, slot, order) = recall_sample(CLEAN, "test", i, lengths, slots)
        seen.add((length, slot))
        assert x.shape[0] == 5 * 2 + 1
        items = [k for k in order if k >= 0]
        assert len(items) == length == len(set(items))
        shown = decode(x[:-1], vocab)
        # a slot of 2 frames: the item's frame, then a frame with no events
        assert [s for s in shown if s >= 0] == items
        assert shown.count(-2) == 0 and shown.count(-1) == 10 - length
        assert np.array_equal(x[-1, 0] > 0, cue_pattern(12, "ring"))
        assert np.array_equal(np.flatnonzero(y), np.sort(items))
    assert seen == {(3, 1), (5, 1), (3, 2), (5, 2)}


@pytest.mark.parametrize("index", range(8))
def test_interference_conditions(index):
    vocab = vocabulary(CLEAN, paired=True)
    x, y, (cond, similar, a, b) = interference_sample(CLEAN, "test", index, length=3)
    assert (cond, similar) == (index % 4, (index // 4) % 2)
    shown = decode(x[:-1], vocab)
    assert shown[:3] == (list(a) if cond != 3 else [-1] * 3)
    assert shown[3:] == (list(b) if cond != 1 else [-1] * 3)
    cue = "ring" if cond < 2 else "cross"
    assert np.array_equal(x[-1, 0] > 0, cue_pattern(12, cue))
    assert np.array_equal(np.flatnonzero(y), np.sort(a if cond < 2 else b))
    pairs_a, pairs_b = set(np.asarray(a) // 2), set(np.asarray(b) // 2)
    if similar:
        assert sorted(b) == sorted(np.asarray(a) ^ 1)       # the pair-mates
    else:
        assert not pairs_a & pairs_b


def test_pair_overlap_and_density():
    vocab = vocabulary(CLEAN, paired=True)
    lit = round(0.25 * 144)
    assert all(v.sum() == lit for v in vocab)
    for k in range(0, len(vocab), 2):
        assert (vocab[k] & vocab[k + 1]).sum() == round(0.75 * lit)
    independent = vocabulary(CLEAN)
    overlaps = [(independent[k] & independent[k + 1]).sum() for k in range(0, 16, 2)]
    assert max(overlaps) < round(0.75 * lit)


def test_interference_refuses_lists_too_long():
    with pytest.raises(ValueError, match="lists of 5 need at least 20 items"):
        interference_sample(CLEAN, "test", 0, length=5)


@pytest.mark.parametrize("make", [lambda c, i: nback_sample(c, "train", i, 2),
                                  lambda c, i: recall_sample(c, "train", i),
                                  lambda c, i: interference_sample(c, "train", i)])
def test_deterministic_per_seed(make):
    a, b = make(NOISY, 5), make(NOISY, 5)
    c = make(dataclasses.replace(NOISY, seed=1), 5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[0], make(NOISY, 6)[0])
