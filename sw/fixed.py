"""The fixed-point semantics of the MTJ thermal neuron: the one definition.

Everything that computes a neuron update -- the integer reference
(:mod:`sw.reference`, numpy int64), the float model (:mod:`sw.model`, torch),
the Amaranth generator (:mod:`hw.neuron_unit`) and through it the cocotb
reference -- calls the functions of this module. They are written once
against a small *ops* backend (``sat``, ``shr``, ``shr_ceil``), so the same
expression becomes a numpy computation, a torch computation without rounding,
or Amaranth hardware:

    acc   = sum_m w[n,m] x[m] + (b[n] << bias_shift)    exact, acc_width bits
    i     = sat[i_lo, i_hi](acc >> i_shift)              requantise; the current limit
    h     = sat_u(theta_width)((i*i) >> heat_shift)      Joule heat
          | sat_u(theta_width)((i*i*g[n]) >> (heat_shift + 8))   per-device heat gain
    thr   = thr0 - ((gamma*theta) >> gamma_shift)        linear: warm junction switches sooner
          | THR[min(theta >> thr_shift, last)]           table: the full I_50(T) of the card
            (+ off[n])                                   device spread: neuron n's own offset
    z     = sat_s(z_width)(i - thr)                      pre-activation
    out   = LUT[z] | z >= 0 | r < LUT[z]                 lut | spike | stochastic
    theta = sat[0, theta_hi](cool(theta) + h)            dissipate, then heat; T_max
    read  = READ[min(theta >> read_shift, last)]         resistance read (read_bits), new heat

With per-device time constants (``device.tau_th_ns_devices``) neuron n is device n mod K,
with its own dissipation constant a[n] and heat gain g[n] (``cool`` multiplies by a[n]).
``sat[lo, hi]`` saturates to a range inside the format: the format's own, or the card's
bound (current V_bd / R, heat at T_max) where the card gives one. ``>>`` is an arithmetic
shift (floor). ``cool`` is floor(alpha * theta) in
both dissipation modes: ``(theta * a) >> F`` or ``theta - ceil(theta / 2**k)``.
Since alpha < 1, floor(alpha theta) < theta for every theta > 0: a silent
neuron cools to exactly 0 (docs/fixed-point.md).

Why this module is long: it is the one definition of the arithmetic, and both of its halves
are that definition. :func:`derive_fixed_point` (with :class:`FixedPoint`) fixes every width,
shift and bound from the device card and refuses a format that cannot hold its bound; the step
functions below evaluate the update in exactly those formats. A change to either half is checked
against the other and against docs/fixed-point.md, and the mutation tests
(tests/mutation/mutants.py) mutate both halves of this one file to show that the reference, the
float model and the hardware all follow it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError
from .device import (coefficients, current_limit, device_thermals, heat_limit, junction_thermals,
                     read_fraction, switching_probability, threshold_at, threshold_offsets,
                     unphysical)

__all__ = [
    "FixedPoint", "derive_fixed_point", "IntOps", "INT_OPS", "sat_range",
    "requantise", "joule_heat", "threshold", "read", "read_scale", "read_output",
    "preactivation", "cool", "warm",
    "lut_index", "fire", "bias_term", "lfsr_next", "lfsr_sequence",
    "LFSR_TAPS", "LFSR_PERIOD", "quantise", "aligned_bias", "requantise_output",
    "accumulate_score", "neuron_offsets", "offset_width", "gain_width", "neuron_thermals", "HEAT_GAIN_FRAC",
]

#: the realised thermal time constant may differ from the device's by at most this factor
TAU_TOLERANCE = 1.5
LFSR_TAPS = 0xB400      # x^16 + x^14 + x^13 + x^11 + 1, maximal length
LFSR_PERIOD = 0xFFFF
#: fraction bits of a per-device heat gain g: h = (i*i*g) >> (heat_shift + HEAT_GAIN_FRAC)
HEAT_GAIN_FRAC = 8


@dataclass(frozen=True)
class FixedPoint:
    """Every integer constant, width and shift of one layer."""
    inputs: int          #: M
    neurons: int         #: N
    lanes: int           #: P
    x_width: int
    x_frac: int
    w_width: int
    w_frac: int
    b_width: int
    b_frac: int
    bias_shift: int      #: b is aligned to the accumulator: b << bias_shift
    acc_width: int       #: holds any sum exactly (derived from M and the widths)
    i_width: int
    i_frac: int
    i_shift: int
    theta_width: int
    theta_frac: int
    heat_shift: int
    thr0: int
    gamma: int
    gamma_width: int
    gamma_shift: int
    decay: str
    alpha_mult: int      #: a, multiply mode
    alpha_frac: int      #: F, multiply mode
    decay_k: int         #: k, shift mode
    z_width: int
    y_width: int
    output: str
    lfsr_seed: int
    i_lo: int            #: lowest current (i LSBs): the format's, or -V_bd/R
    i_hi: int            #: highest current: the format's, or +V_bd/R
    theta_hi: int        #: most heat (theta LSBs): the format's, or the heat at T_max
    threshold: str       #: linear | table
    thr_shift: int       #: table: address = theta >> thr_shift
    thr_table: tuple     #: table: I_50 at the heat k << thr_shift, i LSBs
    delta0: float        #: slope of the switching curve, for the LUT and the float model
    lut: tuple           #: 2**z_width entries, index lut_index(z)
    quantisation: tuple  #: rows (name, device value, fixed-point value, relative error)
    thr_offset: tuple = ()  #: spread: each neuron's threshold offset (i LSBs), neuron order
    devices: tuple = ()     #: per-device (alpha_mult, heat gain); neuron n is device n mod K
    per_neuron: bool = False  #: thermal spread: ``devices`` holds one entry per neuron
    read_bits: int = 0      #: resistance read: bits of its code (0: no read)
    read_shift: int = 0     #: read: address = theta >> read_shift
    read_table: tuple = ()  #: read: the code at the heat k << read_shift

    @property
    def groups(self):
        """G = N / P: neurons handled by one lane in one time step."""
        return self.neurons // self.lanes

    @property
    def alpha(self):
        """The dissipation factor the integer datapath realises (with several devices, the
        slowest one's: the largest)."""
        if self.decay == "shift":
            return 1.0 - 2.0 ** -self.decay_k
        if self.devices:
            return max(a for a, _ in self.devices) / 2 ** self.alpha_frac
        return self.alpha_mult / 2 ** self.alpha_frac

    @property
    def y_out_width(self):
        """Bits of one neuron output: the LUT value, or one spike bit."""
        return self.y_width if self.output == "lut" else 1


def _fail(cfg, key, reason):
    raise ConfigError(f"{cfg.source}: {key}: {reason}")


def derive_fixed_point(cfg):
    """Derive the integer constants of a :class:`~sw.config.Config`.

    Raises
    ------
    ConfigError
        When a width cannot hold its coefficient or a shift would be negative.
    """
    fp = cfg.fixed_point
    problem = unphysical(cfg.device)
    if problem:
        _fail(cfg, *problem)
    if fp.read_bits:                 # what the read needs of the card, before any format
        dev = cfg.device
        for missing, key, why in ((dev.T_max_K is None, "device.T_max_K",
                                   "the read's scale ends at T_max"),
                                  (dev.tmr_spin_wave_per_K1p5 is None,
                                   "device.tmr_spin_wave_per_K1p5", "TMR(T) must fall with T"),
                                  (dev.rest_state != "AP", "device.rest_state",
                                   "the read senses the antiparallel state")):
            if missing:
                _fail(cfg, "fixed_point.read_bits", f"a resistance read needs {key} ({why}), "
                                                    f"got read_bits {fp.read_bits}")
    coef = coefficients(cfg.device)
    fx, fw, fb, fi, ft, fg = fp.x.frac, fp.w.frac, fp.b.frac, fp.i.frac, fp.theta.frac, fp.gamma.frac
    m = cfg.layer.inputs

    shifts = {
        "fixed_point.b.frac": ("bias_shift", fx + fw - fb, "must be <= x.frac + w.frac"),
        "fixed_point.i.frac": ("i_shift", fx + fw - fi, "must be <= x.frac + w.frac"),
        "fixed_point.theta.frac": ("heat_shift", 2 * fi - ft, "must be <= 2 * i.frac"),
    }
    derived = {}
    for key, (name, value, why) in shifts.items():
        if value < 0:
            _fail(cfg, key, f"{why} (shift {name} would be {value})")
        derived[name] = value
    gamma_shift = fg + ft - fi
    if gamma_shift < 0:
        _fail(cfg, "fixed_point.gamma.frac", f"must be >= i.frac - theta.frac (got {fg})")

    max_sum = m * (1 << (fp.x.width - 1)) * (1 << (fp.w.width - 1)) \
        + (1 << (fp.b.width - 1)) * (1 << derived["bias_shift"])
    acc_width = max_sum.bit_length() + 1
    if acc_width > 52:
        _fail(cfg, "layer.inputs", f"accumulator would need {acc_width} bits (> 52)")
    for key, bits in (("fixed_point.theta.width", fp.theta.width + fp.gamma.width),
                      ("fixed_point.alpha_frac", fp.theta.width + fp.alpha_frac),
                      ("fixed_point.i.width", 2 * fp.i.width + (12 if cfg.device.thermal_sigma_rel else max(
                          (round(g * 2 ** HEAT_GAIN_FRAC).bit_length()
                           for _, g in device_thermals(cfg.device) or ()), default=0)))):
        if bits > 62:
            _fail(cfg, key, f"products would need {bits} bits (> 62)")

    thr0 = round(coef.thr0 * 2 ** fi)
    if not -(1 << (fp.i.width - 1)) <= thr0 < (1 << (fp.i.width - 1)):
        _fail(cfg, "fixed_point.i.width",
              f"too small to hold thr0 = {coef.thr0:.4g} ({thr0} at i.frac {fi})")
    gamma = round(coef.gamma * 2 ** fg)
    if gamma >= (1 << fp.gamma.width):
        _fail(cfg, "fixed_point.gamma.width",
              f"too small to hold gamma = {coef.gamma:.4g} ({gamma} at gamma.frac {fg})")
    if gamma == 0:
        _fail(cfg, "fixed_point.gamma.frac",
              f"too few fraction bits: gamma = {coef.gamma:.4g} rounds to 0")

    alpha_mult = round(coef.alpha * 2 ** fp.alpha_frac)
    decay_k = max(1, round(-math.log2(1.0 - coef.alpha)))
    if fp.decay == "multiply":
        if alpha_mult >= 1 << fp.alpha_frac:
            _fail(cfg, "fixed_point.alpha_frac",
                  f"too few fraction bits: alpha = {coef.alpha:.6g} rounds to 1 (no dissipation)")
        if alpha_mult == 0:
            _fail(cfg, "fixed_point.alpha_frac",
                  f"too few fraction bits: alpha = {coef.alpha:.6g} rounds to 0")
    elif decay_k >= fp.theta.width:
        _fail(cfg, "fixed_point.theta.width",
              f"too small for shift dissipation k = {decay_k} (alpha = {coef.alpha:.6g})")

    # The realised dissipation must keep the device's time constant within a factor 1.5
    # (docs/fixed-point.md, "Rules a reimplementation needs"); else the memory is another one.
    alpha_q = (1.0 - 2.0 ** -decay_k) if fp.decay == "shift" else alpha_mult / 2 ** fp.alpha_frac
    tau, tau_q = cfg.device.tau_th_ns, -cfg.device.dt_ns / math.log(alpha_q)
    if not 1 / TAU_TOLERANCE <= tau_q / tau <= TAU_TOLERANCE:
        key, fix = (("fixed_point.decay", "use decay: multiply") if fp.decay == "shift"
                    else ("fixed_point.alpha_frac", "give alpha more fraction bits"))
        _fail(cfg, key, f"{fp.decay} dissipation realises alpha = {alpha_q:.4g} (time constant "
                        f"{tau_q:.3g} ns) for the device's alpha = {coef.alpha:.4g} (tau_th_ns "
                        f"{tau:g}): more than a factor {TAU_TOLERANCE:g} apart; {fix}")

    def bound_lsbs(key, fmt, signed, bound, what, unit):
        """The format's highest value, or ``bound`` (real units) rounded down into it."""
        top = sat_range(fmt.width, signed)[1]
        if bound is None:
            return top
        lsbs = math.floor(bound * 2 ** fmt.frac)
        if lsbs > top:
            _fail(cfg, key, f"too small for {what} = {bound:.4g} {unit} ({lsbs} at "
                            f"{key.split('.')[1]}.frac {fmt.frac}; needs "
                            f"{lsbs.bit_length() + signed} bits), got {fmt.width}")
        return lsbs

    limit, cap = current_limit(cfg.device), heat_limit(cfg.device)
    i_hi = bound_lsbs("fixed_point.i.width", fp.i, True, limit, "the current limit V_bd_V / R",
                      "I_c0")
    i_lo = -i_hi if limit is not None else sat_range(fp.i.width, True)[0]
    theta_hi = bound_lsbs("fixed_point.theta.width", fp.theta, False, cap,
                          "the heat at T_max_K", "heat units")
    # One step at the largest current must fit the heat's format, else the heat saturates in
    # a single step and the neuron no longer remembers how strongly it was driven.
    i_max = max(-i_lo, i_hi)
    step_heat = (i_max * i_max) >> derived["heat_shift"]
    theta_top = sat_range(fp.theta.width, False)[1]
    if step_heat > theta_top:
        _fail(cfg, "fixed_point.theta.width",
              f"too small to hold one step of heat at the largest current ({i_max / 2 ** fi:.4g} "
              f"I_c0 heats by {step_heat / 2 ** ft:.4g} heat units = {step_heat} LSBs at "
              f"theta.frac {ft}; needs {step_heat.bit_length()} bits), got {fp.theta.width}")
    # The threshold and read tables share one addressing rule: entry k holds the value at the
    # heat k << table_shift, the lowest of the span it covers, up to theta_hi.
    table_shift = max(0, theta_hi.bit_length() - fp.table_bits)
    temps = [cfg.device.T0_K + coef.kappa_K * ((k << table_shift) * 2.0 ** -ft)
             for k in range((theta_hi >> table_shift) + 1)]
    thr_shift, thr_table = 0, ()
    if fp.threshold == "table":
        if cap is None:
            _fail(cfg, "fixed_point.threshold",
                  "table needs device.T_max_K: the table spans ambient to T_max, got 'table'")
        thr_shift = table_shift
        lo, hi = sat_range(fp.i.width, True)
        thr_table = tuple(min(max(round(threshold_at(cfg.device, t) * 2 ** fi), lo), hi)
                          for t in temps)
    read_shift, read_table = 0, ()
    if fp.read_bits:
        read_shift, top = table_shift, (1 << fp.read_bits) - 1
        read_table = tuple(min(max(round(read_fraction(cfg.device, t) * top), 0), top)
                           for t in temps)

    devices = ()
    thermals = device_thermals(cfg.device)
    key, what = "device.tau_th_ns_devices", "device"
    spread = junction_thermals(cfg.device, cfg.layer.neurons)
    if thermals:
        thermals = [(a, g, tau) for (a, g), tau in zip(thermals, cfg.device.tau_th_ns_devices)]
    if spread:                       # every neuron its own device: K = N
        thermals, key, what = spread, "device.thermal_sigma_rel", "neuron"
    if thermals:
        if fp.decay != "multiply":
            _fail(cfg, "fixed_point.decay", f"per-device time constants ({key}) need decay: "
                                            f"multiply, got {fp.decay!r}")
        for k, (a, g, tau_k) in enumerate(thermals):
            am = round(a * 2 ** fp.alpha_frac)
            if not 0 < am < 1 << fp.alpha_frac:
                _fail(cfg, key, f"{what} {k}: alpha = {a:.6g} rounds to {am} at alpha_frac "
                                f"{fp.alpha_frac} (no memory or no dissipation), got {tau_k!r}")
            tau_qk = -cfg.device.dt_ns / math.log(am / 2 ** fp.alpha_frac)
            if not 1 / TAU_TOLERANCE <= tau_qk / tau_k <= TAU_TOLERANCE:
                _fail(cfg, key, f"{what} {k}: alpha_frac {fp.alpha_frac} realises a time "
                                f"constant of {tau_qk:.3g} ns, more than a factor "
                                f"{TAU_TOLERANCE:g} from {tau_k:g}")
            devices += ((am, round(g * 2 ** HEAT_GAIN_FRAC)),)

    thr_offset = ()
    if cfg.device.threshold_sigma_ic0:
        offsets = np.round(threshold_offsets(cfg.device, cfg.layer.neurons) * 2 ** fi)
        widest = int(np.abs(offsets).max())
        if widest >= 1 << (fp.i.width - 1):
            _fail(cfg, "device.threshold_sigma_ic0",
                  f"an offset of {widest} LSBs does not fit i.width {fp.i.width}, "
                  f"got {cfg.device.threshold_sigma_ic0!r}")
        thr_offset = tuple(int(v) for v in offsets)

    zw, yw = fp.z_width, fp.y_width
    z = np.arange(1 << zw, dtype=np.int64) - (1 << (zw - 1))   # index order: z = idx - 2**(zw-1)
    p = switching_probability(z / 2.0 ** fi, coef.delta0, np)
    lut = tuple(int(v) for v in np.round(p * ((1 << yw) - 1)).astype(np.int64))

    def row(name, real, quant):
        return (name, real, quant, abs(quant - real) / abs(real) if real else 0.0)

    quant = (
        row("alpha", coef.alpha, alpha_q),
        row("thr0 [I_c0]", coef.thr0, thr0 / 2 ** fi),
        row("gamma [I_c0/heat unit]", coef.gamma, gamma / 2 ** fg),
    )
    if thr_table:
        mid = len(thr_table) // 2
        quant += (row(f"thr table at {temps[mid]:.0f} K [I_c0]", threshold_at(cfg.device, temps[mid]),
                      thr_table[mid] / 2 ** fi),)
    if limit is not None:
        quant += (row("current limit [I_c0]", limit, i_hi / 2 ** fi),)
    if cap is not None:
        quant += (row("heat at T_max [heat units]", cap, theta_hi / 2 ** ft),)
    return FixedPoint(
        inputs=m, neurons=cfg.layer.neurons, lanes=cfg.hardware.lanes,
        x_width=fp.x.width, x_frac=fx, w_width=fp.w.width, w_frac=fw,
        b_width=fp.b.width, b_frac=fb, bias_shift=derived["bias_shift"], acc_width=acc_width,
        i_width=fp.i.width, i_frac=fi, i_shift=derived["i_shift"],
        theta_width=fp.theta.width, theta_frac=ft, heat_shift=derived["heat_shift"],
        thr0=thr0, gamma=gamma, gamma_width=fp.gamma.width, gamma_shift=gamma_shift,
        decay=fp.decay, alpha_mult=alpha_mult, alpha_frac=fp.alpha_frac, decay_k=decay_k,
        z_width=zw, y_width=yw, output=fp.output, lfsr_seed=fp.lfsr_seed,
        i_lo=i_lo, i_hi=i_hi, theta_hi=theta_hi, threshold=fp.threshold, thr_shift=thr_shift,
        thr_table=thr_table, delta0=coef.delta0, lut=lut, quantisation=quant,
        thr_offset=thr_offset, devices=devices, per_neuron=bool(spread),
        read_bits=fp.read_bits or 0, read_shift=read_shift, read_table=read_table,
    )


def neuron_thermals(fp):
    """Per-neuron (alpha_mult, heat gain) int64 arrays (N,) of per-device time constants
    (neuron n is device n mod K), or (None, None) with one device."""
    if not fp.devices:
        return None, None
    k = np.arange(fp.neurons) % len(fp.devices)
    table = np.asarray(fp.devices, dtype=np.int64)
    return table[k, 0], table[k, 1]


def neuron_offsets(fp):
    """The neurons' threshold offsets as an int64 array (N,), or None without spread."""
    return np.asarray(fp.thr_offset, dtype=np.int64) if fp.thr_offset else None


def gain_width(fp):
    """Bits of an unsigned word that holds every neuron's heat gain (the gain ROM's)."""
    return max(g for _, g in fp.devices).bit_length() if fp.devices else 0


def offset_width(fp):
    """Bits of a signed word that holds every neuron's threshold offset (the offset ROM's)."""
    return max(abs(v) for v in fp.thr_offset).bit_length() + 1 if fp.thr_offset else 0


# -- ops backends ---------------------------------------------------------------------------------

def sat_range(width, signed):
    """(lowest, highest) integer of a ``width``-bit format; every backend saturates to it."""
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)


