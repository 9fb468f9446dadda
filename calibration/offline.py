"""The classical reference from annotated recordings alone, as one checkpoint (no network).

What the simulator demo and the pipeline benchmark decode with: the tangent-space reference
fitted by :func:`neurodeck.calibration.fitting.fit_reference` on trials cut by
:func:`neurodeck.calibration.trials.build_trials`, the code subject profiles use, with its
cross-validated accuracy in the checkpoint's metrics. ``neurodeck decode`` loads it like any other
model.
"""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from neurodeck.calibration.fitting import (
    CalibrationSettings,
    fit_reference,
    reference_cv_accuracy,
    reference_preprocessing,
    reference_trials,
    reference_window_s,
)
from neurodeck.calibration.trials import ContinuousEEG
from neurodeck.models.checkpoint import ModelMeta
from neurodeck.models.tangent_space import TangentSpaceLR
from neurodeck.streaming.recording_io import Recording, load_recording

logger = logging.getLogger(__name__)

#: EEGBCI imagery runs 4, 8, 12: T1 = left fist, T2 = right fist.
EEGBCI_LEFT_RIGHT = {"T1": "left", "T2": "right"}


def fit_reference_files(
    paths: Sequence[str | Path],
    marker_classes: Mapping[str, str] = EEGBCI_LEFT_RIGHT,
    settings: CalibrationSettings | None = None,
) -> tuple[TangentSpaceLR, ModelMeta]:
    """:func:`fit_reference_recordings` on files (EDF, FIF, ...)."""
    return fit_reference_recordings([load_recording(p) for p in paths], marker_classes, settings)


def fit_reference_recordings(
    recordings: Sequence[Recording | ContinuousEEG],
    marker_classes: Mapping[str, str] = EEGBCI_LEFT_RIGHT,
    settings: CalibrationSettings | None = None,
) -> tuple[TangentSpaceLR, ModelMeta]:
    """Fit the tangent-space reference on the cued trials of recordings.

    Parameters
    ----------
    recordings : sequence of Recording or ContinuousEEG
        One montage; annotations (or markers) mark the cues.
    marker_classes : mapping
        Marker label -> class; the class order is the order of first appearance.
    settings : CalibrationSettings, optional
        Epoch, chain and cross-validation folds (calibration's defaults).

    Returns
    -------
    model : TangentSpaceLR
    meta : ModelMeta
        Ready for :func:`neurodeck.models.checkpoint.save_checkpoint`; canonical channel names, so
        any stream with those electrodes maps by name. ``metrics.cv_accuracy`` is the trials'
        cross-validated accuracy.
    """
    settings = settings or CalibrationSettings()
    runs = [
        r if isinstance(r, ContinuousEEG) else ContinuousEEG.from_recording(r) for r in recordings
    ]
    names = tuple(dict.fromkeys(marker_classes.values()))
    trials = reference_trials(runs, marker_classes, names, settings)
    model = fit_reference(trials, settings)
    cv = reference_cv_accuracy(trials, settings)
    cfg = reference_preprocessing(settings, runs[0].channel_names)
    meta = ModelMeta(
        architecture="tangent_space_lr",
        config=model.config,
        channel_names=trials.channel_names,
        sfreq=trials.sfreq,
        window_s=reference_window_s(settings),
        class_names=names,
        preprocessing=cfg.to_dict(),
        training={
            "data": list(trials.sources),
            "command": shlex.join(sys.argv),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_trials": trials.n_trials,
            "trials_per_class": trials.counts(),
            "epoch_s": list(settings.reference_epoch_s),
            "marker_classes": dict(marker_classes),
        },
        metrics={"cv_accuracy": cv, "cv_folds": settings.cv_folds},
    )
    logger.info("Fitted reference on %d trials; CV accuracy %.3f", trials.n_trials, cv)
    return model, meta  # type: ignore[return-value]
