"""Small value types and errors shared by every neurodeck package (a leaf: imports numpy only).

Conventions: sample arrays are float32 ``(n_channels, n_samples)`` in microvolts, C-contiguous;
timestamps are float64 seconds on the local LSL clock (``pylsl.local_clock()`` domain, source
clock already corrected).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
TimeArray = NDArray[np.float64]


#: Decoding family of motor imagery (left / right hand, feet, rest).
MOTOR_IMAGERY = "motor_imagery"
#: Decoding family of affective and mental state (emotion, rest vs workload).
AFFECTIVE = "affective"
#: The decoding families a checkpoint can belong to.
FAMILIES = (MOTOR_IMAGERY, AFFECTIVE)


class NeurodeckError(Exception):
    """An error a user can act on: says what is wrong and what to do.

    Parameters
    ----------
    problem : str
        What is wrong, with the offending value.
    hint : str
        What the user can do about it.
    """

    def __init__(self, problem: str, hint: str = "") -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(f"{problem} {hint}".strip())


class ConfigError(NeurodeckError, ValueError):
    """A setting or argument is out of range."""


class StreamNotFoundError(NeurodeckError):
    """No LSL stream matched the query in time."""


@dataclass(frozen=True)
class StreamCandidate:
    """One of several LSL streams that answered the same query (see :class:`AmbiguousStreamError`).

    Parameters
    ----------
    name, stream_type, hostname, source_id : str
        LSL identity of the stream.
    n_channels : int
        Channel count.
    sfreq : float
        Nominal rate in Hz (0 for irregular streams).
    """

    name: str
    stream_type: str
    hostname: str
    source_id: str
    n_channels: int
    sfreq: float

    def describe(self) -> str:
        """One line: name, type, channels and rate, host and source_id."""
        return (
            f"{self.name!r} ({self.stream_type or 'no type'}, {self.n_channels} ch at "
            f"{self.sfreq:g} Hz) on host {self.hostname!r}, source_id {self.source_id!r}"
        )


class AmbiguousStreamError(NeurodeckError):
    """Several LSL streams match a query that must name one; neurodeck does not guess.

    Parameters
    ----------
    problem, hint : str
        As for :class:`NeurodeckError`; the problem lists the candidates.
    candidates : sequence of StreamCandidate
        The streams that matched.
    """

    def __init__(
        self, problem: str, hint: str = "", candidates: tuple[StreamCandidate, ...] = ()
    ) -> None:
        super().__init__(problem, hint)
        self.candidates = tuple(candidates)


class StreamLostError(NeurodeckError):
    """A stream stopped delivering samples and did not come back."""


class ChannelMappingError(NeurodeckError):
    """Channels required by a model or setting are missing from a stream or file."""


class RecordingError(NeurodeckError):
    """A recording is missing, unreadable, or holds no EEG."""


class TruncatedRecordingError(RecordingError):
    """A recording cut short; what it holds can still be read (``allow_truncated``)."""


class StreamChoiceError(RecordingError):
    """A file holds several signal streams and none was named; ``choices`` are their names.

    Parameters
    ----------
    problem, hint : str
        As in :class:`NeurodeckError`.
    choices : tuple of str
        The names of the streams to choose from.
    """

    def __init__(self, problem: str, hint: str = "", choices: tuple[str, ...] = ()) -> None:
        super().__init__(problem, hint)
        self.choices = tuple(choices)


class CheckpointError(NeurodeckError):
    """A model checkpoint is corrupt or does not fit the stream it is used with."""


@dataclass(frozen=True)
class StreamMeta:
    """Description of an EEG stream, read from its LSL header or a file.

    Parameters
    ----------
    name, stream_type, source_id, hostname : str
        LSL identity of the stream.
    channel_names : tuple of str
        One label per channel (generic ``Ch1..ChN`` when the source gives none).
    channel_units : tuple of str
        One unit per channel as declared by the source (``""`` when unknown).
    sfreq : float
        Nominal sampling rate in Hz (content rate; a replay at ``--speed X`` keeps the file's rate).
    replay_speed : float
        Replay speed factor declared by a neurodeck replay (1.0 for live headsets). Timestamps of
        consecutive samples are ``1 / (sfreq * replay_speed)`` apart.
    generic_names : bool
        True when the channel labels were invented because the source declared none.
    """

    name: str
    stream_type: str
    source_id: str
    hostname: str
    channel_names: tuple[str, ...]
    channel_units: tuple[str, ...]
    sfreq: float
    replay_speed: float = 1.0
    generic_names: bool = False

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channel_names)

    @property
    def sample_period_s(self) -> float:
        """Expected timestamp spacing between consecutive samples, in seconds."""
        return 1.0 / (self.sfreq * self.replay_speed)


@dataclass(frozen=True, slots=True)
class Window:
    """One analysis window cut from the preprocessed ring buffer.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples), float32
        Preprocessed samples, oldest first.
    end_index : int
        Absolute index (exclusive) of the window end in the preprocessed sample stream.
    t_last : float
        Corrected LSL timestamp of the window's last sample.
    t_recv : float
        ``local_clock()`` when that sample was pulled from the inlet.
    sfreq : float
        Sampling rate of ``data`` in Hz.
    """

    data: FloatArray
    end_index: int
    t_last: float
    t_recv: float
    sfreq: float


@dataclass(frozen=True, slots=True)
class MarkerEvent:
    """A string marker (cue, annotation) with its corrected LSL timestamp."""

    timestamp: float
    label: str


@dataclass(frozen=True)
class Prediction:
    """Class probabilities for one window, with the latency fields of docs/architecture.md.

    Parameters
    ----------
    probabilities : tuple of float
        One probability per class, summing to 1.
    class_names : tuple of str
        Class labels, in the model's order.
    t_last, t_recv, t_out : float
        Window's last-sample timestamp, its pull time, and the time the probabilities existed on
        the host, all on the local LSL clock.
    end_index : int
        Absolute end index of the window in the preprocessed stream.
    seq : int
        Running number of the prediction in this session.
    true_label : str or None
        The cue active at ``t_last`` when markers are available (replay), else None.
    """

    probabilities: tuple[float, ...]
    class_names: tuple[str, ...]
    t_last: float
    t_recv: float
    t_out: float
    end_index: int
    seq: int
    true_label: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Most probable class."""
        return self.class_names[int(np.argmax(self.probabilities))]

    @property
    def transport_ms(self) -> float:
        """``t_recv - t_last`` in milliseconds."""
        return (self.t_recv - self.t_last) * 1e3

    @property
    def compute_ms(self) -> float:
        """``t_out - t_recv`` in milliseconds."""
        return (self.t_out - self.t_recv) * 1e3

    @property
    def e2e_ms(self) -> float:
        """``t_out - t_last`` in milliseconds."""
        return (self.t_out - self.t_last) * 1e3

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the JSONL log line)."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "label": self.label,
            "probabilities": dict(
                zip(self.class_names, map(float, self.probabilities), strict=True)
            ),
            "t_last": self.t_last,
            "t_recv": self.t_recv,
            "t_out": self.t_out,
            "transport_ms": round(self.transport_ms, 4),
            "compute_ms": round(self.compute_ms, 4),
            "e2e_ms": round(self.e2e_ms, 4),
            "end_index": self.end_index,
            "true_label": self.true_label,
        }
        out.update(self.extra)
        return out
