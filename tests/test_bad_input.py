"""Bad input of every kind gets one line on stderr naming the file, key or option, exit code 2,
no traceback, and nothing half-written: unphysical device cards, files that are not text or
give a key twice, output folders that cannot be written, truncated or foreign files, experiment
values out of range, a loss that stops being finite, a checkpoint of another experiment."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from helpers import ROOT, config_dict, experiment_designs, read_only_folder, write_config
from ipnet_mtj.sw.cli import UsageError, check_output_dir, run_cli
from ipnet_mtj.sw.config import ConfigError, parse_config
from ipnet_mtj.sw.train import cli as train_cli
from ipnet_mtj.sw.train.experiment import load_experiment

NETWORK = ROOT / "configs" / "network.yaml"


def run(*args):
    """``python -m`` a command in a subprocess from the repository root."""
    return subprocess.run([sys.executable, "-m", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def ipnet(*args):
    return run("ipnet_mtj.sw.train.cli", *args)


def assert_one_line(proc, message):
    """Exit code 2, and stderr is exactly ``error: <message>``."""
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == 2
    assert proc.stderr == f"error: {message}\n"


def assert_error_after_progress(proc, message):
    """As :func:`assert_one_line` for a command that may have drawn progress bars first: the
    error is the one line that starts with ``error:`` and the last line."""
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[-1] == f"error: {message}"
    assert [line for line in lines if "error:" in line] == [f"error: {message}"]


@pytest.fixture()
def experiment(tmp_path):
    """A tiny experiment YAML (11 samples of 4 frames, one epoch) and its design, in tmp_path."""
    data = yaml.safe_load((ROOT / "configs" / "results.yaml").read_text())
    data["data"].update(train=11, test=11, steps=4, substeps=2)
    data["train"].update(max_epochs=1, validation=3)
    experiment_designs(tmp_path, data)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, data


def rewrite(path, data, section, **values):
    """Write ``data`` to ``path`` with ``data[section]`` updated (or replaced, for a list)."""
    data = json.loads(json.dumps(data))
    if isinstance(data[section], dict):
        data[section].update(values)
    else:
        data[section] = values["value"]
    path.write_text(yaml.safe_dump(data))
    return path


# -- 1. unphysical device cards --------------------------------------------------------------------

@pytest.mark.parametrize("device, message", [
    ({"Tc_K": 300.0},
     "device.Tc_K: the Curie temperature must be above T0_K + 0.5 K = 300.5 K, got 300.0"),
    ({"Tc_K": 250.0},
     "device.Tc_K: the Curie temperature must be above T0_K + 0.5 K = 300.5 K, got 250.0"),
    ({"pulse_ns": 0.5},
     "device.pulse_ns: must be longer than tau0_ns * ln 2 = 0.6931 ns, else a warm junction "
     "switches later, not sooner (gamma <= 0), got 0.5"),
    ({"tau0_ns": 20.0},
     "device.pulse_ns: must be longer than tau0_ns * ln 2 = 13.86 ns, else a warm junction "
     "switches later, not sooner (gamma <= 0), got 10.0"),
    ({"delta0": 1e308}, "device.delta0: out of range: must be between 1e-09 and 1e+09, got 1e+308"),
    ({"R_th_K_per_uW": 1e300},
     "device.R_th_K_per_uW: out of range: must be between 1e-09 and 1e+09, got 1e+300"),
    ({"I_c0_uA": 1e300}, "device.I_c0_uA: out of range: must be between 1e-09 and 1e+09, got 1e+300"),
    ({"tmr": 1e308}, "device.tmr: out of range: must be between 0 and 1e+09, got 1e+308"),
    ({"tau_th_ns": 1e-300},
     "device.tau_th_ns: out of range: must be between 1e-09 and 1e+09, got 1e-300"),
    ({"delta0": float("inf")}, "device.delta0: must be a finite number, got inf"),
    ({"delta0": float("nan")}, "device.delta0: must be a finite number, got nan"),
    ({"dt_ns": 1e-9, "tau_th_ns": 1e9},
     "device.tau_th_ns: the heat kept per step, alpha = exp(-dt_ns / tau_th_ns) = 1.0, must lie "
     "strictly between 0 and 1 (dt_ns 1e-09), got 1000000000.0"),
])
def test_unphysical_device_card(device, message):
    with pytest.raises(ConfigError) as err:
        parse_config(config_dict(device=device), "bad.yaml")
    assert str(err.value) == f"bad.yaml: {message}"


@pytest.mark.parametrize("device, message", [
    ({"Tc_K": 300.0},
     "device.Tc_K: the Curie temperature must be above T0_K + 0.5 K = 300.5 K, got 300.0"),
    ({"pulse_ns": 0.5},
     "device.pulse_ns: must be longer than tau0_ns * ln 2 = 0.6931 ns, else a warm junction "
     "switches later, not sooner (gamma <= 0), got 0.5"),
    ({"R_th_K_per_uW": 1e300},
     "device.R_th_K_per_uW: out of range: must be between 1e-09 and 1e+09, got 1e+300"),
])
def test_cli_refuses_unphysical_device_card(tmp_path, device, message):
    bad = write_config(tmp_path / "bad.yaml", config_dict(device=device))
    out = tmp_path / "build"
    proc = run("ipnet_mtj.gen", bad, "--out", out)
    assert_one_line(proc, f"{bad}: {message}")
    assert not out.exists()


# -- 2. files that are not text, keys given twice ---------------------------------------------------

def _binary(path, text):
    path.write_bytes(text.encode()[:40] + b"\x00\x01\x02 binary")


def _not_utf8(path, text):
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le")[:40])


def _duplicate(path, text, key):
    """Repeat the first line that gives ``key`` right after it; return its line number."""
    lines = text.splitlines(keepends=True)
    k = next(k for k, line in enumerate(lines) if line.lstrip().startswith(f"{key}:"))
    lines.insert(k + 1, lines[k])
    path.write_text("".join(lines))
    return k + 1


@pytest.fixture()
def yaml_files(tmp_path):
    """The shipped design, network and experiment YAMLs copied into tmp_path; how to run each."""
    for name in ("default.yaml", "bounded.yaml", "network.yaml", "results.yaml"):
        (tmp_path / name).write_text((ROOT / "configs" / name).read_text())
    return {"design": ("default.yaml", lambda p: run("ipnet_mtj.gen", p, "--out", tmp_path / "b"),
                       "dt_ns"),
            "network": ("network.yaml", lambda p: ipnet("net-eval", p, "--runs", tmp_path / "r"),
                        "epochs"),
            "experiment": ("results.yaml", lambda p: ipnet("params", p), "patience")}


@pytest.mark.parametrize("kind", ["design", "network", "experiment"])
def test_binary_non_utf8_and_duplicate_keys(tmp_path, yaml_files, kind):
    name, command, key = yaml_files[kind]
    path = tmp_path / name
    text = path.read_text()
    _binary(path, text)
    assert_one_line(command(path), f"{path}: not a text file (control character #x0000 at "
                                   f"character {len(text.encode()[:40].decode())})")
    _not_utf8(path, text)
    assert_one_line(command(path), f"{path}: not a text file (not UTF-8)")
    line = _duplicate(path, text, key)
    assert_one_line(command(path), f"{path}: line {line + 1}: duplicate key '{key}' "
                                   f"(first given on line {line})")
    assert not (tmp_path / "b").exists() and not (tmp_path / "r").exists()


def test_duplicate_key_in_a_flow_mapping_and_merge_keys(tmp_path):
    from ipnet_mtj.sw.config import read_yaml
    path = tmp_path / "a.yaml"
    path.write_text("base: &b {x: 1}\nother:\n  <<: *b\n  x: 2\n")
    assert read_yaml(path) == {"base": {"x": 1}, "other": {"x": 2}}     # a merge is no duplicate
    path.write_text("a:\n  b: {c: 1, c: 2}\n")
    with pytest.raises(ConfigError) as err:
        read_yaml(path)
    assert str(err.value) == f"{path}: line 2: duplicate key 'c' (first given on line 2)"


# -- 3. output folders that cannot be written ------------------------------------------------------

def test_gen_out_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    proc = run("ipnet_mtj.gen", ROOT / "configs" / "default.yaml", "--out", afile)
    assert_one_line(proc, f"--out: {afile} is a file, not a folder")
    proc = run("ipnet_mtj.gen", ROOT / "configs" / "default.yaml", "--out", afile / "sub")
    assert_one_line(proc, f"--out: {afile / 'sub'}: {afile} is a file, not a folder")
    assert afile.read_text() == "keep me"


def test_net_train_out_and_runs_checked_before_training(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    runs = tmp_path / "runs"
    proc = ipnet("net-train", NETWORK, "--out", afile / "weights", "--runs", runs)
    assert_one_line(proc, f"--out: {afile} is a file, not a folder")
    assert not runs.exists(), "checked before any data or training"
    (tmp_path / "w.npz").mkdir()
    proc = ipnet("net-train", NETWORK, "--out", tmp_path / "w", "--runs", runs)
    assert_one_line(proc, f"--out: {tmp_path / 'w.npz'} is a folder")
    assert not runs.exists()
    proc = ipnet("net-train", NETWORK, "--runs", afile)
    assert_one_line(proc, f"--runs: {afile} is a file, not a folder")


def test_results_and_train_outputs_checked_before_training(tmp_path, experiment):
    exp, _ = experiment
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    runs = tmp_path / "runs"
    proc = ipnet("results", exp, "--runs", runs, "--out", afile)
    assert_one_line(proc, f"--out: {afile} is a file, not a folder")
    assert not runs.exists()
    proc = ipnet("results", exp, "--runs", afile, "--out", tmp_path / "docs")
    assert_one_line(proc, f"--runs: {afile} is a file, not a folder")
    proc = ipnet("train", exp, "--task", "gestures11", "--model", "lstm", "--runs", afile)
    assert_one_line(proc, f"--runs: {afile} is a file, not a folder")
    assert not (tmp_path / "docs").exists() and afile.read_text() == "keep me"


def test_read_only_folder(tmp_path, monkeypatch, capsys, experiment):
    """Root writes anywhere, so a read-only folder is simulated by os.access."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if p == ro else real(p, mode))
    with pytest.raises(UsageError) as err:
        check_output_dir(ro / "a" / "b", "--out")
    assert str(err.value) == f"--out: {ro / 'a' / 'b'}: {ro} is not writable"
    exp, _ = experiment
    with pytest.raises(SystemExit) as code:
        run_cli(train_cli.main, ["results", str(exp), "--runs", str(ro), "--out", str(tmp_path)])
    assert code.value.code == 2
    assert capsys.readouterr().err == f"error: --runs: {ro} is not writable\n"


