"""Synthetic calibration data for tests: simulated motor-imagery EEG with cue markers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from neurodeck.calibration.fitting import BaseEncoder
from neurodeck.calibration.trials import ContinuousEEG
from neurodeck.common.types import MarkerEvent
from neurodeck.models.checkpoint import ModelMeta
from neurodeck.models.eegnet import EEGNet
from neurodeck.models.spp_eegnet import SPPEEGNet
from neurodeck.streaming.preprocessing import PreprocessingConfig
from neurodeck.streaming.simulator import SimulationConfig, SyntheticEEG

EEG_CLASSES = {"left": "left", "right": "right"}


def simulated_session(
    seconds: float = 120.0,
    n_channels: int = 16,
    sfreq: float = 160.0,
    seed: int = 0,
    t0: float = 1000.0,
    speed: float = 1.0,
    classes: tuple[str, ...] = ("left", "right"),
) -> ContinuousEEG:
    """A recorded session as the recorder would return it (LSL-clock timestamps from ``t0``)."""
    cfg = SimulationConfig(
        n_channels=n_channels, sfreq=sfreq, seed=seed, classes=classes, erd_depth=0.7,
        rest_s=(1.5, 2.0), lead_in_s=4.0,
    )  # fmt: skip
    block = SyntheticEEG(cfg).generate(int(seconds * sfreq))
    period = 1.0 / (sfreq * speed)
    times = t0 + np.arange(block.n_samples) * period
    last = block.n_samples - int(5 * sfreq)  # the session ends after its last trial
    markers = tuple(MarkerEvent(t0 + i * period, lab) for i, lab in block.markers if i < last)
    return ContinuousEEG(
        block.data, times, sfreq, period, cfg.channel_names, markers, f"sim-seed{seed}"
    )


def tiny_meta(model, class_names=("left", "right")) -> ModelMeta:
    """Checkpoint metadata of a small test encoder (4-38 Hz, 80 Hz, 2 s windows)."""
    pre = PreprocessingConfig(
        bandpass=(4.0, 38.0), channel_names=tuple(model.channel_names), sfreq_out=80.0
    )
    return ModelMeta(
        architecture="spp_eegnet" if isinstance(model, SPPEEGNet) else "eegnet",
        config=model.config,
        channel_names=tuple(model.channel_names),
        sfreq=80.0,
        window_s=2.0,
        class_names=class_names,
        preprocessing=pre.to_dict(),
        training={"stage": "supervised", "marker_classes": {"T1": "left", "T2": "right"}},
    )


def tiny_encoder(channels=("C3", "Cz", "C4", "Pz")) -> BaseEncoder:
    """A small untrained SPP-EEGNet standing in for the shipped encoder."""
    model = SPPEEGNet(
        channel_names=list(channels), sfreq=80.0, n_times=160, n_outputs=2, n_filters=4,
        n_blocks=2, embed_dim=16,
    )  # fmt: skip
    return BaseEncoder(model, tiny_meta(model), "tiny-spp")


def tiny_fixed_encoder(channels=("C3", "Cz", "C4", "Pz")) -> BaseEncoder:
    """A small EEGNet: its weights depend on its channels."""
    model = EEGNet(channel_names=list(channels), sfreq=80.0, n_times=160, n_outputs=2)
    return BaseEncoder(model, tiny_meta(model), "tiny-eegnet")


def save_tiny_encoder(path: Path) -> Path:
    """Write :func:`tiny_encoder` as a checkpoint."""
    from neurodeck.models.checkpoint import save_checkpoint

    base = tiny_encoder()
    return save_checkpoint(path, base.model, base.meta)
