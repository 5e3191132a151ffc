"""The results protocol: validation split, early stopping at the best validation epoch, the
learning rate chosen on validation (never test), stalled and diverged runs flagged; and a
tiny `ipnet results` end to end whose tables equal its runs' files."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from helpers import ROOT, make_fp
from ipnet_mtj.sw.data.datasets import TASKS
from ipnet_mtj.sw.nets import build_model
from ipnet_mtj.sw.train.grid import chosen_lrs
from ipnet_mtj.sw.train.runs import constant_loss
from ipnet_mtj.sw.train.trainer import (RunSpec, best_epoch, evaluate, train_run,
                                        validation_loss)


def test_best_epoch_and_patience_by_hand():
    h = [{"val_loss": v} for v in (2.0, 1.5, 1.7, 1.5, 1.8, 1.9)]
    assert best_epoch(h) == (1, False)                 # the first of the tied lows
    assert best_epoch(h, patience=4) == (1, True)      # epochs 2..5 brought nothing lower
    assert best_epoch(h, patience=5) == (1, False)
    assert best_epoch(h[:2], patience=1) == (1, False)


def test_training_keeps_the_best_validation_epoch(tmp_path):
    """The model ends with the weights of its lowest validation loss, the reported test metric
    is that epoch's, and patience stops the run (which then counts as finished)."""
    task = TASKS["gestures11"]
    rng = np.random.default_rng(0)
    x = rng.random((24, 3, 2, 8, 8)).astype(np.float32)
    y = rng.integers(0, 11, 24)
    val = (x[:8], (y[:8] + 1) % 11)                  # labels it cannot learn: the loss rises
    torch.manual_seed(0)
    model = build_model("framesum", task, features=16)
    r = train_run(model, task, (x, y), (x, y), 8, 30, 8, 3e-2, 0, tmp_path / "c.pt",
                  schedule="cosine", validation=val, patience=3)
    losses = [h["val_loss"] for h in r["history"]]
    best = int(np.argmin(losses))
    assert r["best_epoch"] == best and r["val_loss"] == losses[best]
    assert r["stopped_early"] and r["finished"] and len(losses) == best + 4 < 30
    assert r["metric"] == r["history"][best]["test"]
    assert losses[-1] > losses[best]
    assert validation_loss(model, task, *val, 8) == losses[best]  # the best epoch's weights
    assert evaluate(model, task, x, y, 8) == r["metric"]
    again = build_model("framesum", task, features=16)            # resuming a stopped run
    r2 = train_run(again, task, (x, y), (x, y), 8, 30, 8, 3e-2, 0, tmp_path / "c.pt",
                   schedule="cosine", validation=val, patience=3)
    assert r2["history"] == r["history"] and validation_loss(again, task, *val, 8) == losses[best]


FP = make_fp()


def test_test_split_evaluated_once_gives_the_same_run(tmp_path):
    """test_each_epoch=False (make results): the same weights, validation losses, best epoch
    and test figure as evaluating the test split after every epoch; only the best epoch's
    history entry has a test figure."""
    task = TASKS["gestures11"]
    rng = np.random.default_rng(1)
    x = rng.random((24, 3, 2, 8, 8)).astype(np.float32)
    y = rng.integers(0, 11, 24)
    runs = []
    for each in (True, False):
        torch.manual_seed(0)
        model = build_model("ipnet", task, fp=FP, features=16)
        r = train_run(model, task, (x[8:], y[8:]), (x, y), 8, 6, 8, 1e-2, 0,
                      tmp_path / f"{each}.pt", schedule="cosine", validation=(x[:8], y[:8]),
                      patience=2, test_each_epoch=each)
        runs.append((r, model.state_dict()))
    (every, w_every), (once, w_once) = runs
    assert once["metric"] == every["metric"] and once["best_epoch"] == every["best_epoch"]
    assert once["best_epoch"] < len(once["history"]) - 1          # the kept weights matter
    assert [h["val_loss"] for h in once["history"]] == [h["val_loss"] for h in every["history"]]
    assert all(torch.equal(w_every[k], w_once[k]) for k in w_every)
    assert [("test" in h) for h in once["history"]] == [k == once["best_epoch"]
                                                        for k in range(len(once["history"]))]
    assert all("test" in h for h in every["history"])


