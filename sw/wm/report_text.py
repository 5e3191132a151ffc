"""The text of docs/working-memory.md, from the aggregated data of sw.wm.report.

The sentences that say whether a model shows a human trend are chosen by
:func:`sw.wm.report.shown` on the numbers of the same run.
"""

from __future__ import annotations

from tabulate import tabulate

from ipnet_mtj.sw.data.wm import CONDITIONS

from .report import _pm, label, shown

__all__ = ["markdown"]

HUMAN = {
    "nback": "In people, n-back performance falls as n rises: Kirchner (1958) found accuracy "
             "dropping from 0-back to 3-back, and Jaeggi et al. (2010) found accuracy falling "
             "and reaction times rising with load.",
    "recall": "In people, immediate free recall gives a U-shaped serial-position curve "
              "(Murdock 1962): a primacy effect over the first few items and a larger recency "
              "effect over the last ones. Longer lists lower recall of each item except the "
              "last few, and a slower presentation rate raises the early and middle part but "
              "not the recency part (Murdock 1962; Glanzer & Cunitz 1966).",
    "interference": "In people, an earlier list impairs recall of a later one (proactive "
                    "interference; Underwood 1957), and a later list impairs recall of an "
                    "earlier one (retroactive interference; Müller & Pilzecker 1900). Both grow "
                    "with the similarity of the two lists (McGeoch & McDonald 1931 for "
                    "retroactive; Wickens, Born & Allen 1963 for proactive).",
}

REFERENCES = """\
- Glanzer, M., & Cunitz, A. R. (1966). Two storage mechanisms in free recall. *Journal of
  Verbal Learning and Verbal Behavior*, 5(4), 351-360.
- Hautus, M. J. (1995). Corrections for extreme proportions and their biasing effects on
  estimated values of d'. *Behavior Research Methods, Instruments, & Computers*, 27(1), 46-51.
- Jaeggi, S. M., Buschkuehl, M., Perrig, W. J., & Meier, B. (2010). The concurrent validity of
  the N-back task as a working memory measure. *Memory*, 18(4), 394-412.
- Kirchner, W. K. (1958). Age differences in short-term retention of rapidly changing
  information. *Journal of Experimental Psychology*, 55(4), 352-358.
- McGeoch, J. A., & McDonald, W. T. (1931). Meaningful relation and retroactive inhibition.
  *American Journal of Psychology*, 43(4), 579-588.
- Müller, G. E., & Pilzecker, A. (1900). Experimentelle Beiträge zur Lehre vom Gedächtniss.
  *Zeitschrift für Psychologie, Ergänzungsband* 1.
- Murdock, B. B. (1962). The serial position effect of free recall. *Journal of Experimental
  Psychology*, 64(5), 482-488.
- Underwood, B. J. (1957). Interference and forgetting. *Psychological Review*, 64(1), 49-60.
- Wickens, D. D., Born, D. G., & Allen, C. K. (1963). Proactive inhibition and item similarity
  in short-term memory. *Journal of Verbal Learning and Verbal Behavior*, 2(5-6), 440-445.
"""


HEAT_OFF = ("gamma = 0: every threshold at its ambient value; this removes the memory but "
            "also moves the neurons off the operating point they were trained at, so the drop "
            "bounds what the heat contributes from above")
WHERE = {1: "after the first convolution (the sensing frontier)",
         2: "after the second convolution",
         3: "of the dense features (where the recurrent models keep their state)"}


def _main_keys(section):
    return [k for k in section if " tau " not in k]