def test_read_only_folder_cli(tmp_path):
    with read_only_folder(tmp_path) as ro:
        proc = run("ipnet_mtj.gen", ROOT / "configs" / "default.yaml", "--out", ro)
        assert_one_line(proc, f"--out: {ro} is not writable")


# -- 4. truncated or foreign files -----------------------------------------------------------------

@pytest.mark.parametrize("content", [
    lambda: (ROOT / "configs" / "trained" / "ipnet_g11.npz").read_bytes()[:20000],   # truncated
    lambda: b"these are not weights\n",                                            # foreign
])
def test_net_eval_truncated_or_foreign_weights(tmp_path, content):
    weights = tmp_path / "w.npz"
    weights.write_bytes(content())
    proc = ipnet("net-eval", NETWORK, "--weights", weights, "--runs", tmp_path / "runs")
    assert_one_line(proc, f"{weights}: not a trained-weights .npz (truncated, or not written by "
                          f"ipnet train)")


def _truncated_checkpoint(path):
    torch.save({"model": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:500])


@pytest.mark.parametrize("make, reason", [
    (_truncated_checkpoint, "not a readable checkpoint (truncated or foreign)"),
    (lambda p: p.write_text("not a checkpoint\n"), "not a readable checkpoint (truncated or foreign)"),
    (lambda p: torch.save({"weights": 1}, p), "not a training checkpoint (no 'model')"),
])
def test_truncated_or_foreign_checkpoint(tmp_path, experiment, make, reason):
    exp, _ = experiment
    runs = tmp_path / "runs"
    runs.mkdir()
    ckpt = runs / "gestures11-lstm-s0-lr0.01.pt"
    make(ckpt)
    before = ckpt.read_bytes()
    proc = ipnet("train", exp, "--task", "gestures11", "--model", "lstm", "--runs", runs)
    assert_one_line(proc, f"{ckpt}: {reason}; delete it or train again with --fresh")
    assert ckpt.read_bytes() == before and not (runs / "gestures11-lstm-s0-lr0.01.json").exists()


