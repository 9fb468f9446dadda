"""A live decoding session: acquisition -> preprocessing -> windows -> model -> sinks.

This is the one code path for live headsets, replayed recordings and the simulator; the CLI and
the dashboard are views over a :class:`DecodeSession`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pylsl
import torch
from neurodeck.common.types import MOTOR_IMAGERY, ChannelMappingError, Prediction, StreamMeta
from neurodeck.streaming.acquisition import Acquisition, AcquisitionStatus
from neurodeck.streaming.inference import InferenceWorker, ModelRunner, PredictionSink, WorkerStatus
from neurodeck.streaming.lsl_io import unit_scale_to_uv
from neurodeck.streaming.markers import MarkerReceiver
from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor
from neurodeck.streaming.scheduler import WindowScheduler, WindowSpec
from neurodeck.streaming.settings import AcquisitionSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecoderSpec:
    """What the live path needs to know about a trained model.

    Parameters
    ----------
    model : torch.nn.Module
        ``(batch, n_channels, n_samples)`` float32 -> logits ``(batch, n_classes)``.
    channel_names : tuple of str
        Model input channels in order (matched to the stream by name).
    sfreq : float
        Model input rate in Hz (the stream is resampled to it).
    window_s : float
        Model window length in seconds.
    class_names : tuple of str
        Output classes.
    preprocessing : dict
        ``PreprocessingConfig.to_dict()`` saved with the model.
    marker_classes : mapping
        Marker label -> class name (for example ``{"T1": "left", "T2": "right"}``), used to show
        the true cue next to each prediction when replaying.
    family : str
        Decoding family (``common.types.FAMILIES``): ``"motor_imagery"`` or ``"affective"``.
    """

    model: torch.nn.Module
    channel_names: tuple[str, ...]
    sfreq: float
    window_s: float
    class_names: tuple[str, ...]
    preprocessing: dict
    marker_classes: Mapping[str, str] = field(default_factory=dict)
    family: str = MOTOR_IMAGERY


def scale_to_uv(meta: StreamMeta) -> float:
    """Factor from the stream's declared unit to microvolts (1.0, with a warning, if unknown)."""
    units = {u.strip().lower() for u in meta.channel_units if u.strip()}
    scales = {unit_scale_to_uv(u) for u in units}
    if len(scales) == 1 and None not in scales:
        return float(scales.pop())  # type: ignore[arg-type]
    logger.warning(
        "Stream '%s' declares units %s; assuming microvolts. If the amplitudes look 1e6 times off, "
        "fix the driver's channel units.",
        meta.name,
        sorted(units) or "none",
    )
    return 1.0


def build_preprocessor(spec: DecoderSpec, meta: StreamMeta) -> Preprocessor:
    """The model's saved preprocessing, mapped to this stream's channels and rate.

    Raises
    ------
    ChannelMappingError
        When the stream lacks channels the model needs.
    ConfigError
        When the stream's rate cannot be brought to the model's (for example a band-pass edge
        above the stream's Nyquist frequency).
    """
    if meta.generic_names:
        raise ChannelMappingError(
            f"Stream '{meta.name}' declares no channel labels, so the model's channels "
            f"({', '.join(spec.channel_names[:6])}...) cannot be found by name.",
            "Configure the headset driver to publish channel labels (desc/channels/channel/label).",
        )
    cfg = PreprocessingConfig.from_dict(spec.preprocessing)
    cfg = dataclasses.replace(cfg, channel_names=spec.channel_names, sfreq_out=spec.sfreq)
    return Preprocessor(cfg, meta.channel_names, meta.sfreq, in_scale_to_uv=scale_to_uv(meta))


@dataclass(frozen=True)
class SessionSnapshot:
    """Everything a view needs, read without touching LSL or torch."""

    meta: StreamMeta
    acquisition: AcquisitionStatus
    worker: WorkerStatus
    latest: Prediction | None


class DecodeSession:
    """Wire a stream to a model and sinks.

    Parameters
    ----------
    eeg_info : pylsl.StreamInfo
        The resolved EEG stream.
    spec : DecoderSpec
        The model and its input contract.
    hop_s : float
        Distance between window ends in seconds.
    device : str
        ``auto``, ``cpu`` or ``cuda[:N]``.
    sinks : sequence of callables
        Receive each prediction on the inference thread.
    marker_info : pylsl.StreamInfo, optional
        A marker stream whose cues are attached to predictions as the true label.
    settings : AcquisitionSettings, optional
    deadline_s : float or None
        Windows whose last sample is older than this are dropped as stale (sample time).
    """

    def __init__(
        self,
        eeg_info: pylsl.StreamInfo,
        spec: DecoderSpec,
        hop_s: float = 0.25,
        device: str = "auto",
        sinks: Sequence[PredictionSink] = (),
        marker_info: pylsl.StreamInfo | None = None,
        settings: AcquisitionSettings | None = None,
        deadline_s: float | None = 0.5,
    ) -> None:
        self.spec = spec
        window_n, hop_n = WindowSpec(spec.window_s, hop_s).samples(spec.sfreq)
        # The marker inlet first: a replay starts publishing when it sees the EEG consumer.
        self.markers = MarkerReceiver(marker_info) if marker_info is not None else None
        self.acquisition = Acquisition(
            eeg_info, settings, preprocessor_factory=lambda meta: build_preprocessor(spec, meta)
        )
        assert self.acquisition.processed is not None
        self.worker = InferenceWorker(
            ModelRunner(spec.model, device),
            spec.class_names,
            self.acquisition.processed,
            self.acquisition.data_event,
            WindowScheduler(window_n, hop_n),
            spec.sfreq,
            bad_until=lambda: self.acquisition.bad_until,
            sinks=sinks,
            deadline_s=deadline_s,
            label_at=self._true_label if self.markers is not None else None,
        )

    @property
    def meta(self) -> StreamMeta:
        """The EEG stream's description."""
        return self.acquisition.meta

    def start(self) -> DecodeSession:
        """Start markers, acquisition and the worker (returns self)."""
        if self.markers is not None:
            self.markers.start()
        self.acquisition.start()
        self.worker.start()
        return self

    def stop(self) -> None:
        """Stop every thread."""
        self.worker.stop()
        self.acquisition.stop()
        if self.markers is not None:
            self.markers.stop()

    def snapshot(self) -> SessionSnapshot:
        """Current state for a view (any thread)."""
        return SessionSnapshot(
            self.meta, self.acquisition.status(), self.worker.status(), self.worker.latest
        )

    def _true_label(self, t_last: float) -> str | None:
        assert self.markers is not None
        event = self.markers.label_at(t_last)
        if event is None:
            return None
        return self.spec.marker_classes.get(event.label, event.label)
