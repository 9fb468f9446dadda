"""Tables of the leave-subjects-out figures that ``neurodeck evaluate --encoders`` writes as JSON.

Usage::

    python benchmarks/evaluation_table.py            # print the tables (markdown)
    python benchmarks/evaluation_table.py --write    # also rewrite benchmarks/results/
                                                     # evaluate-calibrated.md, docs/results.md's
                                                     # table and the README's headline table

``docs/results.md`` holds every evaluation between ``<!-- evaluation-table -->`` and
``<!-- /evaluation-table -->`` (:func:`readme_table`); the README holds the shipped networks'
leave-one-out rows between ``<!-- headline-table -->`` and ``<!-- /headline-table -->``
(:func:`headline_table`). Neither is typed by hand (a test checks both). Every figure is a mean
over held-out subjects of the profile that ``neurodeck calibrate`` builds, decoded on run 12 with
the online protocol.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
#: The evaluations the tables read, in the order they are shown.
FILES = (
    "evaluate-mi_shallow64-loso.json",
    "evaluate-mi_shallow_any-loso.json",
    "evaluate-mi_shallow64_noes-loso.json",
    "evaluate-mi_shallow64.json",
    "evaluate-mi_shallow_any.json",
    "evaluate-mi_shallow64-drift.json",
)
MARKERS = ("<!-- evaluation-table -->", "<!-- /evaluation-table -->")
HEADLINE_MARKERS = ("<!-- headline-table -->", "<!-- /headline-table -->")
#: The networks calibration uses by default: the README's headline rows.
SHIPPED = ("mi_shallow64", "mi_shallow_any")
RESULTS_DOC = REPO / "docs" / "results.md"
README = REPO / "README.md"
SINGLES = ("zeroshot", "finetuned", "reference")


def load(names: tuple[str, ...] = FILES) -> list[tuple[str, dict[str, Any]]]:
    """``(file name, JSON)`` of each results file that exists."""
    return [(n, json.loads((RESULTS / n).read_text())) for n in names if (RESULTS / n).is_file()]


def runs(results: list[tuple[str, dict[str, Any]]]):
    """Every (file, montage label, recipe result) of calibrated evaluations; an evaluation
    found in two files (same recipe, montage and split) counts once, from the first file."""
    seen = set()
    for name, data in results:
        for label, part in data.get("montages", {}).items():
            for res in part.get("calibrated", {}).values():
                key = (res["recipe"], label, _split(res))
                if key not in seen:
                    seen.add(key)
                    yield name, label, res


def _cell(m: dict[str, Any] | None) -> str:
    return "-" if m is None else f"{m['window_acc']:.3f} / {m['trial_acc']:.3f}"


def _split(res: dict[str, Any]) -> str:
    n = len(res["per_subject"])
    k = len(res["folds"])
    return f"{n} subj., {'leave-one-out' if k == n else f'{k} folds'}"


def _montage(label: str, res: dict[str, Any]) -> str:
    from neurodeck.common.montages import ALIASES

    return "64 (all)" if label == "all" else f"{len(res['channels'])} ({ALIASES.get(label, label)})"


def _column(label: str, res: dict[str, Any]) -> str:
    split = "LOO" if len(res["folds"]) == len(res["per_subject"]) else f"{len(res['folds'])}-fold"
    channels = "64" if label == "all" else str(len(res["channels"]))
    return f"{res['recipe']}, {channels} ch, {split}"


def readme_table(results: list[tuple[str, dict[str, Any]]], headline: bool = False) -> str:
    """The profile's accuracy against the reference, per network, montage and split.

    With ``headline``, only the shipped networks (:data:`SHIPPED`) left out one subject at a time.
    """
    lines = [
        "| network | channels | split | profile (chosen decoder) | TS+LR | difference, "
        "subjects better, Wilcoxon p | zeroshot | finetuned |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, label, res in runs(results):
        loso = len(res["folds"]) == len(res["per_subject"])
        if headline and not (loso and res["recipe"] in SHIPPED):
            continue
        mean = res["mean"]
        v = mean["chosen"].get("vs_reference")
        paired = (
            "-"
            if v is None
            else (f"{v['mean_diff']:+.3f}, {v['better']}/{v['n']}, {v['wilcoxon_p']:.3g}")
        )
        lines.append(
            f"| {res['recipe']} | {_montage(label, res)} | {_split(res)} | "
            f"{_cell(mean['chosen'])} | {_cell(mean.get('reference'))} | {paired} | "
            f"{_cell(mean.get('zeroshot'))} | {_cell(mean.get('finetuned'))} |"
        )
    return "\n".join(lines)


def chooser_table(results: list[tuple[str, dict[str, Any]]]) -> str:
    """Window / trial accuracy each chooser would have given, per evaluation, and their mean."""
    runs_ = [(label, res) for _, label, res in runs(results) if res.get("choosers")]
    if not runs_:
        return ""
    rules = list(runs_[0][1]["choosers"])
    head = "| rule | " + " | ".join(_column(label, r) for label, r in runs_) + " | mean |"
    lines = [head, "|---|" + "---|" * (len(runs_) + 1)]
    for rule in rules:
        cells = [res["choosers"][rule] for _, res in runs_]
        mean_w = np.mean([c["window_acc"] for c in cells])
        mean_t = np.mean([c["trial_acc"] for c in cells])
        lines.append(
            f"| {rule} | "
            + " | ".join(_cell(c) for c in cells)
            + f" | {mean_w:.3f} / {mean_t:.3f} |"
        )
    return "\n".join(lines)


def _paired(a: list[float], b: list[float]) -> str:
    from scipy.stats import wilcoxon

    d = np.asarray(a) - np.asarray(b)
    p = float(wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return f"{d.mean():+.3f} | {int((d > 0).sum())}/{len(d)} | {p:.3g}"


def executed_runs_table(results: list[tuple[str, dict[str, Any]]]) -> str:
    """mi_shallow64 (imagery + executed runs) against mi_shallow64_imagery, paired."""
    by = {(res["recipe"], label, _split(res)): res for _, label, res in runs(results)}
    pairs = [
        (k, by[("mi_shallow64_imagery", *k[1:])])
        for k in by
        if k[0] == "mi_shallow64" and ("mi_shallow64_imagery", *k[1:]) in by
    ]
    if not pairs:
        return ""
    lines = ["| decoder | with executed runs | imagery only | difference | better | p |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for key, imagery in pairs:
        both = by[key]
        subjects = sorted(both["per_subject"], key=int)
        for name in ("chosen", *SINGLES[:2]):

            def pick(res, s, name=name):
                r = res["per_subject"][s]
                return r["chosen"] if name == "chosen" else r["candidates"][name]

            a = [pick(both, s)["window_acc"] for s in subjects]
            b = [pick(imagery, s)["window_acc"] for s in subjects]
            lines.append(f"| {name} | {np.mean(a):.3f} | {np.mean(b):.3f} | {_paired(a, b)} |")
    return "\n".join(lines)


def drift_table(results: list[tuple[str, dict[str, Any]]]) -> str:
    """Re-centring while decoding against the calibration's fixed alignment."""
    lines = ["| decoder, time constant | re-centred | fixed | difference | better | p |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for _, _, res in runs(results):
        for key, m in res["mean"].items():
            v = m.get("vs_fixed_alignment")
            if v is None or (v["better"] == v["worse"] == 0):  # no network in it: unchanged
                continue
            name = key.split(" ")[0]
            fixed = res["mean"][name]["window_acc"]
            lines.append(
                f"| {key.replace('recentred_', 'tau ')} | {m['window_acc']:.3f} | {fixed:.3f} | "
                f"{v['mean_diff']:+.3f} | {v['better']}/{v['n']} | {v['wilcoxon_p']:.3g} |"
            )
    return "\n".join(lines) if len(lines) > 2 else ""


def report(results: list[tuple[str, dict[str, Any]]]) -> str:
    """All tables, as ``benchmarks/results/evaluate-calibrated.md`` holds them."""
    parts = [
        "# Calibrated profiles, leave-subjects-out (generated by benchmarks/evaluation_table.py)",
        "",
        "Window / trial accuracy, mean over held-out subjects; each subject calibrated on runs "
        "4+8 (30 trials) by the code `neurodeck calibrate` runs, decoded on run 12.",
        "",
        "## Profile against the reference",
        "",
        readme_table(results),
        "",
        "## Decoder choice (chooser) on the same calibrations",
        "",
        chooser_table(results),
        "",
        "## Executed runs (3, 7, 11) in the cross-subject training, paired",
        "",
        executed_runs_table(results),
        "",
        "## Re-centring while decoding (drift), paired with the fixed alignment",
        "",
        drift_table(results),
        "",
    ]
    return "\n".join(parts)


def headline_table(results: list[tuple[str, dict[str, Any]]]) -> str:
    """The README's rows: the shipped networks, each subject left out of their training."""
    return readme_table(results, headline=True)


def write_block(path: Path, markers: tuple[str, str], table: str) -> None:
    """Replace the block between ``markers`` in the Markdown file ``path`` by ``table``."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(markers[0]) + ".*?" + re.escape(markers[1]), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no {markers[0]} ... {markers[1]} block")
    block = f"{markers[0]}\n{table}\n{markers[1]}"
    path.write_text(pattern.sub(lambda _m: block, text), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--write", action="store_true", help="rewrite the .md files and the README's table"
    )
    args = ap.parse_args()
    results = load()
    text = report(results)
    print(text)
    if args.write:
        (RESULTS / "evaluate-calibrated.md").write_text(text, encoding="utf-8")
        write_block(RESULTS_DOC, MARKERS, readme_table(results))
        write_block(README, HEADLINE_MARKERS, headline_table(results))


if __name__ == "__main__":
    main()