class IntOps:
    """numpy int64 backend: exact integers, floor shifts, saturation by clipping.

    Every backend has ``sat_between(x, lo, hi, width, signed)``, saturation to a range
    inside a format, and ``lookup(table, index)``, a read of a constant table; ``sat`` is
    ``sat_between`` at the format's own range.
    """

    def sat(self, x, width, signed):
        return self.sat_between(x, *sat_range(width, signed), width, signed)

    @staticmethod
    def sat_between(x, lo, hi, width, signed):
        return np.clip(x, lo, hi)

    @staticmethod
    def lookup(table, index):
        """table[min(index, last)]: an address past the table reads its last entry."""
        return np.asarray(table, dtype=np.int64)[np.minimum(index, len(table) - 1)]

    @staticmethod
    def shr(x, k):
        return x >> k

    @staticmethod
    def shr_ceil(x, k):
        return (x + ((1 << k) - 1)) >> k


INT_OPS = IntOps()


# -- the neuron update, one function per datapath step ---------------------------------------------

def bias_term(ops, fp, b):
    """Bias aligned to the accumulator's binary point."""
    return aligned_bias(b, fp.bias_shift)


def requantise(ops, fp, acc):
    """i = sat[i_lo, i_hi](acc >> i_shift): the input current in units of I_c0, saturated
    at the format's range or at the card's current limit."""
    return ops.sat_between(ops.shr(acc, fp.i_shift), fp.i_lo, fp.i_hi, fp.i_width, True)


