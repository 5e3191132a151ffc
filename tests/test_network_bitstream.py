"""Retrained weights go into an existing network bitstream without place and route (icebram),
checked by unpacking the result: the new images are in block RAM, the old ones are not."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from helpers import small_network_yaml
from ipnet_mtj.gen.bram_patch import FAMILIES, Image, parse_brams, unpack
from ipnet_mtj.gen.network import load_network_design
from ipnet_mtj.gen.network_bitstream import build_base, patch_weights
from ipnet_mtj.hw.net_rom_layout import weight_images
from ipnet_mtj.sw.cli import UsageError
from ipnet_mtj.sw.network import derive_network, load_network
from ipnet_mtj.sw.train.network_train import network_hash, save_trained

ICE40 = FAMILIES[".asc"]


def small_network(tmp_path):
    """A network whose lane weight ROMs (about 1000 words) land in block RAM; quick to route."""
    return small_network_yaml(tmp_path)


def random_params(net, seed):
    rng = np.random.default_rng(seed)
    return [(rng.integers(-(1 << (lf.w_width - 1)), 1 << (lf.w_width - 1), size=lf.weight_shape),
             rng.integers(-50, 50, size=lf.out_shape[0])) for lf in net.layers]


def images(net, params):
    return [Image(Path(), tuple(v & 0xFF for v in words), 2) for words in weight_images(net, params)]


def located(bin_path, work, imgs):
    """How many of ``imgs`` are found whole, exactly once, in the unpacked bitstream."""
    brams = parse_brams(unpack(bin_path, work, ICE40), ICE40)
    index = {}
    for pos, bram in brams.items():
        for value in bram.slices().values():
            index[value] = index.get(value, 0) + 1
    return sum(all(index.get(v, 0) == 1 for v in img.slices(256).values()) for img in imgs)


@pytest.mark.slow
def test_patch_retrained_weights_without_place_and_route(tmp_path):
    path = small_network(tmp_path)
    cfg = load_network(path)
    net = derive_network(cfg)
    info = {"network_hash": network_hash(cfg)}
    a = random_params(net, 1)
    save_trained(cfg, a, info)
    design = load_network_design(path)
    build_base(design, tmp_path / "build")
    first = patch_weights(design, tmp_path / "build")
    assert located(first["packed"], tmp_path / "u1", images(net, a)) == net.lanes

    b = [(w.copy(), bias) for w, bias in a]            # retrained: other weights, same biases
    b[2][0][:] = np.random.default_rng(2).integers(-128, 128, size=b[2][0].shape)
    save_trained(cfg, b, info, out=tmp_path / "retrained")
    design_b = load_network_design(path, tmp_path / "retrained.npz")
    second = patch_weights(design_b, tmp_path / "build")
    assert sorted(second["patched"]) == [f"wrom{k}.hex" for k in range(net.lanes)]
    assert located(second["packed"], tmp_path / "u2", images(net, b)) == net.lanes
    assert located(second["packed"], tmp_path / "u3", images(net, a)) == 0

    c = [(w, bias + (k == 3)) for k, (w, bias) in enumerate(b)]   # readout biases changed
    save_trained(cfg, c, info, out=tmp_path / "newbias")
    design_c = load_network_design(path, tmp_path / "newbias.npz")
    with pytest.raises(UsageError) as err:
        patch_weights(design_c, tmp_path / "build")
    assert str(err.value) == (f"{tmp_path}/newbias.npz: the biases (brom0.hex) differ from the "
                              "base bitstream's; biases sit in logic, so rebuild the base "
                              "(make bitstream REBUILD=1)")


def test_patch_without_base_says_so(tmp_path):
    path = small_network(tmp_path)
    cfg = load_network(path)
    net = derive_network(cfg)
    save_trained(cfg, random_params(net, 1), {"network_hash": network_hash(cfg)})
    design = load_network_design(path)
    with pytest.raises(UsageError) as err:
        patch_weights(dataclasses.replace(design), tmp_path / "build")
    assert str(err.value) == (f"{tmp_path}/build/small_net-base/small_net/synth/ice40_up5k.asc: "
                              "no base bitstream; build it first (make bitstream)")
