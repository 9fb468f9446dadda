"""Markdown table of the leave-subjects-out figures in benchmarks/results/evaluate-*.json.

Usage: python benchmarks/evaluation_table.py [FILES...] > benchmarks/results/evaluate-deep.md

A second table pairs every condition with the tangent-space reference on the same held-out
subjects: mean difference of window accuracy, subjects better, and a two-sided Wilcoxon
signed-rank p-value.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("scratch", "zeroshot", "probe", "finetune", "ensemble")


def rows(path: Path) -> list[str]:
    """One table row per encoder in an ``evaluate --json`` file."""
    out = []
    for name, res in json.loads(path.read_text()).get("deep", {}).items():
        mean = res["mean"]
        cells = [
            f"{mean[m]['window_acc']:.3f} / {mean[m]['trial_acc']:.3f}" if m in mean else "-"
            for m in (*MODES, "ts_lr")
        ]
        n = len(res["per_subject"])
        minutes = res["seconds"] / 60
        out.append(
            f"| {name} | {' | '.join(cells)} | {n} subj., {len(res['folds'])} folds, "
            f"{minutes:.0f} min |"
        )
    return out


def paired_rows(path: Path) -> list[str]:
    """One row per encoder and condition: window accuracy paired with ts_lr's, per subject."""
    from scipy.stats import wilcoxon

    out = []
    for name, res in json.loads(path.read_text()).get("deep", {}).items():
        subjects = res["per_subject"].values()
        for mode in MODES:
            pairs = [
                (s[mode]["window_acc"], s["ts_lr"]["window_acc"]) for s in subjects if mode in s
            ]
            if not pairs:
                continue
            diff = [a - b for a, b in pairs]
            better = sum(d > 0 for d in diff)
            p = wilcoxon(diff).pvalue if any(diff) else 1.0
            out.append(
                f"| {name} {mode} | {sum(diff) / len(diff):+.3f} | {better}/{len(diff)} | {p:.3f} |"
            )
    return out


def main(argv: list[str]) -> None:
    files = [Path(a) for a in argv] or sorted(RESULTS.glob("evaluate-deep-*.json"))
    header = ["encoder", *MODES, "ts_lr (same trials)", "split, CPU time"]
    print("window / trial accuracy, mean over held-out subjects (runs 4+8 -> 12)\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for path in files:
        print("\n".join(rows(path)))
    print("\nPaired with ts_lr on the same subjects (window accuracy)\n")
    print("| condition | mean difference | subjects better | Wilcoxon p |")
    print("|---|---|---|---|")
    for path in files:
        print("\n".join(paired_rows(path)))


if __name__ == "__main__":
    main(sys.argv[1:])
