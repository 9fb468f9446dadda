"""Fit a decoder from recordings whose annotations mark the cues (calibration without a paradigm).

The classical reference of neurodeck: causal band-pass (the live preprocessing), epochs from cue
onset + ``tmin`` to + ``tmax``, OAS covariances, tangent space, logistic regression. The result is a
checkpoint that ``neurodeck decode`` loads like any other model.
"""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from calibration.epochs import cue_epochs
from calibration.riemann import fit_tangent_space_lr
from common.types import FloatArray, RecordingError
from models.checkpoint import ModelMeta
from models.tangent_space import TangentSpaceLR
from streaming.channels import normalize_channel_name
from streaming.preprocessing import PreprocessingConfig, Preprocessor
from streaming.recording_io import Recording, load_recording

logger = logging.getLogger(__name__)

#: EEGBCI imagery runs 4, 8, 12: T1 = left fist, T2 = right fist.
EEGBCI_LEFT_RIGHT = {"T1": "left", "T2": "right"}


@dataclass(frozen=True)
class ReferenceSettings:
    """How the classical reference is fitted.

    Parameters
    ----------
    marker_classes : mapping
        Annotation label -> class name; the class order is the order of first appearance here.
    tmin, tmax : float
        Epoch from cue onset + tmin to + tmax, in seconds.
    window_s : float
        Window length used when decoding live.
    preprocessing : PreprocessingConfig
        Causal preprocessing (channel list and output rate are filled in from the data).
    C_reg : float
        Inverse regularisation of the logistic regression.
    cv_folds : int
        Folds of the stratified cross-validation reported with the model.
    """

    marker_classes: Mapping[str, str] = field(default_factory=lambda: dict(EEGBCI_LEFT_RIGHT))
    tmin: float = 0.5
    tmax: float = 2.5
    window_s: float = 2.0
    preprocessing: PreprocessingConfig = field(
        default_factory=lambda: PreprocessingConfig(bandpass=(8.0, 30.0), filter_order=4)
    )
    C_reg: float = 1.0
    cv_folds: int = 5

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names in model order."""
        return tuple(dict.fromkeys(self.marker_classes.values()))


def _preprocess(rec: Recording, settings: ReferenceSettings) -> tuple[FloatArray, float]:
    pre = Preprocessor(settings.preprocessing, rec.channel_names, rec.sfreq)
    return pre.process_array(rec.data), pre.out_sfreq


def epochs_from_recordings(
    recordings: Sequence[Recording], settings: ReferenceSettings
) -> tuple[FloatArray, np.ndarray, float]:
    """Preprocess each run causally over its whole length, then cut cue epochs.

    Returns
    -------
    X : ndarray, shape (n_epochs, n_channels, n_times), float32
    y : ndarray, shape (n_epochs,), int64
    sfreq : float
    """
    names = settings.class_names
    xs, ys, sfreq = [], [], 0.0
    for rec in recordings:
        if rec.channel_names != recordings[0].channel_names or rec.sfreq != recordings[0].sfreq:
            raise RecordingError(
                f"{rec.source.name} has other channels or rate than {recordings[0].source.name}.",
                "Calibrate from recordings of the same headset and montage.",
            )
        data, sfreq = _preprocess(rec, settings)
        events = [
            (onset, settings.marker_classes[d])
            for onset, _, d in rec.annotations
            if d in settings.marker_classes
        ]
        X, y = cue_epochs(data, sfreq, events, settings.tmin, settings.tmax, names)
        xs.append(X)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys), sfreq


def cross_validated_accuracy(
    X: FloatArray, y: np.ndarray, n_classes: int, folds: int, C_reg: float
) -> float:
    """Mean accuracy of the reference over stratified folds of the calibration epochs."""
    folds = min(folds, int(np.bincount(y).min()))
    if folds < 2:
        return float("nan")
    accs = []
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y):
        model = fit_tangent_space_lr(X[train], y[train], n_classes, C_reg)
        accs.append(float((model.predict_labels(X[test]) == y[test]).mean()))
    return float(np.mean(accs))


def fit_reference(
    paths: Sequence[str | Path], settings: ReferenceSettings | None = None
) -> tuple[TangentSpaceLR, ModelMeta]:
    """Fit the tangent-space reference on the cued trials of recordings.

    Parameters
    ----------
    paths : sequence of path
        Recordings whose annotations mark the cues (for example EEGBCI runs 4 and 8).
    settings : ReferenceSettings, optional

    Returns
    -------
    model : TangentSpaceLR
    meta : ModelMeta
        Ready for :func:`models.checkpoint.save_checkpoint`; channel names are canonical 10-20
        names so that any stream with those electrodes maps by name.
    """
    recordings = [load_recording(p) for p in paths]
    return fit_reference_from_recordings(recordings, settings)


def fit_reference_from_recordings(
    recordings: Sequence[Recording], settings: ReferenceSettings | None = None
) -> tuple[TangentSpaceLR, ModelMeta]:
    """As :func:`fit_reference`, from recordings already in memory."""
    settings = settings or ReferenceSettings()
    X, y, sfreq = epochs_from_recordings(recordings, settings)
    names = settings.class_names
    model = fit_tangent_space_lr(X, y, len(names), settings.C_reg)
    cv = cross_validated_accuracy(X, y, len(names), settings.cv_folds, settings.C_reg)
    channels = tuple(normalize_channel_name(c) for c in recordings[0].channel_names)
    meta = ModelMeta(
        architecture="tangent_space_lr",
        config=model.config,
        channel_names=channels,
        sfreq=sfreq,
        window_s=settings.window_s,
        class_names=names,
        preprocessing=settings.preprocessing.to_dict(),
        training={
            "data": [str(rec.source) for rec in recordings],
            "command": shlex.join(sys.argv),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_trials": len(y),
            "trials_per_class": {n: int((y == i).sum()) for i, n in enumerate(names)},
            "epoch_s": [settings.tmin, settings.tmax],
            "marker_classes": dict(settings.marker_classes),
        },
        metrics={"cv_accuracy": cv, "cv_folds": settings.cv_folds},
    )
    logger.info(
        "Fitted reference on %d trials; %d-fold CV accuracy %.3f", len(y), settings.cv_folds, cv
    )
    return model, meta
