"""Known-answer vectors of the thermal neuron, derived without the project's code.

    python tests/known_answers/derive.py > tests/known_answers/vectors.json

This script is the independent oracle of tests/test_known_answers.py. It reads nothing of
sw/, gen/ or hw/: it implements docs/neuron-model.md (device card -> coefficients) and
docs/fixed-point.md (coefficients -> integer constants, one time step, the LUT, the LFSR)
from those pages, in plain Python integers and floats, for a small layer (M = 4 inputs,
N = 2 neurons) in every output mode (lut, spike, stochastic) and both dissipation modes
(multiply, shift), for the full device model (threshold table, current limit, heat
saturating at T_max), for that model with two devices of different time constants, and with
device-to-device spread (each neuron's
threshold offset drawn from the card's sigma; numpy's generator is the one the docs name). The stimulus drives the current to both saturation ends, the heat to
its ceiling, then lets the layer cool to exactly 0, then resets it.

A shared-code bug (a sign, a shift, a tap, a bound) changes what the project computes but
not these numbers; that is what makes the comparison a check.
"""

import copy
import json
import math
import sys

import numpy as np

LN2 = math.log(2.0)

DEVICE = {"tau_th_ns": 10.0, "dt_ns": 1.0, "pulse_ns": 10.0, "tau0_ns": 1.0, "delta0": 60.0,
          "T0_K": 300.0, "Tc_K": 1000.0, "R_P_ohm": 2500.0, "tmr": 1.5, "rest_state": "AP",
          "R_th_K_per_uW": 2.0, "I_c0_uA": 100.0}
FIXED = {"x": {"width": 8, "frac": 7}, "w": {"width": 8, "frac": 6}, "b": {"width": 8, "frac": 6},
         "i": {"width": 12, "frac": 8}, "theta": {"width": 16, "frac": 8},
         "gamma": {"width": 12, "frac": 16}, "alpha_frac": 8, "z_width": 8, "y_width": 8,
         "decay": "multiply", "output": "lut", "lfsr_seed": 0xACE1}
# The full device model (docs/neuron-model.md, "The full threshold"): I_c0 falls with M_s**2,
# the heat saturates at T_max, the current at V_bd / R; the threshold is a table.
DEVICE_FULL = dict(DEVICE, ic0_ms_exponent=2.0, T_max_K=800.0, V_bd_V=1.25)
FIXED_FULL = dict(FIXED, i={"width": 11, "frac": 8}, theta={"width": 14, "frac": 8},
                  threshold="table", table_bits=7)
WEIGHTS = [[-128, -128, -128, -128],      # neuron 0: +full scale on x = -128, -full on x = 127
           [127, -128, 5, -3]]
BIASES = [0, 3]                           # neuron 1's bias alone gives i = 12: no heat
BURST, NEGATIVE, MODERATE = [-128] * 4, [127] * 4, [10, -20, 30, 1]
# Near threshold: both neurons' currents stay within a few LSBs of thr0, so their switching
# probability is mid-range and the stochastic output meets r == LUT[z] (where < and <= differ).
NEAR = [[52 + (t * 5) % 8, 0, 0, -110 - (t * 3) % 11] for t in range(600)]
SEGMENTS = [[BURST] * 4 + [NEGATIVE, MODERATE] + [[0] * 4] * 150,      # then a reset
            [MODERATE, [-5, 60, -70, 12], BURST, [0] * 4],
            NEAR]
# Full model: a long burst holds neuron 0's current at the limit until its heat reaches
# T_max; then, as it cools, its current sweeps 0..0.94 I_c0 (16 LSBs per step of x), so it
# meets the falling-then-rising threshold at many table entries; then it cools to 0.
SWEEP = [[-(t % 16)] * 4 for t in range(80)]
SEGMENTS_FULL = [[BURST] * 60 + SWEEP + [[0] * 4] * 150,
                 [NEGATIVE] * 6 + [[0] * 4] * 4]      # the negative limit: x = 127 gives -2048
