"""Score decoded windows against cue markers with the online motor-imagery protocol.

A window counts for a cue when its end lies in ``[onset + first_s, onset + last_s]`` (content
seconds); a trial's label is the argmax of its windows' mean probability. This is the protocol of
``../shared/tools/mi_reference.py``. :func:`score_online` scores a live session's predictions;
:func:`cued_windows` cuts the same windows from recordings, for ``neurodeck evaluate``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from neurodeck.common.types import FloatArray
from numpy.typing import NDArray

if TYPE_CHECKING:
    from neurodeck.calibration.trials import ContinuousEEG
    from neurodeck.models.checkpoint import ModelMeta


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


#: Window ends scored by the online protocol: cue + 1 s ... cue + 4 s, every 0.25 s.
PROTOCOL_ENDS_S: tuple[float, float, float] = (1.0, 4.0, 0.25)


def cued_windows(
    meta: ModelMeta,
    recordings: Sequence[ContinuousEEG],
    marker_classes: Mapping[str, str],
    class_names: Sequence[str],
    ends_s: tuple[float, float, float] = PROTOCOL_ENDS_S,
) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int64]]:
    """The windows a live decoder with this checkpoint decodes around each cue.

    The recordings go through the checkpoint's own causal chain over their whole length (as
    live, :func:`neurodeck.streaming.session.build_preprocessor`), trials are cut by
    :func:`neurodeck.calibration.trials.build_trials` (the cutter calibration uses) and windows by
    :meth:`neurodeck.calibration.trials.TrialSet.sliding_windows` (the windows calibration trains
    on).

    Returns
    -------
    X : ndarray, shape (n_windows, n_channels, n_times)
    y : ndarray, shape (n_windows,)
    trial : ndarray, shape (n_windows,)
    """
    from neurodeck.calibration.trials import build_trials
    from neurodeck.streaming.preprocessing import PreprocessingConfig

    cfg = dataclasses.replace(
        PreprocessingConfig.from_dict(meta.preprocessing),
        channel_names=tuple(meta.channel_names),
        sfreq_out=meta.sfreq,
    )
    first, last, _ = ends_s
    span = (first - meta.window_s, last)
    trials = build_trials(recordings, marker_classes, class_names, span, cfg, 1)
    return trials.sliding_windows(meta.window_s, ends_s)


def trial_scores(
    proba: np.ndarray, y: NDArray[np.int64], trial: NDArray[np.int64]
) -> dict[str, float]:
    """Window accuracy and trial accuracy (argmax of the mean window probability).

    Parameters
    ----------
    proba : ndarray, shape (n_windows, n_classes)
    y, trial : ndarray, shape (n_windows,)
        True class and trial index of each window.
    """
    trials = np.unique(trial)
    per_trial = np.stack([proba[trial == t].mean(0) for t in trials])
    labels = np.array([y[trial == t][0] for t in trials])
    return {
        "window_acc": round(float((proba.argmax(1) == y).mean()), 4),
        "trial_acc": round(float((per_trial.argmax(1) == labels).mean()), 4),
    }
