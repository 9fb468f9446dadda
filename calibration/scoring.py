"""Score decoded windows against cue markers with the online motor-imagery protocol.

A window counts for a cue when its end lies in ``[onset + first_s, onset + last_s]`` (content
seconds); a trial's label is the argmax of its windows' mean probability. This is the protocol of
``../shared/tools/mi_reference.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OnlineScore:
    """Window and trial accuracy of online predictions.

    ``n_windows`` / ``n_trials`` count the scored windows and cues; accuracies are NaN when zero.
    """

    window_accuracy: float
    trial_accuracy: float
    n_windows: int
    n_trials: int

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready dictionary."""

        def clean(v: float) -> float | None:
            return None if np.isnan(v) else round(float(v), 4)

        return {
            "window_accuracy": clean(self.window_accuracy),
            "trial_accuracy": clean(self.trial_accuracy),
            "n_windows": self.n_windows,
            "n_trials": self.n_trials,
        }


def score_online(
    window_ends: np.ndarray,
    probabilities: np.ndarray,
    cues: Sequence[tuple[float, int]],
    first_s: float = 1.0,
    last_s: float = 4.0,
    time_scale: float = 1.0,
) -> OnlineScore:
    """Window and trial accuracy.

    Parameters
    ----------
    window_ends : ndarray, shape (n_windows,)
        Time of each window's last sample (any clock shared with ``cues``).
    probabilities : ndarray, shape (n_windows, n_classes)
        Class probabilities of each window.
    cues : sequence of (onset, class_index)
        Cue onsets on the same clock and their true class.
    first_s, last_s : float
        Window ends from ``onset + first_s`` to ``onset + last_s`` (content seconds) are scored.
    time_scale : float
        Clock seconds per content second (``1 / replay_speed`` for a sped-up replay).
    """
    window_ends = np.asarray(window_ends, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(len(window_ends), -1)
    hits: list[bool] = []
    trials: list[bool] = []
    tol = 1e-6
    for onset, label in cues:
        lo, hi = onset + first_s * time_scale - tol, onset + last_s * time_scale + tol
        sel = (window_ends >= lo) & (window_ends <= hi)
        if not sel.any():
            continue
        p = probabilities[sel]
        hits.extend(p.argmax(axis=1) == label)
        trials.append(int(p.mean(axis=0).argmax()) == label)
    return OnlineScore(
        float(np.mean(hits)) if hits else float("nan"),
        float(np.mean(trials)) if trials else float("nan"),
        len(hits),
        len(trials),
    )
