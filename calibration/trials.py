"""Calibration trials cut by marker timestamps from recorded EEG, with the live preprocessing.

A calibration recording (a crash-safe session folder written while the person followed the cues,
an EDF/FIF file whose annotations mark the cues, or an XDF file with its marker streams) becomes
a :class:`TrialSet`: one epoch per cue, preprocessed causally over the whole recording by the
same :class:`~neurodeck.streaming.preprocessing.Preprocessor` the live path uses, then cut at the
sample each cue's timestamp falls on. Trials are dropped, each with a logged warning, when the EEG
does not cover them, when samples are missing inside them (a gap in the timestamps), when they
hold non-finite values, or when they are flat (every channel the chain reads holds one value: a
headset that stopped measuring). A channel with no finite sample at all (reported when the
recording was loaded) is read as 0 instead of dropping every trial.

The epoch spans ``span_s`` around each cue; models then take sub-windows of it
(:meth:`TrialSet.crop`, :meth:`TrialSet.sliding_windows`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from neurodeck.common.types import (
    AFFECTIVE,
    MOTOR_IMAGERY,
    ChannelMappingError,
    ConfigError,
    FloatArray,
    MarkerEvent,
    NeurodeckError,
    RecordingError,
)
from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor
from neurodeck.streaming.recording_io import Recording, flat_rows
from numpy.typing import NDArray

logger = logging.getLogger(__name__)


class InsufficientTrialsError(NeurodeckError, ValueError):
    """A calibration recording holds too few usable trials to fit a decoder."""


#: Fewest usable trials per class that ``neurodeck calibrate`` fits on, per decoding family
#: (:class:`~neurodeck.calibration.fitting.CalibrationSettings`; affective blocks are long).
MIN_TRIALS_PER_CLASS = {MOTOR_IMAGERY: 5, AFFECTIVE: 2}

#: Missing time inside a trial (seconds, beyond its expected duration) that drops the trial.
GAP_TOLERANCE_S = 0.1
#: The same tolerance in sample periods, whichever is larger.
GAP_TOLERANCE_SAMPLES = 5


@dataclass(frozen=True)
class ContinuousEEG:
    """Continuous EEG with per-sample timestamps and timestamped markers.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples), float32
        Samples in microvolts.
    timestamps : ndarray, shape (n_samples,), float64
        Time of each sample (LSL clock for recorded sessions, seconds from the start for files).
    sfreq : float
        Nominal content rate in Hz.
    sample_period_s : float
        Expected spacing of ``timestamps`` (``1 / (sfreq * replay_speed)``).
    channel_names : tuple of str
    markers : tuple of MarkerEvent
        On the clock of ``timestamps``, sorted.
    source : str
        Where the data came from (for messages and provenance).
    """

    data: FloatArray
    timestamps: NDArray[np.float64]
    sfreq: float
    sample_period_s: float
    channel_names: tuple[str, ...]
    markers: tuple[MarkerEvent, ...]
    source: str

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.data.shape[1])

    @classmethod
    def from_recording(cls, rec: Recording) -> ContinuousEEG:
        """A file read by :func:`~neurodeck.streaming.recording_io.load_recording`; annotations as
        markers."""
        times = np.arange(rec.n_samples, dtype=np.float64) / rec.sfreq
        markers = tuple(MarkerEvent(float(onset), str(desc)) for onset, _, desc in rec.annotations)
        return cls(
            rec.data,
            times,
            rec.sfreq,
            1.0 / rec.sfreq,
            tuple(rec.channel_names),
            tuple(sorted(markers, key=lambda m: m.timestamp)),
            str(rec.source),
        )

    @classmethod
    def from_session(cls, session) -> ContinuousEEG:  # streaming.recorded_session.RecordedSession
        """A crash-safe session folder loaded by
        :func:`neurodeck.streaming.recorded_session.load_session`."""
        return cls(
            session.data,
            np.asarray(session.timestamps, dtype=np.float64),
            session.meta.sfreq,
            session.meta.sample_period_s,
            tuple(session.meta.channel_names),
            tuple(session.markers),
            str(session.path),
        )

    @classmethod
    def from_xdf(cls, signal) -> ContinuousEEG:  # streaming.xdf_read.XdfSignal
        """One signal stream of an XDF file read by
        :func:`neurodeck.streaming.xdf_read.load_xdf_signal`, with its clock-corrected
        timestamps and the markers of the file's marker streams."""
        return cls(
            signal.data,
            np.asarray(signal.timestamps, dtype=np.float64),
            signal.sfreq,
            signal.sample_period_s,
            tuple(signal.channel_names),
            tuple(signal.markers),
            f"{signal.source} (stream '{signal.stream.name}')",
        )

    def pick(self, names: Sequence[str]) -> ContinuousEEG:
        """The same recording restricted to the channels ``names`` (matched by name), in order.

        Raises
        ------
        ChannelMappingError
            Listing the names the recording lacks.
        """
        from neurodeck.streaming.channels import map_channels

        try:
            rows = map_channels(self.channel_names, list(names))
        except ChannelMappingError as err:
            raise ChannelMappingError(f"{self.source}: {err.problem}", err.hint) from err
        return dataclasses.replace(
            self, data=np.ascontiguousarray(self.data[rows]), channel_names=tuple(names)
        )


