"""Working-memory tasks seen through the event camera: n-back, recognition, free recall,
interference.

Items are flashed patterns. The vocabulary holds ``vocabulary`` random binary
patterns (a fraction ``density`` of the pixels lit), drawn once per data seed.
For the interference task it comes in pairs: the second pattern of a pair keeps
a fraction ``pair_overlap`` of the first one's lit pixels, so a list can be made
of items similar to another list's (their pair-mates) or not.

A sequence is a row of *slots* of ``slot`` frames each. An item's slot shows
it during the first half of its sub-steps (at least one), then the screen is
blank, so every item yields ON events when it appears and OFF events when it
goes, whatever came before it (two equal items in a row are two flashes). The
frames are what :func:`sw.data.dvs.video_to_events` makes of that video, with
sensor noise, and with pixels that reset their reference at each event: the
camera itself carries nothing from one item to the next. (With the benchmark's
camera, the remainder below one threshold that a pixel keeps would tell a
no-memory model which pixels were lit before, and it would pass n-back.) A
recall cue is a fixed geometric pattern no item uses (a ring for "recall", a
cross for "recall the second list").

Each sample has its own generator, seeded by (seed, task, split, index), as in
:mod:`sw.data.datasets`.

Tasks (target, and where it is read):

- nback: ``items`` slots of items; per frame, 1 if the item equals the one n
  slots back, 0 if not, -1 where unscored (the first n slots, and every frame
  of a slot but its last).
- recognition (continuous, Sternberg's question asked at every item): ``items``
  slots of items; per frame, 1 if the item was shown in any of the k slots before
  it, 0 if not, -1 where unscored (the first k slots, and every frame of a slot
  but its last). A leaky trace of recent items answers it without knowing where
  in the window the item was.
- recall: a list of L distinct items (blank slots before it), then a ring cue
  frame; the multi-hot of the list's items, at the cue.
- interference: list A (or blank), list B (or blank), then a ring (recall A) or
  a cross (recall B); the multi-hot of the cued list, at the cue.

Interference conditions (``condition``): 0 = A B, recall A (retroactive);
1 = A blank, recall A (its control); 2 = A B, recall B (proactive); 3 = blank B,
recall B (its control). ``similar``: list B holds the pair-mates of list A's items.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dvs import SensorNoise, bin_events, video_to_events

__all__ = ["WMData", "WM_TASKS", "vocabulary", "cue_pattern", "render_slots", "nback_sample",
           "recognition_sample", "recall_sample", "interference_sample", "CONDITIONS"]

#: task families; the index seeds each sample's generator (new families go at the end)
WM_TASKS = ("nback", "recall", "interference", "recognition")
_SPLITS = {"train": 0, "val": 1, "test": 2}
ITEM_LEVEL, BLANK_LEVEL = 1.0, 0.2     #: intensity of a lit pixel and of the screen
CONDITIONS = ("A B, recall A", "A -, recall A", "A B, recall B", "- B, recall B")


@dataclass(frozen=True)
class WMData:
    size: int = 16              #: frame side, pixels
    substeps: int = 2           #: camera sub-steps per frame
    vocabulary: int = 16        #: items (even: pairs for interference)
    density: float = 0.25       #: fraction of pixels an item lights
    pair_overlap: float = 0.75  #: lit pixels a pair-mate shares with its partner
    seed: int = 0
    noise: SensorNoise = field(default_factory=SensorNoise)


def _rng(cfg, task, split, index):
    return np.random.default_rng([cfg.seed, 1000 + WM_TASKS.index(task), _SPLITS[split], index])


def vocabulary(cfg, paired=False):
    """The item patterns, (vocabulary, size, size) bool; ``paired``: item 2k+1 shares a
    fraction ``pair_overlap`` of item 2k's lit pixels (rounded), the rest drawn elsewhere."""
    rng = np.random.default_rng([cfg.seed, 999, int(paired)])
    pixels = cfg.size * cfg.size
    lit = max(1, round(cfg.density * pixels))
    out = np.zeros((cfg.vocabulary, pixels), dtype=bool)
    for k in range(cfg.vocabulary):
        if paired and k % 2:
            first = np.flatnonzero(out[k - 1])
            keep = rng.choice(first, size=round(cfg.pair_overlap * lit), replace=False)
            rest = rng.choice(np.flatnonzero(~out[k - 1]), size=lit - len(keep), replace=False)
            out[k, keep] = out[k, rest] = True
        else:
            out[k, rng.choice(pixels, size=lit, replace=False)] = True
    return out.reshape(cfg.vocabulary, cfg.size, cfg.size)


def cue_pattern(size, which):
    """``ring`` (the outermost pixels) or ``cross`` (the two middle rows and columns)."""
    p = np.zeros((size, size), dtype=bool)
    if which == "ring":
        p[0, :] = p[-1, :] = p[:, 0] = p[:, -1] = True
    elif which == "cross":
        m = size // 2
        p[m - 1:m + 1, :] = p[:, m - 1:m + 1] = True
    else:
        raise ValueError(f"no cue {which!r}")
    return p


