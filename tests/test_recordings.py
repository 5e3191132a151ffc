"""Recorded event-camera data (docs/real-data.md): each file format read back to the events
the test wrote (tests/recording_files.py writes them byte by byte, apart from the readers),
binning against hand-computed frames, one line for every corrupt, truncated or missing file,
and the fixtures as a data root through training, the golden model and the RTL."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import recording_files as rf
from helpers import ROOT
from ipnet_mtj.sw.data.datasets import TASKS, DataConfig, load_split, make_split
from ipnet_mtj.sw.data.recordings import aedat, ddd20, dvsgesture, nmnist
from ipnet_mtj.sw.data.recordings.events import DataError
from ipnet_mtj.sw.data.recordings.framing import Binning, frame_stats, to_frames
from ipnet_mtj.sw.data.recordings.tasks import ENV_ROOT, Recordings


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return root, rf.fixture_root(root)


@pytest.fixture
def data_root(fixtures, monkeypatch):
    monkeypatch.setenv(ENV_ROOT, str(fixtures[0]))
    return fixtures[0]


def _ev(x, y, t, p):
    out = np.empty(len(t), dtype=[("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    out["x"], out["y"], out["t"], out["p"] = x, y, t, p
    return out


# ---- each format gives back what was written -------------------------------------------

def test_aedat31_reads_the_written_events(fixtures):
    root, written = fixtures
    x, y, t, p = written["gestures"]["user01_fluorescent"]
    ev = aedat.read_aedat31(root / "DVSGesture/DvsGesture/user01_fluorescent.aedat")
    assert len(ev) == len(t) == 11 * 240            # the invalid and special events are not events
    for k, a in zip("xytp", (x, y, t, p)):
        assert np.array_equal(ev[k], a), k


def test_aedat31_timestamp_overflow_extends_time(tmp_path):
    path = tmp_path / "o.aedat"
    head = rf._packet(1, [rf.struct.pack("<Ii", rf._word(3, 4, 1), 7)], overflow=2)
    path.write_bytes(rf.HEADER + head)
    ev = aedat.read_aedat31(path)
    assert ev["t"].tolist() == [7 + 2 * 2 ** 31] and (ev["x"][0], ev["y"][0], ev["p"][0]) == (3, 4, True)


def test_gesture_labels_cut_the_recording(fixtures):
    root, written = fixtures
    gs = dvsgesture.gestures(root / "DVSGesture", "train")
    assert len(gs) == 22 and sorted(g.label for g in gs[:11]) == list(range(11))
    x, y, t, p = written["gestures"]["user01_fluorescent"]
    g = gs[3]
    inside = (t >= g.start) & (t < g.end)
    assert np.array_equal(dvsgesture.read_gesture(g)["t"], t[inside]) and inside.sum() == 240
    assert [g.file.name for g in dvsgesture.gestures(root / "DVSGesture", "test")][:1] == \
        ["user24_natural.aedat"]


def test_tonic_gesture_layout(tmp_path):
    rng = np.random.default_rng(1)
    for split, user in (("ibmGestureTrain", "user01_led"), ("ibmGestureTest", "user25_led")):
        (tmp_path / split / user).mkdir(parents=True)
    x, y, t, p = rf.gesture_events(4, 2000, 900_000, rng)      # tonic's files hold ms: t / 1000
    np.save(tmp_path / "ibmGestureTrain/user01_led/4.npy",
            np.stack([x, y, p.astype(int), t / 1000], axis=1))
    np.save(tmp_path / "ibmGestureTest/user25_led/0.npy", np.zeros((1, 4)))
    (g,) = dvsgesture.gestures(tmp_path, "train")
    assert (g.label, g.start, g.end) == (4, t.min(), t.max() + 1)
    ev = dvsgesture.read_gesture(g)
    assert np.array_equal(ev["t"], t) and np.array_equal(ev["x"], x) and np.array_equal(ev["p"], p)


def test_nmnist_reads_the_written_events_across_an_overflow(tmp_path):
    rng = np.random.default_rng(2)
    x, y, t, p = rf.gesture_events(7, 0, 300_000, rng, count=100, sensor=34)
    path = tmp_path / "00001.bin"
    rf.nmnist_bin(path, x, y, t, p)
    assert path.stat().st_size == 5 * 101             # 100 events and one overflow record
    ev = nmnist.read_digit(path)
    for k, a in zip("xytp", (x, y, t, p)):
        assert np.array_equal(ev[k], a), k


def test_ddd20_reads_events_in_host_time_and_steering(fixtures):
    root, _ = fixtures
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 346, 100), rng.integers(0, 260, 100)
    t, p = np.sort(rng.integers(5, 10_000, 100)), rng.random(100) < 0.5
    path = root.parent / "one.hdf5"
    rf.ddd20_hdf5(path, x, y, t, p, 1_000_000, [1_000_000, 1_005_000], [10.0, -20.0])
    ev, steer = ddd20.read_drive(path)
    # host time = device time + (first packet's host stamp - its first event's device time)
    assert np.array_equal(ev["t"], t + 1_000_000) and np.array_equal(ev["x"], x)
    assert np.array_equal(ev["y"], y) and np.array_equal(ev["p"], p)
    assert steer.tolist() == [[1_000_000, 10.0], [1_005_000, -20.0]]    # the padding is gone
    # sample and hold at each frame's end (exclusive), divided by 180 degrees
    got = ddd20.steering_at(steer, [999_000, 1_000_001, 1_005_000, 1_005_001, 2_000_000])
    assert got.tolist() == pytest.approx([10 / 180, 10 / 180, 10 / 180, -20 / 180, -20 / 180])


# ---- events to frames ------------------------------------------------------------------

def test_time_binning_known_answer():
    # an 8 x 8 sensor to 4 x 4 frames (2 x 2 blocks), 3 frames of 10 us from t = 100
    ev = _ev(x=[0, 1, 7, 2, 3, 5, 0, 4],
             y=[0, 1, 7, 0, 6, 5, 0, 4],
             t=[99, 100, 109, 110, 115, 129, 130, 105],
             p=[1, 1, 0, 1, 0, 1, 1, 0])
    frames, ends = to_frames(ev, (8, 8), 4, 3, 100, Binning("time", 10))
    want = np.zeros((3, 2, 4, 4), np.float32)
    want[0, 0, 0, 0] = 1          # (1, 1) at t 100: ON, block (0, 0); t 99 is before the start
    want[0, 1, 3, 3] = 1          # (7, 7) at t 109: OFF
    want[0, 1, 2, 2] = 1          # (4, 4) at t 105: OFF (file order does not matter)
    want[1, 0, 0, 1] = 1          # (2, 0) at t 110: ON, row 0, column 1
    want[1, 1, 3, 1] = 1          # (3, 6) at t 115: OFF, row 3, column 1
    want[2, 0, 2, 2] = 1          # (5, 5) at t 129; t 130 is after the last frame
    assert np.array_equal(frames, want) and ends.tolist() == [110, 120, 130]


def test_count_binning_known_answer():
    ev = _ev(x=[0, 1, 2, 3, 4], y=[0, 0, 0, 0, 0], t=[50, 10, 30, 30, 5], p=[1, 0, 1, 1, 1])
    frames, ends = to_frames(ev, (8, 8), 4, 3, 10, Binning("count", None, 2))
    # t >= 10, stably by time: (1, t10, OFF), (2, t30), (3, t30), (0, t50); t 5 is before
    want = np.zeros((3, 2, 4, 4), np.float32)
    want[0, 1, 0, 0] = 1
    want[0, 0, 0, 1] = 1
    want[1, 0, 0, 1] = 1
    want[1, 0, 0, 0] = 1
    assert np.array_equal(frames, want) and ends.tolist() == [31, 51, 51]


def test_downsampling_of_34_to_32_keeps_every_pixel():
    xs = np.arange(34)
    ev = _ev(xs, xs, np.zeros(34), np.ones(34, bool))
    frames, _ = to_frames(ev, (34, 34), 32, 1, 0, Binning("time", 1))
    # floor(32 x / 34): x 0 and 1 -> 0, x 17 and 18 -> 16, the rest one each
    assert frames.sum() == 34 and frames[0, 0].diagonal().tolist() == [2] + [1] * 15 + [2] + [1] * 15


def test_frame_stats_known_answer():
    x = np.zeros((1, 2, 2, 2, 2))
    x[0, 0, 0, 0, 0] = 20          # 5 over the top of width 4 (15)
    x[0, 0, 1, 0, 0] = 1           # same pixel, OFF
    x[0, 1, 0, 1, 1] = 3
    st = frame_stats(x, 4)
    assert st == {"events_per_frame": 12.0, "density": 2 / 8, "saturated_pixels": 1 / 3,
                  "events_lost": 5 / 24}


# ---- tasks -----------------------------------------------------------------------------

def test_played_backwards_mirrors_frames_and_swaps_polarity(data_root):
    # 16 frames of 50 ms span each fixture gesture (0.8 s) exactly: frame k mirrors 15 - k.
    # The test split is one recording: each class once, so a twin has one forward gesture.
    cfg = DataConfig(test=10_000, recordings=Recordings(frame_us=50_000))
    x11, y11 = make_split("dvsgesture", cfg, "test")
    x22, y22 = make_split("dvsgesture22", cfg, "test")
    assert len(x22) == 2 * len(x11) == 22 and sorted(y22.tolist()) == list(range(22))
    fwd = {int(y): x for x, y in zip(x11, y11)}
    twins = [(x, int(y) - 11) for x, y in zip(x22, y22) if y >= 11]
    assert len(twins) == 11 and x11.sum() == 11 * 240
    for x, c in twins:
        assert np.array_equal(x, fwd[c][::-1, ::-1])
    for x, y in zip(x22, y22):
        if y < 11:
            assert np.array_equal(x, fwd[int(y)])


def test_split_order_is_seeded_and_cut_to_the_count(data_root):
    listing = sorted((data_root / "NMNIST/Train").glob("*/*.bin"))      # 20, sorted by path
    for seed in (3, 4):
        y = make_split("nmnist", DataConfig(train=7, seed=seed), "train")[1]
        want = [int(listing[i].parent.name) for i in np.random.default_rng(seed).permutation(20)[:7]]
        assert y.tolist() == want


def test_steering_windows_and_targets(fixtures, data_root):
    """Windows and targets from what the fixture wrote (not from the reader): events at host
    time, 0.8 s windows from the first event, the angle held at each 50 ms frame's end."""
    x_, y_, t, p_, st, deg = fixtures[1]["drives"][-1]            # the test drive
    cfg = DataConfig(recordings=Recordings())
    x, y = make_split("steering_ddd20", cfg, "test")
    n = (t[-1] - t[0] + 1) // 800_000                              # whole windows only
    order = np.random.default_rng(0).permutation(n)
    assert n == 4 and x.shape == (n, 16, 2, 32, 32) and y.shape == (n, 16)
    for slot, w in enumerate(order):
        start = t[0] + 800_000 * w
        ends = start + 50_000 * np.arange(1, 17)
        held = [deg[st <= e - 1][-1] / 180 for e in ends]
        assert y[slot].tolist() == pytest.approx(np.float32(held).tolist())
        inside = (t >= start) & (t < start + 800_000)
        assert x[slot].sum() == inside.sum()
        k = (t[inside] - start) // 50_000                          # frame of each event
        on = p_[inside]
        for f in (0, 7, 15):
            assert x[slot, f, 0].sum() == np.sum((k == f) & on)
            assert x[slot, f, 1].sum() == np.sum((k == f) & ~on)
    cnt = make_split("steering_ddd20", DataConfig(recordings=Recordings(binning="count",
                                                                        frame_events=40)), "test")
    assert cnt[0].shape == (3000 // 640, 16, 2, 32, 32) and cnt[0].sum() == 4 * 16 * 40


def test_denoise_that_empties_a_drive_is_one_line(data_root):
    # the fixture's events are sparse noise: a 50 us filter removes (nearly) all of them
    with pytest.raises(DataError, match=r"DDD20: the test drives are shorter than one sample "
                                        r"\(16 frames\)$"):
        make_split("steering_ddd20", DataConfig(recordings=Recordings(denoise_us=50)), "test")


def test_bad_tonic_npy_is_one_line(tmp_path):
    for split, user in (("ibmGestureTrain", "user01_led"), ("ibmGestureTest", "user25_led")):
        (tmp_path / split / user).mkdir(parents=True)
    np.save(tmp_path / "ibmGestureTrain/user01_led/3.npy", np.array([[1, 2, 1, np.nan]]))
    with pytest.raises(DataError, match=r"3.npy: x, y and p must be whole numbers and t finite$"):
        dvsgesture.gestures(tmp_path, "train")


def test_cache_is_reused_and_keyed_by_the_files(data_root, tmp_path):
    cfg = DataConfig(recordings=Recordings())
    x, _ = load_split("nmnist", cfg, "test", tmp_path)
    (cached,) = tmp_path.glob("nmnist-test-*.npz")
    assert np.array_equal(load_split("nmnist", cfg, "test", tmp_path)[0], x)
    moved = tmp_path / "moved"
    shutil.copytree(data_root, moved, copy_function=shutil.copy2)      # same names, sizes, times
    os.environ[ENV_ROOT] = str(moved)
    load_split("nmnist", cfg, "test", tmp_path)
    assert len(list(tmp_path.glob("nmnist-test-*.npz"))) == 1          # moving the root: same key
    f = sorted((moved / "NMNIST/Test/0").glob("*.bin"))[0]
    os.utime(f, ns=(1, 1))                           # the recording changed: read it again
    load_split("nmnist", cfg, "test", tmp_path)
    assert len(list(tmp_path.glob("nmnist-test-*.npz"))) == 2


def test_run_hash_of_generated_tasks_is_unchanged():
    """A generated-task experiment hashes its data as before recorded tasks existed (its runs
    and checkpoints stay valid); a recorded one without the data root."""
    import dataclasses
    plain = dataclasses.asdict(DataConfig())
    del plain["recordings"]
    assert DataConfig().describe() == plain
    a = DataConfig(recordings=Recordings(root="/a")).describe()
    assert a == DataConfig(recordings=Recordings(root="/b")).describe()
    assert "root" not in a["recordings"] and a["recordings"]["binning"] == "time"


def test_environment_root_comes_before_the_config(data_root, tmp_path):
    cfg = DataConfig(recordings=Recordings(root=str(tmp_path / "elsewhere")))
    assert len(make_split("dvsgesture", cfg, "test")[0]) == 11
    os.environ.pop(ENV_ROOT)
    with pytest.raises(DataError, match="elsewhere/DVSGesture: no DVS128 Gesture data"):
        make_split("dvsgesture", cfg, "test")
    with pytest.raises(DataError, match=f"^no data root: set {ENV_ROOT} or data.recordings.root"):
        make_split("dvsgesture", DataConfig(), "test")


def test_recorded_tasks_are_appended_last():
    assert list(TASKS)[:6] == ["gestures11", "gestures22", "digits", "digits_ahead", "steering",
                               "gestures22m"]
    assert [t for t in TASKS if TASKS[t].source == "recorded"] == list(TASKS)[6:]


# ---- bad files: one line each ----------------------------------------------------------

def _copy_root(fixtures, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(fixtures[0], root)
    return root


def _aedat(root):
    return root / "DVSGesture/DvsGesture/user01_fluorescent.aedat"


def _cut(path, n):
    path.write_bytes(path.read_bytes()[:n])


def _set_number(path, offset, number):
    raw = bytearray(path.read_bytes())
    raw[offset + 20:offset + 24] = rf.struct.pack("<i", number)       # eventNumber
    path.write_bytes(bytes(raw))


def _corrupt_x(path, offset):
    raw = bytearray(path.read_bytes())
    raw[offset:offset + 4] = rf.struct.pack("<I", rf._word(200, 3, 1))
    path.write_bytes(bytes(raw))


CASES = {
    "aedat truncated": (lambda r: _cut(_aedat(r), len(rf.HEADER) + 36 + 28 + 100),
                        "user01_fluorescent.aedat: truncated at byte {h36}: the packet holds 432 "
                        "bytes of events, 100 left"),
    "aedat header cut": (lambda r: _cut(_aedat(r), 30),
                         "user01_fluorescent.aedat: truncated AEDAT header (no '#!END-HEADER' line)"),
    "aedat not aedat": (lambda r: _aedat(r).write_bytes(b"hello"),
                        "user01_fluorescent.aedat: not an AEDAT 3.x file (its first line is not "
                        "'#!AER-DAT3.x')"),
    "aedat corrupt event": (lambda r: _corrupt_x(_aedat(r), len(rf.HEADER) + 36 + 28 + 8),
                            "user01_fluorescent.aedat: corrupt event 0 (counting valid events): "
                            "pixel (200, 3) outside the 128x128 sensor"),
    "labels corrupt": (lambda r: (r / "DVSGesture/DvsGesture/user02_led_labels.csv").write_text(
                           "class,startTime_usec,endTime_usec\n12,5,9\n"),
                       "user02_led_labels.csv: line 2: class must be 1..11 and start < end, got "
                       "'12,5,9'"),
    "labels empty": (lambda r: [(r / "DVSGesture/DvsGesture" / f"{u}_labels.csv").write_text(
                         "class,startTime_usec,endTime_usec\n") for u in ("user01_fluorescent",
                                                                          "user02_led")],
                     "{root}/DVSGesture: the train split holds no gestures (its labels CSVs have "
                     "no rows)"),
    "labels not ascii": (lambda r: (r / "DVSGesture/DvsGesture/user02_led_labels.csv")
                         .write_bytes(b"class\xff"),
                         "user02_led_labels.csv: not a labels CSV (byte 5 is not ASCII)"),
    "negative count": (lambda r: _set_number(_aedat(r), len(rf.HEADER) + 36, -5),
                       "user01_fluorescent.aedat: corrupt packet header at byte {h36} (eventSize "
                       "8, eventCapacity 54, eventNumber -5)"),
    "recording missing": (lambda r: (r / "DVSGesture/DvsGesture/user02_led.aedat").unlink(),
                          "user02_led.aedat: missing (listed in {root}/DVSGesture/DvsGesture/"
                          "trials_to_train.txt); the data set is incomplete"),
    "gesture missing": (lambda r: shutil.rmtree(r / "DVSGesture"),
                        "{root}/DVSGesture: no DVS128 Gesture data (expected DvsGesture/"
                        "trials_to_train.txt, trials_to_test.txt and the userNN_<lighting>.aedat "
                        "recordings with their _labels.csv, or tonic's ibmGestureTrain/ and "
                        "ibmGestureTest/); published at https://research.ibm.com/interactive/"
                        "dvsgesture/ (DvsGesture.tar.gz)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_gesture_files_one_line_through_the_cli(fixtures, tmp_path, case):
    root = _copy_root(fixtures, tmp_path)
    damage, message = CASES[case]
    damage(root)
    cfg = tmp_path / "real.yaml"
    for f in (ROOT / "configs").glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow.cli", "data", str(cfg), "--task",
                           "dvsgesture", "--runs", str(tmp_path / "runs")], capture_output=True,
                          text=True, env={**os.environ, ENV_ROOT: str(root)})
    h36 = len(rf.HEADER) + 36
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert proc.stderr.rstrip().endswith(message.format(root=root, h36=h36)), proc.stderr
    assert not list((tmp_path / "runs").rglob("*.npz"))          # nothing cached half-written


def test_bad_nmnist_and_ddd20_files_one_line(tmp_path):
    bin_ = tmp_path / "1.bin"
    rf.nmnist_bin(bin_, [1, 2], [1, 2], [5, 6], [1, 0])
    _cut(bin_, 7)
    with pytest.raises(DataError, match=r"1.bin: truncated \(7 bytes is not a whole number of "
                                        r"5-byte events\)$"):
        nmnist.read_digit(bin_)
    rf.nmnist_bin(bin_, [40], [1], [5], [1])
    with pytest.raises(DataError, match=r"1.bin: corrupt event 0: pixel \(40, 1\) outside the "
                                        r"34x34 sensor$"):
        nmnist.read_digit(bin_)
    h5 = tmp_path / "rec1.hdf5"
    rf.ddd20_hdf5(h5, [1], [1], [5], [1], 100, [0], [1.0])
    raw = h5.read_bytes()
    _cut(h5, len(raw) // 2)
    with pytest.raises(DataError, match=r"rec1.hdf5: not a readable HDF5 file \("):
        ddd20.read_drive(h5)
    h5.write_bytes(b"\x89HDF garbage")
    with pytest.raises(DataError, match=r"rec1.hdf5: not a readable HDF5 file"):
        ddd20.read_drive(h5)
    import h5py
    with h5py.File(h5, "w") as fh:
        fh["dvs/timestamp"] = np.zeros(1, np.int64)
    with pytest.raises(DataError, match=r"rec1.hdf5: no dvs/data table \(not a DDD20 recording\)$"):
        ddd20.read_drive(h5)
    with pytest.raises(DataError, match=r"NMNIST/Test: no N-MNIST recordings \(expected "
                                        r"Test/<digit>/\*.bin"):
        nmnist.files(tmp_path / "NMNIST", "test")
    with pytest.raises(DataError, match=r"DDD20: DDD20 needs at least 2 recordings"):
        ddd20.files(tmp_path / "DDD20", "test")


# ---- the whole flow on the fixtures ----------------------------------------------------

def _fixture_configs(tmp_path):
    """The shipped configs in ``tmp_path``, real.yaml's sample counts cut to the fixtures."""
    for f in (ROOT / "configs").glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    exp = (tmp_path / "real.yaml").read_text()
    for old, new in (("  train: 6000", "  train: 22  #"), ("  test: 2000", "  test: 11"),
                     ("  validation: 240", "  validation: 6  #")):
        assert old in exp
        exp = exp.replace(old, new)
    (tmp_path / "real.yaml").write_text(exp)


def _ipnet(root, tmp_path, *args):
    proc = subprocess.run([sys.executable, "-m", "ipnet_mtj.flow.cli", *args, "--runs",
                           str(tmp_path / "runs")], capture_output=True, text=True,
                          env={**os.environ, ENV_ROOT: str(root)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.splitlines()


def test_fixtures_as_data_root_train_golden_and_rtl(fixtures, tmp_path):
    """The user's commands on the shipped description and experiment, with the fixtures as the
    data root and the sizes cut to them."""
    from ipnet_mtj.sim.runner import simulator_available
    _fixture_configs(tmp_path)
    net = str(tmp_path / "network_dvsgesture.yaml")
    out = _ipnet(fixtures[0], tmp_path, "train", net, "--epochs", "1", "--qat-epochs", "1")
    assert out[0].startswith("ipnet_dvsgesture on dvsgesture: float ")
    assert (tmp_path / "trained/ipnet_dvsgesture.npz").exists()
    out = _ipnet(fixtures[0], tmp_path, "eval", net)
    assert out[1].startswith("measured now by the integer golden model on 11 test sequences: ")
    ok, why = simulator_available("verilator")
    if not ok:
        pytest.skip(f"the RTL step skipped: {why}")
    out = _ipnet(fixtures[0], tmp_path, "eval", net, "--backend", "rtl", "--sequences", "2",
                 "--out", str(tmp_path / "build"))
    assert out[-1].startswith("same prediction on 2 of 2 sequences; ") and " 0 mismatches;" in out[-1]


def test_recorded_tasks_in_the_experiment_grid(fixtures, tmp_path):
    """`ipnet data` reports every recorded set; a grid run trains on each (one epoch)."""
    _fixture_configs(tmp_path)
    cfg = str(tmp_path / "real.yaml")
    out = _ipnet(fixtures[0], tmp_path, "data", cfg)
    table = [line.split() for line in out[out.index(next(l for l in out if l.startswith("task"))) + 1:]]
    assert [(r[0], r[1], r[2]) for r in table] == [
        ("dvsgesture", "train", "22"), ("dvsgesture", "test", "11"),
        ("dvsgesture22", "train", "22"), ("dvsgesture22", "test", "11"),   # cut to the counts
        ("nmnist", "train", "20"), ("nmnist", "test", "10"),
        ("steering_ddd20", "train", "8"), ("steering_ddd20", "test", "4")]   # 4 per drive
    assert float(table[0][4]) == pytest.approx(22 * 240 / (22 * 16))   # events per frame
    for task, model in (("dvsgesture22", "ipnet"), ("nmnist", "lstm"), ("steering_ddd20", "gru")):
        out = _ipnet(fixtures[0], tmp_path, "train", cfg, "--task", task, "--model", model,
                     "--epochs", "1")
        assert any(line.startswith(f"{task}-{model}-") and " at epoch 1 of 1, " in line
                   for line in out), out
