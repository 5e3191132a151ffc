"""All-MTJ IPNet: thermal neurons at several activation layers of the benchmark backbone, each
stage with its own start at the working threshold, its own device spread and physics."""

import pytest
import torch

from helpers import ROOT
from ipnet_mtj.sw.config import load_config
from ipnet_mtj.sw.data.datasets import TASKS
from ipnet_mtj.sw.fixed import derive_fixed_point
from ipnet_mtj.sw.nets import build_model, count_parameters

TASK = TASKS["gestures22m"]


def fp_full():
    return derive_fixed_point(load_config(ROOT / "configs" / "full.yaml"))


def stage_outputs(model, x):
    """What each stage hands on: conv2's input (stage 1), fc's input (stage 2), the readout's
    input (stage 3), captured by hooks on the backbone's layers."""
    seen = {}
    bb = model.backbone
    hooks = [layer.register_forward_hook(lambda m, i, o, k=k: seen.__setitem__(k, i[0]))
             for k, layer in ((1, bb.conv2), (2, bb.fc), (3, bb.readout))]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def test_every_thermal_stage_starts_at_the_working_threshold():
    """Each stage's mean output over the calibration batch is the firing rate, measured on
    what the next layer receives (not from the calibration's own bisection)."""
    torch.manual_seed(0)
    model = build_model("ipnet", TASK, fp=fp_full(), thermal_depths=[1, 2, 3])
    x = torch.rand(16, 6, 2, 32, 32) * 3
    model.calibrate_current(x, 0.25, 0.5)
    model.eval()
    with torch.no_grad():
        seen = stage_outputs(model, x)
    for depth in (1, 2, 3):
        assert 0 <= seen[depth].min() and seen[depth].max() <= 1
        assert seen[depth].mean().item() == pytest.approx(0.5, abs=0.015), depth
    assert model.depths == (1, 2, 3) and model.thermal_neurons() == 2048 + 256 + 64
    plain = build_model("ipnet", TASK, fp=fp_full())
    assert count_parameters(model) == count_parameters(plain) + 4       # a gain, an offset each


def test_a_stage_between_thermal_ones_stays_relu():
    torch.manual_seed(0)
    model = build_model("ipnet", TASK, fp=fp_full(), thermal_depths=[1, 3])
    x = torch.rand(4, 5, 2, 32, 32) * 3
    model.calibrate_current(x, 0.25, 0.5)
    with torch.no_grad():
        seen = stage_outputs(model, x)
    assert model.depths == (1, 3)
    bb = model.backbone
    with torch.no_grad():
        relu = torch.relu(bb.pool(bb.conv2(seen[1]))).flatten(1)
    assert torch.equal(seen[2], relu)                                   # stage 2: ReLU
    assert seen[3].min() >= 0 and seen[3].max() <= 1


def test_device_spread_per_stage_and_physics_of_every_stage():
    """A dict of offsets moves only the stage it names; the physics probe sees every stage."""
    torch.manual_seed(0)
    model = build_model("ipnet", TASK, fp=fp_full(), thermal_depths=[1, 2])
    x = torch.rand(4, 5, 2, 32, 32) * 3
    model.calibrate_current(x, 0.25, 0.5)
    model.eval()
    with torch.no_grad():
        base = stage_outputs(model, x)
        model.thr_offset = {2: torch.full((16, 4, 4), 60.0)}     # +0.23 I_c0 of threshold
        moved = stage_outputs(model, x)
        model.thr_offset = None
    assert torch.equal(base[1], moved[1])
    assert moved[2].mean() < base[2].mean() - 0.05
    calls = []
    model.probe = lambda current, heat: calls.append(current.shape[2:])
    with torch.no_grad():
        model(x)
    model.probe = None
    assert calls == [torch.Size([8, 16, 16]), torch.Size([16, 4, 4])]


def test_bad_thermal_depths_are_refused(tmp_path):
    import yaml
    from ipnet_mtj.sw.errors import ConfigError
    from ipnet_mtj.sw.train.experiment import load_experiment
    data = yaml.safe_load((ROOT / "configs" / "robust.yaml").read_text())
    data["ablation"]["variants"] = {"bad": {"thermal_depths": [1, 4]}}
    (tmp_path / "full.yaml").write_text((ROOT / "configs" / "full.yaml").read_text())
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_experiment(tmp_path / "exp.yaml")
    assert str(err.value) == (
        f"{tmp_path / 'exp.yaml'}: ablation.variants: variant 'bad': thermal_depths must be a "
        "list of distinct depths 1, 2, 3 (the stages whose activation is thermal too: "
        "all-MTJ), got [1, 4], got {'bad': {'thermal_depths': [1, 4]}}")


def test_spread_sweep_draws_every_stage(monkeypatch):
    """Under device spread each thermal stage gets its own chip: the main stage the chip's
    seed (as a single-stage IPNet), the next stage the seed + 1000."""
    from ipnet_mtj.sw.train import spread
    design = load_config(ROOT / "configs" / "full.yaml")
    model = build_model("ipnet", TASK, fp=fp_full(), thermal_depths=[1, 2])
    seen = []
    monkeypatch.setattr(spread, "evaluate", lambda m, *a: seen.append(m.thr_offset) or 0.5)
    out, _ = spread.spread_metrics(model, design, TASK, (None, None), 32, [0.05], 2)
    assert out == {"0": [0.5], "0.05": [0.5, 0.5]} and seen[0] is None
    for chip, offsets in enumerate(seen[1:]):
        assert set(offsets) == {1, 2}
        assert torch.equal(offsets[1], spread.chip_offsets(design, (8, 16, 16), 0.05, chip))
        assert torch.equal(offsets[2], spread.chip_offsets(design, (16, 4, 4), 0.05, chip + 1000))
    single = build_model("ipnet", TASK, fp=fp_full())
    seen.clear()
    spread.spread_metrics(single, design, TASK, (None, None), 32, [0.05], 1)
    assert torch.equal(seen[1], spread.chip_offsets(design, (8, 16, 16), 0.05, 0))
    assert model.thr_offset is None
