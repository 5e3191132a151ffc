"""Gestures-11 and Gestures-22 (time-reversed): an articulated figure, modelled on DVS Gesture.

The figure is a torso, a head and two two-link arms. Each class prescribes
the hands' trajectories relative to the shoulders; the elbows follow by
two-link inverse kinematics (elbows bend outwards). Gestures start from
rest and their strokes are fast one way, slow the other, as human gestures
are. Per sample, the cycle count, amplitude, body size, position and phase
vary.

Gestures-22 adds, for each class c, class c + 11: the same sample played
backwards, i.e. the intensity video reversed in time before the event
camera sees it. Only temporal order separates a pair.
"""

from __future__ import annotations

import numpy as np

from .render import segments

__all__ = ["CLASSES", "sample_params", "render"]

CLASSES = ("hand clap", "right hand wave", "left hand wave", "right arm clockwise",
           "right arm counter-clockwise", "left arm clockwise", "left arm counter-clockwise",
           "arm roll", "air drums", "air guitar", "other")

UPPER, FORE = 0.26, 0.24          # arm link lengths (normalised units, body scale 1)
SHOULDER = np.array([0.16, 0.0])  # right shoulder relative to the neck (x right, y down)
REST = np.array([0.08, 0.45])     # hand at rest relative to its shoulder


def sample_params(rng):
    """Per-sample variation of a gesture."""
    return {
        "cycles": rng.uniform(1.3, 2.3),
        "amp": rng.uniform(0.8, 1.15),
        "scale": rng.uniform(0.85, 1.1),
        "offset": rng.uniform(-0.12, 0.12, size=2),
        "phase": rng.uniform(0, 2 * np.pi),
        "other": rng.standard_normal((2, 2, 3)),   # coefficients of the "other" class
    }


ONSET = 0.3       # fraction of the clip over which the hands leave the rest pose
SKEW = 0.7        # phase skew: strokes are fast one way and slow the other


def _hands(cls, t, p):
    """Right and left hand positions relative to their shoulders, (F, 2) each (body scale 1).

    Like a person, the figure starts from rest (the hands blend from the rest
    pose into the gesture over the first ONSET of the clip), and each stroke is
    fast one way and slow the other (the phase runs at 1 + SKEW cos(phase)).
    Both make a gesture and its time reversal distinguishable.
    """
    right, left = _gesture(cls, t, p)
    w = np.clip(t / ONSET, 0, 1)[:, None]
    w = w * w * (3 - 2 * w)                              # smoothstep
    rest = np.broadcast_to(REST, (len(t), 2))
    return rest + w * (right - rest), rest * [-1, 1] + w * (left - rest * [-1, 1])


def _gesture(cls, t, p):
    theta = 2 * np.pi * p["cycles"] * t + p["phase"]
    phi = theta + SKEW * np.sin(theta)
    a = p["amp"]
    rest_r = np.broadcast_to(REST, (len(t), 2)).copy()
    rest_l = rest_r * [-1, 1]
    c, s = np.cos(phi), np.sin(phi)
    if cls == 0:      # clap: hands meet in front of the chest
        x = 0.02 + 0.14 * a * (1 + c) / 2
        return np.stack([-SHOULDER[0] + x, 0.22 + 0 * t], 1), np.stack([SHOULDER[0] - x, 0.22 + 0 * t], 1)
    if cls in (1, 2):  # wave beside the head
        hand = np.stack([0.12 + 0.12 * a * s, -0.32 + 0.03 * c], 1)
        return (hand, rest_l) if cls == 1 else (rest_r, hand * [-1, 1])
    if cls in (3, 4, 5, 6):   # whole-arm rotation around the shoulder
        direction = 1 if cls in (3, 5) else -1   # +: clockwise on screen (y down)
        ang = direction * phi
        hand = 0.46 * a * np.stack([np.cos(ang), np.sin(ang)], 1)
        if cls in (5, 6):
            hand = hand * [-1, 1]
        return (hand, rest_l) if cls in (3, 4) else (rest_r, hand)
    if cls == 7:      # arm roll: hands circle each other in front of the chest
        r = 0.08 * a
        return (np.stack([-SHOULDER[0] + 0.04 + r * c, 0.22 + r * s], 1),
                np.stack([SHOULDER[0] - 0.04 - r * c, 0.22 - r * s], 1))
    if cls == 8:      # air drums: alternate up and down at the waist
        return (np.stack([0.1 + 0 * t, 0.3 + 0.1 * a * s], 1),
                np.stack([-0.1 + 0 * t, 0.3 - 0.1 * a * s], 1))
    if cls == 9:      # air guitar: fast strum at the hip, left hand up the neck
        strum = np.sin(2 * phi)
        return (np.stack([-0.06 + 0 * t, 0.34 + 0.07 * a * strum], 1),
                np.stack([-0.36 + 0.03 * c, -0.02 + 0 * t], 1))
    # other: smooth random trajectories
    k = np.arange(1, 4)[None, :]
    wave = np.cos(2 * np.pi * t[:, None] * k * p["cycles"] / 2 + p["phase"] * k)   # F, 3
    offs = (wave @ p["other"].reshape(4, 3).T) * 0.07 * a                       # F, 4
    return rest_r + offs[:, :2] + [0, -0.15], rest_l + offs[:, 2:] + [0, -0.15]


def _elbow(shoulder, hand, side):
    """Two-link inverse kinematics; elbows bend outwards (side +1 right, -1 left)."""
    d = hand - shoulder
    dist = np.clip(np.linalg.norm(d, axis=1, keepdims=True), 1e-6, UPPER + FORE - 1e-6)
    u = d / dist
    along = (UPPER ** 2 - FORE ** 2 + dist ** 2) / (2 * dist)
    perp = np.sqrt(np.maximum(UPPER ** 2 - along ** 2, 0))
    normal = np.stack([-u[:, 1], u[:, 0]], 1) * -side
    hand = shoulder + u * dist
    return shoulder + u * along + normal * perp, hand


def render(cls, p, size, frames):
    """Intensity video (frames, size, size) in [0, 1] of class ``cls`` (0..10)."""
    t = np.arange(frames) / frames
    neck = np.array([0.0, -0.12]) + p["offset"]
    s = p["scale"]
    right, left = _hands(cls, t, p)
    sh_r, sh_l = neck + SHOULDER * s, neck - SHOULDER * s
    el_r, h_r = _elbow(np.broadcast_to(sh_r, (frames, 2)), sh_r + right * s, +1)
    el_l, h_l = _elbow(np.broadcast_to(sh_l, (frames, 2)), sh_l + left * s, -1)
    hips = neck + np.array([0, 0.5]) * s
    a = np.stack([np.broadcast_to(neck, (frames, 2)), np.broadcast_to(neck + [0, -0.1 * s], (frames, 2)),
                  np.broadcast_to(sh_l, (frames, 2)), sh_r + 0 * el_r, el_r, sh_l + 0 * el_l, el_l], 1)
    b = np.stack([np.broadcast_to(hips, (frames, 2)), np.broadcast_to(neck + [0, -0.1 * s], (frames, 2)),
                  np.broadcast_to(sh_r, (frames, 2)), el_r, h_r, el_l, h_l], 1)
    radius = np.array([0.09, 0.1, 0.035, 0.04, 0.035, 0.04, 0.035]) * s
    body = segments(size, a, b, radius)
    return 0.15 + 0.75 * body