@pytest.mark.parametrize("content", [b"PK\x03\x04 truncated", b"not a cache\n"])
def test_truncated_or_foreign_data_cache(tmp_path, experiment, content):
    exp, _ = experiment
    cfg = load_experiment(exp)[0].data_config()
    cache = tmp_path / "runs" / "data" / f"gestures11-train-{cfg.key('gestures11', 'train')}.npz"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(content)
    proc = ipnet("data", exp, "--task", "gestures11", "--runs", tmp_path / "runs")
    assert_one_line(proc, f"{cache}: not a readable data cache (truncated or foreign); delete it "
                          f"and the data are made again")


def test_foreign_npz_as_data_cache(tmp_path, experiment):
    from ipnet_mtj.sw.data.datasets import load_split
    exp, _ = experiment
    cfg = load_experiment(exp)[0].data_config()
    cache = tmp_path / f"gestures11-test-{cfg.key('gestures11', 'test')}.npz"
    np.savez(cache, a=np.zeros(3))
    with pytest.raises(ConfigError) as err:
        load_split("gestures11", cfg, "test", tmp_path)
    assert str(err.value) == (f"{cache}: not a readable data cache (truncated or foreign); delete "
                              f"it and the data are made again")


@pytest.mark.parametrize("content, reason", [
    ('{"task": "gestures11", "mod', "not a metrics file (not valid JSON)"),
    ("[1, 2]", "not a metrics file of ipnet train (no 'task')"),
    ('{"task": "gestures11"}', "not a metrics file of ipnet train (no 'model')"),
])
def test_truncated_or_foreign_metrics(tmp_path, experiment, content, reason):
    exp, _ = experiment
    metrics = tmp_path / "gestures11-lstm-s0-lr0.01.json"
    metrics.write_text(content)
    proc = ipnet("eval", exp, "--task", "gestures11", "--model", "lstm", "--runs", tmp_path)
    assert_one_line(proc, f"{metrics}: {reason}; delete it and train the run again")