def _nback_section(exp, data):
    ns = list(exp.nback.ns)
    nb = data["nback"]
    rows = []
    for key in _main_keys(nb):
        e = nb[key]
        rows.append([label(key)] + [f"{_pm(e['accuracy'][j], 3)} / {_pm(e['dprime'][j])}"
                                    for j in range(len(ns))])
        if "dprime_heat_ignored" in e:
            rows.append([f"{label(key)}, heat ignored"]
                        + [f"d' {_pm(e['dprime_heat_ignored'][j])}" for j in range(len(ns))])
    lines = ["## n-back", "",
             f"Sequences of {exp.nback.items} items, {exp.nback.slot} frame per item; from item "
             f"n on, each item repeats the one n back with probability "
             f"{exp.nback.target_rate:g}, and is any other item otherwise. The "
             f"model answers at every scored item. Accuracy (answering 'no' everywhere scores "
             f"{1 - exp.nback.target_rate:.3f}) / d' (log-linear corrected), mean ± standard "
             f"deviation over {len(exp.train.seeds)} seeds, test split:", "",
             tabulate(rows, ["model"] + [f"n = {n}" for n in ns], tablefmt="github"), "",
             "![n-back](wm-nback.png)", "", HUMAN["nback"], ""]
    for key in _main_keys(nb):
        e = nb[key]
        lines.append(f"- **{label(key)}** {_nback_verdict(ns, e)}.")
        lines += _learned(data, "nback", key, lambda e: _nback_verdict(ns, e))
        if "dprime_heat_ignored" in e:
            ign = e["dprime_heat_ignored"]
            lines.append(f"  With the heat switched off at evaluation ({HEAT_OFF}), d' is "
                         f"{ign[0]['mean']:.2f} at n = {ns[0]} and {ign[-1]['mean']:.2f} at "
                         f"n = {ns[-1]}.")
    return lines + [""]


def _nback_verdict(ns, e):
    d = e["dprime"]
    first, last = d[0]["mean"], d[-1]["mean"]
    if first < 0.5:
        return (f"stays near chance even at n = {ns[0]} (d' {first:.2f}): it holds too little "
                f"for a load effect to show; it departs from people")
    if shown(e["load_effect"], scale=10):
        return (f"falls with load like people: d' {first:.2f} at n = {ns[0]}, {last:.2f} at "
                f"n = {ns[-1]}")
    return (f"shows no load effect (d' {first:.2f} at n = {ns[0]}, {last:.2f} at n = {ns[-1]}, "
            f"drop {_pm(e['load_effect'])}): it departs from people")


def _learned(data, section, key, verdict):
    """The verdict again over the seeds that did not stall, where some did and 2 or more
    did not (the means above keep every seed)."""
    full, learned = data[section].get(key), data["learned"][section].get(key)
    if not full or not learned:
        return []
    n_all, n_learned = _seeds(full), _seeds(learned)
    if n_learned < 2 or n_learned == n_all:
        return []
    return [f"  Over the {n_learned} of {n_all} seeds that did not stall, it "
            f"{verdict(learned)}."]


def _seeds(entry):
    """Seeds behind an aggregated entry (the n of its first statistic)."""
    while isinstance(entry, (dict, list)):
        if isinstance(entry, dict) and "n" in entry and "mean" in entry:
            return entry["n"]
        entry = next(iter(entry.values())) if isinstance(entry, dict) else entry[0]
    return 0


