"""The reports are templates filled from their records: rendering a shipped results.md again
from the results.json it was written with gives the shipped file byte for byte, so a change to
the words of sw/train/templates/results.md.j2 (or to a helper's formatting) is caught here."""

import json

import pytest

from helpers import ROOT
from ipnet_mtj.sw.train.results import markdown_from_json

SHIPPED = [("configs/results.yaml", "docs/results.json", "docs/results.md"),
           ("configs/devices.yaml", "docs/devices/results.json", "docs/devices/results.md"),
           ("configs/robust.yaml", "docs/robust/results.json", "docs/robust/results.md")]


@pytest.mark.parametrize("config, record, page", SHIPPED, ids=["results", "devices", "robust"])
def test_shipped_results_page_renders_again_from_its_json(config, record, page):
    assert json.loads((ROOT / record).read_text())["meta"]["config"] == config
    text = markdown_from_json(ROOT / config, ROOT / record)
    shipped = (ROOT / page).read_text()
    if text != shipped:                      # name the first line that differs
        new, old = text.splitlines(), shipped.splitlines()
        line = next((i for i, (a, b) in enumerate(zip(new, old)) if a != b),
                    min(len(new), len(old)))
        pytest.fail(f"{page} line {line + 1} differs:\nshipped: "
                    f"{old[line] if line < len(old) else '(end)'}\nrendered: "
                    f"{new[line] if line < len(new) else '(end)'}")


def test_build_report_escapes_each_value_once(tmp_path):
    """gen/templates/report.html.j2 is autoescaped as html.escape does (quotes too); the HTML
    tables tabulate escapes are not escaped again. A folder before `make sim` and `make synth`
    says so."""
    from ipnet_mtj.gen.network import load_network_design
    from ipnet_mtj.gen.report import write_report

    net = load_network_design(ROOT / "configs" / "network.yaml").net
    (tmp_path / "manifest.json").write_text(json.dumps({
        "network": "a<b>&'c'", "network_file": 'x"y".yaml', "lanes": 4, "macs_per_frame": 9,
        "classes": 11, "checkpoint": {"file": "w<1>.npz", "accuracy": {"float": 0.5}}}))
    page = write_report(tmp_path, net).read_text()
    assert page.startswith("<!doctype html><html><head><meta charset='utf-8'><title>"
                           "a&lt;b&gt;&amp;&#x27;c&#x27;: build report</title>")
    assert "<h1>a&lt;b&gt;&amp;&#x27;c&#x27;: build report</h1>" in page
    assert "<p>Network x&quot;y&quot;.yaml, 4 lanes, 9 MACs per frame, 11 classes.</p>" in page
    assert "<td>w&lt;1&gt;.npz</td>" in page and "<td>float accuracy (whole test set)</td>" in page
    assert "&amp;lt;" not in page and "&amp;amp;" not in page and "&amp;#" not in page
    assert "<h2>Simulation</h2><p>No simulation yet: run <code>make sim</code>.</p>" in page
    assert "<h2>Synthesis</h2><p>No synthesis yet: run <code>make synth</code>.</p>" in page
    assert "</title><style>" in page and "</h1><p>Network" in page       # no line breaks added
    assert "</table><h2>" in page and page.endswith("</p></body></html>\n")
