"""`make wm` end to end on a tiny experiment: runs, resume, report, figures, bad input."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ipnet_mtj.sw.config import ConfigError, load_config
from ipnet_mtj.sw.wm.__main__ import main
from ipnet_mtj.sw.wm.experiment import design_for_tau, load_wm_experiment
from ipnet_mtj.sw.wm.runs import WMSpec

ROOT = Path(__file__).resolve().parent.parent

TINY = {
    "design": str(ROOT / "configs" / "bounded.yaml"),
    "data": {"size": 12, "substeps": 2, "vocabulary": 16, "density": 0.25, "pair_overlap": 0.75,
             "train": 48, "val": 16, "test": 48, "seed": 0,
             "noise": {"contrast": 0.2, "threshold_sigma": 0.03, "background_rate": 0.002,
                       "hot_pixels": 2}},
    "nback": {"ns": [1, 2], "items": 6, "slot": 1, "target_rate": 0.333},
    "recall": {"lengths": [3, 5], "slots": [1, 2]},
    "interference": {"length": 2, "slot": 1},
    "train": {"epochs": 1, "batch": 16, "lrs": [0.01, 0.003], "seeds": [0, 1], "features": 16},
    "recognition": {"ks": [1, 3], "items": 6, "slot": 1, "target_rate": 0.333},
    "models": ["ipnet", "ipnet_earlier", "lstm_matched", "framesum"],
    "ipnet": {"depth": 3, "current_spread": 0.05},
    "ipnet_earlier": {"design": str(ROOT / "configs" / "bounded.yaml"), "depth": 3,
                      "current_spread": 0.2},
    "decay": {"tau_th_ns": [5.0]},
}


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wm")
    cfg = write(tmp / "wm.yaml", TINY)
    main([str(cfg), "--runs", str(tmp / "runs"), "--out", str(tmp / "docs"), "--workers", "1"])
    return tmp, cfg


def test_report_and_figures_are_written(report):
    tmp, _ = report
    docs = tmp / "docs"
    for name in ("nback", "recognition", "serial-position", "interference", "decay"):
        assert (docs / f"wm-{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (docs / "working-memory.md").read_text()
    for section in ("## n-back", "## Recognition", "Sternberg", "## Free recall",
                    "## Interference", "## Decay sweep",
                    "## Junction currents and temperatures", "Murdock", "Kirchner"):
        assert section in md


def test_report_numbers_come_from_the_runs(report):
    tmp, _ = report
    data = json.loads((tmp / "docs" / "working-memory.json").read_text())
    runs = {p.stem: json.loads(p.read_text()) for p in (tmp / "runs").glob("*.json")}
    # n-back d' of IPNet at n = 2: the mean of its two seeds' metrics files at the learning
    # rate and the time constant chosen on validation, also in the table
    lr = data["learning_rates"]["nback2"]["ipnet"]["chosen"]
    tau = data["tau_choice"]["nback2"]["chosen"]
    tau = None if tau == data["card_tau_ns"] else tau
    seeds = [runs[WMSpec("nback2", "ipnet", s, lr=lr, tau_th_ns=tau).name]["scores"]["dprime"]
             for s in (0, 1)]
    st = data["nback"]["ipnet"]["dprime"][1]
    assert st["mean"] == pytest.approx(sum(seeds) / 2) and st["n"] == 2
    md = (tmp / "docs" / "working-memory.md").read_text()
    nback = md.split("## n-back")[1].split("## Free recall")[0]
    row = next(line for line in nback.splitlines() if line.startswith("| IPNet  "))
    assert f"{st['mean']:.2f} ± {st['std']:.2f}" in row
    # the hottest junction the report names is the hottest any run recorded
    hottest = max(r["physics"]["temperature_max_K"] for r in runs.values() if "physics" in r)
    assert f"Hottest junction: {hottest:.0f} K" in md


def test_physics_stays_within_the_hand_bound(report):
    tmp, _ = report
    # by hand from bounded.yaml: |I| <= 2 I_c0 adds at most 4 heat units a step. The datapath
    # keeps alpha = round(256 exp(-dt/tau)) / 256 of the heat: 232/256 at tau 10 ns, 210/256 at
    # 5 ns, so at most 4 / (1 - alpha) = 42.67 and 22.26 units. One unit is
    # (1 - exp(-dt/tau)) * R_th * I_c0**2 * R_AP = (1 - exp(-dt/tau)) * 2 K/uW * 62.5 uW:
    # 11.895 K and 22.659 K. So the junction stays below 300 + 507.5 = 807.5 K and
    # 300 + 504.4 = 804.4 K (the device's own alpha would give exactly 800 K for both).
    bound = {10.0: 807.6, 5.0: 804.5}
    for p in (tmp / "runs").glob("*ipnet*.json"):
        phys = json.loads(p.read_text())["physics"]
        assert phys["current_max_ic0"] <= 2.0 and phys["current_limit_ic0"] == 2.0
        assert 300.0 <= phys["temperature_p99_K"] <= phys["temperature_max_K"] \
            <= bound[phys["tau_th_ns"]]


def test_resume_reuses_finished_runs(report, capsys):
    tmp, cfg = report
    capsys.readouterr()
    main([str(cfg), "--runs", str(tmp / "runs"), "--out", str(tmp / "docs2"), "--workers", "1"])
    out = capsys.readouterr()
    assert re.search(r"(\d+) runs: (\d+) of the \2 first-phase runs done", out.out + out.err)
    assert (tmp / "docs2" / "working-memory.json").read_text() \
        .replace("docs2", "docs") == (tmp / "docs" / "working-memory.json").read_text() \
        .replace("docs2", "docs")


def test_no_memory_control_sees_only_the_frame_it_answers_at():
    import torch
    from ipnet_mtj.sw.nets import build_model
    from ipnet_mtj.sw.data.datasets import Task
    torch.manual_seed(0)
    x = torch.rand(3, 6, 2, 12, 12) * 5
    changed = x.clone()
    changed[:, :4] = torch.rand(3, 4, 2, 12, 12) * 5
    for kind, outputs in (("multilabel", 16), ("binary_sequence", 1)):
        control = build_model("framesum", Task("t", kind, outputs, "accuracy"), features=16)
        memory = build_model("gru", Task("t", kind, outputs, "accuracy"), features=16)
        a, b = control(x), control(changed)
        last = (slice(None),) if kind == "multilabel" else (slice(None), slice(4, None))
        assert torch.equal(a[last], b[last])              # the earlier frames change nothing
        assert not torch.equal(memory(x)[last], memory(changed)[last])


def test_learning_rate_is_chosen_on_validation_not_test():
    from ipnet_mtj.sw.wm.runs import chosen_lrs
    exp, _ = load_wm_experiment(write(Path(pytest.importorskip("tempfile").mkdtemp()) / "w.yaml",
                                      TINY))
    def run(val, test):
        return {"history": [{"test": 0.5}, {"test": val}], "scores": {"accuracy": test}}
    done = {WMSpec("recall", "lstm", s, lr=0.01): run(0.7, 0.99) for s in (0, 1)}
    done |= {WMSpec("recall", "lstm", s, lr=0.003): run(0.8, 0.10) for s in (0, 1)}
    done[WMSpec("recall", "gru", 0, lr=0.01)] = run(0.6, 0.5)
    done[WMSpec("recall", "gru", 0, lr=0.003)] = {"history": [], "diverged": "x"}
    assert chosen_lrs(exp, done) == {("recall", "lstm"): 0.003, ("recall", "gru"): 0.01}


def test_decay_sweep_widens_the_heat_format():
    design = load_config(ROOT / "configs" / "bounded.yaml")
    slow, fp = design_for_tau(design, 40.0)
    assert slow.device.tau_th_ns == 40.0
    # 4 / (1 - alpha(40 ns)) = 160 heat units need 8 integer bits above the 8 fraction bits
    assert slow.fixed_point.theta.width == 16 and fp.theta_width == 16
    same, _ = design_for_tau(design, None)
    assert same == design
    fast, _ = design_for_tau(design, 2.5)
    assert fast.fixed_point.theta.width == design.fixed_point.theta.width


@pytest.mark.parametrize("change, message", [
    (("interference", "length", 5), "interference.length: lists of 5 need a vocabulary of at "
                                     "least 20 items (data.vocabulary is 16), got 5"),
    (("nback", "ns", [1, 6]), "nback.ns: n must be below nback.items = 6, got 6"),
    (("models", None, ["ipnet", "transformer"]), "models: unknown 'transformer'"),
    (("decay", "tau_th_ns", [0.05]), "decay.tau_th_ns: 0.05 gives no usable design"),
    (("decay", "tau_th_ns", [5.0, 10.0]), "decay.tau_th_ns: the card's own 10 ns is always on "
                                          "the menu; list only other time constants"),
    (("train", "lrs", []), "train.lrs: needs at least one"),
    (("data", "substeps", 1), "data.substeps: must be >= 2"),
    (("recognition", "ks", [2, 16]), "recognition.ks: an item new to the last k needs k below "
                                     "data.vocabulary = 16, got 16"),
    (("recognition", "ks", [6]), "recognition.ks: k must be below recognition.items = 6, got 6"),
    (("ipnet_earlier", None, None), "ipnet_earlier: missing (the model ipnet_earlier is in "
                                    "models)"),
    (("ipnet_earlier", "design", "nowhere.yaml"), "ipnet_earlier.design: no file"),
    (("ipnet", "firing_rate", 1.5), "ipnet.firing_rate: must be between 0.01 and 0.99, "
                                    "got 1.5"),
    (("recall", "lengths", [3, 4]), "recall.lengths: primacy and recency need a list of at "
                                    "least 5 items, got 4 at most"),
    (("data", "test", 5), "data.test: must hold every condition of every task at least once "
                          "(8 samples), got 5"),
])
def test_bad_config_is_one_line(tmp_path, change, message):
    section, key, value = change
    data = json.loads(json.dumps(TINY))
    if key is None and value is None:
        del data[section]
    elif key is None:
        data[section] = value
    else:
        data[section][key] = value
    cfg = write(tmp_path / "bad.yaml", data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_wm_experiment(cfg)
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.sw.wm", str(cfg), "--runs",
                           str(tmp_path / "runs"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()


def test_time_constant_is_chosen_on_validation_not_test():
    from ipnet_mtj.sw.wm.report import choose_taus, tau_key
    exp, _ = load_wm_experiment(write(Path(pytest.importorskip("tempfile").mkdtemp()) / "w.yaml",
                                      TINY | {"decay": {"tau_th_ns": [5.0, 2.0]}}))

    def run(val, test):
        return {"history": [{"test": val}], "scores": {"dprime": test}}
    groups = {("nback1", tau_key(10)): [run(0.7, 9.0), run(0.7, 9.0)],
              ("nback1", tau_key(5)): [run(0.9, 0.1), run(0.86, 0.1)],
              ("nback1", tau_key(2)): [run(0.85, 0.1), run(0.85, 0.1)],
              ("recall", tau_key(10)): [run(0.6, 0.0)], ("recall", tau_key(2)): [run(0.6, 1.0)],
              ("nback2", tau_key(2)): [{"history": [], "diverged": "x"}],
              ("nback2", tau_key(5)): [run(0.1, 0.0)]}
    taus = choose_taus(exp, groups, 10.0)
    assert taus["nback1"]["chosen"] == 5.0          # 0.88 on validation, though 0.1 on test
    assert taus["nback1"]["validation"]["5"]["mean"] == pytest.approx(0.88)
    assert taus["recall"]["chosen"] == 10.0         # a tie keeps the card's (menu order)
    assert taus["nback2"]["chosen"] == 5.0          # a diverged run scores -inf


def test_matched_baseline_never_has_more_parameters_than_ipnet(report):
    tmp, _ = report
    data = json.loads((tmp / "docs" / "working-memory.json").read_text())["parameters"]
    from ipnet_mtj.sw.nets import build_model, count_parameters
    from ipnet_mtj.sw.wm.data import wm_task
    exp, _ = load_wm_experiment(tmp / "wm.yaml")
    for task, count in data["lstm_matched"].items():
        assert count <= data["ipnet"][task]
        # the widest that fits: one feature more would pass IPNet's count
        width = next(f for f in range(1, 17)
                     if count_parameters(build_model("lstm", wm_task(exp, task), features=f))
                     == count)
        wider = build_model("lstm", wm_task(exp, task), features=width + 1)
        assert count_parameters(wider) > data["ipnet"][task]
    md = (tmp / "docs" / "working-memory.md").read_text()
    assert "LSTM, IPNet's size" in md


def test_the_earlier_set_up_has_its_own_runs():
    from ipnet_mtj.sw.wm.runs import wm_run_hash
    exp, design = load_wm_experiment(write(Path(pytest.importorskip("tempfile").mkdtemp())
                                           / "w.yaml", TINY))
    hashes = {m: wm_run_hash(exp, design, WMSpec("nback1", m, 0, lr=0.01))
              for m in ("ipnet", "ipnet_earlier", "framesum")}
    assert len(set(hashes.values())) == 3


def test_runs_with_fractional_tau_have_their_own_files(tmp_path):
    from ipnet_mtj.sw.wm.runs import WMSpec, wm_paths
    paths = {p for s in (0, 1) for tau in (2.5, 2.0, None)
             for p in wm_paths(tmp_path, WMSpec("nback1", "ipnet", s, lr=0.01, tau_th_ns=tau))}
    assert len(paths) == 12
    assert wm_paths(tmp_path, WMSpec("recall", "ipnet", 1, lr=0.003, tau_th_ns=2.5))[1].name \
        == "recall-ipnet-tau2.5-lr0.003-s1.json"