# Spread (docs/neuron-model.md, "Device-to-device spread"): R_th and tau of each junction
# scaled by 1 + N(0, 0.2^2); sigma 0.05 I_c0 and chip 8 give
# the two neurons offsets of -22 and -17 LSBs (-22.25 and -17.11: rounding and flooring
# differ on both); near threshold, in spike mode, they decide outputs.
DEVICE_SPREAD = dict(DEVICE_FULL, threshold_sigma_ic0=0.05, spread_seed=8, thermal_sigma_rel=0.2)
FIXED_SPREAD = dict(FIXED_FULL, output="spike")
SEGMENTS_SPREAD = [NEAR[:300], SEGMENTS_FULL[0]]
# Several devices (docs/neuron-model.md, "Several devices"): neuron 0 is a 1.4 ns junction,
# neuron 1 a 64 ns one; each has its own alpha and heat gain. The burst heats the fast
# neuron 0 (to 1499 LSBs; the heat leaves within frames); a steady moderate input settles it at
# 38 LSBs while the slow neuron 1 accumulates to 2195; then both cool.
DEVICE_TAUS = dict(DEVICE_FULL, tau_th_ns_devices=[1.4, 64.0])
SEGMENTS_TAUS = [SEGMENTS_FULL[0], [MODERATE] * 40 + [[0] * 4] * 300]


# -- docs/neuron-model.md: device card -> coefficients ------------------------------------------

def stability(dev, t):
    """Delta(T) = Delta0 (T0/T) (M_s(T)/M_s(T0))^2, Bloch law M_s ~ 1 - (T/Tc)^1.5."""
    m = lambda temp: 1.0 - (temp / dev["Tc_K"]) ** 1.5      # noqa: E731
    return dev["delta0"] * (dev["T0_K"] / t) * (m(t) / m(dev["T0_K"])) ** 2


def threshold_current(dev, t):
    """The current (units of I_c0) that switches a pulse with probability 1/2 at T:
    I_c0(T) (1 - ln(t_p / (tau0 ln 2)) / Delta(T)), with I_c0(T) = I_c0 (M_s(T)/M_s(T0))**n
    when the card gives n (ic0_ms_exponent), else I_c0."""
    barrier = 1.0 - math.log(dev["pulse_ns"] / (dev["tau0_ns"] * LN2)) / stability(dev, t)
    n = dev.get("ic0_ms_exponent")
    if n is None:
        return barrier
    m = lambda temp: 1.0 - (temp / dev["Tc_K"]) ** 1.5      # noqa: E731
    return (m(t) / m(dev["T0_K"])) ** n * barrier


def coefficients(dev):
    alpha = math.exp(-dev["dt_ns"] / dev["tau_th_ns"])
    resistance = dev["R_P_ohm"] * ((1.0 + dev["tmr"]) if dev["rest_state"] == "AP" else 1.0)
    power_w = (dev["I_c0_uA"] * 1e-6) ** 2 * resistance
    kappa = (1.0 - alpha) * dev["R_th_K_per_uW"] * 1e6 * power_w      # K per heat unit
    t0 = dev["T0_K"]
    slope = -(threshold_current(dev, t0 + 0.5) - threshold_current(dev, t0 - 0.5))  # per K
    return {"alpha": alpha, "thr0": threshold_current(dev, t0), "gamma": slope * kappa,
            "delta0": dev["delta0"], "kappa": kappa, "resistance": resistance}


# -- docs/fixed-point.md: coefficients -> integers, one step ------------------------------------

def constants(fx, dev=DEVICE):
    c = coefficients(dev)
    f = {k: fx[k]["frac"] for k in ("x", "w", "b", "i", "theta", "gamma")}
    k = max(1, round(-math.log2(1.0 - c["alpha"])))
    zw, yw = fx["z_width"], fx["y_width"]
    lut = []
    for index in range(1 << zw):
        z = (index - (1 << (zw - 1))) / 2.0 ** f["i"]
        p = 1.0 - math.exp(-LN2 * math.exp(min(c["delta0"] * z, 30.0)))
        lut.append(round(p * ((1 << yw) - 1)))          # Python round: ties to even
    return {
        "bias_shift": f["x"] + f["w"] - f["b"], "i_shift": f["x"] + f["w"] - f["i"],
        "heat_shift": 2 * f["i"] - f["theta"], "gamma_shift": f["gamma"] + f["theta"] - f["i"],
        "thr0": round(c["thr0"] * 2 ** f["i"]), "gamma": round(c["gamma"] * 2 ** f["gamma"]),
        "alpha_mult": round(c["alpha"] * 2 ** fx["alpha_frac"]), "decay_k": k, "lut": lut,
        **bounds(fx, dev, c, f),
    }


