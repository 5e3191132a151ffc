"""A stage's product is kept while its inputs are unchanged, and the stage says which it was:
the network's build folder is generated again when the weights, the ROM options or the code
change, or when one of its files no longer has the recorded SHA-256; not when the same files
are named by another path."""

import dataclasses
import json

import numpy as np
import pytest

from helpers import ROOT
from ipnet_mtj.gen.network import build_inputs, generate_network, load_network_design
from ipnet_mtj.sw.jobs.cache import changed_inputs, intact, source_hash, stage_inputs

NETWORK = ROOT / "configs" / "network.yaml"


@pytest.fixture(scope="module")
def design():
    return load_network_design(NETWORK)


def test_changed_inputs_by_hand():
    assert changed_inputs({"a": "1", "b": "2"}, {"a": "1", "b": "2"}) == []
    assert changed_inputs({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}) == ["b", "c"]
    assert changed_inputs(None, {"a": "1"}) == ["a"]
    inputs = stage_inputs(x={"k": 1})
    assert set(inputs) == {"x", "code", "tools"} and inputs["code"] == source_hash()


def test_intact_checks_every_file(tmp_path):
    (tmp_path / "a").write_bytes(b"abc")
    digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"   # sha256("abc")
    assert intact(tmp_path, {"a": digest})
    assert not intact(tmp_path, {"a": digest, "b": digest})
    assert not intact(tmp_path, {"a": "0" * 64}) and not intact(tmp_path, {})


def test_the_build_folder_is_kept_while_its_inputs_are_unchanged(design, tmp_path):
    said = []
    first = generate_network(design, tmp_path, log=said.append)
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["inputs"] == build_inputs(design)
    stamp = (first / "ipnet_g11.v").stat().st_mtime_ns
    assert generate_network(design, tmp_path, log=said.append) == first
    assert (first / "ipnet_g11.v").stat().st_mtime_ns == stamp
    assert said[0] == f"generating {first} (no build yet)"
    assert said[1].startswith(f"{first}: up to date (")

    other = [(w.copy(), b.copy()) for w, b in design.params]
    other[0][0][0, 0, 0, 0] += 1
    generate_network(dataclasses.replace(design, params=other), tmp_path, log=said.append)
    assert said[2] == f"generating {first} (changed: weights)"
    with np.load(first / "weights.npz") as z:
        assert z["w0"][0, 0, 0, 0] == other[0][0][0, 0, 0, 0]

    generate_network(design, tmp_path, log=said.append)            # back to the trained ones
    with open(first / "lut.hex", "a") as fh:
        fh.write("0\n")
    generate_network(design, tmp_path, log=said.append)
    assert said[4] == f"generating {first} (its files differ from the manifest)"
    generate_network(design, tmp_path, roms="file", log=said.append)
    assert said[5] == f"generating {first} (made on every call)"     # images checked each time
    generate_network(design, tmp_path, log=said.append)
    assert said[6] == f"generating {first} (changed: options)"


def test_a_code_change_makes_the_folder_again(design, tmp_path, monkeypatch):
    import ipnet_mtj.sw.jobs.cache as cache
    said = []
    first = generate_network(design, tmp_path, log=said.append)
    monkeypatch.setattr(cache, "source_hash", lambda: "0123456789abcdef")
    generate_network(design, tmp_path, log=said.append)
    assert said[1] == f"generating {first} (changed: code)"


def test_the_same_checkpoint_by_another_path_is_the_same_input(design, monkeypatch):
    """A relative and an absolute spelling of the same files give the same inputs."""
    monkeypatch.chdir(ROOT)
    relative = load_network_design("configs/network.yaml")
    assert str(relative.weights_path) != str(design.weights_path)
    assert build_inputs(relative) == build_inputs(design)


def test_what_generation_does_not_run_is_no_input():
    """The report templates, the job runner and the training code are not part of the code
    a build folder depends on; the hardware and the arithmetic are."""
    from ipnet_mtj.sw.jobs.cache import GENERATION_EXCLUDED, GENERATION_SOURCES
    assert {"hw", "gen", "sw"} == set(GENERATION_SOURCES)
    assert {"sw/jobs", "sw/train", "sw/wm"} <= set(GENERATION_EXCLUDED)
