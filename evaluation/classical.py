"""Online motor-imagery evaluation protocol (the yardstick of ``../shared/tools/mi_reference.py``).

For each subject: calibrate on some runs (cue + 0.5 s .. + 2.5 s epochs), then decode the test runs
with 2-s windows, hop 0.25 s, whose end lies between cue + 1 s and cue + 4 s; a trial's label is
the argmax of its windows' mean probability. Preprocessing is neurodeck's own causal chain
(4th-order Butterworth band-pass 8-30 Hz over the whole run, as online).

The classical references here (CSP + LDA, tangent space + logistic regression) are fitted per
subject. Epochs and windows come from the cutter calibration uses
(:func:`neurodeck.calibration.trials.build_trials`,
:meth:`~neurodeck.calibration.trials.TrialSet.sliding_windows`); the deep decoders are scored
through calibration itself (:mod:`neurodeck.evaluation.calibrated`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from neurodeck.calibration.riemann import fit_tangent_space_lr
from neurodeck.calibration.trials import ContinuousEEG, TrialSet, build_trials
from neurodeck.common.types import ConfigError, FloatArray
from neurodeck.streaming.preprocessing import PreprocessingConfig
from neurodeck.streaming.recording_io import eegbci_run_files, load_recording
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline

logger = logging.getLogger(__name__)

#: EEGBCI left (T1) / right (T2) fist imagery.
MARKER_CLASSES = {"T1": "left", "T2": "right"}
CLASS_NAMES = ("left", "right")


@dataclass(frozen=True)
class Protocol:
    """Timing of the online protocol, in seconds relative to cue onset."""

    calib_tmin: float = 0.5
    calib_tmax: float = 2.5
    window_s: float = 2.0
    hop_s: float = 0.25
    first_end_s: float = 1.0
    last_end_s: float = 4.0

    @property
    def ends_s(self) -> tuple[float, float, float]:
        """``(first, last, hop)`` window ends relative to the cue."""
        return (self.first_end_s, self.last_end_s, self.hop_s)


def load_runs(paths: Sequence[Path], channels: Sequence[str] | None = None):
    """EEGBCI (or any annotated) files as :class:`ContinuousEEG`, optionally on ``channels``."""
    runs = [ContinuousEEG.from_recording(load_recording(p)) for p in paths]
    return [r.pick(channels) for r in runs] if channels else runs


def online_trials(
    runs: Sequence[ContinuousEEG], preprocessing: PreprocessingConfig, protocol: Protocol
) -> list[tuple[FloatArray, int]]:
    """Per trial of the test runs: its online windows (n_windows, C, T) and its class index."""
    span = (protocol.first_end_s - protocol.window_s, protocol.last_end_s)
    trials = build_trials(runs, MARKER_CLASSES, CLASS_NAMES, span, preprocessing, 1)
    return per_trial_windows(trials, protocol)


def per_trial_windows(trials: TrialSet, protocol: Protocol) -> list[tuple[FloatArray, int]]:
    """:meth:`TrialSet.sliding_windows` grouped by trial."""
    X, _, trial = trials.sliding_windows(protocol.window_s, protocol.ends_s)
    return [(X[trial == i], int(trials.y[i])) for i in range(trials.n_trials)]


def _csp_lda(X: FloatArray, y: np.ndarray) -> Callable[[FloatArray], np.ndarray]:
    import mne
    from mne.decoding import CSP

    clf = make_pipeline(
        CSP(n_components=6, reg="ledoit_wolf", log=True), LinearDiscriminantAnalysis()
    )
    with mne.utils.use_log_level("error"):
        clf.fit(X.astype(np.float64), y)
    return lambda W: clf.predict_proba(W.astype(np.float64))


def _ts_lr(X: FloatArray, y: np.ndarray) -> Callable[[FloatArray], np.ndarray]:
    model = fit_tangent_space_lr(X, y, len(CLASS_NAMES))
    return model.predict_proba


#: name -> ``fit(X (n, C, T), y) -> predict_proba(W (m, C, T)) -> (m, n_classes)``
CLASSIFIERS: dict[str, Callable[[FloatArray, np.ndarray], Callable[[FloatArray], np.ndarray]]] = {
    "csp_lda": _csp_lda,
    "ts_lr": _ts_lr,
}


def score_trials(
    predict: Callable[[FloatArray], np.ndarray], trials: Sequence[tuple[FloatArray, int]]
) -> tuple[float, float]:
    """Window accuracy and trial accuracy (argmax of mean window probability)."""
    hits, correct = [], []
    for windows, label in trials:
        p = predict(windows)
        hits.extend(p.argmax(axis=1) == label)
        correct.append(int(p.mean(axis=0).argmax()) == label)
    return float(np.mean(hits)), float(np.mean(correct))


#: The classical references' preprocessing (the yardstick's): causal 8-30 Hz band-pass.
REFERENCE_PREPROCESSING = PreprocessingConfig(bandpass=(8.0, 30.0), filter_order=4)


def reference_data(
    files_calib: Sequence[Path],
    files_test: Sequence[Path],
    protocol: Protocol,
    channels: Sequence[str] | None = None,
) -> tuple[FloatArray, np.ndarray, list[tuple[FloatArray, int]]]:
    """Calibration epochs and online test trials, preprocessed for the classical references.

    Returns
    -------
    X : ndarray, shape (n_epochs, n_channels, n_times)
        Cue + ``calib_tmin`` .. + ``calib_tmax`` epochs of the calibration runs.
    y : ndarray, shape (n_epochs,)
    trials : list of (windows, label)
        The test runs' online windows per trial (see :func:`online_trials`).
    """
    pre = REFERENCE_PREPROCESSING
    span = (protocol.calib_tmin, protocol.calib_tmax)
    calib = build_trials(load_runs(files_calib, channels), MARKER_CLASSES, CLASS_NAMES, span, pre)
    trials = online_trials(load_runs(files_test, channels), pre, protocol)
    return calib.X, calib.y, trials


def evaluate_subject(
    files_calib: Sequence[Path],
    files_test: Sequence[Path],
    classifiers: Sequence[str],
    protocol: Protocol | None = None,
    channels: Sequence[str] | None = None,
) -> dict:
    """Calibrate on ``files_calib``, decode ``files_test``; figures per classifier."""
    protocol = protocol or Protocol()
    X, y, trials = reference_data(files_calib, files_test, protocol, channels)
    result: dict = {"n_calib": len(y), "n_test_trials": len(trials)}
    for name in classifiers:
        if name not in CLASSIFIERS:
            raise ConfigError(
                f"Unknown classifier '{name}'; known: {', '.join(CLASSIFIERS)}.",
                "Deep decoders are evaluated with --encoders RECIPE.",
            )
        window_acc, trial_acc = score_trials(CLASSIFIERS[name](X, y), trials)
        result[name] = {"window_acc": round(window_acc, 3), "trial_acc": round(trial_acc, 3)}
    return result


def evaluate(
    root: Path,
    subjects: Sequence[int],
    calib_runs: Sequence[int] = (4, 8),
    test_runs: Sequence[int] = (12,),
    classifiers: Sequence[str] = ("csp_lda", "ts_lr"),
    progress: Callable[[int, dict], None] | None = None,
    channels: Sequence[str] | None = None,
) -> dict:
    """Leave-subjects-out evaluation: each subject is calibrated and tested on its own runs only.

    Nothing is trained across subjects here (the classical references are per subject), so every
    subject is held out from every other. ``channels`` restricts every run to those electrodes.
    """
    per_subject = {}
    for subject in subjects:
        res = evaluate_subject(
            eegbci_run_files(root, subject, calib_runs),
            eegbci_run_files(root, subject, test_runs),
            classifiers,
            channels=channels,
        )
        per_subject[subject] = res
        if progress is not None:
            progress(subject, res)
    mean = {
        name: {
            k: round(float(np.mean([r[name][k] for r in per_subject.values()])), 3)
            for k in ("window_acc", "trial_acc")
        }
        for name in classifiers
    }
    return {
        "protocol": vars(Protocol()),
        "calib_runs": list(calib_runs),
        "test_runs": list(test_runs),
        "subjects": list(subjects),
        "channels": list(channels) if channels else "all",
        "per_subject": per_subject,
        "mean": mean,
    }
