"""Models, training, checkpoints, quantisation, energy model and the ipnet CLI."""

import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from helpers import ROOT, experiment_designs, make_fp
from ipnet_mtj.sw.data.datasets import TASKS
from ipnet_mtj.sw.nets import MODELS, build_model
from ipnet_mtj.sw.train.energy import digital_memory, thermal_joule_pj
from ipnet_mtj.sw.train.trainer import train_run

FP = make_fp()


def batch(task, n=4, steps=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.poisson(torch.rand(n, steps, 2, 32, 32, generator=g) * 0.3)
    kind = TASKS[task].kind
    if kind == "class":
        y = torch.arange(n) % TASKS[task].outputs
    elif kind == "point":
        y = torch.rand(n, 2, generator=g) * 32
    else:
        y = torch.rand(n, steps, generator=g) - 0.5
    return x, y


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("model", MODELS)
def test_every_model_runs_forward_on_every_task(task, model):
    net = build_model(model, TASKS[task], fp=FP, features=16)
    x, y = batch(task)
    out = net(x)
    assert out.shape == y.shape if TASKS[task].kind != "class" else out.shape == (4, TASKS[task].outputs)
    assert torch.isfinite(out).all()


def test_models_are_causal():
    """Frame t's output does not depend on later frames (steering needs it)."""
    for model in MODELS:
        net = build_model(model, TASKS["steering"], fp=FP, features=16).eval()
        x, _ = batch("steering")
        x2 = x.clone()
        x2[:, 4:] = torch.rand_like(x2[:, 4:])
        with torch.no_grad():
            assert torch.allclose(net(x)[:, :4], net(x2)[:, :4], atol=1e-6), model


@pytest.mark.parametrize("model", ["ipnet", "lstm"])
def test_tiny_training_lowers_the_loss(model, tmp_path):
    task = TASKS["gestures11"]
    x, y = batch("gestures11", n=22, seed=1)
    for k, label in enumerate(y.tolist()):          # a learnable cue: a block per class
        x[k, :, 0, 2 * label:2 * label + 4, 4:12] += 2.0
    torch.manual_seed(0)
    net = build_model(model, task, fp=FP, features=16)
    r = train_run(net, task, (x.numpy(), y.numpy()), (x.numpy(), y.numpy()), 32, 12, 11, 1e-2, 0,
                  tmp_path / "c.pt")
    losses = [h["loss"] for h in r["history"]]
    assert losses[-1] < losses[0] - 0.05 and min(losses[-3:]) < min(losses[:3])


def test_checkpoints_resume_to_the_same_weights(tmp_path):
    task = TASKS["digits"]
    x, y = batch("digits", n=12, seed=2)
    data = (x.numpy(), y.numpy())

    def fresh():
        torch.manual_seed(0)
        return build_model("gru", task, features=16)

    whole = fresh()
    train_run(whole, task, data, data, 32, 3, 4, 1e-2, 5, tmp_path / "whole.pt")
    part = fresh()
    first = train_run(part, task, data, data, 32, 3, 4, 1e-2, 5, tmp_path / "part.pt", stop_after=1)
    assert not first["finished"]
    resumed = fresh()
    r = train_run(resumed, task, data, data, 32, 3, 4, 1e-2, 5, tmp_path / "part.pt")
    assert r["finished"] and len(r["history"]) == 3
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_energy_model():
    lstm = digital_memory("lstm", 16, 64, (8, 16))
    assert lstm["bits"] == 16 * 16 * (2 * 64 + 4 * 64 * 64 + 8 * 64 + 2 * 64)
    assert digital_memory("rnn", 16, 64, (8, 16))["pj"] < lstm["pj"]
    from ipnet_mtj.sw.config import load_config
    dev = load_config(ROOT / "configs" / "default.yaml").device
    # one MTJ at I_c0 for one pulse: (100 uA)^2 * 6250 ohm * 10 ns = 0.625 pJ
    assert thermal_joule_pj(1.0, 1, 1, dev) == pytest.approx(0.625)


def run_ipnet(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "ipnet_mtj.sw.train.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_cli_bad_arguments_get_one_line(tmp_path):
    cfg = str(ROOT / "configs" / "results.yaml")
    for args, message in (
            (["train", cfg, "--task", "nope", "--model", "lstm"],
             "error: --task: unknown task 'nope' (choose from gestures11, gestures22, digits, "
             "digits_ahead, steering, gestures22m, dvsgesture, dvsgesture22, nmnist, "
             "steering_ddd20)\n"),
            (["train", cfg, "--task", "digits", "--model", "transformer"],
             "error: --model: unknown model 'transformer' (choose from ipnet, rnn, lstm, gru, "
             "cnn2p1d, cnn3d, framesum, resnet_lstm)\n"),
            (["eval", cfg, "--task", "digits", "--model", "lstm", "--runs", str(tmp_path)],
             f"error: {tmp_path}/digits-lstm-s0-lr0.01.json: no such run; train it first (ipnet train ...)\n")):
        proc = run_ipnet(*args)
        assert proc.returncode == 2 and proc.stderr == message


def test_cli_bad_experiment_config_gets_one_line(tmp_path):
    data = yaml.safe_load((ROOT / "configs" / "results.yaml").read_text())
    data["train"]["lrs"] = [-1.0]
    experiment_designs(tmp_path, data)
    bad = tmp_path / "exp.yaml"
    bad.write_text(yaml.safe_dump(data))
    proc = run_ipnet("params", str(bad))
    assert proc.returncode == 2
    assert proc.stderr == f"error: {bad}: train.lrs: must hold positive numbers: -1.0 is not, got [-1.0]\n"
    data["train"]["lrs"] = [0.01]
    data["models"] = ["lstm", "mamba"]
    bad.write_text(yaml.safe_dump(data))
    proc = run_ipnet("params", str(bad))
    assert proc.stderr.startswith(f"error: {bad}: models: unknown 'mamba' (allowed: ipnet, ")
    data["models"] = ["lstm"]
    data["ipnet"]["firing_rate"] = 1.2
    bad.write_text(yaml.safe_dump(data))
    proc = run_ipnet("params", str(bad))
    assert proc.stderr == (f"error: {bad}: ipnet.firing_rate: must be between 0.01 and 0.99, "
                           f"got 1.2\n")


def test_cli_trains_and_evaluates(tmp_path):
    data = yaml.safe_load((ROOT / "configs" / "results.yaml").read_text())
    data["data"].update(train=11, test=11, steps=4, substeps=2)
    data["train"].update(max_epochs=1, validation=3)
    experiment_designs(tmp_path, data)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(data))
    runs = str(tmp_path / "runs")
    proc = run_ipnet("train", str(cfg), "--task", "gestures11", "--model", "ipnet", "--runs", runs)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("gestures11-ipnet-d1-s0-lr0.01: accuracy ")
    assert ", heat ignored " in proc.stdout and ", integer " not in proc.stdout   # make results
    assert "\njunctions: p99 " in proc.stdout and "(T_max 800 K, Tc 1000 K)" in proc.stdout
    assert "gestures11-ipnet-d1-s0-lr0.01 epoch 1: 100%|" in proc.stderr     # progress bar (tqdm)
    assert ", loss=" in proc.stderr
    proc = run_ipnet("eval", str(cfg), "--task", "gestures11", "--model", "ipnet", "--runs", runs)
    assert proc.returncode == 0 and proc.stdout.startswith("gestures11-ipnet-d1-s0-lr0.01: accuracy ")
    # a changed config: `ipnet train` refuses the old checkpoint; make results trains it again
    data["train"]["max_epochs"] = 2
    cfg.write_text(yaml.safe_dump(data))
    proc = run_ipnet("train", str(cfg), "--task", "gestures11", "--model", "ipnet", "--runs", runs)
    assert proc.returncode == 2 and "made by another experiment or config" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    from ipnet_mtj.sw.train.runs import execute
    from ipnet_mtj.sw.train.trainer import RunSpec
    metrics = execute(cfg, RunSpec("gestures11", "ipnet", 0, 1, 0.01), runs, retrain_stale=True)
    assert len(metrics["history"]) == 2 and metrics["finished"]


# -- IPNet's design options (the ablation's variants) ---------------------------------------------

def test_per_channel_current_is_calibrated_and_folds_into_the_weights():
    """current: per_channel calibrates each channel to the ambient threshold and the spread;
    the folded weight and bias give the same current under torch's own conv2d."""
    torch.manual_seed(0)
    net = build_model("ipnet", TASKS["gestures11"], fp=FP, features=16, current="per_channel")
    x, _ = batch("gestures11", n=8)
    gain, offset = net.calibrate_current(x, spread=0.25)
    assert gain.shape == offset.shape == (8, 1, 1)
    with torch.no_grad():
        current = net.current(net.backbone.stage(1, x))              # (B, T, C, H, W)
        per_channel = current.transpose(0, 2).reshape(8, -1)
        assert torch.allclose(per_channel.mean(1), torch.full((8,), FP.thr0 / 2 ** FP.i_frac),
                              atol=1e-4)
        assert torch.allclose(per_channel.std(1), torch.full((8,), 0.25), atol=1e-4)
        w, b = net.folded(net.backbone.conv1.weight, net.backbone.conv1.bias)
        direct = torch.nn.functional.conv2d(x[:, 2], w, b, stride=2, padding=2)
        assert torch.allclose(direct, current[:, 2], atol=1e-5)


def test_firing_rate_centres_the_current_on_the_working_threshold():
    """firing_rate: one common shift of the offset puts the thermal neurons' mean output over
    the batch's sequences (heat included) at the rate; the spread of the current stays. Centred
    on the ambient threshold instead, the heat lowers the threshold and most neurons switch
    (the reason for the option)."""
    from ipnet_mtj.sw.model import thermal_sequence
    from ipnet_mtj.sw.train.experiment import load_experiment
    _, _, full = load_experiment(ROOT / "configs" / "results.yaml")
    x, _ = batch("gestures11", n=8, steps=8)
    x = x * 4                                         # dense enough to heat the junctions

    def rate(net):
        with torch.no_grad():
            current = net.current(net.backbone.stage(1, x))
            acc = current * 2.0 ** (full.i_frac + full.i_shift)
            return thermal_sequence(full, acc).y.mean().item(), current.std().item()
    torch.manual_seed(0)
    ambient = build_model("ipnet", TASKS["gestures11"], fp=full, features=16)
    ambient.calibrate_current(x, spread=0.25)
    torch.manual_seed(0)
    net = build_model("ipnet", TASKS["gestures11"], fp=full, features=16)
    gain, offset = net.calibrate_current(x, spread=0.25, firing_rate=0.3)
    assert gain == ambient.gain.item() and offset < ambient.offset.item()
    (r_ambient, s_ambient), (r, s) = rate(ambient), rate(net)
    assert r_ambient > 0.6                            # the heat switches most neurons
    assert abs(r - 0.3) < 1e-3 and abs(s - s_ambient) < 1e-6
    with pytest.raises(ValueError, match=r"^firing_rate: must lie in \(0, 1\), got 1.5$"):
        net.calibrate_current(x, firing_rate=1.5)
    with pytest.raises(ValueError, match=r"^firing_rate: 0.99 is out of reach of a shift within "
                                         r"\+-2 I_c0 \(the nearest mean output is 0\.\d+\)$"):
        net.calibrate_current(x, spread=4.0, firing_rate=0.99)    # currents at their limits


def test_cut_heat_gradient_keeps_the_forward_and_drops_the_recurrence():
    """heat_gradient: cut leaves every forward value and removes the gradient that reaches an
    earlier frame's current only through the heat."""
    from ipnet_mtj.sw.model import thermal_sequence
    fp = make_fp()
    outs = {}
    for mode in ("full", "cut"):
        acc = torch.full((1, 3, 4), 1.2 * 2.0 ** (fp.i_frac + fp.i_shift), requires_grad=True)
        trace = thermal_sequence(fp, acc, surrogate_width=0.25, heat_gradient=mode)
        trace.y[:, 2].sum().backward()           # the last frame's output
        outs[mode] = (trace.y.detach(), acc.grad[:, :2].abs().sum().item())
    assert torch.equal(outs["full"][0], outs["cut"][0])
    assert outs["full"][1] > 0 and outs["cut"][1] == 0


def test_training_under_spread_draws_a_chip_per_batch_and_none_at_evaluation():
    torch.manual_seed(0)
    net = build_model("ipnet", TASKS["gestures11"], fp=FP, features=16, train_spread=0.05)
    plain = build_model("ipnet", TASKS["gestures11"], fp=FP, features=16)
    plain.load_state_dict(net.state_dict())
    x, _ = batch("gestures11", n=3)
    with torch.no_grad():
        net.train()
        a, b = net(x), net(x)
        assert not torch.equal(a, b)                 # another chip each call
        net.eval()
        plain.eval()
        assert torch.equal(net(x), plain(x))         # evaluation: identical junctions


def test_a_time_constant_per_channel_matches_the_integer_neurons():
    """A variant with configs/taus.yaml: channel c is device c mod 8 in the torch model and in
    the integer reference (neurons channels last, as the hardware numbers them): QAT on exact
    integer currents equals the reference, and the devices do differ."""
    from ipnet_mtj.sw import reference
    from ipnet_mtj.sw.config import load_config
    from ipnet_mtj.sw.fixed import derive_fixed_point
    from ipnet_mtj.sw.model import QAT_OPS, thermal_sequence
    fp = derive_fixed_point(load_config(ROOT / "configs" / "taus.yaml"))
    net = build_model("ipnet", TASKS["gestures11"], fp=fp, features=16)
    alpha, gain = net.channel_thermals()
    assert alpha.shape == (8, 1, 1) and alpha.flatten().tolist() == [a for a, _ in fp.devices]
    rng = np.random.default_rng(0)
    acc = rng.integers(-3000, 3000, size=(2, 12, 8, 3, 3)) << fp.i_shift
    qat = thermal_sequence(fp, torch.as_tensor(acc, dtype=torch.float64), ops=QAT_OPS,
                           thermals=tuple(t.double() for t in net.channel_thermals()))
    ref = reference.run_currents(fp, np.moveaxis(acc, 2, -1))
    theta = np.moveaxis(ref.theta, -1, 2)
    assert np.array_equal(qat.theta.numpy() * 2 ** fp.theta_frac, theta)
    assert not np.array_equal(theta[:, :, 0], theta[:, :, 7])    # 1.4 ns and 64 ns differ