def _m(val_loss, test, **kw):
    return {"val_loss": val_loss, "metric": test, **kw}


def test_learning_rate_is_chosen_on_validation_not_test():
    class Exp:
        class train:
            lrs = [0.01, 0.003]
    spec = lambda lr, s: RunSpec("gestures22m", "lstm", s, 1, lr)   # noqa: E731
    done = {spec(0.01, 0): _m(0.50, 0.99), spec(0.01, 1): _m(0.70, 0.99),
            spec(0.003, 0): _m(0.55, 0.10), spec(0.003, 1): _m(0.60, 0.10)}
    # means: 0.60 at 0.01, 0.575 at 0.003: the lower validation loss wins, whatever the test
    assert chosen_lrs(Exp, done) == {("gestures22m", "lstm", 1): 0.003}
    done[spec(0.003, 1)] = {"diverged": "loss nan", "metric": float("nan")}
    assert chosen_lrs(Exp, done) == {("gestures22m", "lstm", 1): 0.01}   # a diverged seed loses
    tie = {spec(0.01, 0): _m(0.5, 0.2), spec(0.003, 0): _m(0.5, 0.9)}
    assert chosen_lrs(Exp, tie) == {("gestures22m", "lstm", 1): 0.01}    # the config's first


def test_constant_answer_loss_by_hand():
    task = TASKS["gestures22"]
    y = np.arange(220) % 22
    loss = constant_loss(task, (None, y), (None, y), 32)
    assert math.isclose(loss, math.log(22), rel_tol=1e-5)        # uniform labels: ln 22
    steer = TASKS["steering"]
    y_seq = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    # the mean answer (1, 2) misses each value by 1: MSE 1
    assert math.isclose(constant_loss(steer, (None, y_seq), (None, y_seq), 32), 1.0)


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    """`ipnet results` on 2 tasks, 3 models, 2 rates, 2 seeds, 2 epochs, a depth and two
    variants (about a minute)."""
    tmp = tmp_path_factory.mktemp("results")
    data = yaml.safe_load((ROOT / "configs" / "results.yaml").read_text())
    data["data"].update(size=16, steps=6, substeps=2, train=48, test=24)
    data["train"].update(max_epochs=2, patience=1, validation=16, seeds=[0, 1], features=16)
    for key in ("ipnet_seeds", "restarts"):          # the protocol's own tests are elsewhere
        data["train"].pop(key, None)
    data["spread"]["sigmas"] = [0.01, 0.02, 0.05]
    data["integer"].update(epochs=1, variants=["taus"])
    data.update(tasks=["gestures22m", "steering"], models=["ipnet", "lstm", "framesum"],
                steering_only=[], ablation={"task": "gestures22m", "depths": [1, 3],
                                            "variants": {"cut": {"heat_gradient": "cut"},
                                                         "taus": {"design": "taus.yaml"}}})
    for name in (data["design"], "taus.yaml"):
        (tmp / name).write_text((ROOT / "configs" / name).read_text())
    exp = tmp / "exp.yaml"
    exp.write_text(yaml.safe_dump(data))
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.sw.train.cli", "results", str(exp),
                           "--runs", str(tmp / "runs"), "--out", str(tmp / "docs")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp, data, proc


