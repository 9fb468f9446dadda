"""What a calibration uses unless told otherwise: the shipped networks and the fitting settings.

The figures behind these choices are in ``docs/results.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neurodeck.calibration.fitting import CalibrationSettings, affective_settings
from neurodeck.common.paths import pretrained_path
from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY, ConfigError
from neurodeck.models.checkpoint import read_checkpoint_meta
from neurodeck.models.shallow_any import channel_key

#: The cross-subject motor-imagery network for the 64-channel EEGBCI montage (mi_shallow64).
DEFAULT_ENCODER = pretrained_path("mi_shallow64")
#: The same recipe with channel-subset training, for any other montage (mi_shallow_any).
DEFAULT_ANY_MONTAGE_ENCODER = pretrained_path("mi_shallow_any")
#: The encoder affective calibration (emotion, mental state) fine-tunes.
DEFAULT_AFFECTIVE_ENCODER = pretrained_path("gmss")


def default_mi_encoder(channel_names: Sequence[str]) -> Path:
    """The shipped motor-imagery network for a montage.

    The 64-channel EEGBCI network when the recording has every one of its channels, otherwise
    the network that reads any subset of named electrodes.
    """
    have = {channel_key(c) for c in channel_names}
    needed = read_checkpoint_meta(DEFAULT_ENCODER).channel_names
    if all(channel_key(c) in have for c in needed):
        return DEFAULT_ENCODER
    return DEFAULT_ANY_MONTAGE_ENCODER


def calibration_settings(
    cv_folds: int,
    epochs: int | None,
    mode: str | None = None,
    seed: int = 0,
    paradigm: Any = None,
    family: str = MOTOR_IMAGERY,
    augment: Sequence[str] | None = None,
    chooser: str = "default",
) -> Any:
    """The fitting settings the command-line options ask for.

    With a paradigm, the encoder's training windows end inside its imagery period. The
    affective family fits long blocks (:func:`neurodeck.calibration.fitting.affective_settings`).
    Fine-tuning follows the network's recipe unless ``epochs``, ``mode`` or ``augment``
    (motor-imagery augmentations, :mod:`neurodeck.offline_training.label_augment`) say otherwise.
    """
    if family == AFFECTIVE:
        if augment:
            raise ConfigError(
                "'--augment' is for motor-imagery calibration (it mirrors left/right "
                "hemispheres); leave it out for affective paradigms."
            )
        epoch = paradigm.epoch_s if paradigm is not None else (5.0, 60.0)
        s = affective_settings(tuple(epoch), cv_folds, seed, epochs)
        adapt = dataclasses.replace(s.adapt, mode=mode or s.adapt.mode)
        return dataclasses.replace(s, adapt=adapt, chooser=chooser)
    s = CalibrationSettings(
        cv_folds=cv_folds,
        seed=seed,
        epochs=epochs,
        mode=mode,
        augment=None if augment is None else tuple(augment),
        chooser=chooser,
    )
    if paradigm is not None:
        first, last, hop = s.ends_s
        end = min(last, paradigm.epoch_s[1])
        s = dataclasses.replace(s, ends_s=(min(first, end), end, hop))
    return s
