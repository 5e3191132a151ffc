"""The resistance read: TMR(T) from the card, the read table indexed by heat, the same code in
the integer reference and the quantisation-aware float model, and IPNet's use of it."""

import numpy as np
import pytest
import torch
import yaml

from helpers import ROOT
from ipnet_mtj.sw.config import load_config, parse_config
from ipnet_mtj.sw.data.datasets import TASKS
from ipnet_mtj.sw.device import ap_conductance, coefficients, read_fraction, tmr_at
from ipnet_mtj.sw.errors import ConfigError
from ipnet_mtj.sw.fixed import INT_OPS, derive_fixed_point, read
from ipnet_mtj.sw.model import QAT_OPS, thermal_sequence
from ipnet_mtj.sw.nets import build_model, count_parameters
from ipnet_mtj.sw.reference import run_currents
from ipnet_mtj.sw.train.physics import heat_ignored

READ_CARD = ROOT / "configs" / "full_read.yaml"


def read_design():
    cfg = load_config(READ_CARD)
    return cfg, derive_fixed_point(cfg)


def test_tmr_falls_with_temperature_by_hand():
    """Julliere with P(T) = P(T0) (1 - a T^1.5) / (1 - a T0^1.5), a = 2e-5, by hand at 500 K:
    P(T0)^2 = 1.5 / 3.5, P(500) = 0.654654 * 0.776393 / 0.896077 = 0.567215,
    TMR = 2 P^2 / (1 - P^2) = 0.948691."""
    dev = load_config(READ_CARD).device
    assert tmr_at(dev, 300.0) == pytest.approx(1.5, rel=1e-12)
    assert tmr_at(dev, 500.0) == pytest.approx(0.948691, rel=1e-5)
    assert ap_conductance(dev, 500.0) == pytest.approx(1 / (2500 * 1.948691), rel=1e-5)
    t = np.linspace(300, 800, 51)
    assert np.all(np.diff([tmr_at(dev, x) for x in t]) < 0)
    assert read_fraction(dev, 300.0) == 0.0 and read_fraction(dev, 800.0) == pytest.approx(1.0)
    # (1/1.948691 - 1/2.5) / (1/1.380852 - 1/2.5) by hand
    assert read_fraction(dev, 500.0) == pytest.approx(0.349076, rel=1e-4)
    plain = load_config(ROOT / "configs" / "full.yaml").device
    assert tmr_at(plain, 800.0) == pytest.approx(1.5)          # no spin-wave term: constant


def test_read_table_spans_ambient_to_t_max():
    cfg, fp = read_design()
    table = np.asarray(fp.read_table)
    assert fp.read_bits == 4 and table[0] == 0 and table[-1] == 15
    assert np.all(np.diff(table) >= 0) and set(table) == set(range(16))
    assert len(table) == (fp.theta_hi >> fp.read_shift) + 1
    assert len(table) == len(fp.thr_table)                     # the same address bits


def test_read_of_known_heats_by_hand():
    """The code at ambient is 0, at T_max 15, at the table entry nearest 500 K
    round(15 * 0.349) = 5 (the by-hand fraction above); an address's first heat reads its
    entry, the heat one below reads the entry before."""
    cfg, fp = read_design()
    kappa = coefficients(cfg.device).kappa_K
    k500 = round((500.0 - 300.0) / kappa * 2 ** fp.theta_frac) >> fp.read_shift
    t_k = 300.0 + kappa * ((k500 << fp.read_shift) * 2.0 ** -fp.theta_frac)
    assert abs(t_k - 500.0) < 4.0
    first = fp.read_table.index(1)
    theta = np.array([0, fp.theta_hi, k500 << fp.read_shift, (first << fp.read_shift) - 1,
                      first << fp.read_shift])
    assert read(INT_OPS, fp, theta).tolist() == [0, 15, 5, 0, 1]


def test_reference_reads_the_heat_after_each_step():
    """A driven neuron warms and its code rises; silent, it cools back to 0. Every code is
    the documented rule READ[min(theta >> read_shift, last)] of the heat the step ends with
    (re-derived here with numpy, not through sw.fixed.read)."""
    _, fp = read_design()
    acc = np.zeros((1, 80, 1), dtype=np.int64)
    acc[0, :30] = fp.i_hi << fp.i_shift
    tr = run_currents(fp, acc)
    table = np.asarray(fp.read_table)
    expect = table[np.minimum(tr.theta >> fp.read_shift, len(table) - 1)]
    assert np.array_equal(tr.read, expect)
    assert np.all(np.diff(tr.read[0, :30, 0]) >= 0) and tr.read[0, 29, 0] >= 12
    assert tr.read[0, -1, 0] == 0