def test_tiny_results_tables_equal_the_runs(tiny_results):
    tmp, data, proc = tiny_results
    runs = {}
    for path in (tmp / "runs").glob("*.json"):
        if path.name.endswith((".spread.json", ".qat.json")):
            continue
        m = json.loads(path.read_text())
        if "variant" in m:
            continue
        runs[(m["task"], m["model"], m["depth"], m["lr"], m["seed"])] = m
    assert len(runs) == (2 * 3 + 1) * 2 * 2                      # cells x rates x seeds
    res = json.loads((tmp / "docs" / "results.json").read_text())
    for task in data["tasks"]:
        for model in data["models"]:
            by_lr = {lr: [runs[(task, model, 1, lr, s)] for s in (0, 1)] for lr in (0.01, 0.003)}
            lr = min(by_lr, key=lambda r: (np.mean([m["val_loss"] for m in by_lr[r]]),
                                           r != 0.01))
            cell = res["tasks"][task]["models"][model]
            assert cell["lr"] == lr
            assert cell["values"] == [m["metric"] for m in by_lr[lr]]
            assert cell["stalled"] == sum(m["stalled"] for m in by_lr[lr])
            for m in by_lr[lr]:
                assert m["metric"] == m["history"][m["best_epoch"]]["test"]
                assert m["stalled"] == (m["val_loss"] > 0.95 * m["constant_val_loss"])
    ph = res["physics"]["gestures22m"]
    assert ph["T_max_K"] == 800.0 and ph["current_limit_ic0"] == 2.0
    assert 300 < ph["temperature_p99_K"] <= ph["temperature_max_K"] <= 800 + 12   # one heat unit
    assert ph["current_max_ic0"] <= 2.0
    taus_int = res["quantisation"]["gestures22m, taus"]   # integer.variants: a row of its own
    assert taus_int["task"] == "gestures22m" and taus_int["variant"] == "taus"
    taus_lr = res["variants"]["taus"]["lr"]
    assert taus_int["integer"]["values"] == [
        json.loads((tmp / "runs" / f"gestures22m-ipnet-d1-taus-s{s}-lr{taus_lr:g}.qat.json")
                   .read_text())["integer"] for s in (0, 1)]
    assert taus_int["float"]["values"] == res["variants"]["taus"]["float"]["values"]
    assert "| gestures22m, taus |" in (tmp / "docs" / "results.md").read_text()
    for task in data["tasks"]:                # the whole network in integers, every task
        q = res["quantisation"][task]
        assert set(q) == {"float", "heat_ignored", "ptq", "qat", "integer", "logits_equal",
                          "formats"}
        assert q["logits_equal"] == 1.0 and q["integer"]["n"] == 2
        ints = [json.loads((tmp / "runs" / f"{task}-ipnet-d1-s{s}-lr{q_lr:g}.qat.json")
                           .read_text())["integer"]
                for s in (0, 1) for q_lr in [res["tasks"][task]["models"]["ipnet"]["lr"]]]
        assert q["integer"]["values"] == ints
        assert [f["pool"] for f in q["formats"]] == [1, 1, 1, 1]      # 16 x 16 frames
    assert set(res["ablation"]) == {"1", "3"}
    variant = [json.loads(p.read_text()) for p in (tmp / "runs").glob("gestures22m-ipnet-d1-cut-*.json")
               if not p.name.endswith((".spread.json", ".qat.json"))]
    assert {m["variant"] for m in variant} == {"cut"}
    chosen = res["tasks"]["gestures22m"]["models"]["ipnet"]["lr"]
    assert sorted((m["lr"], m["seed"]) for m in variant) == [(0.003, 0), (0.003, 1), (0.01, 0),
                                                            (0.01, 1)]     # a cell of its own
    by_lr = {lr: sorted((m for m in variant if m["lr"] == lr), key=lambda m: m["seed"])
             for lr in (0.01, 0.003)}
    own = min(by_lr, key=lambda r: (np.mean([m["val_loss"] for m in by_lr[r]]), r != 0.01))
    assert res["variants"]["cut"]["lr"] == own
    assert res["variants"]["cut"]["float"]["values"] == [m["metric"] for m in by_lr[own]]
    assert set(res["variants"]["cut"]["spread"]) == {"0", "0.01", "0.02", "0.05"}
    taus = json.loads((tmp / "runs" / f"gestures22m-ipnet-d1-taus-s0-lr{chosen:g}.json").read_text())
    default = json.loads((tmp / "runs" / f"gestures22m-ipnet-d1-s0-lr{chosen:g}.json").read_text())
    assert taus["run_hash"] != default["run_hash"] and taus["val_loss"] != default["val_loss"]
    for task in data["tasks"]:                # device spread: sigma 0 is the run as trained
        sp = res["spread"][task]
        assert list(sp) == ["0", "0.01", "0.02", "0.05"]
        assert sp["0"]["values"] == res["tasks"][task]["models"]["ipnet"]["values"]
        assert sp["0.05"]["n"] == 2 * data["spread"]["chips"]
        assert list(res["thermal_spread"][task]) == ["0.1", "0.2"]
    assert (tmp / "docs" / "results-spread.png").stat().st_size > 1000
    md = (tmp / "docs" / "results.md").read_text()
    for heading in ("## Chosen learning rate and epochs", "## IPNet's junctions",
                    "## What the memory gives, and the integer datapath",
                    "## IPNet's design space (gestures22m): memory at the frontier and the ablation",
                    "## Device spread"):
        assert heading in md
    assert "validation loss" in md and "the test split chooses nothing" in md
    assert "36 runs (8 of them ablation variants): 0 done, 36 to run" in proc.stdout