def load_calibration_source(
    path: str | Path, xdf_stream: str | None = None, allow_truncated: bool = False
) -> ContinuousEEG:
    """Load a session folder (``neurodeck record`` / ``calibrate``) or an EEG file.

    Parameters
    ----------
    path : str or Path
        A session folder, an EDF/BDF/FIF/GDF/VHDR file (annotations as markers), or an XDF file
        (per-sample timestamps and markers on the recorder's clock, as in a session folder).
    xdf_stream : str, optional
        For an XDF file: the name of its signal stream to use (needed when it holds several EEG
        streams). Ignored for other sources.
    allow_truncated : bool
        Use what an EDF/BDF/FIF/BrainVision/XDF file cut short holds (``calibrate
        --allow-truncated``).

    Raises
    ------
    RecordingError
        If the path is neither a readable session folder nor a readable EEG file, an XDF file
        holds several EEG streams and ``xdf_stream`` names none of them, or none of its
        channels carries signal (every one all NaN/inf or flat; see
        :func:`~neurodeck.streaming.recording_io.check_channels`, which names in a warning the
        channels without signal of a recording that has others).
    """
    from neurodeck.streaming.recorded_session import load_session, to_recording
    from neurodeck.streaming.recording_io import (
        check_channels,
        check_recording_path,
        is_xdf_path,
        load_recording,
    )

    path = Path(path).expanduser()
    if path.is_dir():
        session = load_session(path)
        if not session.n_samples:
            to_recording(session)  # raises, saying what the folder holds instead of samples
        # load_session already warned about scattered NaN/inf samples
        check_channels(session.data, session.meta.channel_names, path, report_non_finite=False)
        return ContinuousEEG.from_session(session)
    check_recording_path(path)
    if is_xdf_path(path):
        from neurodeck.streaming.xdf_read import load_xdf_signal

        signal = load_xdf_signal(path, stream=xdf_stream, allow_truncated=allow_truncated)
        check_channels(signal.data, signal.channel_names, path)
        return ContinuousEEG.from_xdf(signal)
    return ContinuousEEG.from_recording(load_recording(path, allow_truncated=allow_truncated))


@dataclass(frozen=True)
class DroppedTrial:
    """A cue that produced no trial, and why."""

    timestamp: float
    label: str
    reason: str


