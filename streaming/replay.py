"""Replay recorded EEG files as if they were a headset: an EEG outlet plus a marker outlet.

Files play back to back (they must share rate and channel names); with ``loop`` the sequence
restarts seamlessly and timestamps keep increasing. Every annotation of the files becomes a
marker whose timestamp is exactly that of the sample at its onset. Pacing is shared with the
simulator (:mod:`neurodeck.streaming.pacing`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from neurodeck.common.types import RecordingError
from neurodeck.streaming.pacing import PacedStreamer, SampleBlock
from neurodeck.streaming.recording_io import Recording, load_recording
from numpy.typing import NDArray

logger = logging.getLogger(__name__)


def _check_compatible(recordings: Sequence[Recording]) -> None:
    """Raise RecordingError unless all recordings share the first one's rate and channels."""
    first = recordings[0]
    for rec in recordings[1:]:
        if rec.sfreq != first.sfreq:
            raise RecordingError(
                f"{rec.source} is sampled at {rec.sfreq:g} Hz but {first.source.name} at "
                f"{first.sfreq:g} Hz.",
                "Files replayed back to back must share one sampling rate; resample them or "
                "replay them separately.",
            )
        if rec.channel_names != first.channel_names:
            missing = [ch for ch in first.channel_names if ch not in rec.channel_names]
            extra = [ch for ch in rec.channel_names if ch not in first.channel_names]
            detail = (
                f"missing {missing}, extra {extra}"
                if missing or extra
                else "same names, other order"
            )
            raise RecordingError(
                f"{rec.source} has other channels than {first.source.name} ({detail}).",
                "Files replayed back to back must have the same channels in the same order.",
            )


def _marker_indices(rec: Recording, offset: int) -> list[tuple[int, str]]:
    """Absolute sample index and label of each annotation, dropping onsets outside the data."""
    out: list[tuple[int, str]] = []
    for onset_s, _duration_s, label in rec.annotations:
        index = round(onset_s * rec.sfreq)
        if 0 <= index < rec.n_samples:
            out.append((offset + index, label))
        else:
            logger.warning(
                "%s: annotation '%s' at %.3f s lies outside the data (%.3f s); not replayed.",
                rec.source.name,
                label,
                onset_s,
                rec.duration_s,
            )
    return out


def _default_source_id(name: str, paths: Sequence[Path]) -> str:
    """A stable source_id derived from the stream name and the files' absolute paths."""
    digest = hashlib.sha1("\n".join(str(p.resolve()) for p in paths).encode()).hexdigest()[:10]
    return f"{name}-{digest}"