def test_tiny_results_resume_without_training(tiny_results):
    tmp, data, _ = tiny_results
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.sw.train.cli", "results",
                           str(tmp / "exp.yaml"), "--runs", str(tmp / "runs"), "--out",
                           str(tmp / "docs2")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "36 runs (8 of them ablation variants): 36 done, 0 to run" in proc.stdout
    a = json.loads((tmp / "docs" / "results.json").read_text())
    b = json.loads((tmp / "docs2" / "results.json").read_text())
    a.pop("meta"), b.pop("meta")
    assert a == b


def test_tiny_results_evaluate_a_run_without_the_limited_current_again(tiny_results):
    """An IPNet run recorded before its physics held the energy's mean square goes back to
    the pool; its finished checkpoint trains no epoch, and the evaluation gives it back."""
    tmp, data, _ = tiny_results
    path = tmp / "runs" / "gestures22m-ipnet-d1-s0-lr0.01.json"
    before = json.loads(path.read_text())
    old = dict(before, physics={k: v for k, v in before["physics"].items()
                                if k != "current_mean_square_ic0"})
    path.write_text(json.dumps(old))
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.sw.train.cli", "results",
                           str(tmp / "exp.yaml"), "--runs", str(tmp / "runs"), "--out",
                           str(tmp / "docs3")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "36 runs (8 of them ablation variants): 35 done, 1 to run" in proc.stdout
    after = json.loads(path.read_text())
    assert after["physics"] == before["physics"]
    assert after["history"] == before["history"] and after["metric"] == before["metric"]
    assert after["wall_s"] > before["wall_s"]             # its training time is kept
    a = json.loads((tmp / "docs" / "results.json").read_text())
    b = json.loads((tmp / "docs3" / "results.json").read_text())
    a.pop("meta"), b.pop("meta")
    assert a == b


def test_device_spread_moves_the_thresholds():
    """The sweep's offsets reach the thermal neurons: the card's spread, rounded to current
    LSBs, one draw per chip; thresholds raised far beyond every current silence the layer."""
    from ipnet_mtj.sw.data.datasets import TASKS
    from ipnet_mtj.sw.nets import build_model
    from ipnet_mtj.sw.train.experiment import load_experiment
    from ipnet_mtj.sw.train.spread import chip_offsets
    exp, design, fp = load_experiment(ROOT / "configs" / "results.yaml")
    off = chip_offsets(design, (8, 16, 16), 0.05, seed=0)
    assert off.shape == (8, 16, 16) and torch.equal(off, torch.round(off))
    assert abs(off.std().item() - 0.05 * 2 ** fp.i_frac) < 1.0          # 12.8 LSBs
    assert not torch.equal(off, chip_offsets(design, (8, 16, 16), 0.05, seed=1))
    # chip 0 is the chip a design with spread_seed 0 builds, in the hardware's (h, w, c) order
    from ipnet_mtj.sw.device import threshold_offsets
    want = np.round(threshold_offsets(design.device, 8 * 16 * 16, seed=0, sigma=0.05) * 256)
    assert np.array_equal(off.permute(1, 2, 0).reshape(-1).numpy(), want)
    torch.manual_seed(0)
    model = build_model("ipnet", TASKS["gestures22m"], fp=fp, features=16)
    x = torch.rand(2, 4, 2, 32, 32) * 3
    outputs = []
    model.probe = lambda current, heat: None
    for offset in (None, torch.full(model.neuron_shape(), 4000.0)):
        model.thr_offset = offset
        with torch.no_grad():
            outputs.append(model.features(x))
    # a silent thermal layer leaves features that no longer depend on the input
    flat = [o.reshape(-1, o.shape[-1]) for o in outputs]
    assert not torch.allclose(flat[0], flat[0][:1].expand_as(flat[0]))
    assert torch.allclose(flat[1], flat[1][:1].expand_as(flat[1]))