@dataclass(frozen=True)
class TrialSet:
    """Preprocessed epochs around cues.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times), float32
        Epochs from cue + ``span_s[0]`` to cue + ``span_s[1]``.
    y : ndarray, shape (n_trials,), int64
        Class index of each trial into ``class_names``.
    class_names : tuple of str
    channel_names : tuple of str
        Canonical names of the rows of ``X``.
    sfreq : float
        Rate of ``X`` after preprocessing, Hz.
    span_s : tuple of float
        Epoch start and end relative to the cue, seconds.
    onsets : ndarray, shape (n_trials,), float64
        Cue timestamps.
    dropped : tuple of DroppedTrial
    sources : tuple of str
    """

    X: FloatArray
    y: NDArray[np.int64]
    class_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    sfreq: float
    span_s: tuple[float, float]
    onsets: NDArray[np.float64]
    dropped: tuple[DroppedTrial, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return len(self.y)

    def counts(self) -> dict[str, int]:
        """Trials per class."""
        return {name: int((self.y == i).sum()) for i, name in enumerate(self.class_names)}

    def subset(self, index: NDArray[np.intp]) -> TrialSet:
        """The trials at ``index``."""
        return dataclasses.replace(
            self, X=self.X[index], y=self.y[index], onsets=self.onsets[index]
        )

    def _offset(self, t_s: float) -> int:
        return round((t_s - self.span_s[0]) * self.sfreq)

    def crop(self, tmin: float, tmax: float) -> FloatArray:
        """Epochs from cue + ``tmin`` to cue + ``tmax``.

        Returns
        -------
        ndarray, shape (n_trials, n_channels, round((tmax - tmin) * sfreq)), float32
        """
        start = self._offset(tmin)
        n = round((tmax - tmin) * self.sfreq)
        if start < 0 or start + n > self.X.shape[2] or n < 1:
            raise ConfigError(
                f"crop ({tmin:g}, {tmax:g}) s is outside the epochs ({self.span_s[0]:g}, "
                f"{self.span_s[1]:g}) s."
            )
        return np.ascontiguousarray(self.X[:, :, start : start + n])

    def sliding_windows(
        self, window_s: float, ends_s: tuple[float, float, float]
    ) -> tuple[FloatArray, NDArray[np.int64], NDArray[np.int64]]:
        """Windows ending at cue + first, first + hop, ... last (the live decoder's view).

        Parameters
        ----------
        window_s : float
            Window length, seconds.
        ends_s : (first, last, hop)
            Window end times relative to the cue, seconds.

        Returns
        -------
        X : ndarray, shape (n_trials * n_per_trial, n_channels, n_times), float32
        y : ndarray, shape (n_trials * n_per_trial,), int64
        trial : ndarray, shape (n_trials * n_per_trial,), int64
            Index of the trial each window comes from.
        """
        first, last, hop = ends_s
        ends = np.arange(first, last + 1e-9, hop)
        crops = [self.crop(end - window_s, end) for end in ends]
        X = np.stack(crops, axis=1).reshape(-1, *crops[0].shape[1:])
        per = len(ends)
        return (
            np.ascontiguousarray(X),
            np.repeat(self.y, per),
            np.repeat(np.arange(self.n_trials, dtype=np.int64), per),
        )


def _check_span(span_s: Sequence[float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in span_s)
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ConfigError(f"epoch span must be (start, end) with end > start; got {span_s!r}.")
    return lo, hi


def _cues(
    eeg: ContinuousEEG, marker_classes: Mapping[str, str], class_names: Sequence[str]
) -> list[tuple[MarkerEvent, int]]:
    index = {name: i for i, name in enumerate(class_names)}
    cues = [
        (m, index[marker_classes[m.label]])
        for m in eeg.markers
        if m.label in marker_classes and marker_classes[m.label] in index
    ]
    if not cues:
        seen = Counter(m.label for m in eeg.markers)
        listing = ", ".join(f"{k} x{v}" for k, v in seen.most_common(12)) or "no markers at all"
        raise InsufficientTrialsError(
            f"{eeg.source} holds no cue markers among {sorted(marker_classes)} "
            f"(markers found: {listing}).",
            "Check that the cue marker stream was recorded with the EEG, or give the marker "
            "names that mark the cues (for EEGBCI: T1=left T2=right).",
        )
    return cues


#: Why a flat trial is dropped (also how :func:`_check_counts` recognises such drops).
FLAT_TRIAL = "the EEG is flat in it (every channel the decoder reads holds one value)"


def _trial_problem(
    eeg: ContinuousEEG,
    start_in: int,
    stop_in: int,
    raw_finite: NDArray[np.bool_],
    read: FloatArray,
) -> str | None:
    """Why the raw samples [start_in, stop_in) cannot make a trial (None when they can).

    ``read`` holds the channels the preprocessing chain reads, non-finite samples set to 0.
    """
    if start_in < 0 or stop_in > eeg.n_samples:
        return "the EEG does not cover the whole trial"
    span = eeg.timestamps[stop_in - 1] - eeg.timestamps[start_in]
    expected = (stop_in - 1 - start_in) * eeg.sample_period_s
    tolerance = max(GAP_TOLERANCE_S, GAP_TOLERANCE_SAMPLES * eeg.sample_period_s)
    if span - expected > tolerance:
        return f"{span - expected:.2f} s of EEG are missing inside it (a gap in the stream)"
    if not raw_finite[start_in:stop_in].all():
        return "it holds non-finite samples (NaN or inf)"
    if flat_rows(read[:, start_in:stop_in]).all():
        return FLAT_TRIAL
    return None


def _read_rows(eeg: ContinuousEEG, preprocessing: PreprocessingConfig) -> NDArray[np.intp]:
    """Rows of ``eeg`` the chain reads (its channels, else all); the Preprocessor checked them."""
    from neurodeck.streaming.channels import map_channels

    if preprocessing.channel_names is None:
        return np.arange(len(eeg.channel_names))
    return np.asarray(map_channels(eeg.channel_names, preprocessing.channel_names))


def _finite_samples(eeg: ContinuousEEG) -> tuple[NDArray[np.bool_], FloatArray]:
    """Which samples are finite in every live channel, and the data with the rest set to 0.

    A channel without a single finite sample (reported when the recording was loaded) does not
    count: it would otherwise drop every trial of a headset with one dead electrode.
    """
    ok = np.isfinite(eeg.data)
    live = ok.any(axis=1)
    finite = ok[live].all(axis=0) if live.any() else ok.all(axis=0)
    return finite, np.where(ok & finite, eeg.data, 0.0).astype(np.float32)


def cut_trials(
    eeg: ContinuousEEG,
    marker_classes: Mapping[str, str],
    class_names: Sequence[str],
    span_s: Sequence[float],
    preprocessing: PreprocessingConfig,
) -> tuple[list[FloatArray], list[int], list[float], list[DroppedTrial], Preprocessor]:
    """Preprocess one recording causally and cut one epoch per usable cue.

    Returns
    -------
    epochs : list of ndarray, shape (n_channels, n_times)
    labels : list of int
    onsets : list of float
    dropped : list of DroppedTrial
    preprocessor : Preprocessor
        The chain used (its ``out_channel_names`` and ``out_sfreq`` describe the epochs).
    """
    if eeg.n_samples == 0:
        raise RecordingError(
            f"{eeg.source} holds markers but no EEG samples.",
            "The EEG stream was not recorded (was the headset streaming?). Record again.",
        )
    lo, hi = _check_span(span_s)
    pre = Preprocessor(preprocessing, eeg.channel_names, eeg.sfreq)
    finite, clean = _finite_samples(eeg)
    read = clean[_read_rows(eeg, preprocessing)]
    data = pre.process_array(clean)
    ratio = pre.out_sfreq / eeg.sfreq
    n_out = round((hi - lo) * pre.out_sfreq)
    epochs, labels, onsets, dropped = [], [], [], []
    for marker, label in _cues(eeg, marker_classes, class_names):
        at = int(np.searchsorted(eeg.timestamps, marker.timestamp))
        start_in = at + int(np.floor(lo * eeg.sfreq))
        stop_in = at + int(np.ceil(hi * eeg.sfreq))
        problem = _trial_problem(eeg, start_in, stop_in, finite, read)
        start_out = round(at * ratio) + round(lo * pre.out_sfreq)
        if problem is None and (start_out < 0 or start_out + n_out > data.shape[1]):
            problem = "the EEG does not cover the whole trial"
        if problem is not None:
            dropped.append(DroppedTrial(marker.timestamp, marker.label, problem))
            continue
        epochs.append(data[:, start_out : start_out + n_out])
        labels.append(label)
        onsets.append(marker.timestamp)
    return epochs, labels, onsets, dropped, pre


def build_trials(
    recordings: Sequence[ContinuousEEG],
    marker_classes: Mapping[str, str],
    class_names: Sequence[str],
    span_s: Sequence[float],
    preprocessing: PreprocessingConfig,
    min_trials_per_class: int = 5,
) -> TrialSet:
    """Trials of one or more recordings of the same montage.

    Parameters
    ----------
    recordings : sequence of ContinuousEEG
    marker_classes : mapping
        Marker label -> class name (for example ``{"cue_left": "left"}``); other markers are
        ignored.
    class_names : sequence of str
        Classes in model order; every one must keep ``min_trials_per_class`` trials.
    span_s : (start, end)
        Epoch around each cue, seconds.
    preprocessing : PreprocessingConfig
        The live chain (its ``channel_names`` pick the model's channels by name).
    min_trials_per_class : int

    Raises
    ------
    RecordingError
        No recording, no EEG samples, or recordings of different montages.
    InsufficientTrialsError
        No cue markers, a class missing, or fewer than ``min_trials_per_class`` trials of a class
        (the message counts the dropped trials by reason; flat trials are dropped, so a
        recording flat in every trial is refused here, before any decoder is fitted).
    """
    if not recordings:
        raise RecordingError("No calibration recording given.", "Record or name a recording.")
    classes = tuple(class_names)
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise ConfigError(f"need at least two distinct classes; got {classes!r}.")
    xs: list[FloatArray] = []
    ys: list[int] = []
    onsets: list[float] = []
    dropped: list[DroppedTrial] = []
    pre = None
    for eeg in recordings:
        if eeg.channel_names != recordings[0].channel_names or eeg.sfreq != recordings[0].sfreq:
            raise RecordingError(
                f"{eeg.source} has other channels or another rate than {recordings[0].source}.",
                "Calibrate from recordings of the same headset and montage.",
            )
        e, labels, t, d, pre = cut_trials(eeg, marker_classes, classes, span_s, preprocessing)
        xs += e
        ys += labels
        onsets += t
        dropped += d
    for d in dropped:
        logger.warning("Trial '%s' at %.3f s dropped: %s.", d.label, d.timestamp, d.reason)
    assert pre is not None
    y = np.asarray(ys, dtype=np.int64)
    _check_counts(y, classes, min_trials_per_class, dropped)
    return TrialSet(
        X=np.ascontiguousarray(np.stack(xs), dtype=np.float32),
        y=y,
        class_names=classes,
        channel_names=tuple(pre.out_channel_names),
        sfreq=pre.out_sfreq,
        span_s=_check_span(span_s),
        onsets=np.asarray(onsets, dtype=np.float64),
        dropped=tuple(dropped),
        sources=tuple(e.source for e in recordings),
    )


def _check_counts(
    y: NDArray[np.int64],
    classes: tuple[str, ...],
    minimum: int,
    dropped: Sequence[DroppedTrial],
) -> None:
    counts = {name: int((y == i).sum()) for i, name in enumerate(classes)}
    missing = [name for name, n in counts.items() if n == 0]
    few = {name: n for name, n in counts.items() if 0 < n < minimum}
    reasons = Counter(d.reason for d in dropped)
    note = ""
    if dropped:
        why = "; ".join(f"{n} because {reason}" for reason, n in reasons.most_common())
        note = f" ({len(dropped)} trials were dropped: {why})"
    flat_hint = (
        "The EEG is flat in the dropped trials: check that the electrodes touch the skin and "
        "the amplifier is on, then record again. "
        if reasons[FLAT_TRIAL]
        else ""
    )
    if missing:
        raise InsufficientTrialsError(
            f"No usable trial of class {missing} (trials per class: {counts}){note}.",
            flat_hint + "Every class needs cues in the recording: record a full calibration "
            "session, or calibrate only the classes that were cued (--classes).",
        )
    if few:
        raise InsufficientTrialsError(
            f"Too few trials for {few}: each class needs at least {minimum} (trials per class: "
            f"{counts}){note}.",
            flat_hint + "Record a longer calibration (more trials per class) or add another "
            "recording.",
        )
