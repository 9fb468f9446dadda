"""From a subject profile (or a bare checkpoint) to the decoder a live session runs."""

from __future__ import annotations

import logging
from pathlib import Path

from neurodeck.calibration.profile import is_profile, load_profile
from neurodeck.common.types import ConfigError
from neurodeck.models.checkpoint import ModelMeta, load_checkpoint
from neurodeck.streaming.session import DecoderSpec

logger = logging.getLogger(__name__)


def load_decoder_spec(path: Path, decoder: str | None = None) -> tuple[DecoderSpec, ModelMeta]:
    """Load a subject profile's decoder (or a checkpoint) into a :class:`DecoderSpec`.

    Parameters
    ----------
    path : Path
        A profile folder written by ``neurodeck calibrate`` or a ``.safetensors`` checkpoint.
    decoder : str, optional
        With a profile: the name of one of its decoders (default: the profile's choice).

    Returns
    -------
    spec : DecoderSpec
        What :class:`~neurodeck.streaming.session.DecodeSession` needs: the model, its channels,
        rate, window, classes and preprocessing chain.
    meta : ModelMeta
        The checkpoint's metadata.

    Raises
    ------
    ConfigError
        ``decoder`` given with a bare checkpoint, or a self-supervised encoder with no head.
    CheckpointError
        The file or the profile's decoder cannot be read.
    """
    if is_profile(path):
        path = load_profile(path).checkpoint(decoder)
        logger.info("profile decoder: %s", path)
    elif decoder:
        raise ConfigError(
            f"'--decoder' chooses among a profile's decoders, but {path} is not a profile.",
            "Give the folder `neurodeck calibrate --out` wrote, or leave '--decoder' out.",
        )
    model, meta = load_checkpoint(path)
    stage = meta.training.get("stage")
    if stage == "ssl":
        raise ConfigError(
            f"{path} is a self-supervised encoder without a trained classifier head.",
            "Fine-tune it on calibration trials first (neurodeck calibrate), then decode.",
        )
    if stage == "supervised":
        logger.warning(
            "%s is a cross-subject model that was not calibrated to this person; it was trained "
            "on data re-centred per subject, and its accuracy without calibration is not "
            "validated. Calibrate it for real use.",
            path.name,
        )
    return DecoderSpec(
        model=model,
        channel_names=tuple(meta.channel_names),
        sfreq=meta.sfreq,
        window_s=meta.window_s,
        class_names=tuple(meta.class_names),
        preprocessing=dict(meta.preprocessing),
        marker_classes=dict(meta.training.get("marker_classes", {})),
        family=meta.family,
    ), meta