def test_variant_cards_are_checked_before_any_training(tmp_path):
    """A variant's card with a device spread, or with devices that do not divide the thermal
    layer's 8 channels, is refused when the experiment loads, in one line naming the key."""
    from ipnet_mtj.sw.config import ConfigError
    from ipnet_mtj.sw.train.experiment import load_experiment
    data = yaml.safe_load((ROOT / "configs" / "results.yaml").read_text())
    (tmp_path / "full.yaml").write_text((ROOT / "configs" / "full.yaml").read_text())
    (tmp_path / "spread.yaml").write_text((ROOT / "configs" / "spread.yaml").read_text())
    taus = yaml.safe_load((ROOT / "configs" / "taus.yaml").read_text())
    taus["device"]["tau_th_ns_devices"] = [2.0, 4.0, 8.0]
    (tmp_path / "three.yaml").write_text(yaml.safe_dump(taus))
    for card, message in (("spread.yaml", "has a device spread (threshold_sigma_ic0); the "
                           "benchmark IPNets are evaluated under spread by the spread: section "
                           "instead, got 0.02"),
                          ("three.yaml", "has 3 devices, which must divide the thermal layer's 8 "
                           "channels, got 3")):
        data["ablation"]["variants"] = {"bad": {"design": card}}
        (tmp_path / "exp.yaml").write_text(yaml.safe_dump(data))
        with pytest.raises(ConfigError) as err:
            load_experiment(tmp_path / "exp.yaml")
        assert str(err.value) == (f"{tmp_path / 'exp.yaml'}: ablation.variants.bad.design: "
                                  f"{tmp_path / card} {message}")


def test_thermal_spread_draws_each_junctions_constants():
    """The thermal sweep's chip: every neuron's alpha and heat gain from its own R_th and tau,
    rounded as the ROMs hold them; the spread of tau shows in alpha, that of R_th in the gain;
    a sigma of 0.3 moves both far more than 0.1."""
    from ipnet_mtj.sw.train.experiment import load_experiment
    from ipnet_mtj.sw.train.spread import chip_thermals
    exp, design, fp = load_experiment(ROOT / "configs" / "results.yaml")
    alpha, gain = chip_thermals(design, (8, 16, 16), 0.1, seed=0)
    assert alpha.shape == gain.shape == (8, 16, 16)
    assert torch.equal(alpha, torch.round(alpha)) and torch.equal(gain, torch.round(gain))
    # card: alpha 0.905 (232 of 256), gain 1 (256). 10 % on tau moves alpha by about 2 LSBs;
    # the gain (1 - alpha_n) R_th,n / ((1 - alpha) R_th) carries both draws: about 14 %
    assert abs(alpha.mean().item() - 231.6) < 0.5 and 1.5 < alpha.std().item() < 3.5
    assert abs(gain.mean().item() - 256) < 5 and 28 < gain.std().item() < 45
    wide = chip_thermals(design, (8, 16, 16), 0.3, seed=0)[1]
    assert wide.std().item() > 2.5 * gain.std().item()
    # chip 2 at 0.2 is the chip the datapath derives for spread_seed 2, in (h, w, c) order
    import dataclasses
    from ipnet_mtj.sw.fixed import derive_fixed_point
    dev = dataclasses.replace(design.device, thermal_sigma_rel=0.2, spread_seed=2)
    layer = dataclasses.replace(design.layer, neurons=8 * 4 * 4)
    chip = derive_fixed_point(dataclasses.replace(design, device=dev, layer=layer))
    a, g = chip_thermals(design, (8, 4, 4), 0.2, seed=2)
    swept = np.stack([t.permute(1, 2, 0).reshape(-1).numpy() for t in (a, g)], 1)
    assert chip.per_neuron and np.array_equal(swept, np.asarray(chip.devices))


