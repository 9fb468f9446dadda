"""Timestamped markers -> annotations relative to the first sample of timestamped EEG.

Used by the crash-safe session folders (:mod:`neurodeck.streaming.recorded_session`) and the XDF
files (:mod:`neurodeck.streaming.xdf_read`): both hold EEG samples and markers with timestamps on
one clock, and a :class:`~neurodeck.streaming.recording_io.Recording` needs annotation onsets in
content seconds from its first sample.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from neurodeck.common.types import MarkerEvent, TimeArray

logger = logging.getLogger(__name__)


def markers_to_annotations(
    timestamps: TimeArray,
    markers: Sequence[MarkerEvent],
    sfreq: float,
    sample_period_s: float,
    source: object,
) -> tuple[tuple[float, float, str], ...]:
    """Markers as ``(onset_s, 0.0, label)`` annotations, placed on the sample they fall on.

    Parameters
    ----------
    timestamps : ndarray, shape (n_samples,), float64
        Timestamps of the EEG samples (non-decreasing), on the markers' clock.
    markers : sequence of MarkerEvent
        Markers on the same clock.
    sfreq : float
        Content rate of the EEG in Hz.
    sample_period_s : float
        Expected spacing of ``timestamps`` (``1 / (sfreq * replay_speed)``).
    source : object
        What the data came from (file or folder), for the warning.

    Returns
    -------
    annotations : tuple of (onset_s, duration_s, label)
        ``onset_s = index / sfreq`` where ``index`` is the first sample at or after the marker,
        so onsets are in content seconds even for a fast replay whose timestamps are closer
        together. Markers more than half a sample period before the first or after the last
        sample are dropped with a warning; one within that margin is placed on that sample.
    """
    n_samples = len(timestamps)
    if not markers or n_samples == 0:
        return ()
    times = np.array([m.timestamp for m in markers], dtype=np.float64)
    half = 0.5 * sample_period_s
    inside = (times >= timestamps[0] - half) & (times <= timestamps[-1] + half)
    if not inside.all():
        logger.warning(
            "%s: %d of %d markers lie before the first or after the last EEG sample; dropped.",
            source,
            int((~inside).sum()),
            len(times),
        )
    index = np.minimum(np.searchsorted(timestamps, times, side="left"), n_samples - 1)
    return tuple((float(index[i]) / sfreq, 0.0, markers[i].label) for i in np.flatnonzero(inside))
