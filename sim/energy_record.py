"""``ipnet asic --gate-level --record``: the neuron unit's measured energy as a JSON record.

docs/results.md's memory-energy table shows it (:func:`sw.train.results.cmos_record`) beside
the Horowitz estimates; when docs/results.json lies beside the record, the page is rendered
again with it so the two never disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

from ipnet_mtj.sw.cli import UsageError, write_atomically

__all__ = ["write_energy_record"]


def write_energy_record(path, report, design, library, neurons, activity, command):
    """The neuron unit's measured energy, for docs/results.md's memory-energy table
    (:func:`sw.train.results.cmos_record`), written atomically. ``command``: the command
    that measured it, as the record's source."""
    e = report["energy"]
    if len(e["neuron_unit_macros"]) != 1:
        raise UsageError(f"--record: the neuron unit has {len(e['neuron_unit_macros'])} RAM "
                         "macros, not one heat RAM")
    words, bits = (int(v) for v in e["neuron_unit_macros"][0].rsplit("_", 1)[1].split("x"))
    record = {"network": design.top, "library": f"{library.name} ({library.corner})",
              "sequences": activity["sequences"], "frames": activity["frames"],
              "activity_cycles": activity["cycles"],
              "sequences_compared": report["simulations"][0]["sequences"],
              "values_compared": sum(r["values_compared"] for r in report["simulations"]),
              "mismatches": sum(r["mismatches"] for r in report["simulations"]),
              "neuron_updates_per_frame": neurons, "heat_words": words, "heat_bits": bits,
              "neuron_unit_per_update_j": e["neuron_unit_per_update_j"],
              "energy_per_neuron_update_j": e["energy_per_neuron_update_j"],
              "energy_per_frame_j": e["energy_per_frame_j"],
              "mtj_pulse_energy_j": e["mtj_pulse_energy_j"],
              "command": command}
    text = json.dumps(record, indent=2) + "\n"
    write_atomically(Path(path), lambda tmp: Path(tmp).write_text(text))
    print(f"energy record: {path}")
    results = Path(path).parent / "results.json"     # docs/results.md shows it: render again
    if results.exists():
        from ipnet_mtj.sw.train.results import markdown_from_json
        page = markdown_from_json(json.loads(results.read_text())["meta"]["config"], results)
        write_atomically(results.with_name("results.md"), lambda tmp: Path(tmp).write_text(page))
        print(f"rendered again with it: {results.with_name('results.md')}")