def test_junction_physics_saturates_the_current_by_hand():
    """The energy's mean (I/I_c0)^2 and the current figures see the current the datapath
    saturates at the card's limit (2 I_c0 in configs/full.yaml), not the pre-limit one."""
    from ipnet_mtj.sw.config import parse_config
    from ipnet_mtj.sw.device import coefficients
    from ipnet_mtj.sw.fixed import derive_fixed_point
    from ipnet_mtj.sw.train.physics import junction_physics

    design = parse_config(yaml.safe_load((ROOT / "configs" / "full.yaml").read_text()),
                          "full.yaml")
    fp = derive_fixed_point(design)

    class Probed(torch.nn.Module):          # two frames of four junctions per call
        probe = None

        def forward(self, x):
            current = torch.tensor([[3.0, -1.0, 0.5, -2.5], [0.0, 1.0, -1.0, 2.0]])
            self.probe(current, torch.tensor([[0.0, 10.0, 20.0, 30.0], [40.0, 0.0, 0.0, 0.0]]))
            return x
    ph = junction_physics(Probed(), design, fp, np.zeros((1, 1)))
    assert ph["current_limit_ic0"] == 2.0
    # clamped |I|: 2, 1, 0.5, 2, 0, 1, 1, 2 -> squares sum 4+1+0.25+4+0+1+1+4 = 15.25 over 8
    assert ph["current_mean_square_ic0"] == 15.25 / 8
    assert ph["current_max_ic0"] == 2.0
    kappa = coefficients(design.device).kappa_K
    assert ph["temperature_max_K"] == design.device.T0_K + 40 * kappa


def test_device_memory_per_device_by_hand():
    """The target's "what one frame remembers" gives each of a card's devices its own alpha
    and heat: configs/taus.yaml, R = 2500 * 2.5 ohm, so one step at I_c0 puts 62.5 uW
    through device k's R_th,k = 2 K/uW * tau_k / 10 ns for 1 ns of its tau_k."""
    from ipnet_mtj.sw.config import parse_config
    from ipnet_mtj.sw.train.results import _device_memory, _span

    card = parse_config(yaml.safe_load((ROOT / "configs" / "taus.yaml").read_text()), "taus.yaml")
    mem = _device_memory(card)
    taus = [1.4, 2.4, 4.2, 7.2, 12.3, 21.2, 36.6, 64.0]
    assert mem["alpha"] == pytest.approx([math.exp(-1 / t) for t in taus])
    kappa = [(1 - math.exp(-1 / t)) * 2.0 * t / 10 * 62.5 for t in taus]
    assert mem["kappa_K"] == pytest.approx(kappa)
    assert mem["kappa_K"][0] == pytest.approx(8.933, abs=1e-3)      # 0.51046 * 0.28 * 62.5
    assert mem["rise_K"] == pytest.approx([4 * k for k in kappa])    # at 2 I_c0, below T_max
    assert mem["drop_ic0"] == sorted(mem["drop_ic0"])               # more heat, more drop
    assert mem["frames"] == sorted(mem["frames"])                    # and a slower decay
    one = _device_memory(parse_config(yaml.safe_load((ROOT / "configs" / "full.yaml")
                                                     .read_text()), "full.yaml"))
    assert one["alpha"] == pytest.approx([math.exp(-1 / 10)]) and len(one["frames"]) == 1
    assert one["kappa_K"] == pytest.approx([(1 - math.exp(-0.1)) * 2.0 * 62.5])
    assert _span([0.49, 0.984], ".3f") == "0.490 to 0.984" and _span([2.0, 2.0], ".1f") == "2.0"


