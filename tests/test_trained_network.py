"""The shipped trained default network: its weights load, its recorded figures are reproduced by
the golden model, its junctions stay physical; and bad weight files get one clear line."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.network import derive_network, load_network
from ipnet_mtj.sw.train.network_train import (evaluate_trained, heat_bound, load_trained, network_hash,
                                    trained_paths)

NETWORK = ROOT / "configs" / "network.yaml"


@pytest.fixture(scope="module")
def default():
    cfg = load_network(NETWORK)
    return cfg, derive_network(cfg)


def test_heat_bound_known_answer(default):
    _, net = default
    fp = net.thermal.fp
    # i saturates at 512 / 2**8 = 2 I_c0: 4 heat units per step; alpha = 232/256
    assert fp.alpha == 232 / 256
    assert heat_bound(fp) == pytest.approx(4 / (1 - 232 / 256))


def test_shipped_weights_fit_the_description(default):
    cfg, net = default
    params = load_trained(cfg, net)
    assert len(params) == len(net.layers)
    info = json.loads(trained_paths(cfg)[1].read_text())
    assert info["network_hash"] == network_hash(cfg)
    assert info["command"].startswith(("ipnet train", "ipnet net-train"))   # its old name


def test_shipped_network_accuracy_and_physics_reproduce(default):
    """The golden model measures again what training recorded: integer accuracy, within one
    point of the float baseline; every junction below the Curie temperature."""
    cfg, net = default
    recorded = json.loads(trained_paths(cfg)[1].read_text())
    again = evaluate_trained(NETWORK)
    assert again["accuracy"]["integer"] == recorded["accuracy"]["integer"]
    assert abs(again["accuracy"]["integer"] - recorded["accuracy"]["float"]) <= 0.01
    phys = again["physics"]
    assert phys["max_temperature_K"] < phys["Tc_K"] and phys["bound_below_curie"]
    assert phys["max_temperature_K"] <= phys["temperature_bound_K"]


def _copy(tmp_path, cfg):
    npz, js = trained_paths(cfg)
    shutil.copy(npz, tmp_path / "w.npz")
    shutil.copy(js, tmp_path / "w.json")
    return tmp_path / "w.npz"


def _rewrite(path, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    for k, v in list(arrays.items()):
        if v is None:
            del arrays[k]
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("change, message", [
    (lambda a: {"w1": None}, "w.npz: w1: missing (layer conv2)"),
    (lambda a: {"w2": a["w2"][:, :5]}, "w.npz: w2: shape (32, 5) does not fit layer fc (32, 128)"),
    (lambda a: {"b3": a["b3"] * 0 + 5000},
     "w.npz: b3: values outside the 12-bit format of layer readout (5000..5000)"),
    (lambda a: {"w0": a["w0"] * 0.5}, "w.npz: w0: must hold integers, got float64"),
])
def test_bad_weights_one_line(default, tmp_path, change, message):
    cfg, net = default
    path = _copy(tmp_path, cfg)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    _rewrite(path, **change(arrays))
    with pytest.raises(ConfigError) as info:
        load_trained(cfg, net, path)
    assert str(info.value) == f"{tmp_path}/{message}"


def test_foreign_and_missing_weights(default, tmp_path):
    cfg, net = default
    path = _copy(tmp_path, cfg)
    info = json.loads((tmp_path / "w.json").read_text())
    info["network_hash"] = "0" * 16
    (tmp_path / "w.json").write_text(json.dumps(info))
    with pytest.raises(ConfigError) as err:
        load_trained(cfg, net, path)
    assert str(err.value) == (f"{tmp_path}/w.json: network_hash: trained for another description "
                              f"(0000000000000000, this one is {network_hash(cfg)}); retrain")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigError) as err:
        load_trained(cfg, net, tmp_path / "junk.npz")
    assert str(err.value).startswith(f"{tmp_path}/junk.npz: not a trained-weights .npz")
    with pytest.raises(ConfigError) as err:
        load_trained(cfg, net, tmp_path / "none.npz")
    assert str(err.value) == (f"{tmp_path}/none.npz: no trained weights "
                              f"(train them: ipnet train {cfg.source})")


def test_cli_bad_weights_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.sw.train.cli", "net-eval", str(NETWORK),
                           "--weights", str(tmp_path / "none.npz")], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path}/none.npz: no trained weights (train them: ipnet train {NETWORK})"]


def test_torch_and_numpy_predict_alike_with_the_shipped_weights(default):
    """The QAT model loaded with the shipped integers (torch convolutions) and the golden
    model (numpy) give the same class on every test sequence."""
    import torch
    from ipnet_mtj.sw import netref
    from ipnet_mtj.sw.nets.described import DescribedIPNet
    from ipnet_mtj.sw.train.network_train import _test_split
    cfg, net = default
    params = load_trained(cfg, net)
    model = DescribedIPNet(net)
    with torch.no_grad():
        model.gain.fill_(1.0)
        model.offset.fill_(0.0)
        for layer, lf, (w, b) in zip(model.layers, net.layers, params):
            layer.weight.copy_(torch.as_tensor(w * 2.0 ** -lf.w_frac))
            layer.bias.copy_(torch.as_tensor(b * 2.0 ** -lf.b_frac))
    model.quantised = True
    for (w, b), (w2, b2) in zip(params, model.integer_params()):
        assert np.array_equal(w, w2) and np.array_equal(b, b2)
    x, _ = _test_split(cfg, "build/networks")
    with torch.no_grad():
        torch_labels = np.concatenate([model(torch.as_tensor(x[k:k + 50])).argmax(1).numpy()
                                       for k in range(0, len(x), 50)])
    assert np.array_equal(torch_labels, netref.predict(net, params, x))