def joule_heat(ops, fp, i, gain=None):
    """h = sat_u(theta_width)((i*i) >> heat_shift): heat units added this step; with
    per-device time constants the neuron's heat gain g: (i*i*g) >> (heat_shift + 8)."""
    if gain is None:
        return ops.sat(ops.shr(i * i, fp.heat_shift), fp.theta_width, False)
    return ops.sat(ops.shr(i * i * gain, fp.heat_shift + HEAT_GAIN_FRAC), fp.theta_width, False)


def threshold(ops, fp, theta, offset=None):
    """The switching threshold from the heat of earlier steps: linear, thr0 - ((gamma*theta)
    >> gamma_shift); table, THR[theta >> thr_shift]. With device spread, ``offset`` is each
    neuron's own offset (an array over the neurons, or the offset ROM's word in hardware),
    added at every temperature."""
    if fp.threshold == "table":
        thr = ops.lookup(fp.thr_table, ops.shr(theta, fp.thr_shift))
    else:
        thr = fp.thr0 - ops.shr(theta * fp.gamma, fp.gamma_shift)
    return thr if offset is None else thr + offset


def read(ops, fp, theta):
    """The resistance read: READ[min(theta >> read_shift, last)], the sense amplifier's
    read_bits code of the junction's antiparallel conductance at the heat ``theta`` (the
    heat after the step, :func:`warm`'s result)."""
    return ops.lookup(fp.read_table, ops.shr(theta, fp.read_shift))