def _restart_experiment(tmp_path, restarts, lr=1e-7, task="gestures22m", epochs=1, train=48):
    """A tiny experiment of framesum on ``task`` (at lr 1e-7 every attempt stalls)."""
    data = yaml.safe_load((ROOT / "configs" / "results.yaml").read_text())
    data["data"].update(size=16, steps=4, substeps=2, train=train, test=16)
    data["train"].update(max_epochs=epochs, patience=1, validation=16, seeds=[0], features=8,
                         lrs=[lr], restarts=restarts)
    data.pop("integer")
    data.update(tasks=[task], models=["framesum"], steering_only=[],
                ablation={"task": task, "depths": []})
    (tmp_path / data["design"]).write_text((ROOT / "configs" / data["design"]).read_text())
    path = tmp_path / f"exp{restarts}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_stalled_seed_restarts_and_keeps_its_best_validation_attempt(tmp_path):
    """Every attempt stalls at a learning rate of 1e-7: the run makes 1 + restarts attempts
    from seeds s, s + 1000, s + 2000 (s = 3), keeps the one with the lowest validation loss, and its
    checkpoint (reloaded and evaluated here, independently of the run's own record) is that
    attempt's. Its first attempt is the run without restarts, bit for bit."""
    from ipnet_mtj.sw.data.datasets import load_split
    from ipnet_mtj.sw.train.experiment import load_experiment
    from ipnet_mtj.sw.train.runs import (data_dir, execute, run_paths, split_validation,
                                         trained_model)
    spec = RunSpec("gestures22m", "framesum", 3, lr=1e-7)
    plain = execute(_restart_experiment(tmp_path, 0), spec, tmp_path / "runs")
    assert "attempts" not in plain and plain["stalled"]
    exp_path = _restart_experiment(tmp_path, 2)     # its first attempt resumes the same run
    m = execute(exp_path, spec, tmp_path / "runs")
    assert [a["seed"] for a in m["attempts"]] == [3, 1003, 2003] and m["restarts"] == 2
    assert all(a["stalled"] for a in m["attempts"]) and m["stalled"]
    assert m["attempts"][0]["val_loss"] == plain["val_loss"]
    losses = [a["val_loss"] for a in m["attempts"]]
    assert len(set(losses)) == 3                       # three different initialisations
    kept = min(range(3), key=losses.__getitem__)
    assert kept == 1                # neither the first nor the last: the choice is exercised
    assert m["init_seed"] == 3 + 1000 * kept and m["val_loss"] == losses[kept]
    exp, _, fp = load_experiment(exp_path)
    _, val = split_validation(exp, load_split("gestures22m", exp.data_config(), "train",
                                              data_dir(tmp_path / "runs")))
    model = trained_model(exp, fp, spec, tmp_path / "runs")
    assert validation_loss(model, TASKS["gestures22m"], *val, 16) == pytest.approx(
        losses[kept], rel=1e-6)
    # each attempt keeps its own checkpoint: the run's own is still the first attempt's
    first = build_model("framesum", TASKS["gestures22m"], features=8)
    state = torch.load(run_paths(tmp_path / "runs", spec)[0], weights_only=True)
    first.load_state_dict(state["best"])
    assert validation_loss(first, TASKS["gestures22m"], *val, 16) == pytest.approx(
        losses[0], rel=1e-6)


def test_a_run_that_learns_makes_no_restart(tmp_path):
    """At a learning rate that trains, the first attempt does not stall and is the only one."""
    from ipnet_mtj.sw.train.runs import execute
    exp = _restart_experiment(tmp_path, 2, lr=0.03, task="gestures11", epochs=3, train=96)
    m = execute(exp, RunSpec("gestures11", "framesum", 0, lr=0.03), tmp_path / "runs")
    assert not m["stalled"] and m["restarts"] == 0 and len(m["attempts"]) == 1