# -- 5. experiment values out of range --------------------------------------------------------------

TASK_LIST = ("gestures11, gestures22, digits, digits_ahead, steering, gestures22m, dvsgesture, "
             "dvsgesture22, nmnist, steering_ddd20")


@pytest.mark.parametrize("section, values, message", [
    ("tasks", {"value": []}, "tasks: needs at least one, got []"),
    ("tasks", {"value": ["digits", "chess"]},
     f"tasks: unknown 'chess' (allowed: {TASK_LIST}), got ['digits', 'chess']"),
    ("tasks", {"value": ["digits", "digits"]},
     "tasks: 'digits' is given twice, got ['digits', 'digits']"),
    ("models", {"value": []}, "models: needs at least one, got []"),
    ("train", {"seeds": [0, 1.5]}, "train.seeds: must hold integers >= 0: 1.5 is not, got [0, 1.5]"),
    ("train", {"seeds": [0, -1]}, "train.seeds: must hold integers >= 0: -1 is not, got [0, -1]"),
    ("train", {"seeds": ["0"]}, "train.seeds: must hold integers >= 0: '0' is not, got ['0']"),
    ("train", {"seeds": []}, "train.seeds: needs at least one, got []"),
    ("train", {"seeds": [1, 1]}, "train.seeds: 1 is given twice, got [1, 1]"),
    ("train", {"max_epochs": 0}, "train.max_epochs: must be > 0, got 0"),
    ("train", {"patience": 0}, "train.patience: must be > 0, got 0"),
    ("train", {"validation": 11}, "train.validation: must be fewer than data.train = 11 (the "
                                  "rest trains), got 11"),
    ("train", {"batch": -4}, "train.batch: must be > 0, got -4"),
    ("train", {"lrs": [0.0]}, "train.lrs: must hold positive numbers: 0.0 is not, got [0.0]"),
    ("train", {"lrs": [0.01, float("inf")]},
     "train.lrs: must hold positive numbers: inf is not, got [0.01, inf]"),
    ("train", {"lrs": [0.01, 0.01]}, "train.lrs: 0.01 is given twice, got [0.01, 0.01]"),
    ("train", {"features": 0}, "train.features: must be > 0, got 0"),
    ("data", {"seed": -1}, "data.seed: must be >= 0, got -1"),
    ("data", {"size": 12}, "data.size: must be > 16 (the side of a digit glyph) for task "
                           "digits, got 12"),
    ("data", {"test": 0}, "data.test: must be > 0, got 0"),
    ("data", {"noise": {"contrast": 0.0, "threshold_sigma": 0.03, "background_rate": 0.002,
                        "hot_pixels": 2}}, "data.noise.contrast: must be > 0, got 0.0"),
    ("data", {"noise": {"contrast": 0.2, "threshold_sigma": -0.03, "background_rate": 0.002,
                        "hot_pixels": 2}}, "data.noise.threshold_sigma: must be >= 0, got -0.03"),
    ("data", {"noise": {"contrast": 0.2, "threshold_sigma": 0.03, "background_rate": 1.5,
                        "hot_pixels": 2}},
     "data.noise.background_rate: must be between 0 and 1, got 1.5"),
    ("data", {"noise": {"contrast": 0.2, "threshold_sigma": 0.03, "background_rate": 0.002,
                        "hot_pixels": -2}}, "data.noise.hot_pixels: must be >= 0, got -2"),
    ("data", {"noise": {"contrast": 0.2, "threshold_sigma": 0.03, "background_rate": 0.002,
                        "hot_pixels": 5000}},
     "data.noise.hot_pixels: must be at most size * size = 1024, got 5000"),
    ("ablation", {"task": "chess"}, f"ablation.task: must be one of {TASK_LIST}, got 'chess'"),
    ("ablation", {"depths": [1, 4]}, "ablation.depths: must hold depths 1, 2 or 3: 4 is not, "
                                     "got [1, 4]"),
    ("ipnet", {"firing_rate": 0.0}, "ipnet.firing_rate: must be between 0.01 and 0.99, got 0.0"),
    ("integer", {"epochs": 0}, "integer.epochs: must be between 1 and 100, got 0"),
    ("integer", {"weight_bits": 1}, "integer.weight_bits: must be between 2 and 16, got 1"),
    ("integer", {"lr": -0.1}, "integer.lr: must be > 0, got -0.1"),
])
def test_experiment_value_out_of_range(tmp_path, experiment, section, values, message):
    exp, data = experiment
    rewrite(exp, data, section, **values)
    with pytest.raises(ConfigError) as err:
        load_experiment(exp)
    assert str(err.value) == f"{exp}: {message}"


