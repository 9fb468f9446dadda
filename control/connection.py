"""The connected stream as the dashboard sees it: monitor acquisition, markers, display filter.

The monitor acquisition pulls every channel, raw and through the display filter, for the scope
and the spectra; decoding runs its own acquisition in a
:class:`~neurodeck.streaming.session.DecodeSession`, so neither waits for the other.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pylsl
from neurodeck.common.types import StreamMeta
from neurodeck.control.settings import CoreSettings
from neurodeck.control.snapshot import CueSpan, HealthView, SignalView, StreamRow
from neurodeck.streaming.acquisition import Acquisition
from neurodeck.streaming.markers import MarkerReceiver
from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor

#: Imagery length assumed for a replayed cue when the model does not say (EEGBCI: about 4.1 s).
DEFAULT_CUE_S = 4.0


def display_preprocessor(meta: StreamMeta, settings: CoreSettings) -> tuple[Preprocessor, str]:
    """The scope's causal display filter for a stream, and its label for the toggle's tooltip."""
    from neurodeck.streaming.session import scale_to_uv

    nyquist = meta.sfreq / 2
    low, high = settings.display_band
    high = min(high, 0.9 * nyquist)
    notch = settings.notch_hz if settings.notch_hz and settings.notch_hz < 0.9 * nyquist else None
    cfg = PreprocessingConfig(bandpass=(low, high), filter_order=2, notch_hz=notch)
    label = f"{low:g}-{high:g} Hz band-pass" + (f", {notch:g} Hz notch" if notch else "")
    pre = Preprocessor(cfg, meta.channel_names, meta.sfreq, in_scale_to_uv=scale_to_uv(meta))
    return pre, label


def row_of(info: pylsl.StreamInfo) -> StreamRow:
    """A browser row for a resolved stream."""
    return StreamRow(
        info.name(),
        info.type(),
        info.channel_count(),
        info.nominal_srate(),
        info.hostname(),
        info.source_id(),
    )


class Connection:
    """The connected stream: monitor acquisition, its markers and the display filter label."""

    def __init__(self, info: pylsl.StreamInfo, settings: CoreSettings) -> None:
        self.row = row_of(info)
        label: list[str] = []

        def factory(meta: StreamMeta) -> Preprocessor:
            pre, text = display_preprocessor(meta, settings)
            label.append(text)
            return pre

        acq_settings = dataclasses.replace(
            settings.acquisition, buffer_s=max(settings.acquisition.buffer_s, settings.scope_s)
        )
        self.acquisition = Acquisition(info, acq_settings, preprocessor_factory=factory)
        self.filter_label = label[0] if label else ""
        self.meta = self.acquisition.meta
        from neurodeck.streaming.session import scale_to_uv

        self.raw_scale = scale_to_uv(self.meta)
        self.markers: MarkerReceiver | None = None
        self.marker_info: pylsl.StreamInfo | None = None
        self.acquisition.start()

    @property
    def info(self) -> pylsl.StreamInfo:
        """The stream instance read now: after a re-attach, the new one, not the first.

        A recorder or a decoder opened on the first connection's info would find that instance
        gone (liblsl: "the stream has been lost") once the source restarted.
        """
        return self.acquisition.info

    def stop(self) -> None:
        """Stop the monitor acquisition and the marker receiver."""
        self.acquisition.stop()
        if self.markers is not None:
            self.markers.stop()

    def signal(self, seconds: float) -> SignalView | None:
        """The newest ``seconds`` of raw and display-filtered samples (None before any)."""
        acq = self.acquisition
        n = int(seconds * self.meta.sfreq)
        raw, stamps, end = acq.raw.latest(n)
        assert acq.processed is not None
        filtered, _, end_f = acq.processed.latest(n)
        k = min(raw.shape[1], filtered.shape[1])
        if k == 0:
            return None
        # the processed buffer is written after the raw one; align on the older end
        if end_f < end:
            raw, stamps = (
                raw[:, : raw.shape[1] - (end - end_f)],
                stamps[: len(stamps) - (end - end_f)],
            )
        k = min(raw.shape[1], filtered.shape[1])
        raw = raw[:, raw.shape[1] - k :] * np.float32(self.raw_scale)
        return SignalView(
            channel_names=self.meta.channel_names,
            sfreq=self.meta.sfreq,
            raw=raw,
            filtered=filtered[:, filtered.shape[1] - k :],
            t_end=float(stamps[-1]) if len(stamps) else 0.0,
            n_written=min(end, end_f),
            filter_label=self.filter_label,
        )

    def health(self, acq: Any, worker: Any | None, stall_s: float) -> HealthView:
        """The Health dock's figures: ``acq`` and ``worker`` are the latest statuses."""
        fields: dict[str, Any] = {}
        message = acq.message
        if worker is not None:
            w = worker
            lat = w.latency
            fields = {
                "decoding": True,
                "predictions": w.n_predictions,
                "dropped_skipped": w.dropped_skipped,
                "dropped_stale": w.dropped_stale,
                "dropped_invalid": w.dropped_invalid,
                "e2e_p50_ms": lat.e2e_p50_ms,
                "e2e_p99_ms": lat.e2e_p99_ms,
                "compute_p50_ms": lat.compute_p50_ms,
                "compute_p99_ms": lat.compute_p99_ms,
                "device": w.device,
                "runner": w.runner,
            }
            message = message or w.message
        if acq.state == "stalled" and not getattr(acq, "layout_refused", False):
            # say what to do, not only what happened (a refused layout's message says both)
            message = (
                f"No samples from '{self.meta.name}' for over {stall_s:g}"
                " s: check the headset and its driver; neurodeck re-attaches when it comes back."
            )
        return HealthView(
            state=acq.state,
            rate_hz=0.0 if acq.state == "stalled" else acq.rate_hz,
            nominal_hz=self.meta.sfreq * self.meta.replay_speed,
            n_samples=acq.n_samples,
            lost_samples=acq.lost_samples,
            n_gaps=acq.n_gaps,
            overruns=acq.overruns,
            n_nonfinite=acq.n_nonfinite,
            n_stalls=acq.n_stalls,
            message=message,
            **fields,
        )

    def cue_spans(self, marker_classes: dict[str, str], horizon: float) -> tuple[CueSpan, ...]:
        """True cues of the stream's markers (and of a running calibration) in the timeline."""
        from neurodeck.calibration.paradigm import class_of_marker

        events = self.markers.events() if self.markers is not None else []
        length = DEFAULT_CUE_S / max(self.meta.replay_speed, 1e-6)
        spans = []
        for e in events:
            if e.timestamp < horizon - length:
                continue
            label = marker_classes.get(e.label) or class_of_marker(e.label)
            if label:
                spans.append(CueSpan(e.timestamp, e.timestamp + length, label))
        return tuple(spans)