def read_scale(fp):
    """The factor that puts a read code in the thermal output's format, where the next layer
    takes it: the LUT word is p * (2**y_width - 1), the read code g * (2**read_bits - 1), so
    code * (2**y_width - 1) / (2**read_bits - 1) is g on the LUT word's scale, exactly when
    read_bits divides y_width (then 2**read_bits - 1 divides 2**y_width - 1).

    Raises
    ------
    ValueError
        Without a read, without a LUT output, or when read_bits does not divide y_width.
    """
    if not fp.read_bits:
        raise ValueError("the design has no resistance read (fixed_point.read_bits)")
    if fp.output != "lut":
        raise ValueError(f"a read beside the outputs needs output lut (the LUT word's scale), "
                         f"got output {fp.output}")
    top_y, top_r = (1 << fp.y_width) - 1, (1 << fp.read_bits) - 1
    if top_y % top_r:
        raise ValueError(f"read_bits ({fp.read_bits}) must divide the LUT's y width "
                         f"({fp.y_width}): the read's code must be a whole number of LUT steps")
    return top_y // top_r


def read_output(ops, fp, theta):
    """The read as the next layer takes it: read(theta) * :func:`read_scale`, a word of the
    thermal output's format (y_width bits, the LUT word's scale)."""
    return read(ops, fp, theta) * read_scale(fp)


