"""``pip install .`` puts one package, ipnet_mtj, into site-packages: nothing generic such as
sw, hw, gen or sim, which would collide with other projects."""

import shutil
import subprocess
import sys
import zipfile

from helpers import ROOT


def test_wheel_has_one_top_level_package(tmp_path):
    src = tmp_path / "src"           # a copy: building in the repo would write into build/
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("sw", "hw", "gen", "sim", "flow"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--quiet", "-w", str(tmp_path / "dist"),
                           str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel, = (tmp_path / "dist").glob("ipnet_mtj-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"ipnet_mtj"}
    assert "ipnet_mtj/sw/fixed.py" in names and "ipnet_mtj/sim/tb_network.py" in names
    assert "ipnet_mtj/flow/cli.py" in names and "ipnet_mtj/sw/jobs/runner.py" in names
    assert "ipnet_mtj/hw/lint.vlt" in names           # package data the lint and benches read
    assert "ipnet_mtj/sw/wm/templates/working_memory.md.j2" in names   # the report's words
    assert "ipnet_mtj/sw/train/templates/results.md.j2" in names
    assert "ipnet_mtj/gen/templates/report.html.j2" in names
    assert "ipnet_mtj/sim/templates/harness.v.j2" in names           # the benches' harnesses
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"ipnet = ipnet_mtj.flow.cli:entry" in entry
