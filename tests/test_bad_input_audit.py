"""The user audit's classes of bad input, each with one line on stderr (``error: ...``), exit
code 2 (130 for Ctrl-C), no traceback, and the old product kept until a new one is complete:
a patch that would leave a lane's placeholder weights, an interrupted or refused rebuild or
patch, tiny T0_K, corrupt base.json, bad --out, long names, Ctrl-C while importing, a
--rom-prefix a Verilog string cannot hold, suffixes replaced silently, ignored options and
arrays, a heat format that cannot hold one step, device files read forever, and what an
integrator's own bench needs from the emitted Verilog (a missing ROM image, the time-zero
start). Each test fails without its fix."""

import dataclasses
import json
import os
import signal
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import ROOT, config_dict, read_only_folder, small_network_yaml, write_config
from test_bad_input import assert_one_line, ipnet, run

from ipnet_mtj.gen import network_bitstream
from ipnet_mtj.gen.bram_patch import image_pairs
from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.gen.network_bitstream import build_base, patch_weights, placeholder_params
from ipnet_mtj.sw.cli import UsageError
from ipnet_mtj.sw.config import ConfigError, parse_config
from ipnet_mtj.sw.network import derive_network, load_network
from ipnet_mtj.sw.train.network_train import load_trained, network_hash, save_trained

NETWORK = ROOT / "configs" / "network.yaml"
DEFAULT = ROOT / "configs" / "default.yaml"


def small_network(tmp_path, lanes=2):
    """A small network (2 lanes) with random trained weights saved beside it."""
    path = small_network_yaml(tmp_path, lanes)
    cfg = load_network(path)
    net = derive_network(cfg)
    rng = np.random.default_rng(1)
    params = [(rng.integers(-100, 100, size=lf.weight_shape),
               rng.integers(-50, 50, size=lf.out_shape[0])) for lf in net.layers]
    save_trained(cfg, params, {"network_hash": network_hash(cfg)})
    return path, cfg, net, params


def fake_base(design, out_root):
    """A base folder as build_base leaves it, without place and route: the placeholder build,
    base.json and a stand-in .asc (the checks under test run before the .asc is read)."""
    params, used = placeholder_params(design.net, design.params)
    root = out_root / f"{design.top}-base"
    build = generate_network(dataclasses.replace(design, params=params), root)
    (build / "base.json").write_text(json.dumps({"network_hash": network_hash(design.cfg),
                                                 "lanes": design.net.lanes}))
    (build / "synth").mkdir()
    (build / "synth" / "ice40_up5k.asc").write_text("stand-in\n")
    return build


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(Path(folder).rglob("*"))
            if p.is_file()}


# -- patch-weights on a base missing a ROM image -----------------------------------------------

def test_patch_weights_names_a_rom_missing_from_the_base(tmp_path):
    path, *_ = small_network(tmp_path)
    design = load_network_design(path)
    base = fake_base(design, tmp_path / "build")
    (base / "wrom1.hex").unlink()
    with pytest.raises(UsageError) as err:
        patch_weights(design, tmp_path / "build")
    assert str(err.value) == (f"{base / 'wrom1.hex'}: missing from the base (it has 1 of the 2 "
                              f"weight ROM images); rebuild the base (make bitstream REBUILD=1)")
    assert not (tmp_path / "build" / "small_net").exists()