def preactivation(ops, fp, i, thr):
    """z = sat_s(z_width)(i - thr)."""
    return ops.sat(i - thr, fp.z_width, True)


def cool(ops, fp, theta, alpha=None):
    """floor(alpha * theta): dissipation in either mode; < theta whenever theta > 0. With
    per-device time constants ``alpha`` is the neuron's own alpha_mult."""
    if fp.decay == "shift":
        return theta - ops.shr_ceil(theta, fp.decay_k)
    return ops.shr(theta * (fp.alpha_mult if alpha is None else alpha), fp.alpha_frac)


def warm(ops, fp, cooled, heat):
    """theta' = sat[0, theta_hi](cooled + heat): the format's ceiling, or the heat at T_max."""
    return ops.sat_between(cooled + heat, 0, fp.theta_hi, fp.theta_width, False)


def lut_index(fp, z):
    """Address of z in the switching-probability LUT: z + 2**(z_width-1)."""
    return z + (1 << (fp.z_width - 1))


def fire(fp, z, p, r):
    """The neuron output from z, its LUT value p and the random word r.

    Works for numpy arrays and for Amaranth values alike.
    """
    if fp.output == "lut":
        return p
    if fp.output == "spike":
        return z >= 0
    return r < p


def lfsr_next(s):
    """One step of the 16-bit Galois LFSR (right shift, taps LFSR_TAPS).

    Select-free, so it is the same expression for Python ints, numpy arrays
    and Amaranth values (the hardware truncates the result to 16 bits).
    """
    return (s >> 1) ^ ((s & 1) * LFSR_TAPS)


