"""The reports are templates filled from their records: rendering a shipped results.md again
from the results.json it was written with gives the shipped file byte for byte, so a change to
the words of sw/train/templates/results.md.j2 (or to a helper's formatting) is caught here."""

import json

import pytest

from helpers import ROOT
from ipnet_mtj.sw.train.results import markdown_from_json

SHIPPED = [("configs/results.yaml", "docs/results.json", "docs/results.md"),
           ("configs/devices.yaml", "docs/devices/results.json", "docs/devices/results.md")]


@pytest.mark.parametrize("config, record, page", SHIPPED, ids=["results", "devices"])
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