def test_quantisation_aware_float_model_reads_bit_exact():
    """QAT_OPS on integer currents gives the integer reference's codes, every step; the float
    model (interpolated, rounded) is within one code."""
    _, fp = read_design()
    rng = np.random.default_rng(3)
    acc = rng.integers(-700, 700, size=(4, 40, 6)).astype(np.int64) << fp.i_shift
    ref = run_currents(fp, acc)
    qat = thermal_sequence(fp, torch.as_tensor(acc, dtype=torch.float64), ops=QAT_OPS)
    assert np.array_equal(qat.read.numpy() * 15, ref.read)
    assert ref.read.max() >= 8                       # the drive reaches the upper codes
    flt = thermal_sequence(fp, torch.as_tensor(acc, dtype=torch.float64))
    assert np.abs(flt.read.numpy() * 15 - ref.read).max() <= 1


def test_heat_ignored_reads_ambient():
    _, fp = read_design()
    acc = np.full((1, 10, 2), fp.i_hi << fp.i_shift, dtype=np.int64)
    assert run_currents(fp, acc).read.max() == 9
    assert run_currents(heat_ignored(fp), acc).read.max() == 0


def test_ipnet_passes_the_read_on():
    """read: the next stage sees the codes; both: it sees outputs and codes (its input
    channels doubled); a design without a read is refused."""
    _, fp = read_design()
    task = TASKS["gestures22m"]
    torch.manual_seed(0)
    plain = build_model("ipnet", task, fp=fp)
    torch.manual_seed(0)
    both = build_model("ipnet", task, fp=fp, read="both")
    assert both.backbone.conv2.in_channels == 16 and plain.backbone.conv2.in_channels == 8
    assert count_parameters(both) - count_parameters(plain) == 8 * 16 * 9
    seen = {}
    for name, model in (("read", build_model("ipnet", task, fp=fp, read="read")), ("both", both)):
        model.backbone.conv2.register_forward_hook(
            lambda m, i, o, name=name: seen.__setitem__(name, i[0]))
        model(torch.rand(1, 3, 2, 32, 32) * 4)
    codes = seen["read"] * 15
    assert torch.equal(codes, torch.round(codes)) and codes.min() >= 0 and codes.max() <= 15
    assert torch.equal(seen["both"][:, 8:] * 15, torch.round(seen["both"][:, 8:] * 15))
    no_read = derive_fixed_point(load_config(ROOT / "configs" / "full.yaml"))
    with pytest.raises(ValueError, match=r"^read: both needs a design with a resistance read "
                                         r"\(fixed_point.read_bits\)$"):
        build_model("ipnet", task, fp=no_read, read="both")


@pytest.mark.parametrize("change, message", [
    ({"device": {"tmr_spin_wave_per_K1p5": None}},
     "fixed_point.read_bits: a resistance read needs device.tmr_spin_wave_per_K1p5 (TMR(T) must "
     "fall with T), got read_bits 4"),
    ({"device": {"T_max_K": None}},
     "fixed_point.read_bits: a resistance read needs device.T_max_K (the read's scale ends at "
     "T_max), got read_bits 4"),
    ({"device": {"rest_state": "P"}},
     "fixed_point.read_bits: a resistance read needs device.rest_state (the read senses the "
     "antiparallel state), got read_bits 4"),
    ({"device": {"tmr_spin_wave_per_K1p5": 5e-5}},
     "device.tmr_spin_wave_per_K1p5: the polarisation 1 - a T**1.5 must stay positive up to "
     "800 K (T_max_K, else Tc_K): a must be below 4.419e-05, got 5e-05"),
])
def test_bad_read_cards_are_refused(change, message):
    data = yaml.safe_load(READ_CARD.read_text())
    for section, values in change.items():
        for key, value in values.items():
            if value is None:
                data[section].pop(key)
            else:
                data[section][key] = value
    with pytest.raises(ConfigError) as err:
        derive_fixed_point(parse_config(data, "read.yaml"))
    assert str(err.value) == f"read.yaml: {message}"