def bounds(fx, dev, c, f):
    """The current limit, the heat at T_max and the threshold table, where the card has them;
    else the formats' own ranges."""
    i_hi = (1 << (fx["i"]["width"] - 1)) - 1
    if dev.get("V_bd_V") is not None:          # |I| <= V_bd / R, in i LSBs, rounded down
        i_hi = math.floor(dev["V_bd_V"] / c["resistance"] / (dev["I_c0_uA"] * 1e-6) * 2 ** f["i"])
    theta_hi = (1 << fx["theta"]["width"]) - 1
    if dev.get("T_max_K") is not None:         # heat units at T_max, in theta LSBs, rounded down
        theta_hi = math.floor((dev["T_max_K"] - dev["T0_K"]) / c["kappa"] * 2 ** f["theta"])
    out = {"i_lo": -i_hi - (dev.get("V_bd_V") is None), "i_hi": i_hi, "theta_hi": theta_hi}
    if fx.get("threshold") == "table":
        shift = max(0, theta_hi.bit_length() - fx["table_bits"])
        lo, hi = -(1 << (fx["i"]["width"] - 1)), (1 << (fx["i"]["width"] - 1)) - 1
        table = []
        for k in range((theta_hi >> shift) + 1):
            temp = dev["T0_K"] + c["kappa"] * (k << shift) / 2 ** f["theta"]
            table.append(min(max(round(threshold_current(dev, temp) * 2 ** f["i"]), lo), hi))
        out.update(thr_shift=shift, thr_table=table)
    if dev.get("thermal_sigma_rel"):           # per neuron: R_th (1 + r_n), tau (1 + t_n)
        seed, sigma = dev.get("spread_seed") or 0, dev["thermal_sigma_rel"]
        r = [max(sigma * v, -0.5) for v in np.random.default_rng([seed, 1]).standard_normal(2)]
        t = [max(sigma * v, -0.5) for v in np.random.default_rng([seed, 2]).standard_normal(2)]
        out["devices"] = []
        for n in range(2):
            tau = dev["tau_th_ns"] * (1.0 + float(t[n]))
            a = math.exp(-dev["dt_ns"] / tau)
            gain = (1.0 - a) * (1.0 + float(r[n])) / (1.0 - c["alpha"])
            out["devices"].append([round(a * 2 ** fx["alpha_frac"]), round(gain * 2 ** 8)])
    elif dev.get("tau_th_ns_devices"):         # alpha_k = exp(-dt/tau_k); gain: kappa_k / kappa
        out["devices"] = []
        for tau in dev["tau_th_ns_devices"]:
            a = math.exp(-dev["dt_ns"] / tau)
            gain = (1.0 - a) * tau / ((1.0 - c["alpha"]) * dev["tau_th_ns"])
            out["devices"].append([round(a * 2 ** fx["alpha_frac"]), round(gain * 2 ** 8)])
    if dev.get("threshold_sigma_ic0"):         # offset_n = round(sigma N(0,1) 2**i.frac), n = 0, 1
        draw = np.random.default_rng(dev.get("spread_seed") or 0).standard_normal(2)
        out["thr_offset"] = [round(float(dev["threshold_sigma_ic0"] * v) * 2 ** f["i"])
                             for v in draw]
    return out


def sat(v, width, signed):
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    return min(max(v, lo), hi)


def lfsr_next(s):
    """16-bit Galois LFSR, right shift, taps 0xB400."""
    return (s >> 1) ^ (0xB400 if s & 1 else 0)


