"""The calibration report: accuracy, per class, confusion matrices; as JSON, text and a PNG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.common.jsonio import replaced_atomically


def chance_level(counts: Mapping[str, int]) -> float:
    """Accuracy of always answering the most frequent class."""
    total = sum(counts.values())
    return max(counts.values()) / total if total else float("nan")


def report_text(report: Mapping[str, Any]) -> str:
    """A human summary of a calibration report (also written as ``report.md``)."""
    lines = [f"# Calibration report: {report.get('subject') or 'subject'}", ""]
    counts = report["trials"]
    lines.append(
        f"- trials per class: {', '.join(f'{k} {v}' for k, v in counts.items())} "
        f"({len(report.get('dropped', []))} dropped)"
    )
    lines.append(f"- encoder: {report['encoder']}")
    timings = report.get("timings", {})
    if "ready_s" in timings:
        lines.append(f"- ready model {timings['ready_s']:.1f} s after the recording ended")
    cv = report.get("cv", {})
    lines.append(f"- split: {cv.get('split', 'none')}")
    lines.append("")
    scores = report.get("scores", {})
    if scores:
        chance = chance_level(counts)
        lines.append(f"| decoder | CV accuracy | per fold | per class | (chance {chance:.2f})")
        lines.append("|---|---|---|---|")
        for name, s in scores.items():
            per_class = ", ".join(
                f"{k} {v:.2f}" if v is not None else f"{k} -"
                for k, v in s["per_class_recall"].items()
            )
            folds = " ".join(f"{a:.2f}" for a in s["fold_accuracy"])
            lines.append(
                f"| {name} | {s['cv_accuracy']:.3f} ± {s['cv_std']:.3f} | {folds} | {per_class} |"
            )
        lines.append("")
    else:
        lines.append("No cross-validation.")
    reason = report.get("decoder_reason") or "higher cross-validated accuracy"
    lines.append(f"Decoding uses **{report['decoder']}**: {reason}.")
    if report.get("candidates"):
        lines.append(f"Candidates: {', '.join(report['candidates'])}.")
    fine = report.get("finetune", {})
    if fine.get("best_epoch") is not None and fine.get("val_acc") is not None:
        lines.append(
            f"Fine-tuning kept epoch {fine['best_epoch']} (held-back trial accuracy "
            f"{fine['val_acc']:.2f}, optimistic: it chose the epoch)."
        )
    elif fine.get("history"):
        lines.append(
            f"Fine-tuning ran {len(fine['history'])} epochs on every trial (none held back)."
        )
    for d in report.get("dropped", []):
        lines.append(f"- dropped '{d['label']}' at {d['timestamp']:.2f}: {d['reason']}")
    return "\n".join(lines) + "\n"


def _confusion_panel(ax, matrix: Sequence[Sequence[int]], class_names: Sequence[str], title: str):
    m = np.asarray(matrix, dtype=float)
    rows = m.sum(1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    ax.imshow(frac, vmin=0, vmax=1, cmap="Blues")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            colour = "white" if frac[i, j] > 0.6 else "black"
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", color=colour)
    ax.set_xticks(range(len(class_names)), class_names, rotation=30)
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)


def write_report_png(report: Mapping[str, Any], path: Path) -> Path:
    """Confusion matrices, accuracy per fold and the fine-tuning curve, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = report.get("scores", {})
    classes = list(report["trials"])
    n_panels = len(scores) + 2
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 4.0))
    for ax, (name, s) in zip(axes, scores.items(), strict=False):
        _confusion_panel(ax, s["confusion"], classes, f"{name}: CV acc {s['cv_accuracy']:.2f}")
    ax = axes[len(scores)]
    chance = chance_level(report["trials"])
    for k, (name, s) in enumerate(scores.items()):
        folds = np.asarray(s["fold_accuracy"])
        ax.bar(np.arange(len(folds)) + 0.4 * k, folds, width=0.4, label=name)
    ax.axhline(chance, color="grey", ls="--", lw=1, label="chance")
    ax.set_ylim(0, 1)
    ax.set_xlabel("fold")
    ax.set_ylabel("trial accuracy")
    ax.set_title("cross-validation" if scores else "no cross-validation", fontsize=10)
    if scores:
        ax.legend(fontsize=8)
    ax = axes[-1]
    history = report.get("finetune", {}).get("history", [])
    epochs = [h["epoch"] for h in history]
    for key in ("acc", "val_acc"):
        values = [h.get(key) for h in history]
        if any(v is not None for v in values):
            ax.plot(epochs, values, marker="o", ms=3, label=key.replace("acc", "accuracy"))
    best = report.get("finetune", {}).get("best_epoch")
    if best:
        ax.axvline(best, color="grey", ls=":", lw=1, label=f"kept epoch {best}")
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_title("fine-tuning (final model)", fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle(
        f"{report.get('subject') or 'calibration'}: decoding uses {report['decoder']}", fontsize=11
    )
    fig.tight_layout()
    with replaced_atomically(Path(path)) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return path
