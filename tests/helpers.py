"""Shared helpers of the test suite: small designs derived from the shipped default."""

import copy
from pathlib import Path

import numpy as np
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