def _recall_section(exp, data):
    rc = data["recall"]
    lengths, slots = list(exp.recall.lengths), list(exp.recall.slots)
    ln = max(lengths)
    rows = []
    for key in _main_keys(rc):
        e = rc[key]
        row = [label(key), _pm(e["recall"], 3), _pm(e["intrusions"], 3)]
        for sl in slots:
            eff = e["effects"].get(f"{ln}x{sl}", {})
            row += [_pm(eff["primacy"]) if eff else "n/a", _pm(eff["recency"]) if eff else "n/a"]
        rows.append(row)
        if "recall_heat_ignored" in e:
            rows.append([f"{label(key)}, heat ignored", _pm(e["recall_heat_ignored"], 3), "", ""]
                        + [""] * (2 * len(slots) - 1))
    head = ["model", "recall", "intrusions"]
    for sl in slots:
        head += [f"primacy, {sl} fr/item", f"recency, {sl} fr/item"]
    lines = ["## Free recall", "",
             f"A list of {', '.join(map(str, lengths))} distinct items (of "
             f"{exp.data.vocabulary}), each shown for {' or '.join(map(str, slots))} frames, "
             f"then a ring cue: the model reports every item it holds (multi-label, an item "
             f"counts as recalled when its probability is above one half). Lengths and rates are "
             f"mixed in training and scored apart. Recall: of all list items; intrusions: items "
             f"reported that were not shown. Primacy (recency): P(recalled) over the first "
             f"(last) two positions minus the middle positions, lists of {ln}. Mean ± standard "
             f"deviation over {len(exp.train.seeds)} seeds:", "",
             tabulate(rows, head, tablefmt="github"), "",
             "![serial-position curves](wm-serial-position.png)", "", HUMAN["recall"], ""]
    for key in _main_keys(rc):
        e = rc[key]
        lines.append(f"- **{label(key)}** {_recall_verdict(exp, e)}.")
        lines += _learned(data, "recall", key, lambda e: _recall_verdict(exp, e))
        if "recall_heat_ignored" in e:
            lines.append(f"  With the heat switched off at evaluation ({HEAT_OFF}) it recalls "
                         f"{e['recall_heat_ignored']['mean']:.3f} of the items instead of "
                         f"{e['recall']['mean']:.3f}.")
    return lines + [""]


def _recall_verdict(exp, e):
    lengths, slots = list(exp.recall.lengths), list(exp.recall.slots)
    ln = max(lengths)
    if e["recall"]["mean"] < 0.05:
        return (f"recalls almost nothing ({e['recall']['mean']:.3f} of the items): no "
                f"serial-position curve at all; it departs from people")
    if e["recall"]["mean"] > 0.98:
        return (f"recalls {e['recall']['mean']:.3f} of the items, at the ceiling: no position "
                f"can stand out, so no serial-position curve; it departs from people")
    parts = []
    for sl in slots:
        eff = e["effects"].get(f"{ln}x{sl}")
        if not eff:
            continue
        p, r = eff["primacy"], eff["recency"]
        parts.append(f"at {sl} frame{'s' if sl > 1 else ''}/item "
                     f"{'primacy' if shown(p) else 'no primacy'} ({p['mean']:+.2f}) and "
                     f"{'recency' if shown(r) else 'no recency'} ({r['mean']:+.2f})")
    short = e["effects"].get(f"{min(lengths)}x{min(slots)}", {}).get("mean")
    long_ = e["effects"].get(f"{ln}x{min(slots)}", {}).get("mean")
    slow = e["effects"].get(f"{ln}x{max(slots)}", {}).get("mean")
    extra = []
    if "length" in e["paired"]:
        extra.append(f"lists of {min(lengths)} are recalled at {short['mean']:.2f} per item "
                     f"against {long_['mean']:.2f} for lists of {ln}"
                     + (" (like people, longer lists lower recall)" if
                        shown(e["paired"]["length"]) else " (no list-length effect)"))
    if "rate" in e["paired"]:
        extra.append(f"the slower rate gives {slow['mean']:.2f} against {long_['mean']:.2f}"
                     + (" (like people, slower is better)" if shown(e["paired"]["rate"])
                        else " (no gain from the slower rate)"))
    curves = [e["effects"][f"{ln}x{sl}"] for sl in slots if f"{ln}x{sl}" in e["effects"]]
    both = bool(curves) and all(shown(c["primacy"]) and shown(c["recency"]) for c in curves)
    return (f"shows, for lists of {ln}, {'; '.join(parts)}: "
            + ("a U-shaped curve like people's" if both else "not the U-shaped curve of people")
            + (f"; {'; '.join(extra)}" if extra else ""))