class Replayer(PacedStreamer):
    """Publish one or more recordings on LSL in real time (or faster), markers included.

    Parameters
    ----------
    paths : sequence of Path or str
        Recordings to play back to back (see
        :func:`~neurodeck.streaming.recording_io.load_recording`).
    name : str
        EEG stream name; the marker stream is ``f"{name}-markers"``.
    speed : float
        Playback speed; timestamps are ``1 / (sfreq * speed)`` apart, the nominal rate stays the
        file's, and ``desc/replay_speed`` declares the factor.
    loop : bool
        Restart at the first file after the last one, until stopped.
    chunk_s : float
        Content seconds per push (``max(1, round(chunk_s * sfreq))`` samples).
    source_id : str, optional
        EEG stream source_id (default: derived from ``name`` and the file paths); the marker
        stream's is ``f"{source_id}-markers"``.
    markers : bool
        Publish the annotations on the marker stream (default). False publishes the EEG stream
        alone (see :class:`~neurodeck.streaming.pacing.PacedStreamer`).
    xdf_stream : str, optional
        For XDF files: the name of the signal stream to replay (needed when a file holds several
        EEG streams); the markers of the file's marker streams are replayed with it.
    allow_truncated : bool
        Replay what an EDF/BDF/FIF/BrainVision/XDF file cut short holds (see
        :func:`~neurodeck.streaming.recording_io.load_recording`; ``neurodeck replay
        --allow-truncated``); by default such a file is refused.

    Raises
    ------
    RecordingError
        No file given, a file cannot be loaded (missing, unreadable, truncated, or with no
        channel that carries signal: all NaN/inf, flat or of undefined range), or the files
        differ in rate or channels.

    Notes
    -----
    Every file is loaded and checked before any outlet is created. The streams are visible as
    soon as the object exists; publishing starts with :meth:`start` or :meth:`run_blocking`.
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        name: str = "neurodeck-replay",
        speed: float = 1.0,
        loop: bool = False,
        chunk_s: float = 0.02,
        source_id: str | None = None,
        markers: bool = True,
        xdf_stream: str | None = None,
        allow_truncated: bool = False,
    ) -> None:
        if isinstance(paths, (str, Path)) or not paths:
            raise RecordingError(
                f"'paths' must be a non-empty list of recording files; got {paths!r}.",
                "Give at least one EDF/BDF/FIF/GDF/VHDR/XDF file.",
            )
        self.paths = [Path(p).expanduser() for p in paths]
        recordings = [
            load_recording(p, allow_truncated=allow_truncated, xdf_stream=xdf_stream)
            for p in self.paths
        ]
        _check_compatible(recordings)
        self.loop = loop
        self._data, self._markers = self._concatenate(recordings)
        self._marker_index: NDArray[np.int64] = np.array([i for i, _ in self._markers], np.int64)
        first = recordings[0]
        super().__init__(
            name=name,
            source_id=source_id or _default_source_id(name, self.paths),
            channel_names=first.channel_names,
            sfreq=first.sfreq,
            speed=speed,
            chunk_s=chunk_s,
            extra_desc={"source_file": ", ".join(p.name for p in self.paths)},
            markers=markers,
        )
        self._open_outlets()

    @staticmethod
    def _concatenate(
        recordings: Sequence[Recording],
    ) -> tuple[NDArray[np.float32], list[tuple[int, str]]]:
        """All data back to back, shape (n_channels, n_total), and the markers' absolute indices."""
        markers: list[tuple[int, str]] = []
        offset = 0
        for rec in recordings:
            markers.extend(_marker_indices(rec, offset))
            offset += rec.n_samples
        markers.sort(key=lambda item: item[0])  # stable: same-sample markers keep file order
        data = np.concatenate([rec.data for rec in recordings], axis=1)
        return np.ascontiguousarray(data), markers

    @property
    def n_samples_per_pass(self) -> int:
        """Samples in one pass over all files."""
        return self._data.shape[1]

    @property
    def duration_s(self) -> float:
        """Content duration of one pass over all files, in seconds (wall time: / speed)."""
        return self.n_samples_per_pass / self.sfreq

    @property
    def total_samples(self) -> int | None:
        """Samples in the run: one pass, or None when looping."""
        return None if self.loop else self.n_samples_per_pass

    @property
    def marker_schedule(self) -> list[tuple[int, str]]:
        """(sample index within a pass, label) of every marker, in time order."""
        return list(self._markers)

    def _read_block(self, start: int, n_samples: int) -> SampleBlock | None:
        """Samples ``start .. start + n - 1`` of the (possibly looped) sequence, with markers.

        Notes
        -----
        Called from the publishing thread.
        """
        n_total = self.n_samples_per_pass
        if not self.loop:
            n_samples = min(n_samples, n_total - start)
            if n_samples <= 0:
                return None
        positions = np.arange(start, start + n_samples) % n_total
        return SampleBlock(self._data[:, positions], self._markers_between(start, n_samples))

    def _markers_between(self, start: int, n_samples: int) -> tuple[tuple[int, str], ...]:
        """Markers whose absolute sample index lies in ``[start, start + n_samples)``."""
        n_total = self.n_samples_per_pass
        found: list[tuple[int, str]] = []
        for pass_index in range(start // n_total, (start + n_samples - 1) // n_total + 1):
            base = pass_index * n_total
            lo = np.searchsorted(self._marker_index, start - base, side="left")
            hi = np.searchsorted(self._marker_index, start + n_samples - base, side="left")
            found.extend((base + self._markers[k][0], self._markers[k][1]) for k in range(lo, hi))
        return tuple(found)
