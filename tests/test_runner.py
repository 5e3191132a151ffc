"""The flow's one job runner (sw/jobs): local worker processes and a Ray cluster (a private local
Ray instance with 2 workers here) give the same results, on plain jobs, on a small experiment
grid through `ipnet results`, and on a simulation split into shards; a job's error reaches the
caller as the job raised it; bad options are one line."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from helpers import ROOT, experiment_designs
from ipnet_mtj.gen.network import generate_network, load_network_design
from ipnet_mtj.sim.network import load_test_sequences
from ipnet_mtj.sim.runner import merge_shard_reports, run_network_bench, simulator_available
from ipnet_mtj.sw.cli import UsageError
from ipnet_mtj.sw.config import ConfigError
from ipnet_mtj.sw.jobs import JobRunner, content_hash

NETWORK = ROOT / "configs" / "network.yaml"


def draw(seed, n):
    """A job whose result depends only on its arguments."""
    return np.random.default_rng(seed).integers(0, 1000, size=n).tolist()


def refuse(path):
    raise ConfigError(f"{path}: design.tau_th_ns: must be > 0, got -1.0")


@pytest.fixture(scope="module")
def ray_runner():
    with JobRunner(workers=2, cluster="local") as runner:
        yield runner


def test_local_and_ray_give_the_same_results_in_order(ray_runner):
    items = [(seed, 5) for seed in range(6)]
    with JobRunner(workers=2) as local:
        assert local.engine == "local" and local.describe() == "2 local workers"
        here = local.map(draw, items)
    there = ray_runner.map(draw, items)
    assert ray_runner.engine == "ray"
    assert ray_runner.describe() == "2 CPUs of a private local Ray instance"
    assert here == there == [draw(*item) for item in items]


def test_a_job_error_is_the_jobs_own(ray_runner):
    with JobRunner(workers=2) as local:
        for runner in (local, ray_runner):
            with pytest.raises(ConfigError) as info:
                runner.submit(refuse, "x.yaml").result()
            assert type(info.value) is ConfigError
            assert str(info.value) == "x.yaml: design.tau_th_ns: must be > 0, got -1.0"


def test_wait_returns_finished_and_pending(ray_runner):
    jobs = [ray_runner.submit(draw, s, 3, key=s) for s in range(3)]
    finished, pending = ray_runner.wait(jobs)
    assert finished and len(finished) + len(pending) == 3
    assert {j.key for j in ray_runner.as_completed(jobs)} == {0, 1, 2}


def test_bad_runner_options_are_one_line():
    with pytest.raises(UsageError, match=r"^--workers: must be >= 1, got 0$"):
        JobRunner(workers=0)
    with pytest.raises(UsageError) as info:
        with JobRunner(cluster="127.0.0.1:9"):
            pass
    assert str(info.value).startswith("--cluster 127.0.0.1:9: cannot connect to Ray (nothing "
                                      "answers at 127.0.0.1:9")


def test_content_hash_is_canonical_json():
    # by hand: sha256 of '{"a": 1}' (sorted keys, Python's default separators)
    assert content_hash({"a": 1}) == "f9d86028c6e0d64e"
    assert content_hash({"b": [1, 2], "a": None}) == content_hash({"a": None, "b": [1, 2]})
    assert content_hash({"a": None}) != content_hash({})
    assert len(content_hash([1], length=None)) == 64


def test_merged_shard_reports_count_by_hand():
    """Shards of 3 and 2 sequences: 2 + 1 correct of 5, cycles and values summed."""
    shard = {"network": "n", "stress": True, "simulator": "verilator", "sequence_offset": 0}
    a = dict(shard, sequences=3, frames=6, values_compared=100, mismatches=0,
             first_mismatches=[], hardware_accuracy=2 / 3, golden_accuracy=2 / 3,
             same_prediction=3, predictions=[1, 2, 3], cycles=600, wall_s=4.0)
    b = dict(shard, sequences=2, frames=4, values_compared=50, mismatches=2,
             first_mismatches=["seq 4 label"], hardware_accuracy=0.5, golden_accuracy=1.0,
             same_prediction=1, predictions=[4, 5], cycles=500, wall_s=5.0, sequence_offset=3)
    m = merge_shard_reports([a, b])
    assert (m["sequences"], m["frames"], m["values_compared"], m["mismatches"]) == (5, 10, 150, 2)
    assert m["hardware_accuracy"] == 3 / 5 and m["golden_accuracy"] == 4 / 5
    assert m["predictions"] == [1, 2, 3, 4, 5] and m["first_mismatches"] == ["seq 4 label"]
    assert m["cycles_per_frame"] == 110.0 and m["wall_s"] == 5.0 and m["shards"] == 2


@pytest.fixture(scope="module")
def build_and_stimulus(tmp_path_factory):
    if not simulator_available("verilator")[0]:
        pytest.skip("verilator runs skipped: verilator not found")
    design = load_network_design(NETWORK)
    build = generate_network(design, tmp_path_factory.mktemp("build"))
    x, y = load_test_sequences(design, 3)
    path = tmp_path_factory.mktemp("stim") / "stim.npz"
    np.savez(path, x=x[:, :2], y=y)
    return build, path


def _figures(report):
    return {k: v for k, v in report.items() if k not in ("wall_s", "shards")}


def test_sharded_simulation_equals_one_run(build_and_stimulus, ray_runner, tmp_path):
    """3 sequences of 2 frames: in this process, in 2 local shards and in 2 Ray shards; every
    figure equal, every value compared, no mismatch."""
    build, stim = build_and_stimulus
    # one work folder: Verilator's second and third builds are incremental (nothing changed)
    one = run_network_bench("verilator", build, NETWORK, stim, tmp_path)
    with JobRunner(workers=2) as local:
        two = run_network_bench("verilator", build, NETWORK, stim, tmp_path, runner=local)
    (tmp_path / "verilator" / "trace.npz").unlink()
    ray = run_network_bench("verilator", build, NETWORK, stim, tmp_path, runner=ray_runner)
    assert two["shards"] == ray["shards"] == 2 and "shards" not in one
    assert _figures(one) == _figures(two) == _figures(ray)
    assert one["mismatches"] == 0 and one["sequences"] == 3 and one["frames"] == 6
    assert one["values_compared"] == 6 * (2 * 2048 + 128 + 32 + 11 + 11 * 3 + 2) + 3
    assert (tmp_path / "verilator" / "trace.npz").exists()    # shard 0's record

    # a shard that fails before writing a report (its bench cannot load the network) is an
    # error, and the merged report of the run before it is gone, not taken for this run's
    with pytest.raises(RuntimeError, match="cocotb test failed|wrote no report"):
        run_network_bench("verilator", build, tmp_path / "missing.yaml", stim, tmp_path,
                          runner=ray_runner)
    assert not (tmp_path / "verilator" / "report.json").exists()


def test_a_wrong_weight_fails_the_sharded_run(build_and_stimulus, ray_runner, tmp_path):
    """One conv1 weight off by one LSB in the golden model's copy: the shards find mismatches,
    the run raises, and the merged report (kept for make sim's table) counts them."""
    build, stim = build_and_stimulus
    with np.load(build / "weights.npz") as z:
        saved = {k: z[k] for k in z.files}
    changed = dict(saved, w0=saved["w0"].copy())
    changed["w0"][3, 1, 2, 2] += 1 if saved["w0"][3, 1, 2, 2] < 127 else -1
    with open(build / "weights.npz", "wb") as fh:
        np.savez(fh, **changed)
    try:
        with pytest.raises(RuntimeError, match="cocotb test failed"):
            run_network_bench("verilator", build, NETWORK, stim, tmp_path, runner=ray_runner)
        report = json.loads((tmp_path / "verilator" / "report.json").read_text())
        assert report["shards"] == 2 and report["mismatches"] > 0
        assert "conv1" in report["first_mismatches"][0]
    finally:
        with open(build / "weights.npz", "wb") as fh:
            np.savez(fh, **saved)


def _tiny_experiment(folder):
    data = yaml.safe_load((ROOT / "configs" / "results.yaml").read_text())
    data["data"].update(size=16, steps=3, substeps=2, train=24, test=8)
    data["train"].update(max_epochs=1, patience=1, validation=8, seeds=[0, 1], lrs=[0.01],
                         features=8)
    data["integer"].update(epochs=1)
    data["spread"].update(chips=1, sigmas=[0.02], thermal_sigmas=[0.1])
    data.update(tasks=["gestures22m"], models=["ipnet", "framesum"], steering_only=[],
                ablation={"task": "gestures22m", "depths": [1], "variants": {}})
    experiment_designs(folder, data)
    path = folder / "exp.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_a_small_grid_gives_the_same_results_locally_and_on_ray(tmp_path):
    """`ipnet results` with 2 local workers, then from nothing with `--cluster local
    --workers 2` (a private Ray instance): the same results.json but for the header."""
    exp = _tiny_experiment(tmp_path)
    out = {}
    for name, extra in (("local", []), ("ray", ["--cluster", "local"])):
        proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.sw.train.cli", "results",
                               str(exp), "--runs", str(tmp_path / f"runs-{name}"),
                               "--out", str(tmp_path / f"docs-{name}"), "--workers", "2",
                               *extra], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "4 runs (0 of them ablation variants): 0 done, 4 to run" in proc.stdout
        out[name] = json.loads((tmp_path / f"docs-{name}" / "results.json").read_text())
        out[name].pop("meta")
    assert "2 CPUs of a private local Ray instance" in proc.stdout
    assert out["local"] == out["ray"]
    assert out["ray"]["tasks"]["gestures22m"]["models"]["ipnet"]["n"] == 2
    assert out["ray"]["quantisation"]["gestures22m"]["logits_equal"] == 1.0