def render_slots(cfg, slots, rng):
    """Event frames of a row of slots: (total frames, 2, size, size) float32.

    ``slots`` holds one ``(pattern, frames)`` per slot: a (size, size) bool pattern shown
    during the first half of the slot's sub-steps (at least one), or None for a blank slot.
    One camera (one threshold mismatch, one set of hot pixels) sees the whole row.
    """
    subs = [frames * cfg.substeps for _, frames in slots]
    video = np.full((1 + sum(subs), cfg.size, cfg.size), BLANK_LEVEL)
    start = 1
    for (pattern, _), sub in zip(slots, subs):
        if pattern is not None:
            video[start:start + max(1, sub // 2)][:, pattern] = ITEM_LEVEL
        start += sub
    # sub-step 0 only sets the camera's references: a blank screen before the first slot
    events = video_to_events(video, cfg.noise, rng, reset_on_event=True)[1:]
    return bin_events(events, sum(frames for _, frames in slots))


def nback_sample(cfg, split, index, n, items=12, slot=1, target_rate=1 / 3):
    """Sample ``index`` of n-back: (x (items*slot, 2, H, W), y (items*slot,) float32, seq).

    From slot n on, the item repeats the one n slots back with probability
    ``target_rate``, and is otherwise any other item. The label sits on the last
    frame of each scored slot.
    """
    rng = _rng(cfg, "nback", split, index)
    rng = np.random.default_rng([int(rng.integers(2 ** 31)), n])
    k = cfg.vocabulary
    seq = np.zeros(items, dtype=np.int64)
    y = np.full(items * slot, -1.0, dtype=np.float32)
    for t in range(items):
        if t >= n and rng.random() < target_rate:
            seq[t] = seq[t - n]
        elif t >= n:
            seq[t] = (seq[t - n] + 1 + rng.integers(k - 1)) % k     # any item but that one
        else:
            seq[t] = rng.integers(k)
        if t >= n:
            y[(t + 1) * slot - 1] = float(seq[t] == seq[t - n])
    vocab = vocabulary(cfg)
    return render_slots(cfg, [(vocab[i], slot) for i in seq], rng), y, seq


def recognition_sample(cfg, split, index, k, items=12, slot=1, target_rate=1 / 3):
    """Sample ``index`` of recognition over the last ``k`` items: (x (items*slot, 2, H, W),
    y (items*slot,) float32, seq).

    From slot k on, with probability ``target_rate`` the item is one of the k items before it
    (each of those slots equally likely), and otherwise an item none of those k slots showed
    (each equally likely). The label sits on the last frame of each scored slot. ``k`` must be
    below the vocabulary so that a new item always exists.
    """
    if not 1 <= k < cfg.vocabulary:
        raise ValueError(f"recognition: k must lie in [1, vocabulary), got {k}")
    rng = _rng(cfg, "recognition", split, index)
    rng = np.random.default_rng([int(rng.integers(2 ** 31)), k])
    seq = np.zeros(items, dtype=np.int64)
    y = np.full(items * slot, -1.0, dtype=np.float32)
    for t in range(items):
        if t < k:
            seq[t] = rng.integers(cfg.vocabulary)
            continue
        window = seq[t - k:t]
        if rng.random() < target_rate:
            seq[t] = window[rng.integers(k)]
        else:
            seq[t] = rng.choice(np.setdiff1d(np.arange(cfg.vocabulary), window))
        y[(t + 1) * slot - 1] = float(seq[t] in window)
    vocab = vocabulary(cfg)
    return render_slots(cfg, [(vocab[i], slot) for i in seq], rng), y, seq


def recall_sample(cfg, split, index, lengths=(4, 6, 8), slots=(1, 2)):
    """Sample ``index`` of free recall: (x, y multi-hot (vocabulary,), info).

    The list length and the slot (presentation rate) are drawn from ``lengths`` and
    ``slots``; blank frames before the list make every sample
    ``max(lengths) * max(slots) + 1`` frames long. ``info`` is (length, slot, the items
    by serial position padded with -1 to max(lengths)).
    """
    rng = _rng(cfg, "recall", split, index)
    length = int(lengths[index % len(lengths)])
    slot = int(slots[(index // len(lengths)) % len(slots)])
    items = rng.choice(cfg.vocabulary, size=length, replace=False)
    vocab = vocabulary(cfg)
    frames = max(lengths) * max(slots)
    blank = frames - length * slot
    x = render_slots(cfg, [(None, 1)] * blank + [(vocab[i], slot) for i in items]
                     + [(cue_pattern(cfg.size, "ring"), 1)], rng)
    y = np.zeros(cfg.vocabulary, dtype=np.float32)
    y[items] = 1.0
    order = np.full(max(lengths), -1, dtype=np.int64)
    order[:length] = items
    return x, y, (length, slot, order)


def interference_sample(cfg, split, index, length=4, slot=1):
    """Sample ``index`` of interference: (x, y multi-hot (vocabulary,), info).

    The condition is ``index % 4`` (:data:`CONDITIONS`), similarity ``(index // 4) % 2``.
    List A takes one member of ``length`` random pairs; list B the other members of the
    same pairs in a new order (similar) or one member of other pairs (dissimilar).
    ``info`` is (condition, similar, list A, list B).
    """
    pairs = cfg.vocabulary // 2
    if 2 * length > pairs:
        raise ValueError(f"interference: lists of {length} need at least {4 * length} items "
                         f"(vocabulary {cfg.vocabulary})")
    rng = _rng(cfg, "interference", split, index)
    condition, similar = index % 4, (index // 4) % 2
    chosen = rng.choice(pairs, size=2 * length, replace=False)
    member = rng.integers(2, size=2 * length)
    list_a = 2 * chosen[:length] + member[:length]
    if similar:
        list_b = rng.permutation(list_a ^ 1)
    else:
        list_b = 2 * chosen[length:] + member[length:]
    vocab = vocabulary(cfg, paired=True)
    show_a = condition != 3
    show_b = condition in (0, 2, 3)
    x = render_slots(cfg, [(vocab[i] if show_a else None, slot) for i in list_a]
                     + [(vocab[i] if show_b else None, slot) for i in list_b]
                     + [(cue_pattern(cfg.size, "ring" if condition < 2 else "cross"), 1)], rng)
    y = np.zeros(cfg.vocabulary, dtype=np.float32)
    y[list_a if condition < 2 else list_b] = 1.0
    return x, y, (condition, similar, list_a, list_b)
