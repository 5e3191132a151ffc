"""Shared helpers of the test suite: small designs derived from the shipped default."""

import contextlib
import copy
import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from ipnet_mtj.sw.config import parse_config
from ipnet_mtj.sw.fixed import derive_fixed_point

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"


def default_dict():
    return yaml.safe_load(DEFAULT_CONFIG.read_text())


def config_dict(**sections):
    """The default config with some keys replaced: config_dict(layer={"inputs": 8})."""
    data = copy.deepcopy(default_dict())
    for section, values in sections.items():
        if isinstance(values, dict):
            data[section].update(values)
        else:
            data[section] = values
    return data


def make_fp(**sections):
    return derive_fixed_point(parse_config(config_dict(**sections), "test.yaml"))


def write_config(path, data):
    Path(path).write_text(yaml.safe_dump(data, sort_keys=False))
    return Path(path)


def random_inputs(fp, batch, steps, seed=0):
    lo, hi = -(1 << (fp.x_width - 1)), 1 << (fp.x_width - 1)
    return np.random.default_rng(seed).integers(lo, hi, size=(batch, steps, fp.inputs))


def experiment_designs(folder, data):
    """Copy the design YAMLs an experiment mapping names (its design and its variants') from
    configs/ into ``folder``, beside the experiment file a test writes there."""
    names = {data["design"]} | {v["design"] for v in (data["ablation"].get("variants") or {}).values()
                                if "design" in v}
    for name in names:
        (Path(folder) / name).write_text((ROOT / "configs" / name).read_text())


def small_network_yaml(tmp_path, lanes=2):
    """A small network (8x8 input, 4+4 channels, 64 hidden) written to ``tmp_path/small.yaml``:
    its lane weight ROMs (about 1000 words) land in block RAM and route in seconds."""
    d = yaml.safe_load((ROOT / "configs" / "network.yaml").read_text())
    d["name"] = "small_net"
    d["design"] = str(ROOT / "configs" / "bounded.yaml")
    d["training"]["experiment"] = str(ROOT / "configs" / "results.yaml")
    d["input"]["size"] = 8
    d["layers"][0].update(outputs=4, kernel=3, stride=2, padding=1)
    d["layers"][1].update(outputs=4, kernel=3, stride=1, padding=1, pool=2)
    d["layers"][2]["outputs"] = 64
    d["hardware"]["lanes"] = lanes
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


@contextlib.contextmanager
def read_only_folder(tmp_path):
    """A folder without write permission (the test skips when it runs as root, for whom
    every folder is writable); its permission is restored afterwards."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: a read-only folder is writable")
        yield ro
    finally:
        ro.chmod(0o755)