def test_cli_experiment_value_out_of_range(experiment):
    exp, data = experiment
    rewrite(exp, data, "train", seeds=[0, -1])
    assert_one_line(ipnet("params", exp),
                    f"{exp}: train.seeds: must hold integers >= 0: -1 is not, got [0, -1]")
    rewrite(exp, data, "tasks", value=[])
    assert_one_line(ipnet("params", exp), f"{exp}: tasks: needs at least one, got []")


# -- 6. a loss that stops being finite -------------------------------------------------------------

@pytest.mark.parametrize("batch, message", [
    (4, "the loss became nan at epoch 1 step 2"),
    (32, "the validation loss became nan at epoch 1"),
])
def test_nan_run_stops_training_with_one_line(tmp_path, experiment, batch, message):
    """Adam at a learning rate of 1e30 makes weights of about 1e30 in one step: the loss of the
    next batch is nan (batch 4: 3 steps per epoch), or, after the only step of the epoch
    (batch 32), the validation loss is. No accuracy is printed, no checkpoint or
    metrics are written."""
    exp, data = experiment
    data["train"].update(lrs=[1e30], batch=batch)
    exp.write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    proc = ipnet("train", exp, "--task", "gestures11", "--model", "framesum", "--runs", runs)
    assert_error_after_progress(proc, f"gestures11-framesum-s0-lr1e+30: {message}; nothing saved for "
                                      f"this epoch; lower the learning rate")
    assert proc.stdout == ""
    assert sorted(p.name for p in runs.iterdir()) == ["data"]