def _interference_section(exp, data):
    it = data["interference"]
    rows = []
    for key in _main_keys(it):
        e = it[key]
        for sim in ("dissimilar", "similar"):
            rows.append([label(key), sim] + [_pm(e[sim]["recall"][c], 3) for c in range(4)]
                        + [_pm(e[sim]["retroactive"], 3), _pm(e[sim]["proactive"], 3),
                           _pm(e[sim]["other_list"][0], 3), _pm(e[sim]["other_list"][2], 3)])
    head = ["model", "lists"] + list(CONDITIONS) + ["retroactive", "proactive",
                                                    "B reported as A", "A reported as B"]
    ii = exp.interference
    lines = ["## Interference", "",
             f"Two lists of {ii.length} items, {ii.slot} frame per item, then a cue: a ring asks "
             f"for the first list (A), a cross for the second (B). A list replaced by blank "
             f"frames is the control. The vocabulary comes in pairs whose patterns share "
             f"{exp.data.pair_overlap:.0%} of their lit pixels; similar lists hold pair-mates, "
             f"dissimilar ones hold items of other pairs. Recall of the cued list in each "
             f"condition, the effects (control minus test: recall lost to the other list) and "
             f"how often the other list's items are reported; mean ± standard deviation over "
             f"{len(exp.train.seeds)} seeds:", "",
             tabulate(rows, head, tablefmt="github"), "",
             "![interference](wm-interference.png)", "", HUMAN["interference"], ""]
    for key in _main_keys(it):
        lines.append(f"- **{label(key)}** {_interference_verdict(it[key])}.")
        lines += _learned(data, "interference", key, _interference_verdict)
    return lines + [""]


def _interference_verdict(e):
    ctrl = (e["dissimilar"]["recall"][1]["mean"] + e["dissimilar"]["recall"][3]["mean"]) / 2
    if ctrl < 0.05:
        return (f"recalls almost nothing even without the other list ({ctrl:.3f}): nothing "
                f"to interfere with")
    parts = []
    for effect in ("retroactive", "proactive"):
        d, s = e["dissimilar"][effect], e["similar"][effect]
        sim = e[f"similarity_{effect}"]
        where = [w for w, st in (("dissimilar", d), ("similar", s)) if shown(st)]
        if where:
            grows = ("larger for similar lists, like people" if shown(sim) else
                     "not larger for similar lists, unlike people")
            parts.append(f"{effect} interference with {' and '.join(where)} lists "
                         f"({d['mean']:+.3f} dissimilar, {s['mean']:+.3f} similar; {grows})")
        else:
            parts.append(f"no {effect} interference ({d['mean']:+.3f} dissimilar, "
                         f"{s['mean']:+.3f} similar)")
    return "shows " + "; ".join(parts)


def _decay_section(exp, design, data):
    keys = [k for k in data["physics"]]
    keys.sort(key=lambda k: data["physics"][k]["tau_th_ns"])
    ns = list(exp.nback.ns)
    ln, sl = max(exp.recall.lengths), min(exp.recall.slots)
    rows = []
    for key in keys:
        nb = data["nback"].get(key)
        rc = data["recall"].get(key)
        eff = rc["effects"].get(f"{ln}x{sl}") if rc else None
        rows.append([f"{data['physics'][key]['tau_th_ns']:g}"]
                    + ([_pm(nb["dprime"][j]) for j in range(len(ns))] if nb else [""] * len(ns))
                    + ([_pm(rc["recall"], 3), _pm(eff["primacy"]), _pm(eff["recency"])]
                       if rc and eff else ["", "", ""]))
    head = ["tau_th [ns]"] + [f"d', n = {n}" for n in ns] + [
        "recall", f"primacy ({ln})", f"recency ({ln})"]
    lines = ["## Decay sweep: IPNet's thermal time constant", "",
             f"IPNet with the card's thermal time constant and with "
             f"{', '.join(f'{t:g}' for t in exp.decay.tau_th_ns)} ns (one frame is one step of "
             f"{design.device.dt_ns:g} ns); everything else the same. A longer time constant "
             f"keeps heat "
             f"longer but also lets more of it pile up; the heat format is widened where needed "
             f"so that it never saturates below the physical bound.", "",
             tabulate(rows, head, tablefmt="github"), "", "![decay sweep](wm-decay.png)", ""]
    best_nb = max((k for k in keys if k in data["nback"]),
                  key=lambda k: data["nback"][k]["dprime"][-1]["mean"], default=None)
    best_rc = max((k for k in keys if k in data["recall"]),
                  key=lambda k: data["recall"][k]["recall"]["mean"], default=None)
    if best_nb:
        tops = {n: max(data["nback"][k]["dprime"][j]["mean"] for k in keys if k in data["nback"])
                for j, n in enumerate(ns)}
        near = [n for n, v in tops.items() if v < 0.5]
        if near:
            lines.append(f"- At n = {', '.join(map(str, near))} every time constant stays near "
                         f"chance (best d' below 0.5).")
        if len(near) < len(ns):
            lines.append(f"- The largest d' at n = {ns[-1]} comes with tau "
                         f"{data['physics'][best_nb]['tau_th_ns']:g} ns "
                         f"({data['nback'][best_nb]['dprime'][-1]['mean']:.2f}).")
    if best_rc:
        lines.append(f"- The most items recalled come with tau "
                     f"{data['physics'][best_rc]['tau_th_ns']:g} ns "
                     f"({data['recall'][best_rc]['recall']['mean']:.3f}).")
    return lines + [""]


