"""Markdown table of the leave-subjects-out figures in benchmarks/results/evaluate-*.json.

Usage: python benchmarks/evaluation_table.py [FILES...] > benchmarks/results/evaluate-deep.md
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


def main(argv: list[str]) -> None:
    files = [Path(a) for a in argv] or sorted(RESULTS.glob("evaluate-deep-*.json"))
    header = ["encoder", *MODES, "ts_lr (same trials)", "split, CPU time"]
    print("window / trial accuracy, mean over held-out subjects (runs 4+8 -> 12)\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for path in files:
        print("\n".join(rows(path)))


if __name__ == "__main__":
    main(sys.argv[1:])
