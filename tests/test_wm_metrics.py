"""Working-memory metrics on hand-worked cases, and the rule that decides what a report claims."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from ipnet_mtj.sw.train.trainer import metric_of, task_loss
from ipnet_mtj.sw.wm.metrics import (dprime, interference_metrics, nback_metrics,
                                     primacy_recency, recall_metrics, serial_position)
from ipnet_mtj.sw.wm.report import MIN_EFFECT, shown, stats


def test_dprime_log_linear():
    # 8 hits, 2 misses, 2 false alarms, 8 correct rejections, by hand:
    # H = 8.5 / 11, F = 2.5 / 11; d' = z(H) - z(F) with scipy's z
    assert dprime(8, 2, 2, 8) == pytest.approx(norm.ppf(8.5 / 11) - norm.ppf(2.5 / 11), abs=1e-9)
    assert dprime(5, 5, 5, 5) == 0.0
    assert math.isfinite(dprime(10, 0, 0, 10)) and dprime(10, 0, 0, 10) > 2
    assert dprime(0, 10, 10, 0) < -2


def test_nback_metrics_hand_case():
    y = np.array([[-1, -1, 1, 0, 0, 1], [-1, -1, 0, 0, 1, 1]])
    logits = np.array([[5.0, 5.0, 2.0, -1.0, 3.0, -2.0], [-9, -9, -1.0, -1.0, 1.0, 0.5]])
    m = nback_metrics(logits, y)
    # scored: said yes on (1, 0, 1, 0 | 0, 0, 1, 1) for truth (1, 0, 0, 1 | 0, 0, 1, 1)
    assert m["counts"] == {"hits": 3, "misses": 1, "false_alarms": 1, "correct_rejections": 3}
    assert m["accuracy"] == 6 / 8 and m["hit_rate"] == 3 / 4 and m["fa_rate"] == 1 / 4


def test_serial_position_and_effects():
    recalled = np.zeros((2, 6), dtype=bool)
    recalled[0, [5, 2]] = True            # list 0 is 5, 1, 2: positions 1 and 3 recalled
    recalled[1, [4]] = True               # list 1 is 3, 4, 0: position 2 recalled
    order = np.array([[5, 1, 2, -1], [3, 4, 0, -1]])
    assert list(serial_position(recalled, order, 3)) == [0.5, 0.5, 0.5]
    p, r = primacy_recency([1.0, 0.8, 0.5, 0.5, 0.5, 0.7, 0.9, 1.0])
    # middle: positions 3-6, mean 0.55; first two 0.9, last two 0.95
    assert p == pytest.approx(0.35) and r == pytest.approx(0.40)
    assert primacy_recency([1, 0, 1, 0]) == (None, None)


def test_recall_metrics_groups_by_length_and_rate():
    order = np.array([[0, 1, 2, 3, 4], [5, 6, 7, -1, -1]])
    y = np.zeros((2, 8))
    y[0, :5] = 1
    y[1, 5:8] = 1
    logits = -np.ones((2, 8))
    logits[0, [0, 1, 4]] = 1              # positions 1, 2, 5 of the list of 5
    logits[1, [7]] = 1                    # position 3 of the list of 3
    logits[1, [0]] = 1                    # an intrusion
    m = recall_metrics(logits, y, [5, 3], [1, 2], order)
    assert m["curves"] == {"3x2": [0.0, 0.0, 1.0], "5x1": [1.0, 1.0, 0.0, 0.0, 1.0]}
    assert m["effects"]["5x1"]["primacy"] == 1.0 and m["effects"]["5x1"]["recency"] == 0.5
    assert m["effects"]["3x2"]["primacy"] is None
    assert m["recall"] == 4 / 8 and m["intrusions"] == 1 / 8


def test_interference_metrics_hand_case():
    a = np.array([[0, 2], [0, 2], [0, 2], [0, 2]])
    b = np.array([[4, 6], [4, 6], [4, 6], [4, 6]])
    said = -np.ones((4, 8))
    said[0, [0, 4]] = 1       # A B, recall A: half of A, and one of B intrudes
    said[1, [0, 2]] = 1       # A -, recall A: all of A
    said[2, [4, 6]] = 1       # A B, recall B: all of B
    said[3, [6]] = 1          # - B, recall B: half of B
    y = np.zeros((4, 8))
    m = interference_metrics(said, y, [0, 1, 2, 3], [0, 0, 0, 0], a, b)["dissimilar"]
    assert m["recall"] == [0.5, 1.0, 1.0, 0.5]
    assert m["retroactive"] == 0.5 and m["proactive"] == -0.5
    assert m["other_list"][0] == 0.5 and m["other_list"][2] == 0.0


def test_shown_needs_size_and_consistency():
    assert shown(stats([0.10, 0.12, 0.11]))
    assert not shown(stats([0.01, 0.012, 0.011]))              # below MIN_EFFECT
    assert not shown(stats([0.30, -0.25, 0.05]))               # within 2 standard errors
    assert not shown(stats([-0.1, -0.12, -0.11]))
    assert shown(stats([0.3, 0.35, 0.32]), scale=10) and not shown(stats([0.1, 0.12]), scale=10)
    assert shown(stats([MIN_EFFECT * 1.5] * 3)) and not shown(stats([MIN_EFFECT * 0.9] * 3))


def test_masked_sequence_loss_ignores_unscored_frames():
    out = torch.tensor([[3.0, -2.0, 0.5]], requires_grad=True)
    y = torch.tensor([[-1.0, 0.0, 1.0]])
    loss = task_loss("binary_sequence", out, y, 16)
    loss.backward()
    assert out.grad[0, 0] == 0 and out.grad[0, 1] != 0
    expected = -(math.log(1 - 1 / (1 + math.exp(2))) + math.log(1 / (1 + math.exp(-0.5)))) / 2
    assert loss.item() == pytest.approx(expected)
    assert metric_of("binary_sequence", out.detach(), y, 16) == 1.0
    assert metric_of("multilabel", torch.tensor([[1.0, -1.0]]), torch.tensor([[1.0, 1.0]]), 16) \
        == 0.5


def test_stalled_runs_are_the_ones_that_answer_the_same_everywhere():
    from ipnet_mtj.sw.wm.report import stalled
    silent = nback_metrics(-np.ones((2, 4)), np.array([[-1, 1, 0, 1], [-1, 0, 0, 1]]))
    busy = nback_metrics(np.array([[0, 1, -1, 1], [0, -1, -1, 1.0]]),
                         np.array([[-1, 1, 0, 1], [-1, 0, 0, 1]]))
    assert stalled("nback2", silent) and not stalled("nback2", busy)
    assert stalled("recall", {"recall": 0.0, "intrusions": 0.0})
    assert stalled("recall", {"recall": 1.0, "intrusions": 1.0})          # always "yes"
    assert stalled("nback1", nback_metrics(np.ones((1, 3)), np.array([[-1, 1, 0]])))
    assert not stalled("recall", {"recall": 0.0, "intrusions": 0.1})
    zero = {"recall": [0.0] * 4, "other_list": [0.0] * 4}
    assert stalled("interference", {"dissimilar": zero, "similar": zero})
    assert not stalled("interference", {"dissimilar": zero, "similar":
                                        {"recall": [0.5] + [0.0] * 3, "other_list": [0.0] * 4}})


def test_one_seed_shows_nothing():
    assert not shown(stats([0.5]))