def _physics_section(design, data):
    dev = design.device
    rows = []
    for key in sorted(data["physics"], key=lambda k: data["physics"][k]["tau_th_ns"]):
        p = data["physics"][key]
        rows.append([f"{p['tau_th_ns']:g}", p["runs"], f"{p['temperature_p99_K']:.0f}",
                     f"{p['temperature_max_K']:.0f}",
                     f"{p['current_p99_ic0']:.2f} ({p['current_p99_ic0'] * p['I_c0_uA']:.0f} µA)",
                     f"{p['current_max_ic0']:.2f} ({p['current_max_ic0'] * p['I_c0_uA']:.0f} µA)"])
    hottest = max((p["temperature_max_K"] for p in data["physics"].values()), default=0.0)
    limit = max((p["current_limit_ic0"] for p in data["physics"].values()), default=0.0)
    verdict = ("every junction stays below the Curie temperature" if hottest < dev.Tc_K else
               "some junction passes the Curie temperature: those figures are not physical")
    return ["## Junction currents and temperatures", "",
            f"IPNet's thermal neurons on the test splits (the highest over its runs): the "
            f"current is limited by the format to {limit:g} I_c0, the card's Curie temperature "
            f"is {dev.Tc_K:g} K. Hottest junction: "
            f"{hottest:.0f} K, so {verdict}.", "",
            tabulate(rows, ["tau_th [ns]", "runs", "p99 T [K]", "max T [K]", "p99 |I| [I_c0]",
                            "max |I| [I_c0]"], tablefmt="github"), ""]


def _params_table(exp, data):
    rows = [[label(m)] + [data["parameters"].get(m, {}).get(t, "") for t in
                          sorted({t for v in data["parameters"].values() for t in v})]
            for m in exp.models if m in data["parameters"]]
    tasks = sorted({t for v in data["parameters"].values() for t in v})
    return "Trainable parameters per task:\n\n" + tabulate(rows, ["model", *tasks],
                                                          tablefmt="github")


def _stalled_lines(data):
    rows = [f"- {label(k)}: " + "; ".join(f"{t} seed{'s' if len(v) > 1 else ''} "
                                          f"{', '.join(map(str, v))}" for t, v in tasks.items())
            for k, tasks in data["stalled"].items()]
    rows += [f"- diverged (a loss or weight stopped being finite; left out of every figure): "
             f"{', '.join(data['diverged'])}"] if data["diverged"] else []
    if not rows:
        return ["No run stalled: every seed of every model left its starting point.", ""]
    return ["Runs that stalled (they answer the same everywhere, so training never left its "
            "start); they stay in every mean and spread above:", "", *rows, ""]


