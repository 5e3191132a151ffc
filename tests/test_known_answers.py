"""The shared fixed-point definition, the integer reference and the hardware against
known-answer vectors that do not share their code: tests/known_answers/vectors.json, written
by tests/known_answers/derive.py from docs/fixed-point.md and docs/neuron-model.md alone.

Every output mode (lut, spike, stochastic) and dissipation mode (multiply, shift); the
current saturating at both ends, the heat at its ceiling, cooling to exactly 0, a reset;
the full device model (threshold table, current limit, heat stopped at T_max); that model
with device spread (per-neuron threshold offsets); with two devices of different time
constants; the LFSR's first states."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ipnet_mtj.sw import reference
from ipnet_mtj.sw.config import parse_config
from ipnet_mtj.sw.fixed import derive_fixed_point, lfsr_next
from test_hw import simulate

HERE = Path(__file__).resolve().parent / "known_answers"
VECTORS = json.loads((HERE / "vectors.json").read_text())
CASES = {c["name"]: c for c in VECTORS["cases"]}


def design(case, lanes=1):
    data = {"name": "kat", "device": case["device"], "fixed_point": case["fixed_point"],
            "layer": {"inputs": 4, "neurons": 2, "weight_seed": 1}, "hardware": {"lanes": lanes}}
    return derive_fixed_point(parse_config(data, f"known answers {case['name']}"))


def expected(case, segment):
    """(acc, z, y, theta) per step and neuron, as arrays (T, N)."""
    e = np.asarray(case["expected"][segment], dtype=np.int64)
    return e[..., 0], e[..., 1], e[..., 2], e[..., 3]


def test_vectors_come_from_the_committed_script():
    out = subprocess.run([sys.executable, str(HERE / "derive.py")], capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == VECTORS


def test_vectors_cover_what_they_claim():
    case = CASES["lut-multiply"]
    acc, z, y, theta = expected(case, 0)
    assert z.max() == 127 and z.min() == -128                   # pre-activation saturates
    assert theta.max() == (1 << 16) - 1                         # heat at its ceiling
    assert (theta[-20:] == 0).all() and theta[5].max() > 0      # and cools to exactly 0
    assert CASES["lut-shift"]["constants"]["decay_k"] == 3
    _, z, _, _ = expected(case, 2)                              # near threshold
    assert (abs(z) < 16).mean() > 0.6
    for name in ("stochastic-multiply", "stochastic-shift"):   # where r < p and r <= p differ
        assert CASES[name]["r_equals_lut"] > 0
    assert len({c["name"] for c in VECTORS["cases"]}) == 9
    taus = CASES["taus-lut-multiply"]
    _, _, _, slow = expected(taus, 1)
    assert slow[:40, 1].max() > 50 * slow[:40, 0].max() > 0        # the 64 ns junction remembers
    # device constants by hand: alpha = exp(-1/1.4) = 0.4895 -> 125/256; exp(-1/64) -> 252/256;
    # gain (1 - 0.4895) 1.4 / ((1 - exp(-0.1)) 10) = 0.7511 -> 192/256; for 64 ns 1.0426 -> 267
    assert taus["constants"]["devices"] == [[125, 192], [252, 267]]
    spread = CASES["spread-spike-multiply"]
    assert spread["outputs_the_offsets_change"] >= 10         # the offsets decide spikes
    assert min(abs(v) for v in spread["constants"]["thr_offset"]) >= 10
    full = CASES["full-lut-multiply"]
    k = full["constants"]
    acc, z, y, theta = expected(full, 0)
    assert (acc[:, 0] >> k["i_shift"]).max() > k["i_hi"] == 512    # the current limit binds
    neg, _, _, neg_theta = expected(full, 1)
    assert (neg[:, 0] >> k["i_shift"]).min() < k["i_lo"] == -512   # and its negative side:
    assert neg_theta[0, 0] == (512 * 512) >> 8                      # heat of exactly -512
    assert theta.max() == k["theta_hi"] < (1 << 14) - 1            # the heat stops at T_max
    assert (theta[-20:] == 0).all()                                 # and cools to exactly 0
    free = np.abs(z[1:, 0]) < 127                                   # z decided by the table
    assert len(np.unique((theta[:-1, 0] >> k["thr_shift"])[free])) >= 15
    # the table by hand at ambient: I_50(300 K) = 1 - ln(10 / ln 2) / 60 = 0.95552 I_c0,
    # 244.6 LSBs at i.frac 8, rounded to 245; at 800 K (index 84, heat 42 units = 500 K
    # above ambient) M_s falls to 0.3404 of ambient, Delta to 60 (3/8) 0.3404**2 = 2.607,
    # so I_50 = 0.3404**2 (1 - 2.669 / 2.607) = -0.0028 I_c0, -0.71 LSB, rounded to -1.
    assert k["thr_table"][0] == 245 and k["thr_table"][84] == -1 and len(k["thr_table"]) == 85


def test_lfsr_first_states():
    s, states = 0xACE1, []
    for _ in range(8):
        s = lfsr_next(s)
        states.append(s)
    assert states == VECTORS["lfsr_from_0xACE1"]
    # by hand: 0xACE1 is odd, so (0xACE1 >> 1) ^ 0xB400 = 0x5670 ^ 0xB400 = 0xE270;
    # 0xE270 is even, so 0xE270 >> 1 = 0x7138
    assert states[:2] == [0xE270, 0x7138]


@pytest.mark.parametrize("name", sorted(CASES))
def test_derived_constants(name):
    case = CASES[name]
    fp = design(case)
    k = case["constants"]
    got = {"bias_shift": fp.bias_shift, "i_shift": fp.i_shift, "heat_shift": fp.heat_shift,
           "gamma_shift": fp.gamma_shift, "thr0": fp.thr0, "gamma": fp.gamma,
           "alpha_mult": fp.alpha_mult, "decay_k": fp.decay_k, "lut": list(fp.lut),
           "i_lo": fp.i_lo, "i_hi": fp.i_hi, "theta_hi": fp.theta_hi}
    if fp.threshold == "table":
        got.update(thr_shift=fp.thr_shift, thr_table=list(fp.thr_table))
    if fp.thr_offset:
        got.update(thr_offset=list(fp.thr_offset))
    if fp.devices:
        got.update(devices=[list(d) for d in fp.devices])
    assert got == k


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_matches_known_answers(name):
    case = CASES[name]
    fp = design(case)
    w, b = np.asarray(case["weights"]), np.asarray(case["biases"])
    for s, segment in enumerate(case["segments"]):           # each from reset
        x = np.asarray(segment, dtype=np.int64)[None]
        acc, z, y, theta = expected(case, s)
        assert np.array_equal(reference.currents(fp, w, b, x)[0], acc)
        trace = reference.run(fp, w, b, x)
        assert np.array_equal(trace.z[0], z), f"{name} segment {s}: z"
        assert np.array_equal(trace.y[0], y), f"{name} segment {s}: y"
        assert np.array_equal(trace.theta[0], theta), f"{name} segment {s}: theta"


@pytest.mark.parametrize("name", sorted(CASES))
def test_hardware_matches_known_answers(name):
    """The Amaranth layer (2 lanes) on the vectors: every output and heat, a reset between."""
    case = CASES[name]
    fp = design(case, lanes=2)
    segments = [np.asarray(s, dtype=np.int64) for s in case["segments"]]
    results = simulate(fp, np.asarray(case["weights"]), np.asarray(case["biases"]), segments,
                       gap=0.2, stall=0.2, seed=1)
    for s, (ys, states) in enumerate(results):
        _, _, y, theta = expected(case, s)
        assert ys == y.reshape(-1).tolist(), f"{name} segment {s}: y"
        assert [t for _, t in states] == theta.reshape(-1).tolist(), f"{name} segment {s}: theta"
