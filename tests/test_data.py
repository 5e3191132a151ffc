"""Generated event-camera data: deterministic, balanced, physically consistent."""

import dataclasses

import numpy as np
import pytest

from ipnet_mtj.sw.data import gestures
from ipnet_mtj.sw.data.datasets import (TASKS, DataConfig, gesture_video, load_split, make_split,
                                         memory_twin)
from ipnet_mtj.sw.data.dvs import LOG_EPS, SensorNoise, video_to_events

SMALL = DataConfig(train=22, test=11, steps=8, substeps=2)


@pytest.mark.parametrize("task", [t for t in TASKS if TASKS[t].source == "generated"])
def test_generators_are_deterministic_per_seed(task):
    a = make_split(task, SMALL, "test")
    b = make_split(task, SMALL, "test")
    c = make_split(task, dataclasses.replace(SMALL, seed=1), "test")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (11, 8, 2, 32, 32) and a[0].dtype == np.float32
    assert a[0].sum() > 0


def test_samples_do_not_depend_on_split_size():
    big = make_split("gestures11", dataclasses.replace(SMALL, test=14), "test")
    small = make_split("gestures11", SMALL, "test")
    assert np.array_equal(big[0][:11], small[0])


@pytest.mark.parametrize("task", ["gestures11", "gestures22", "digits"])
def test_classes_are_balanced(task):
    classes = TASKS[task].outputs
    _, y = make_split(task, dataclasses.replace(SMALL, train=2 * classes), "train")
    assert np.array_equal(np.bincount(y, minlength=classes), np.full(classes, 2))


def test_reversed_sample_is_the_time_flipped_original():
    rng = np.random.default_rng(3)
    for cls in range(11):
        params = gestures.sample_params(rng)
        forward = gesture_video(cls, params, 32, 24)
        backward = gesture_video(cls + 11, params, 32, 24)
        assert np.array_equal(backward, forward[::-1])
        assert not np.array_equal(backward, forward)


def test_events_respect_the_contrast_model():
    rng = np.random.default_rng(0)
    video = gestures.render(3, gestures.sample_params(rng), 32, 40)
    noise = SensorNoise(contrast=0.2, threshold_sigma=0.0, background_rate=0.0, hot_pixels=0)
    ev = video_to_events(video, noise, rng).astype(np.float64)
    change = np.log(video[-1] + LOG_EPS) - np.log(video[0] + LOG_EPS)
    net = (ev[:, 0].sum(0) - ev[:, 1].sum(0)) * 0.2
    # the reference moves by whole thresholds: what is left is less than one threshold
    assert np.all(np.abs(change - net) < 0.2 + 1e-9)
    assert ev.sum() > 100
    still = np.repeat(video[:1], 10, axis=0)               # a static scene makes no events
    assert video_to_events(still, noise, rng).sum() == 0


def test_noise_adds_events():
    rng = np.random.default_rng(0)
    still = np.full((50, 32, 32), 0.5)
    ev = video_to_events(still, SensorNoise(background_rate=0.01, hot_pixels=3), rng)
    assert ev[:, 0].sum() >= 3 * 50 and ev.sum() > 300


def test_digit_test_set_uses_unseen_glyphs_and_targets_are_on_canvas(tmp_path):
    x, y = load_split("digits_ahead", SMALL, "train", tmp_path)
    assert y.shape == (22, 2) and np.all((y >= 8) & (y <= 24))
    assert np.array_equal(load_split("digits_ahead", SMALL, "train", tmp_path)[0], x)   # cache
    _, steer = make_split("steering", SMALL, "test")
    assert steer.shape == (11, 8) and np.abs(steer).max() < 2


def test_memory_twins_hold_the_forward_frames_in_reverse_order():
    """gestures22m: a twin (label 11..21) is exactly its forward sample's event frames in
    reverse order, so the multiset of frames, and any order-free summary such as the frame
    sum a no-memory model sees, is the same for both: order is the only cue."""
    x, y = make_split("gestures22m", dataclasses.replace(SMALL, test=44), "test")
    assert np.array_equal(np.bincount(y, minlength=22), np.full(22, 2))
    twins = 0
    for k in np.flatnonzero(y >= 11):
        forward, label = memory_twin(SMALL, "test", int(k), reverse=False)
        assert label == y[k]
        assert np.array_equal(x[k], forward[::-1])
        assert sorted(map(bytes, x[k])) == sorted(map(bytes, forward))       # frame multiset
        assert np.array_equal(x[k].sum(axis=0), forward.sum(axis=0))
        twins += not np.array_equal(x[k], forward)
    assert twins == 22
