"""The flow's one front door: `ipnet --help` lists every stage once; every make target of the
flow is one line calling `ipnet`; every `python -m` command of the package is a stage's
implementation; a stage picks its implementation by the kind of its YAML target, and a target
of the wrong kind, an unknown stage or a missing target is one line."""

import ast
import re
import subprocess
import sys

import pytest

from helpers import ROOT
from ipnet_mtj.flow import cli
from ipnet_mtj.flow.stages import KINDS, STAGES, kind_of, stage_named
from ipnet_mtj.sw.config import read_yaml

#: make targets about the repository itself rather than the flow
REPOSITORY_TARGETS = {"all", "test", "test-slow", "test-all", "mutants", "clean", "system-deps", "$(STAMP)"}


def ipnet(*args):
    return subprocess.run([sys.executable, "-m", "ipnet_mtj.flow", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT)


def test_help_lists_every_stage_once():
    proc = ipnet("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    listed = re.findall(r"^  (\S+)\s", proc.stdout, re.M)
    assert listed == [s.name for s in STAGES]
    assert len(set(listed)) == len(listed)
    assert ipnet().stdout == proc.stdout


def _make_rules():
    """{target: [recipe lines]} of the Makefile."""
    rules, current = {}, None
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("\t") and current is not None:
            rules[current].append(line.strip())
        elif re.match(r"^[\w$().-]+\s*:(?!=)", line):
            current = line.split(":")[0].strip()
            rules[current] = []
        elif not line.startswith("#") and line.strip():
            current = None
    return rules


def test_every_make_target_of_the_flow_is_one_line_calling_ipnet():
    rules = _make_rules()
    flow = {t: r for t, r in rules.items() if t not in REPOSITORY_TARGETS and t != ".PHONY"}
    assert {"sim", "sim-layer", "verilog", "synth", "bitstream", "results", "wm", "regress",
            "network"} <= set(flow)
    for target, recipe in flow.items():
        assert len(recipe) == 1, (target, recipe)
        words = recipe[0].split()
        assert words[0] == "$(IPNET)", (target, recipe)
        assert stage_named(words[1]) is not None, (target, recipe)


def _command_modules():
    """Modules of the package with a `__main__` block or a `__main__.py`: (module, path)."""
    for folder in ("sw", "gen", "hw", "sim"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text()
            if path.name == "__main__.py" or 'if __name__ == "__main__"' in text:
                parts = path.relative_to(ROOT).with_suffix("").parts
                yield "ipnet_mtj." + ".".join(parts), text


def test_every_python_m_command_is_a_stage():
    """`ipnet --help` is the one list: a module that runs as `python -m` is the implementation
    of a stage (the stages' implementations are named by module and function)."""
    implementations = {t.main.split(":")[0] for s in STAGES for t in s.targets.values()}
    for module, text in _command_modules():
        tree = ast.parse(text)
        assert any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), module
        assert module in implementations, f"{module} runs as python -m but is no stage"


def test_every_stage_implementation_exists():
    import importlib
    for stage in STAGES:
        for target in stage.targets.values():
            module, function = target.main.split(":")
            assert callable(getattr(importlib.import_module(module), function)), target.main


@pytest.mark.parametrize("path, kind", [("network.yaml", "network"), ("default.yaml", "layer"),
                                        ("results.yaml", "experiment"), ("wm.yaml", "wm"),
                                        ("devices.yaml", "experiment"), ("taus.yaml", "layer"),
                                        ("network_depth2.yaml", "network")])
def test_kinds_of_the_shipped_configs(path, kind):
    assert kind_of(read_yaml(ROOT / "configs" / path)) == kind
    assert kind in KINDS


def test_one_stage_two_targets(tmp_path, monkeypatch):
    """`ipnet verilog` on a network description and on a layer design: each reaches its own
    implementation with the arguments as given (and the fixed prefix of a shared one)."""
    calls = []
    monkeypatch.setattr(cli, "_call", lambda target, argv: calls.append((target, argv)) or 0)
    assert cli.main(["verilog", "configs/network.yaml", "--out", "x"]) == 0
    assert cli.main(["verilog", "--out", "x", "configs/default.yaml"]) == 0
    assert cli.main(["bitstream", "configs/default.yaml"]) == 0
    assert cli.main(["train", "configs/results.yaml", "--task", "digits"]) == 0
    assert cli.main(["net-train", "configs/network.yaml"]) == 0
    assert [(t.main, t.prefix, a) for t, a in calls] == [
        ("ipnet_mtj.gen.network:main", (), ["configs/network.yaml", "--out", "x"]),
        ("ipnet_mtj.gen.__main__:main", (), ["--out", "x", "configs/default.yaml"]),
        ("ipnet_mtj.gen.synth:main", ("--bitstream",), ["configs/default.yaml"]),
        ("ipnet_mtj.sw.train.cli:main", ("train",), ["configs/results.yaml", "--task", "digits"]),
        ("ipnet_mtj.sw.train.cli:main", ("net-train",), ["configs/network.yaml"])]


def test_bad_stage_target_and_kind_are_one_line(tmp_path):
    cases = [
        (["nope"], "unknown stage 'nope' (ipnet --help lists the stages)"),
        (["sim"], "ipnet sim: give a target: a network description (layers:) or a single-layer "
                  "design (layer:)"),
        (["sim", "--workers", "2"], "ipnet sim: give a target: a network description "
                                    "(layers:) or a single-layer design (layer:)"),
        (["sim", "configs/results.yaml"],
         "configs/results.yaml: not a network description (layers:) or a single-layer design "
         "(layer:); ipnet sim takes one of those"),
        (["verilog", "/dev/zero"],
         "/dev/zero: not a regular file (a device, pipe or socket); give a YAML file"),
    ]
    for argv, message in cases:
        proc = ipnet(*argv)
        assert (proc.returncode, proc.stderr) == (2, f"error: {message}\n"), argv


def test_stage_help_names_its_targets():
    proc = ipnet("sim", "--help")
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0] == "usage: ipnet sim NETWORK.yaml|LAYER.yaml [options]"
    assert "ipnet sim LAYER.yaml --help" in proc.stdout


def test_a_stage_runs_through_the_front_door(tmp_path):
    """`ipnet verilog` on the single-layer default design writes its build folder."""
    proc = ipnet("verilog", "configs/default.yaml", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ipnet_layer" / "manifest.json").exists()


def test_unknown_simulator_is_one_line():
    proc = ipnet("sim", str(ROOT / "configs" / "default.yaml"), "--simulators", "icarus,xsim")
    assert proc.returncode == 2
    assert proc.stderr == ("error: --simulators: unknown simulator 'xsim' "
                           "(choose from icarus, verilator)\n")