@functools.lru_cache(maxsize=8)
def lfsr_sequence(seed):
    """All LFSR states from ``seed``: element k is the state after k steps."""
    out = np.empty(LFSR_PERIOD, dtype=np.int64)
    s = seed
    for k in range(LFSR_PERIOD):
        out[k] = s
        s = lfsr_next(s)
    out.setflags(write=False)
    return out


# -- the layers around the thermal neurons (docs/network.md) --------------------------------------

def aligned_bias(b, shift):
    """A layer's bias aligned to its accumulator: b << shift (shift includes the pooling)."""
    return b * (1 << shift)


def requantise_output(ops, acc, shift, width, signed):
    """A layer's output from its exact accumulator: sat(width)(acc >> shift).

    Unsigned saturation is the ReLU: negative sums become 0. Signed is a logit.
    """
    return ops.sat(ops.shr(acc, shift), width, signed)


def accumulate_score(ops, score, logit, width):
    """The class head: score' = sat_s(width)(score + logit), summed over the frames since reset."""
    return ops.sat(score + logit, width, True)


def quantise(values, width, frac):
    """Round real values to signed fixed point, saturating (numpy int64)."""
    q = np.round(np.asarray(values, dtype=np.float64) * 2.0 ** frac).astype(np.int64)
    return INT_OPS.sat(q, width, True)
