"""The dashboard's live decoder: a decode session, its prediction history and its outlet."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY, Prediction
from neurodeck.control.affect import affect_axes, smooth_probabilities
from neurodeck.control.connection import Connection
from neurodeck.control.settings import CoreSettings
from neurodeck.control.snapshot import DecodingView


def decoder_label(path: Path, decoder: str | None) -> str:
    """How the dashboard names a decoder: the file, and the profile's decoder in use."""
    from neurodeck.calibration.profile import is_profile, load_profile

    label = f"{path.name}"
    if is_profile(path):
        label += f" ({decoder or load_profile(path).decoder} decoder)"
    return label


class LiveDecoder:
    """A running decode session, its prediction history and the prediction outlet."""

    def __init__(self, session: Any, spec: Any, label: str, outlet: Any, history: int) -> None:
        self.session, self.spec, self.label, self.outlet = session, spec, label, outlet
        self.predictions: deque[Prediction] = deque(maxlen=history)

    def sink(self, prediction: Prediction) -> None:
        """Keep ``prediction`` for the timeline (called on the inference thread)."""
        self.predictions.append(prediction)  # deque.append is atomic: no lock on this thread

    def stop(self) -> None:
        """Stop the session and close the prediction outlet."""
        self.session.stop()
        self.outlet.close()

    @classmethod
    def start(cls, conn: Connection, spec: Any, label: str, settings: CoreSettings) -> LiveDecoder:
        """Decode ``conn``'s stream with ``spec`` in a new session, publishing on LSL.

        The session has its own inlet and acquisition, and follows the ``[decode]`` settings.
        """
        from neurodeck.streaming.session import DecodeSession
        from neurodeck.streaming.sinks import LSLPredictionOutlet, default_outlet_name

        outlet_name = default_outlet_name(spec.family)  # neurodeck-predictions or -emotion
        out = LSLPredictionOutlet(
            spec.class_names, outlet_name, f"{outlet_name}-{conn.row.key}", family=spec.family
        )
        holder = cls(None, spec, label, out, history=4096)
        try:
            holder.session = DecodeSession(
                conn.info,
                spec,
                sinks=[holder.sink, out],
                marker_info=conn.marker_info,
                settings=settings.acquisition,
                hop_s=settings.decode.hop_s,
                device=settings.decode.device,
                deadline_s=settings.decode.deadline_s,
            ).start()
        except Exception:
            out.close()
            raise
        return holder

    def view(self, conn: Connection, now: float, settings: CoreSettings) -> DecodingView:
        """The Decoding and Emotion tabs' view of the predictions of the last ``history_s``."""
        spec = self.spec
        n_classes = len(spec.class_names)
        preds = list(self.predictions)
        horizon = now - settings.history_s
        preds = [p for p in preds if p.t_last >= horizon]
        times = np.array([p.t_last for p in preds], np.float64)
        probs = np.array([p.probabilities for p in preds], np.float64).reshape(-1, n_classes)
        family = getattr(spec, "family", MOTOR_IMAGERY)
        affective = family == AFFECTIVE
        smoothing_s = settings.affective_smoothing_s if affective else settings.smoothing_s
        tau = smoothing_s / max(conn.meta.replay_speed, 1e-6)
        history = smooth_probabilities(times, probs, tau)  # (n, n_classes)
        smoothed = history[-1] if len(times) else np.full(n_classes, 1.0 / n_classes)
        names = spec.class_names
        valence = arousal = workload = None
        if affective:
            valence, arousal, workload = affect_axes(tuple(names)).expected(smoothed)
        feedback = None
        if "left" in names and "right" in names:
            feedback = float(smoothed[names.index("right")] - smoothed[names.index("left")])
        return DecodingView(
            class_names=tuple(names),
            decoder=self.label,
            times=times,
            probabilities=probs,
            smoothed=smoothed,
            feedback=feedback,
            cues=conn.cue_spans(dict(spec.marker_classes), horizon),
            history_s=settings.history_s,
            smoothing_s=smoothing_s,
            family=family,
            smoothed_history=history,
            valence=valence,
            arousal=arousal,
            workload=workload,
        )