def test_nan_weights_after_the_last_step_stop_training(monkeypatch):
    """A step that leaves the weights non-finite after the last batch is caught too."""
    from ipnet_mtj.sw.data.datasets import TASKS
    from ipnet_mtj.sw.train.trainer import train_run

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(16, 11))

        def forward(self, x):
            return x.flatten(1) @ self.w

    model = Net()
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, closure=None:
                        model.w.data.fill_(float("inf")))
    x = np.ones((4, 2, 2, 2, 2), dtype=np.float32)
    y = np.arange(4) % 11
    with pytest.raises(ConfigError) as err:
        train_run(model, TASKS["gestures11"], (x, y), (x, y), 2, 1, 4, 0.01, 0,
                  "/nonexistent/never-written.pt", name="run")
    assert str(err.value) == ("run: the weight w became non-finite at epoch 1; nothing saved for "
                              "this epoch; lower the learning rate")


# -- 7. resuming a run whose experiment changed ----------------------------------------------------

def test_checkpoint_of_another_experiment_is_refused(tmp_path, experiment):
    exp, data = experiment
    runs = tmp_path / "runs"
    args = ("--task", "gestures11", "--model", "framesum", "--runs", runs)
    assert ipnet("train", exp, *args).returncode == 0
    ckpt, metrics = runs / "gestures11-framesum-s0-lr0.01.pt", runs / "gestures11-framesum-s0-lr0.01.json"
    old = json.loads(metrics.read_text())
    changed = tmp_path / "changed.yaml"
    rewrite(changed, data, "train", patience=2)
    proc = ipnet("train", changed, *args)
    from ipnet_mtj.sw.train.runs import run_hash
    from ipnet_mtj.sw.train.trainer import RunSpec
    spec = RunSpec("gestures11", "framesum", 0)
    exp_new, design, _ = load_experiment(changed)
    assert_one_line(proc, f"{ckpt}: made by another experiment or config (hash {old['run_hash']}, "
                          f"now {run_hash(exp_new, design, spec)}); delete it or train again "
                          f"with --fresh")
    assert json.loads(metrics.read_text()) == old
    proc = ipnet("train", exp, *args)                  # the same experiment reads it back
    assert proc.returncode == 0, proc.stderr
    assert json.loads(metrics.read_text())["history"] == old["history"]
    proc = ipnet("train", exp, *args, "--epochs", "2")  # another schedule is another run
    assert_one_line(proc, f"{ckpt}: made by another experiment or config (hash {old['run_hash']}, "
                          f"now {old['run_hash']}-e2); delete it or train again with --fresh")
    proc = ipnet("train", changed, *args, "--fresh")                 # --fresh starts again
    assert proc.returncode == 0, proc.stderr
    assert json.loads(metrics.read_text())["run_hash"] == run_hash(exp_new, design, spec)
