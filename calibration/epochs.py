"""Cut calibration epochs out of a continuous recording at cue onsets."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from common.types import ConfigError, NeurodeckError, check_positive

logger = logging.getLogger(__name__)

MIN_TRIALS_PER_CLASS = 2


class InsufficientTrialsError(NeurodeckError, ValueError):
    """A calibration recording holds too few usable trials to fit a decoder."""


def cue_epochs(
    data: ArrayLike,
    sfreq: float,
    events: Sequence[tuple[float, str]],
    tmin: float,
    tmax: float,
    class_names: Sequence[str],
    min_trials_per_class: int = MIN_TRIALS_PER_CLASS,
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Cut fixed-length epochs around cue onsets.

    Epoch ``i`` covers samples ``[start, start + n_times)`` with
    ``start = round((onset + tmin) * sfreq)`` and ``n_times = round((tmax - tmin) * sfreq)``,
    so every epoch has the same length.

    Parameters
    ----------
    data : array_like, shape (n_channels, n_samples)
        Continuous (preprocessed) EEG in microvolts.
    sfreq : float
        Sampling rate of ``data`` in Hz.
    events : sequence of (float, str)
        ``(onset_s, label)`` pairs; ``onset_s`` is in seconds from the first sample of ``data``
        (convert LSL marker timestamps before calling). Labels not in ``class_names`` are
        ignored.
    tmin, tmax : float
        Epoch start and end relative to the onset, in seconds (``tmax > tmin``).
    class_names : sequence of str
        Classes to keep; ``y`` holds indices into this sequence.
    min_trials_per_class : int
        Fewest epochs each class must keep.

    Returns
    -------
    X : ndarray, shape (n_epochs, n_channels, n_times), float32
        The epochs, in event order; C-contiguous.
    y : ndarray, shape (n_epochs,), int64
        Class index of each epoch.

    Raises
    ------
    ConfigError
        If an argument is invalid (shape of ``data``, ``sfreq``, ``tmin``/``tmax``, class names,
        a non-finite onset).
    InsufficientTrialsError
        If no epoch is left, or a class keeps fewer than ``min_trials_per_class`` epochs.

    Notes
    -----
    Epochs that start before or end after ``data`` are dropped with a logged warning.
    """
    data = _check_data(data)
    sfreq = check_positive("sfreq", sfreq, unit="Hz")
    classes = _check_class_names(class_names)
    if isinstance(min_trials_per_class, bool) or not isinstance(min_trials_per_class, int):
        raise ConfigError(f"'min_trials_per_class' must be an int; got {min_trials_per_class!r}.")
    n_times = _epoch_length(tmin, tmax, sfreq)
    starts, labels = _epoch_starts(events, sfreq, tmin, classes)
    inside = (starts >= 0) & (starts + n_times <= data.shape[1])
    _warn_dropped(starts, inside, n_times, data.shape[1], sfreq)
    starts, labels = starts[inside], labels[inside]
    _check_counts(labels, classes, min_trials_per_class, n_dropped=int(np.sum(~inside)))
    offsets = np.arange(n_times)
    X = data[:, starts[:, None] + offsets]  # (chans, epochs, times)
    X = np.ascontiguousarray(X.transpose(1, 0, 2), dtype=np.float32)  # -> (epochs, chans, times)
    return X, labels


def _check_data(data: ArrayLike) -> NDArray[np.floating]:
    array = np.asarray(data)
    if array.ndim != 2 or array.shape[1] == 0 or not np.issubdtype(array.dtype, np.number):
        raise ConfigError(
            f"'data' must be a numeric array of shape (n_channels, n_samples); got shape "
            f"{array.shape} and dtype {array.dtype}."
        )
    return array


def _check_class_names(class_names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(class_names) if not isinstance(class_names, str) else ()
    if not names or len(set(names)) != len(names):
        raise ConfigError(
            f"'class_names' must be a non-empty sequence of unique labels; got {class_names!r}."
        )
    return names


def _epoch_length(tmin: float, tmax: float, sfreq: float) -> int:
    """Number of samples per epoch, ``round((tmax - tmin) * sfreq)`` (at least 1)."""
    if not (math.isfinite(tmin) and math.isfinite(tmax)) or tmax <= tmin:
        raise ConfigError(f"'tmax' must be > 'tmin'; got tmin={tmin!r}, tmax={tmax!r}.")
    n_times = round((tmax - tmin) * sfreq)
    if n_times < 1:
        raise ConfigError(
            f"epochs of tmax - tmin = {tmax - tmin} s at {sfreq} Hz hold no sample; "
            "widen 'tmin'..'tmax'."
        )
    return n_times


def _epoch_starts(
    events: Sequence[tuple[float, str]], sfreq: float, tmin: float, classes: tuple[str, ...]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """First sample and class index of every event whose label is a class."""
    starts, labels = [], []
    n_ignored = 0
    for onset, label in events:
        if label not in classes:
            n_ignored += 1
            continue
        if not math.isfinite(onset):
            raise ConfigError(f"event onsets must be finite; got {onset!r} for {label!r}.")
        starts.append(round((onset + tmin) * sfreq))
        labels.append(classes.index(label))
    if n_ignored:
        logger.debug("ignored %d events whose label is not in %s", n_ignored, list(classes))
    return np.asarray(starts, dtype=np.int64), np.asarray(labels, dtype=np.int64)


def _warn_dropped(
    starts: NDArray[np.int64], inside: NDArray[np.bool_], n_times: int, n_samples: int, sfreq: float
) -> None:
    if np.all(inside):
        return
    onsets = ", ".join(f"{s / sfreq:.3f}" for s in starts[~inside])
    logger.warning(
        "dropped %d of %d epochs that leave the data (%d samples = %.3f s; epoch length %d "
        "samples); epoch starts at [%s] s",
        int(np.sum(~inside)),
        len(starts),
        n_samples,
        n_samples / sfreq,
        n_times,
        onsets,
    )


def _check_counts(
    labels: NDArray[np.int64], classes: tuple[str, ...], minimum: int, n_dropped: int
) -> None:
    """Raise InsufficientTrialsError if a class keeps fewer than ``minimum`` epochs."""
    dropped = f" (epochs dropped for leaving the data: {n_dropped})" if n_dropped else ""
    if labels.size == 0:
        raise InsufficientTrialsError(
            f"no epochs of classes {list(classes)} in the recording{dropped}.",
            "Check that the markers carry these labels and fall inside the recording.",
        )
    counts = np.bincount(labels, minlength=len(classes))
    short = [(name, int(n)) for name, n in zip(classes, counts, strict=True) if n < minimum]
    if short:
        listed = "; ".join(f"class {name!r} has {n} trial{'s' * (n != 1)}" for name, n in short)
        raise InsufficientTrialsError(
            f"{listed}; at least {minimum} per class are needed{dropped}.",
            "Record more trials.",
        )
