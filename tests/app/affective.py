"""A tiny affective checkpoint for tests: an untrained SPP-EEGNet with family ``affective``."""

from __future__ import annotations

from pathlib import Path

from neurodeck.common.types import AFFECTIVE
from neurodeck.models.checkpoint import ModelMeta, save_checkpoint
from neurodeck.models.spp_eegnet import SPPEEGNet
from neurodeck.streaming.preprocessing import PreprocessingConfig

#: SEED's three valence classes.
EMOTION_CLASSES = ("negative", "neutral", "positive")
#: Frontal, central and parietal channels that the 16-channel simulator publishes.
EMOTION_CHANNELS = ("F3", "F4", "C3", "Cz", "C4", "Pz")


def save_affective_checkpoint(
    path: Path,
    class_names: tuple[str, ...] = EMOTION_CLASSES,
    channels: tuple[str, ...] = EMOTION_CHANNELS,
) -> Path:
    """Write an untrained affective decoder (80 Hz, 2 s windows, 1-40 Hz) to ``path``."""
    model = SPPEEGNet(
        channel_names=list(channels), sfreq=80.0, n_times=160, n_outputs=len(class_names),
        n_filters=4, n_blocks=2, embed_dim=16,
    )  # fmt: skip
    pre = PreprocessingConfig(bandpass=(1.0, 38.0), channel_names=channels, sfreq_out=80.0)
    meta = ModelMeta(
        architecture="spp_eegnet",
        config=model.config,
        channel_names=channels,
        sfreq=80.0,
        window_s=2.0,
        class_names=class_names,
        preprocessing=pre.to_dict(),
        training={"stage": "test", "paradigm": "emotion-recall"},
        family=AFFECTIVE,
    )
    return save_checkpoint(path, model, meta)