def test_ctrl_c_stops_the_local_workers_at_once(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) while 2 workers run jobs
    of a minute with more queued: the command ends in seconds, no queued job starts."""
    script = tmp_path / "grid.py"
    script.write_text("import time\n"
                      "from ipnet_mtj.sw.jobs import JobRunner\n"
                      "with JobRunner(workers=2) as runner:\n"
                      "    print('running', flush=True)\n"
                      "    runner.map(time.sleep, [(60,)] * 6)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.stdout.readline() == "running\n"
    time.sleep(2)
    began = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - began < 30 and proc.returncode != 0


def test_cluster_local_is_a_new_instance_whatever_ray_address_says(tmp_path):
    """--cluster local starts its own Ray even where RAY_ADDRESS names another cluster."""
    code = ("from ipnet_mtj.sw.jobs import JobRunner\n"
            "with JobRunner(workers=1, cluster='local') as r:\n"
            "    print(r.map(abs, [(-3,)]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "RAY_ADDRESS": "127.0.0.1:9"}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[3]"


def test_an_activity_window_is_traced_alone(build_and_stimulus, tmp_path):
    """Built with switching-activity tracing: the shards run untraced and compare every
    sequence; one more job traces the first sequence's first frame, compared too."""
    from ipnet_mtj.gen.asic.saif import read_saif
    build, stim = build_and_stimulus
    with JobRunner(workers=2) as local:
        rep = run_network_bench("verilator", build, NETWORK, stim, tmp_path, runner=local,
                                activity_frames=1)
    assert rep["sequences"] == 3 and rep["frames"] == 6 and rep["mismatches"] == 0
    assert "saif" not in rep and not list((tmp_path / "verilator").glob("shard*/*.saif"))
    act = rep["activity"]
    assert act["sequences"] == 1 and act["frames"] == 1 and act["mismatches"] == 0
    assert act["values_compared"] == 2 * 2048 + 128 + 32 + 11 + 11 * 3 + 2 + 1
    [saif] = act["saif"]
    clk = read_saif(saif).scopes[("net_harness",)]["clk"]
    assert act["cycles"] <= clk.tc // 2 < act["cycles"] + 100
    with pytest.raises(ValueError, match="activity_frames needs Verilator, a job runner"):
        run_network_bench("verilator", build, NETWORK, stim, tmp_path, activity_frames=1)
