"""Online motor-imagery evaluation protocol (the yardstick of ``../shared/tools/mi_reference.py``).

For each held-out subject: calibrate on some runs (cue + 0.5 s .. + 2.5 s epochs), then decode the
test runs with 2-s windows, hop 0.25 s, whose end lies between cue + 1 s and cue + 4 s; a trial's
label is the argmax of its windows' mean probability. Preprocessing is neurodeck's own causal
chain (4th-order Butterworth band-pass 8-30 Hz over the whole run, as online).

Only the classical references are implemented so far (CSP + LDA, tangent space + logistic
regression); the deep encoders of issue 3 plug in as further entries of :data:`CLASSIFIERS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.pipeline import make_pipeline

from calibration.epochs import cue_epochs
from calibration.riemann import fit_tangent_space_lr
from common.types import ConfigError, FloatArray
from streaming.preprocessing import PreprocessingConfig, Preprocessor
from streaming.recording_io import eegbci_run_files, load_recording

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


@dataclass(frozen=True)
class RunData:
    """One preprocessed run: data (n_channels, n_samples) float32, rate, and (onset_s, class)."""

    data: FloatArray
    sfreq: float
    cues: list[tuple[float, str]]


def load_run(path: Path, preprocessing: PreprocessingConfig) -> RunData:
    """Load a run and preprocess it causally over its whole length (as online)."""
    rec = load_recording(path)
    pre = Preprocessor(preprocessing, rec.channel_names, rec.sfreq)
    cues = [(onset, MARKER_CLASSES[d]) for onset, _, d in rec.annotations if d in MARKER_CLASSES]
    return RunData(pre.process_array(rec.data), pre.out_sfreq, cues)


def online_windows(run: RunData, protocol: Protocol) -> list[tuple[FloatArray, int]]:
    """Per trial: windows of shape (n_windows, n_channels, window_n) and the class index.

    Windows end at ``onset + first_end_s, + hop_s, ... , onset + last_end_s`` (content time);
    only data up to each window's end is used, as online.
    """
    n = round(protocol.window_s * run.sfreq)
    out = []
    for onset, label in run.cues:
        ends = np.arange(
            onset + protocol.first_end_s, onset + protocol.last_end_s + 1e-9, protocol.hop_s
        )
        idx = [round(e * run.sfreq) for e in ends]
        wins = [run.data[:, i - n : i] for i in idx if n <= i <= run.data.shape[1]]
        if wins:
            out.append((np.stack(wins), CLASS_NAMES.index(label)))
    return out


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
    files_calib: Sequence[Path], files_test: Sequence[Path], protocol: Protocol
) -> tuple[FloatArray, np.ndarray, list[tuple[FloatArray, int]]]:
    """Calibration epochs and online test trials, preprocessed for the classical references.

    Returns
    -------
    X : ndarray, shape (n_epochs, n_channels, n_times)
        Cue + ``calib_tmin`` .. + ``calib_tmax`` epochs of the calibration runs.
    y : ndarray, shape (n_epochs,)
    trials : list of (windows, label)
        The test runs' online windows per trial (see :func:`online_windows`).
    """
    pre = REFERENCE_PREPROCESSING
    xs, ys = [], []
    for path in files_calib:
        run = load_run(path, pre)
        X, y = cue_epochs(
            run.data, run.sfreq, run.cues, protocol.calib_tmin, protocol.calib_tmax, CLASS_NAMES
        )
        xs.append(X)
        ys.append(y)
    trials = [t for path in files_test for t in online_windows(load_run(path, pre), protocol)]
    return np.concatenate(xs), np.concatenate(ys), trials


def evaluate_subject(
    files_calib: Sequence[Path],
    files_test: Sequence[Path],
    classifiers: Sequence[str],
    protocol: Protocol | None = None,
) -> dict:
    """Calibrate on ``files_calib``, decode ``files_test``; figures per classifier."""
    protocol = protocol or Protocol()
    X, y, trials = reference_data(files_calib, files_test, protocol)
    result: dict = {"n_calib": len(y), "n_test_trials": len(trials)}
    for name in classifiers:
        if name not in CLASSIFIERS:
            raise ConfigError(
                f"Unknown classifier '{name}'; known: {', '.join(CLASSIFIERS)}.",
                "Deep encoders arrive with issue 3.",
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
) -> dict:
    """Leave-subjects-out evaluation: each subject is calibrated and tested on its own runs only.

    Nothing is trained across subjects here (the classical references are per subject), so every
    subject is held out from every other; the deep encoders will add the cross-subject split.
    """
    per_subject = {}
    for subject in subjects:
        res = evaluate_subject(
            eegbci_run_files(root, subject, calib_runs),
            eegbci_run_files(root, subject, test_runs),
            classifiers,
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
        "per_subject": per_subject,
        "mean": mean,
    }