def run_segment(fx, k, segments=SEGMENTS):
    """Per step and neuron (acc, z, y, theta) from reset, for every segment; and how many
    updates drew r == LUT[z]."""
    out, ties = [], 0
    for segment in segments:
        theta = [0, 0]
        lfsr = fx["lfsr_seed"]
        steps = []
        for x in segment:
            row = []
            new = []
            for n in range(2):
                acc = sum(w * v for w, v in zip(WEIGHTS[n], x)) + (BIASES[n] << k["bias_shift"])
                i = min(max(acc >> k["i_shift"], k["i_lo"]), k["i_hi"])
                if "devices" in k:                   # neuron n is device n mod K
                    alpha_n, gain_n = k["devices"][n % len(k["devices"])]
                    h = sat((i * i * gain_n) >> (k["heat_shift"] + 8), fx["theta"]["width"], False)
                else:
                    alpha_n = k["alpha_mult"]
                    h = sat((i * i) >> k["heat_shift"], fx["theta"]["width"], False)
                if "thr_table" in k:
                    table = k["thr_table"]
                    thr = table[min(theta[n] >> k["thr_shift"], len(table) - 1)]
                else:
                    thr = k["thr0"] - ((k["gamma"] * theta[n]) >> k["gamma_shift"])
                thr += k.get("thr_offset", [0, 0])[n]
                z = sat(i - thr, fx["z_width"], True)
                p = k["lut"][z + (1 << (fx["z_width"] - 1))]
                lfsr = lfsr_next(lfsr)                   # one advance per neuron update
                r = lfsr & ((1 << fx["y_width"]) - 1)
                ties += r == p
                y = {"lut": p, "spike": int(z >= 0), "stochastic": int(r < p)}[fx["output"]]
                if fx["decay"] == "multiply":
                    cooled = (theta[n] * alpha_n) >> fx["alpha_frac"]
                else:                                    # theta - ceil(theta / 2**k)
                    cooled = theta[n] - ((theta[n] + (1 << k["decay_k"]) - 1) >> k["decay_k"])
                new.append(min(max(cooled + h, 0), k["theta_hi"]))
                row.append([acc, z, y, new[-1]])
            theta = new
            steps.append(row)
        out.append(steps)
    return out, ties


def case(name, fx, dev, segments):
    """One case: the design, its stimulus, the derived constants and the expected values."""
    k = constants(fx, dev)
    expected, ties = run_segment(fx, k, segments)
    return {"name": name, "device": dev, "fixed_point": fx, "weights": WEIGHTS,
            "biases": BIASES, "segments": segments, "constants": k, "expected": expected,
            "r_equals_lut": ties}


def main():
    cases = []
    for output in ("lut", "spike", "stochastic"):
        for decay in ("multiply", "shift"):
            fx = copy.deepcopy(FIXED)
            fx.update(output=output, decay=decay)
            cases.append(case(f"{output}-{decay}", fx, DEVICE, SEGMENTS))
    cases.append(case("full-lut-multiply", copy.deepcopy(FIXED_FULL), DEVICE_FULL, SEGMENTS_FULL))
    spread = case("spread-spike-multiply", copy.deepcopy(FIXED_SPREAD), DEVICE_SPREAD,
                  SEGMENTS_SPREAD)
    alike, _ = run_segment(spread["fixed_point"], dict(spread["constants"], thr_offset=[0, 0]),
                           SEGMENTS_SPREAD)
    spread["outputs_the_offsets_change"] = sum(
        a[2] != b[2] for seg, seg0 in zip(spread["expected"], alike)
        for row, row0 in zip(seg, seg0) for a, b in zip(row, row0))
    cases.append(spread)
    cases.append(case("taus-lut-multiply", copy.deepcopy(FIXED_FULL), DEVICE_TAUS, SEGMENTS_TAUS))
    s, first = 0xACE1, []
    for _ in range(8):
        s = lfsr_next(s)
        first.append(s)
    json.dump({"derived_by": "tests/known_answers/derive.py", "lfsr_from_0xACE1": first,
               "cases": cases}, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