def _lr_section(exp, data):
    lrs = [f"{lr:g}" for lr in exp.train.lrs]
    rows = []
    for task, models in data["learning_rates"].items():
        for model, e in models.items():
            rows.append([task, label(model)] + [
                (f"**{_pm(e['validation'][lr], 3)}**" if float(lr) == e["chosen"] else
                 _pm(e["validation"][lr], 3)) if lr in e["validation"] else "" for lr in lrs])
    return ["## Learning rates chosen on validation", "",
            "Mean ± standard deviation over seeds of the validation score after the last epoch "
            "(accuracy over scored frames for n-back, over every item's yes/no for recall and "
            "interference); the chosen rate in bold. The decay sweep uses the rate chosen for "
            "the card's IPNet on the same task, so only the card's time constant had a rate "
            "chosen for itself.", "",
            tabulate(rows, ["task", "model"] + [f"lr {lr}" for lr in lrs], tablefmt="github"), ""]


def markdown(exp, design, data):
    meta = data["meta"]
    models = ", ".join(label(k) for k in exp.models)
    head = [
        "# Working memory: n-back, free recall and interference", "",
        f"Generated by `make wm` (`python -m ipnet_mtj.sw.wm {meta['config']}`) at commit "
        f"{meta['commit']}: {meta['runs']} runs, seeds {meta['seeds']}, "
        f"{meta['train_s'] / 60:.0f} minutes of training summed over runs. Every number and every "
        f"statement below comes from that run; do not edit by hand.", "",
        "## What is compared", "",
        f"Models: {models}, each with the backbone of the vision benchmarks (two convolutions, "
        f"a dense layer) on {exp.data.size} x {exp.data.size} event frames. IPNet's thermal "
        f"neurons replace the activation {WHERE[exp.ipnet.depth]}, with the device card and "
        f"formats of `{exp.design}` (current limited to the format's range). Their gain and "
        f"offset start from the first training batch so that the current has the ambient "
        f"threshold as its mean and a spread of {exp.ipnet.current_spread:g} I_c0 (a "
        f"data-dependent initialisation, given to IPNet only: its switching passes a gradient "
        f"only in a narrow window of current). "
        f"LSTM, GRU and RNN put a recurrent cell on the dense features. The no-memory "
        f"control is the same network without any state: at each frame it sees that frame "
        f"only. The answer is read at the cue frame (recall, interference) or at every scored "
        f"frame (n-back), the same way for all.", "",
        f"Items are {exp.data.vocabulary} random patterns lighting {exp.data.density:.0%} of the "
        f"pixels, flashed on a grey screen and seen through the simulated event camera (with "
        f"its noise): an item gives ON events when it appears and OFF events when it goes. "
        f"Data are generated offline and seeded; {exp.data.train} training, {exp.data.val} "
        f"validation and {exp.data.test} test sequences per task. Every model is trained "
        f"alike: Adam, batch {exp.train.batch}, {exp.train.epochs} epochs, cosine schedule, "
        f"gradient clipping, one model per task (and per n), each learning rate of "
        f"{', '.join(f'{lr:g}' for lr in exp.train.lrs)} with every seed; each model keeps, "
        f"per task, the rate with the best mean validation score (table at the end). Nothing "
        f"is chosen on the test split; every figure is on it.", "",
        f"The comparison with people is qualitative: the lists here hold "
        f"{min(exp.recall.lengths)} to {max(exp.recall.lengths)} items shown for "
        f"{' or '.join(map(str, exp.recall.slots))} frames of {design.device.dt_ns:g} ns, not "
        f"words shown for seconds.", "", _params_table(exp, data), ""]
    body = (_nback_section(exp, data) + _recall_section(exp, data)
            + _interference_section(exp, data) + _decay_section(exp, design, data)
            + _physics_section(design, data) + ["## Stalled runs", ""] + _stalled_lines(data)
            + _lr_section(exp, data))
    return "\n".join(head + body + ["## References", "", REFERENCES])