def test_image_pairs_refuses_a_new_image_without_its_old_one(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    for name in ("wrom0.hex", "wrom1.hex"):
        (old / name).write_text("01\n02\n")
        (new / name).write_text("03\n04\n")
    (new / "wrom2.hex").write_text("05\n06\n")
    with pytest.raises(UsageError) as err:
        image_pairs(old, new, "wrom*.hex")
    assert str(err.value) == (f"{old / 'wrom2.hex'}: missing: {new / 'wrom2.hex'} has no old "
                              f"image to replace in the bitstream")


# -- the old product survives an interrupted or refused rebuild or patch -----------------------

def test_interrupted_rebuild_keeps_the_old_base(tmp_path, monkeypatch):
    path, *_ = small_network(tmp_path)
    design = load_network_design(path)
    base = fake_base(design, tmp_path / "build")
    before = snapshot(base.parent)

    def interrupted(*args, **kwargs):          # Ctrl-C during place and route
        raise KeyboardInterrupt
    monkeypatch.setattr(network_bitstream, "synthesise", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_base(design, tmp_path / "build")
    assert snapshot(base.parent) == before
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["small_net-base"]


@pytest.mark.parametrize("how", ["refused", "interrupted"])
def test_refused_or_interrupted_patch_keeps_the_build_folder(tmp_path, monkeypatch, how):
    path, cfg, net, params = small_network(tmp_path)
    design = load_network_design(path)
    fake_base(design, tmp_path / "build")
    old = generate_network(design, tmp_path / "build")
    before = snapshot(old)
    new = [(w + 1 if k == 0 else w, b + (how == "refused")) for k, (w, b) in enumerate(params)]
    save_trained(cfg, new, {"network_hash": network_hash(cfg)}, out=tmp_path / "new")
    design_b = load_network_design(path, tmp_path / "new.npz")
    if how == "interrupted":
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(network_bitstream, "patch", interrupted)
    with pytest.raises(UsageError if how == "refused" else KeyboardInterrupt):
        patch_weights(design_b, tmp_path / "build")
    assert snapshot(old) == before
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == ["small_net", "small_net-base"]


# -- tracebacks ------------------------------------------------------------------------------

def test_tiny_ambient_temperature_is_refused():
    with pytest.raises(ConfigError) as err:
        parse_config(config_dict(device={"T0_K": 0.1}), "bad.yaml")
    assert str(err.value) == ("bad.yaml: device.T0_K: the ambient temperature must be above "
                              "0.5 K (the threshold's slope is taken over T0_K +- 0.5 K), got 0.1")


def test_cli_tiny_ambient_temperature(tmp_path):
    bad = write_config(tmp_path / "bad.yaml", config_dict(device={"T0_K": 0.1}))
    assert_one_line(run("ipnet_mtj.gen", bad, "--out", tmp_path / "b"),
                    f"{bad}: device.T0_K: the ambient temperature must be above 0.5 K (the "
                    f"threshold's slope is taken over T0_K +- 0.5 K), got 0.1")


@pytest.mark.parametrize("content, reason", [
    (None, "missing (the base's record of its network and lanes)"),
    ('{"network_hash": "ab', "unreadable (not valid JSON: truncated or foreign)"),
    ("[1, 2]", "not a base record (no 'network_hash')"),
])
def test_corrupt_or_missing_base_json(tmp_path, content, reason):
    path, *_ = small_network(tmp_path)
    design = load_network_design(path)
    base = fake_base(design, tmp_path / "build")
    if content is None:
        (base / "base.json").unlink()
    else:
        (base / "base.json").write_text(content)
    proc = run("ipnet_mtj.gen.network_bitstream", path, "--out", tmp_path / "build", "--patch-only")
    assert_one_line(proc, f"{base / 'base.json'}: {reason}; rebuild the base (make bitstream "
                          f"REBUILD=1)")


OUT_COMMANDS = [
    ("ipnet_mtj.gen.network", NETWORK), ("ipnet_mtj.gen.network_bitstream", NETWORK),
    ("ipnet_mtj.gen.network_synth", NETWORK), ("ipnet_mtj.gen.synth", DEFAULT),
    ("ipnet_mtj.gen.lint", DEFAULT), ("ipnet_mtj.gen.formal", DEFAULT),
    ("ipnet_mtj.sim", DEFAULT), ("ipnet_mtj.sim.bench", DEFAULT), ("ipnet_mtj.sim.regress", None),
    ("ipnet_mtj.gen.bram_patch", "base"), ("ipnet_mtj.sim.network", NETWORK),
    ("ipnet_mtj.sw.wm", ROOT / "configs" / "wm.yaml"),
]


@pytest.mark.parametrize("module, arg", OUT_COMMANDS)
def test_every_out_refuses_a_file_and_a_device(tmp_path, module, arg):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    args = [] if arg is None else ([arg, DEFAULT] if arg == "base" else [arg])
    proc = run(module, *args, "--out", afile)
    assert_one_line(proc, f"--out: {afile} is a file, not a folder")
    proc = run(module, *args, "--out", "/dev/null")
    assert_one_line(proc, "--out: /dev/null is a device, pipe or socket, not a folder")
    assert afile.read_text() == "keep me"


def test_out_read_only_folder_for_the_network(tmp_path):
    with read_only_folder(tmp_path) as ro:
        assert_one_line(run("ipnet_mtj.gen.network", NETWORK, "--out", ro),
                        f"--out: {ro} is not writable")


def test_os_error_no_check_caught_is_one_line(tmp_path, capsys):
    """The net under every command: an OSError no check caught names its file in one line."""
    from ipnet_mtj.sw.cli import run_cli

    def main(argv):
        open(tmp_path / ("x" * 300), "w")
    with pytest.raises(SystemExit) as code:
        run_cli(main, [])
    assert code.value.code == 2
    assert capsys.readouterr().err == f"error: {tmp_path / ('x' * 300)}: File name too long\n"


def test_long_network_name_is_refused(tmp_path):
    d = yaml.safe_load(NETWORK.read_text())
    d["name"] = "n" * 300
    d["design"] = str(ROOT / "configs" / "default.yaml")
    d["training"]["experiment"] = str(ROOT / "configs" / "results.yaml")
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(d))
    assert_one_line(run("ipnet_mtj.gen.network", path, "--out", tmp_path / "b"),
                    f"{path}: name: must be at most 100 characters (it names the build folder "
                    f"and its files), got a name of 300 characters")
    with pytest.raises(ConfigError) as err:
        parse_config(config_dict(name="d" * 300), "bad.yaml")
    assert str(err.value) == ("bad.yaml: name: must be at most 100 characters (it names the "
                              "build folder and its files), got a name of 300 characters")


@pytest.fixture()
def sigint_on_import(tmp_path):
    """A sitecustomize that sends SIGINT to the process when it first imports a module."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os, signal, sys\n"
        "_T = os.environ.get('IPNET_TEST_SIGINT_ON_IMPORT')\n"
        "class _Hook:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == _T:\n"
        "            sys.meta_path.remove(self)\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "if _T:\n"
        "    sys.meta_path.insert(0, _Hook())\n")
    path = os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)
    return lambda module: {**os.environ, "PYTHONPATH": path,
                           "IPNET_TEST_SIGINT_ON_IMPORT": module}


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "ipnet_mtj.gen.network", str(NETWORK)],
    [sys.executable, "-m", "ipnet_mtj.gen", str(DEFAULT)],
    [sys.executable, "-m", "ipnet_mtj.sim.network", str(NETWORK)],
    [str(Path(sys.executable).parent / "ipnet"), "net-eval", str(NETWORK)],
])
@pytest.mark.parametrize("module", ["yaml", "numpy"])
def test_ctrl_c_while_importing(sigint_on_import, tmp_path, command, module):
    # SIGINT at its default in the child, also when this suite runs in the background (where
    # a shell starts it ignored and Python then never raises KeyboardInterrupt)
    proc = subprocess.run(command + ["--out", str(tmp_path / "o")], capture_output=True,
                          text=True, cwd=ROOT, env=sigint_on_import(module), timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (proc.returncode, proc.stderr) == (130, "error: interrupted\n")
    assert not (tmp_path / "o").exists()


# -- silent ----------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix, char", [('roms"x/', '"'), ("roms\\x/", "\\"), ("a\nb/", "\n")])
def test_rom_prefix_a_verilog_string_cannot_hold(tmp_path, prefix, char):
    proc = run("ipnet_mtj.gen.network", NETWORK, "--out", tmp_path, "--roms", "file",
               "--rom-prefix", prefix)
    assert_one_line(proc, f"--rom-prefix: {prefix!r} holds {char!r}, which cannot stand in a "
                          f"Verilog string; use printable ASCII without \" and \\")
    assert list(tmp_path.iterdir()) == []


def test_rom_prefix_is_a_folder_and_its_images_are_checked(tmp_path):
    design = load_network_design(NETWORK)
    build = generate_network(design, tmp_path / "a", roms="file", rom_prefix="roms")
    text = (build / "ipnet_g11.v").read_text()
    assert 'initial $readmemh("roms/wrom0.hex", wrom0);' in text
    missing = tmp_path / "elsewhere"
    with pytest.raises(UsageError) as err:
        generate_network(design, tmp_path / "b", roms="file", rom_prefix=str(missing))
    assert str(err.value) == (f"--rom-prefix: {missing}/wrom0.hex: no such ROM image (the "
                              f"Verilog would load wrom0 from it); write the images there or "
                              f"drop --rom-prefix")
    assert not (tmp_path / "b" / "ipnet_g11").exists()


def test_weights_suffix_is_never_replaced(tmp_path):
    cfg = load_network(NETWORK)
    net = derive_network(cfg)
    shutil.copy(ROOT / "configs" / "trained" / "ipnet_g11.npz", tmp_path / "myw.npz")
    shutil.copy(ROOT / "configs" / "trained" / "ipnet_g11.json", tmp_path / "myw.json")
    with pytest.raises(ConfigError) as err:          # myw.npz is not read for myw.v2
        load_trained(cfg, net, tmp_path / "myw.v2")
    assert str(err.value) == (f"{tmp_path}/myw.v2.npz: no trained weights (train them: ipnet "
                              f"train {NETWORK})")
    shutil.copy(tmp_path / "myw.npz", tmp_path / "myw.v2")
    with pytest.raises(ConfigError) as err:
        load_trained(cfg, net, tmp_path / "myw.v2")
    assert str(err.value) == (f"{tmp_path}/myw.v2: not an .npz name: trained weights are "
                              f"<name>.npz with <name>.json beside it (this name reads "
                              f"myw.v2.npz); give the .npz")


def test_extra_array_in_weights_is_refused(tmp_path):
    cfg = load_network(NETWORK)
    net = derive_network(cfg)
    with np.load(ROOT / "configs" / "trained" / "ipnet_g11.npz") as z:
        arrays = {k: z[k] for k in z.files}
    np.savez(tmp_path / "w.npz", **arrays, w9=np.zeros(3, dtype=np.int64))
    shutil.copy(ROOT / "configs" / "trained" / "ipnet_g11.json", tmp_path / "w.json")
    with pytest.raises(ConfigError) as err:
        load_trained(cfg, net, tmp_path / "w.npz")
    assert str(err.value) == (f"{tmp_path}/w.npz: w9: an array this network does not have (it "
                              f"has w0, b0, w1, b1, w2, b2, w3, b3); written for another "
                              f"description?")


def test_net_eval_honours_sequences_and_labels_accuracies(tmp_path):
    proc = ipnet("net-eval", NETWORK, "--sequences", "5")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == ("ipnet_g11 on gestures11, recorded at training (400 test sequences): "
                        "float 0.9700, QAT 0.9700, integer 0.9700 (1.0000 of predictions equal "
                        "QAT's)")
    assert lines[1].startswith("measured now by the integer golden model on 5 test sequences: "
                               "integer accuracy ")
    assert_one_line(ipnet("net-eval", NETWORK, "--sequences", "0"),
                    "--sequences: must be >= 1, got 0")


def test_make_verilog_passes_weights():
    # also when the suite itself runs under make (make test): no directory lines
    proc = subprocess.run(["make", "-n", "--no-print-directory", "verilog",
                           "WEIGHTS=retrained.npz"], capture_output=True, text=True, cwd=ROOT)
    line, = [x for x in proc.stdout.splitlines() if " verilog " in x and "ipnet" in x]
    assert "--weights retrained.npz" in line


def test_heat_format_that_cannot_hold_one_step():
    data = config_dict()
    data["fixed_point"]["theta"] = {"width": 6, "frac": 4}
    with pytest.raises(ConfigError) as err:
        parse_config(data, "bad.yaml")
    assert str(err.value) == ("bad.yaml: fixed_point.theta.width: too small to hold one step of "
                              "heat at the largest current (8 I_c0 heats by 64 heat units = "
                              "1024 LSBs at theta.frac 4; needs 11 bits), got 6")


# -- hangs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("make", ["device", "folder", "big"])
def test_yaml_that_is_not_a_regular_file_or_too_big(tmp_path, make):
    if make == "device":
        path, reason = Path("/dev/zero"), "not a regular file (a device, pipe or socket); give a YAML file"
    elif make == "folder":
        path, reason = tmp_path, "not a regular file (a folder); give a YAML file"
    else:
        path = tmp_path / "big.yaml"
        path.write_text("a: 1\n" + "#" * (1 << 20))
        reason = f"{path.stat().st_size} bytes, too large for a YAML description (at most 1048576 bytes)"
    assert_one_line(ipnet("net-eval", path), f"{path}: {reason}")
    data = yaml.safe_load(NETWORK.read_text())
    data["design"] = str(path)
    net = tmp_path / "net.yaml"
    net.write_text(yaml.safe_dump(data))
    proc = run("ipnet_mtj.gen.network", net, "--out", tmp_path / "b")
    assert_one_line(proc, f"{net}: design: {path}: {reason}")