def test_robust_protocol_keys(tmp_path):
    """configs/robust.yaml: IPNet's five seeds beside three for the rest, the surrogate tied to
    the card (2 x its 10-90 % width, found by bisection in test_device.py), matched baselines
    that never get more parameters than IPNet, and a hash that ignores the seeds and restarts."""
    from ipnet_mtj.sw.device import coefficients, switching_width
    from ipnet_mtj.sw.nets import count_parameters
    from ipnet_mtj.sw.train.experiment import load_experiment
    from ipnet_mtj.sw.train.grid import grid
    from ipnet_mtj.sw.train.runs import build_for, run_hash
    exp, design, fp = load_experiment(ROOT / "configs" / "robust.yaml")
    seeds = {}
    for s in grid(exp):
        seeds.setdefault(s.model, set()).add(s.seed)
    assert seeds["ipnet"] == {0, 1, 2, 3, 4} and seeds["lstm_matched"] == {0, 1, 2}
    ipnet = build_for(exp, fp, RunSpec("gestures22m", "ipnet", 0))
    assert ipnet.surrogate_width == pytest.approx(2 * switching_width(coefficients(design.device)
                                                                      .delta0))
    assert 0.1 < ipnet.surrogate_width < 0.11
    wide = build_for(exp, fp, RunSpec("gestures22m", "ipnet", 0, variant="surrogate_wide"))
    assert wide.surrogate_width == 0.25                 # a variant's own width wins
    budget = count_parameters(ipnet)
    for name, cell in (("lstm_matched", "lstm"), ("gru_matched", "gru")):
        matched = build_for(exp, fp, RunSpec("gestures22m", name, 0))
        width = matched.backbone.features
        assert type(matched.rnn).__name__ == cell.upper()
        assert count_parameters(matched) <= budget
        wider = build_model(cell, TASKS["gestures22m"], features=width + 1)
        assert count_parameters(wider) > budget
    data = yaml.safe_load((ROOT / "configs" / "robust.yaml").read_text())
    data["train"].update(restarts=0, ipnet_seeds=None)
    data["design"] = str(ROOT / "configs" / "full.yaml")
    for card in ("taus.yaml", "full_read.yaml", "taus_read.yaml"):
        (tmp_path / card).write_text((ROOT / "configs" / card).read_text())
    (tmp_path / "plain.yaml").write_text(yaml.safe_dump(data))
    plain = load_experiment(tmp_path / "plain.yaml")[0]
    spec = RunSpec("gestures22m", "ipnet", 1, lr=0.01)
    assert run_hash(plain, design, spec) == run_hash(exp, design, spec)


@pytest.mark.parametrize("key, value, message", [
    ("ipnet.surrogate_width", "wide", "ipnet.surrogate_width: must be a number in (0, 2] "
                                      "(I_c0) or device, got 'wide'"),
    ("ipnet.surrogate_width", 3.0, "ipnet.surrogate_width: must be a number in (0, 2] (I_c0) "
                                   "or device, got 3.0"),
    ("train.restarts", 11, "train.restarts: must be between 0 and 10, got 11"),
    ("train.ipnet_seeds", [0, 0], "train.ipnet_seeds: 0 is given twice, got [0, 0]"),
    ("models", ["ipnet", "rnn_matched"], "models: unknown 'rnn_matched'"),
    ("integer.variants", ["read_twice"],
     "integer.variants: 'read_twice' is not a variant of ablation.variants"),
    ("integer.variants", ["all_mtj"],
     "integer.variants: all_mtj sets thermal_depths; the integer network needs thermal neurons "
     "at the first convolution with one gain and offset"),
])
def test_robust_keys_refuse_bad_values(tmp_path, key, value, message):
    from ipnet_mtj.sw.errors import ConfigError
    from ipnet_mtj.sw.train.experiment import load_experiment
    data = yaml.safe_load((ROOT / "configs" / "robust.yaml").read_text())
    section, _, name = key.rpartition(".")
    (data[section] if section else data)[name] = value
    for card in ("full.yaml", "taus.yaml", "full_read.yaml", "taus_read.yaml"):
        (tmp_path / card).write_text((ROOT / "configs" / card).read_text())
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_experiment(tmp_path / "exp.yaml")
    assert str(err.value).startswith(f"{tmp_path / 'exp.yaml'}: {message}")


def test_a_failed_cached_run_lacking_restarts_goes_back_to_the_pool():
    from types import SimpleNamespace
    from ipnet_mtj.sw.train.runs import needs_restart
    exp = SimpleNamespace(train=SimpleNamespace(restarts=2))
    assert needs_restart(exp, {"stalled": True})                       # made before restarts
    assert needs_restart(exp, {"diverged": "x", "attempts": [{}, {}]})
    assert not needs_restart(exp, {"stalled": True, "attempts": [{}, {}, {}]})
    assert not needs_restart(exp, {"stalled": False})
    assert not needs_restart(SimpleNamespace(train=SimpleNamespace(restarts=0)), {"stalled": True})
