"""Windows cut from a :class:`~neurodeck.offline_training.corpus.Corpus`, as torch datasets.

:class:`WindowDataset` gives unlabelled windows on a regular grid (self-supervised pretraining);
:class:`CueWindowDataset` gives labelled windows around cue annotations, ending at the same
times the online protocol decodes (cue + 1 s ... cue + 4 s, every hop). Both hold a precomputed
int64 index and copy each window out of the memory-mapped arrays on demand, so they work on
corpora bigger than memory.

Optional Euclidean alignment (He & Wu 2019) whitens each recording or subject with
``R^{-1/2}``, ``R`` being the mean covariance of its windows; :func:`euclidean_alignment_matrix`
is the same computation for calibration trials. :func:`subject_folds` splits subjects for
leave-subjects-out training.

References
----------
He, H. and Wu, D. (2019). Transfer learning for brain-computer interfaces: a Euclidean space data
alignment approach. IEEE Transactions on Biomedical Engineering 67(2), 399-410.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from neurodeck.common.checks import check_positive
from neurodeck.common.types import ChannelMappingError, ConfigError
from neurodeck.offline_training.corpus import Corpus
from neurodeck.streaming.channels import map_channels, normalize_channel_name
from numpy.typing import ArrayLike, NDArray
from torch.utils.data import Dataset

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float32]
Alignment = Literal["none", "recording", "subject"]
ALIGNMENTS = ("none", "recording", "subject")

#: Eigenvalues of ``R`` below this fraction of its largest are raised to it before ``R^{-1/2}``.
EIGENVALUE_FLOOR = 1e-6

_COVARIANCE_BLOCK = 256  # windows per block when summing covariances (bounds memory)


# -- Euclidean alignment --------------------------------------------------------------------------


def _covariance_sum(windows: NDArray[np.floating]) -> NDArray[np.float64]:
    """Sum over windows of ``X X^T``: (n, C, T) -> (C, C), float64, in blocks."""
    total = np.zeros((windows.shape[1], windows.shape[1]))
    for begin in range(0, windows.shape[0], _COVARIANCE_BLOCK):
        block = np.asarray(windows[begin : begin + _COVARIANCE_BLOCK], dtype=np.float64)
        total += np.einsum("nct,ndt->cd", block, block)
    return total


def inverse_sqrt_spd(matrix: ArrayLike, floor: float = EIGENVALUE_FLOOR) -> FloatArray:
    """``matrix^{-1/2}`` of a symmetric positive semi-definite matrix, via ``eigh``.

    Eigenvalues below ``floor * largest eigenvalue`` are raised to that value first, so rank-
    deficient matrices (average reference, a flat channel) give a finite result; directions with
    (almost) no variance are then scaled by at most ``1 / sqrt(floor * largest)``.

    Parameters
    ----------
    matrix : array_like, shape (n_channels, n_channels)
        Symmetric positive semi-definite (a mean covariance).
    floor : float
        Relative eigenvalue floor, in (0, 1).

    Returns
    -------
    ndarray, shape (n_channels, n_channels), float32
        Symmetric; ``W @ matrix @ W`` is the identity where no eigenvalue was floored.

    Raises
    ------
    ConfigError
        If ``matrix`` is not square, not finite, or has no positive eigenvalue (all-zero data).
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or not np.all(np.isfinite(m)):
        raise ConfigError(f"'matrix' must be a finite square matrix; got shape {m.shape}.")
    check_positive("floor", floor, upper=1.0)
    values, vectors = np.linalg.eigh((m + m.T) / 2.0)
    if values[-1] <= 0:
        raise ConfigError(
            "The mean covariance has no positive eigenvalue: the windows are all zero.",
            "Leave flat recordings out before aligning them.",
        )
    values = np.maximum(values, floor * values[-1])
    return ((vectors / np.sqrt(values)) @ vectors.T).astype(np.float32)


def euclidean_alignment_matrix(windows: ArrayLike, floor: float = EIGENVALUE_FLOOR) -> FloatArray:
    """Euclidean-alignment matrix ``R^{-1/2}`` of a set of windows (He & Wu 2019).

    ``R = mean_i X_i X_i^T / T`` (no mean removal: band-passed EEG has zero mean), and
    ``R^{-1/2}`` by :func:`inverse_sqrt_spd`. After ``X_i <- R^{-1/2} X_i`` the windows' mean
    covariance is the identity.

    Parameters
    ----------
    windows : array_like, shape (n_windows, n_channels, n_times)
        Windows (or calibration trials) of one recording or subject, preprocessed.
    floor : float
        Relative eigenvalue floor of :func:`inverse_sqrt_spd`.

    Returns
    -------
    ndarray, shape (n_channels, n_channels), float32

    Raises
    ------
    ConfigError
        If ``windows`` is not a non-empty finite 3-d array, or is all zero.
    """
    x = np.asarray(windows)
    if x.ndim != 3 or min(x.shape) == 0:
        raise ConfigError(
            f"'windows' must have shape (n_windows, n_channels, n_times), none empty; "
            f"got {x.shape}."
        )
    if not np.all(np.isfinite(x)):
        raise ConfigError("'windows' hold NaN or infinite values.", "Clean the data first.")
    mean_cov = _covariance_sum(x) / (x.shape[0] * x.shape[2])
    return inverse_sqrt_spd(mean_cov, floor)


# -- shared machinery -----------------------------------------------------------------------------


def _n_samples(name: str, seconds: Any, sfreq: float) -> int:
    """``round(seconds * sfreq)``, at least one sample."""
    seconds = check_positive(name, seconds, unit="s")
    n = round(seconds * sfreq)
    if n < 1:
        raise ConfigError(f"'{name}' is shorter than one sample at {sfreq:g} Hz; got {seconds}.")
    return n


def _common_sfreq(corpus: Corpus) -> float:
    """The one sampling rate of every recording."""
    if not isinstance(corpus, Corpus) or len(corpus) == 0:
        raise ConfigError(f"'corpus' must be a non-empty Corpus; got {corpus!r}.")
    rates = sorted({rec.sfreq for rec in corpus})
    if len(rates) > 1:
        raise ConfigError(
            f"The corpus mixes sampling rates {rates} Hz.",
            "Build it with PreprocessingConfig(sfreq_out=...) so every recording has one rate.",
        )
    return rates[0]


def _channel_picks(
    corpus: Corpus, channel_names: Sequence[str] | None
) -> tuple[list[NDArray[np.intp] | None], tuple[str, ...]]:
    """Per recording: rows to take (None: all, in order), and the output channel names."""
    if channel_names is None:
        layouts = {rec.channel_names for rec in corpus}
        if len(layouts) > 1:
            raise ConfigError(
                f"The corpus's recordings have {len(layouts)} different channel lists.",
                "Pass channel_names=[...], or build the corpus with PreprocessingConfig"
                "(channel_names=...).",
            )
        return [None] * len(corpus), corpus[0].channel_names
    wanted = tuple(normalize_channel_name(name) for name in channel_names)
    picks: list[NDArray[np.intp] | None] = []
    for rec in corpus:
        try:
            pick = map_channels(rec.channel_names, wanted)
        except ChannelMappingError as err:
            raise ChannelMappingError(f"{rec.path}: {err.problem}", err.hint) from err
        picks.append(None if np.array_equal(pick, np.arange(rec.n_channels)) else pick)
    return picks, wanted


def _check_alignment(alignment: Any, max_windows: Any) -> tuple[str, int | None]:
    """Validated alignment mode and window budget."""
    if alignment not in ALIGNMENTS:
        raise ConfigError(f"'alignment' must be one of {ALIGNMENTS}; got {alignment!r}.")
    ok = max_windows is None or (
        isinstance(max_windows, (int, np.integer))
        and not isinstance(max_windows, bool)
        and max_windows >= 1
    )
    if not ok:
        raise ConfigError(
            f"'alignment_max_windows' must be None or an integer >= 1; got {max_windows!r}."
        )
    return alignment, None if max_windows is None else int(max_windows)


class _CorpusWindows(Dataset):
    """Windows of ``n_times`` samples at ``(recording, start)`` rows of an int64 index."""

    def __init__(
        self,
        corpus: Corpus,
        window_s: float,
        channel_names: Sequence[str] | None,
        alignment: Alignment,
        alignment_max_windows: int | None,
    ) -> None:
        self._sfreq = _common_sfreq(corpus)
        self._corpus = corpus
        self._n_times = _n_samples("window_s", window_s, self._sfreq)
        self._picks, self._channel_names = _channel_picks(corpus, channel_names)
        self._alignment, self._max_windows = _check_alignment(alignment, alignment_max_windows)
        self._index = np.zeros((0, 2), dtype=np.int64)  # (n_windows, [recording, start])
        self._align: list[FloatArray | None] = [None] * len(corpus)

    # -- description -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._index.shape[0])

    @property
    def corpus(self) -> Corpus:
        """The corpus the windows come from."""
        return self._corpus

    @property
    def sfreq(self) -> float:
        """Sampling rate in Hz."""
        return self._sfreq

    @property
    def n_times(self) -> int:
        """Samples per window."""
        return self._n_times

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Channel names of every window, in row order."""
        return self._channel_names

    @property
    def alignment(self) -> str:
        """``'none'``, ``'recording'`` or ``'subject'``."""
        return self._alignment

    @property
    def index(self) -> NDArray[np.int64]:
        """Read-only view of the index, shape (n_windows, 2): recording, first sample."""
        view = self._index.view()
        view.flags.writeable = False
        return view

    def alignment_matrix(self, recording: int) -> FloatArray | None:
        """``R^{-1/2}`` applied to recording ``recording``'s windows (None without alignment)."""
        return self._align[recording]

    def recording_of(self, i: int) -> int:
        """Corpus index of the recording window ``i`` comes from."""
        return int(self._index[self._check_item(i), 0])

    def subject_of(self, i: int) -> str:
        """Subject label of window ``i``."""
        return self._corpus[self.recording_of(i)].subject

    # -- reading ---------------------------------------------------------------------------------

    def _check_item(self, i: Any) -> int:
        """``i`` as a non-negative int below ``len(self)`` (negative counts from the end)."""
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"window index must be an int; got {type(i).__name__}.")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"window index {i} out of range for {n} windows.")
        return int(i) % n

    def _raw_window(self, recording: int, start: int) -> FloatArray:
        """Picked, unaligned samples: a new (n_channels, n_times) float32 array."""
        data = self._corpus.data(recording)  # (n_all_channels, n_samples) memory map
        stop = start + self._n_times
        pick = self._picks[recording]
        if pick is None:
            return np.array(data[:, start:stop], dtype=np.float32)
        return np.asarray(data[pick, start:stop], dtype=np.float32)  # fancy index: a copy

    def _window(self, i: int) -> torch.Tensor:
        """Window ``i`` as a float32 tensor of shape (n_channels, n_times), aligned if asked."""
        recording, start = (int(v) for v in self._index[self._check_item(i)])
        x = self._raw_window(recording, start)  # (n_channels, n_times)
        matrix = self._align[recording]
        if matrix is not None:
            x = matrix @ x
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    # -- alignment -------------------------------------------------------------------------------

    def _fit_alignment(self) -> None:
        """One ``R^{-1/2}`` per recording or subject, from (up to N of) its own windows."""
        if self._alignment == "none":
            return
        recordings = np.arange(len(self._corpus))
        if self._alignment == "recording":
            groups = [np.array([r]) for r in recordings]
        else:
            subjects = np.array([rec.subject for rec in self._corpus])
            groups = [recordings[subjects == s] for s in self._corpus.subjects()]
        for members in groups:
            rows = np.flatnonzero(np.isin(self._index[:, 0], members))
            if rows.size == 0:
                continue
            matrix = self._group_matrix(rows)
            for recording in members:
                self._align[recording] = matrix

    def _group_matrix(self, rows: NDArray[np.intp]) -> FloatArray:
        """Alignment matrix from the windows at ``rows`` (evenly thinned to the budget)."""
        return inverse_sqrt_spd(self._group_covariance(rows))

    def subject_covariances(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Each subject's mean window covariance ``R`` (what subject alignment whitens with).

        Returns
        -------
        covariances : ndarray, shape (n_subjects, n_channels, n_channels), float64
            In the order of ``corpus.subjects()``, from the raw (unaligned) windows.
        recording_subject : ndarray, shape (n_recordings,), int64
            Row of ``covariances`` of each corpus recording (-1 for one without windows).
        """
        subjects = list(self._corpus.subjects())
        of_recording = np.array([subjects.index(rec.subject) for rec in self._corpus])
        n = len(self._channel_names)
        out = np.tile(np.eye(n), (len(subjects), 1, 1))
        for g in range(len(subjects)):
            rows = np.flatnonzero(np.isin(self._index[:, 0], np.flatnonzero(of_recording == g)))
            if rows.size:
                out[g] = self._group_covariance(rows)
        return out, of_recording.astype(np.int64)

    def _group_covariance(self, rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """Mean covariance of the windows at ``rows`` (evenly thinned to the budget)."""
        if self._max_windows is not None and rows.size > self._max_windows:
            rows = rows[np.linspace(0, rows.size - 1, self._max_windows).round().astype(np.intp)]
        n_channels = len(self._channel_names)
        total = np.zeros((n_channels, n_channels))
        for recording, start in self._index[rows]:
            x = self._raw_window(int(recording), int(start))[None]  # (1, n_channels, n_times)
            total += _covariance_sum(x)
        return total / (rows.size * self._n_times)


# -- unlabelled windows ---------------------------------------------------------------------------


class WindowDataset(_CorpusWindows):
    """Unlabelled windows on a regular grid over every recording (self-supervised pretraining).

    Recording ``r`` of ``n`` samples gives ``(n - T) // S + 1`` windows (none when ``n < T``)
    starting at ``0, S, 2S, ...``, with ``T = round(window_s * sfreq)`` and
    ``S = round(stride_s * sfreq)``.

    Parameters
    ----------
    corpus : Corpus
        Preprocessed recordings, all at one sampling rate.
    window_s : float
        Window length in seconds.
    stride_s : float
        Distance between window starts in seconds.
    channel_names : sequence of str or None
        Channels of every window, in this order (matched by name); None takes the recordings'
        own channels, which must then be the same list for all.
    alignment : {'none', 'recording', 'subject'}
        Euclidean alignment per recording or per subject (all its recordings pooled).
    alignment_max_windows : int or None
        Most windows (evenly spread) used to estimate each ``R``; None uses all.

    Raises
    ------
    ConfigError
        Bad lengths, mixed rates or channel lists, or no window fits any recording.
    ChannelMappingError
        A recording lacks one of ``channel_names``.

    Notes
    -----
    ``__getitem__`` returns a float32 tensor of shape (n_channels, n_times), a copy; safe in
    DataLoader worker processes (each opens its own memory maps).
    """

    def __init__(
        self,
        corpus: Corpus,
        window_s: float,
        stride_s: float,
        channel_names: Sequence[str] | None = None,
        alignment: Alignment = "none",
        alignment_max_windows: int | None = 1000,
    ) -> None:
        super().__init__(corpus, window_s, channel_names, alignment, alignment_max_windows)
        self._stride = _n_samples("stride_s", stride_s, self._sfreq)
        self._index = self._build_index()
        self._fit_alignment()
        logger.info(
            "WindowDataset: %d windows of %d samples from %d recordings.",
            len(self),
            self._n_times,
            len(corpus),
        )

    @property
    def stride(self) -> int:
        """Samples between window starts."""
        return self._stride

    def _build_index(self) -> NDArray[np.int64]:
        """(n_windows, 2) int64: recording, first sample."""
        parts, too_short = [], 0
        for r, rec in enumerate(self._corpus):
            count = max(0, (rec.n_samples - self._n_times) // self._stride + 1)
            too_short += count == 0
            starts = np.arange(count, dtype=np.int64) * self._stride
            parts.append(np.column_stack([np.full(count, r, dtype=np.int64), starts]))
        if too_short:
            logger.info("%d recording(s) shorter than one window give no window.", too_short)
        index = np.concatenate(parts)
        if index.shape[0] == 0:
            raise ConfigError(
                f"No window of {self._n_times} samples fits any of the {len(self._corpus)} "
                "recordings.",
                "Use a shorter window_s.",
            )
        return index

    def __getitem__(self, i: int) -> torch.Tensor:
        return self._window(i)


# -- labelled windows around cues -----------------------------------------------------------------


def _check_classes(marker_classes: Any, class_names: Any) -> tuple[dict[str, str], tuple[str, ...]]:
    """Marker -> class mapping and class order; every mapped class must be a class name."""
    if not isinstance(marker_classes, Mapping) or not marker_classes:
        raise ConfigError(
            f"'marker_classes' must be a non-empty mapping such as {{'T1': 'left'}}; "
            f"got {marker_classes!r}."
        )
    if isinstance(class_names, str) or not isinstance(class_names, Sequence) or not class_names:
        raise ConfigError(
            f"'class_names' must be a non-empty sequence of str; got {class_names!r}."
        )
    names = tuple(str(c) for c in class_names)
    if len(set(names)) != len(names):
        raise ConfigError(f"'class_names' must be distinct; got {list(names)}.")
    unknown = sorted({str(c) for c in marker_classes.values()} - set(names))
    if unknown:
        raise ConfigError(
            f"'marker_classes' maps to classes {unknown} that are not in class_names {list(names)}."
        )
    return {str(k): str(v) for k, v in marker_classes.items()}, names


def _check_ends(ends_s: Any) -> NDArray[np.float64]:
    """Window-end offsets ``first, first + hop, ..., last`` (seconds after the cue)."""
    rule = "must be (first_end_s, last_end_s, hop_s) with first_end_s <= last_end_s and hop_s > 0"
    if isinstance(ends_s, str) or not isinstance(ends_s, Sequence) or len(ends_s) != 3:
        raise ConfigError(f"'ends_s' {rule}; got {ends_s!r}.")
    first, last, hop = ends_s
    numbers = all(isinstance(v, (int, float)) and np.isfinite(v) for v in ends_s)
    if not numbers or first > last or hop <= 0:
        raise ConfigError(f"'ends_s' {rule}; got {tuple(ends_s)!r}.")
    return np.arange(first, last + 1e-9, hop, dtype=np.float64)


class CueWindowDataset(_CorpusWindows):
    """Labelled windows around cue annotations, at the times the online protocol decodes.

    For a cue at ``onset`` (seconds), windows of ``window_s`` end at ``onset + first_end_s``,
    ``+ hop_s``, ... up to ``onset + last_end_s``: window ``k`` covers samples
    ``[e_k - T, e_k)`` with ``e_k = round((onset + offset_k) * sfreq)``, as
    :meth:`neurodeck.calibration.trials.TrialSet.sliding_windows` and the live decoder cut them. A
    trial whose windows would not all lie inside the recording is dropped (the count is logged).

    Parameters
    ----------
    corpus : Corpus
        Preprocessed recordings, all at one sampling rate.
    marker_classes : mapping of str to str
        Annotation description -> class name (e.g. ``{'T1': 'left', 'T2': 'right'}``); other
        annotations are ignored.
    class_names : sequence of str
        Class order; labels are indices into it.
    window_s : float
        Window length in seconds.
    ends_s : (float, float, float)
        ``(first_end_s, last_end_s, hop_s)``: window ends relative to the cue.
    channel_names : sequence of str or None
        As for :class:`WindowDataset`.
    alignment : {'none', 'recording', 'subject'}
        Euclidean alignment from the dataset's own windows of that recording or subject.
    alignment_max_windows : int or None
        Most windows (evenly spread) used to estimate each ``R``; None (default) uses all.

    Raises
    ------
    ConfigError
        Bad settings, or no trial of the given markers fits in any recording.
    ChannelMappingError
        A recording lacks one of ``channel_names``.

    Notes
    -----
    ``__getitem__`` returns ``(x, label, trial_id)``: a float32 tensor of shape
    (n_channels, n_times), the class index and the trial's number (unique in the dataset; all
    windows of one cue share it).
    """

    def __init__(
        self,
        corpus: Corpus,
        marker_classes: Mapping[str, str],
        class_names: Sequence[str],
        window_s: float,
        ends_s: tuple[float, float, float] = (1.0, 4.0, 0.25),
        channel_names: Sequence[str] | None = None,
        alignment: Alignment = "none",
        alignment_max_windows: int | None = None,
    ) -> None:
        super().__init__(corpus, window_s, channel_names, alignment, alignment_max_windows)
        self._marker_classes, self._class_names = _check_classes(marker_classes, class_names)
        self._end_offsets = _check_ends(ends_s)
        self._index, self._labels, self._trial_ids = self._build_index()
        self._fit_alignment()
        logger.info(
            "CueWindowDataset: %d trials, %d windows of %d samples from %d recordings.",
            self.n_trials,
            len(self),
            self._n_times,
            len(corpus),
        )

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class order of the labels."""
        return self._class_names

    @property
    def labels(self) -> NDArray[np.int64]:
        """Class index of every window, shape (n_windows,)."""
        return self._labels.copy()

    @property
    def trial_ids(self) -> NDArray[np.int64]:
        """Trial number of every window, shape (n_windows,)."""
        return self._trial_ids.copy()

    @property
    def n_trials(self) -> int:
        """Number of trials kept."""
        return int(self._trial_ids.max()) + 1

    @property
    def windows_per_trial(self) -> int:
        """Windows cut around each cue."""
        return int(self._end_offsets.size)

    def _trial_ends(self, recording: int) -> list[tuple[NDArray[np.int64], int]]:
        """Window ends (exclusive sample indices) and class of each cue of a recording."""
        rec, out = self._corpus[recording], []
        for onset, _, description in rec.annotations:
            if description in self._marker_classes:
                label = self._class_names.index(self._marker_classes[description])
                ends = np.rint((onset + self._end_offsets) * self._sfreq).astype(np.int64)
                out.append((ends, label))
        return out

    def _build_index(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        """Index (n_windows, 2), labels (n_windows,), trial ids (n_windows,)."""
        rows, labels, trials, dropped = [], [], [], 0
        for r, rec in enumerate(self._corpus):
            for ends, label in self._trial_ends(r):
                if ends[0] - self._n_times < 0 or ends[-1] > rec.n_samples:
                    dropped += 1
                    continue
                rows.append(np.column_stack([np.full(ends.size, r), ends - self._n_times]))
                labels.append(np.full(ends.size, label))
                trials.append(np.full(ends.size, len(trials)))
        if dropped:
            logger.info("Dropped %d trial(s) whose windows leave the recording.", dropped)
        if not rows:
            found = sorted({a.description for rec in self._corpus for a in rec.annotations})
            raise ConfigError(
                f"No trial of markers {sorted(self._marker_classes)} fits in the corpus "
                f"({dropped} dropped at the edges; annotations found: {found}).",
                "Check marker_classes against the annotations, and window_s / ends_s.",
            )
        as_int = [np.concatenate(part).astype(np.int64) for part in (labels, trials)]
        return np.concatenate(rows).astype(np.int64), as_int[0], as_int[1]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, int]:
        i = self._check_item(i)
        return self._window(i), int(self._labels[i]), int(self._trial_ids[i])


# -- cross-subject folds --------------------------------------------------------------------------


def subject_folds(
    subjects: Sequence[str], n_folds: int, seed: int = 0
) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Leave-subjects-out folds: every subject is held out exactly once.

    The distinct subjects are sorted, shuffled with ``numpy.random.default_rng(seed)`` and split
    into ``n_folds`` groups of near-equal size (``numpy.array_split``); the result depends only
    on the set of subjects, ``n_folds`` and ``seed``.

    Parameters
    ----------
    subjects : sequence of str
        Subject labels (repeats are ignored), e.g. ``corpus.subjects()``.
    n_folds : int
        Number of folds, from 2 to the number of distinct subjects.
    seed : int
        Shuffling seed.

    Returns
    -------
    list of (train_subjects, test_subjects)
        One pair of sorted tuples per fold; the test groups partition the subjects.

    Raises
    ------
    ConfigError
        If ``subjects`` is not a sequence of str, or ``n_folds`` is out of range.
    """
    if isinstance(subjects, str) or not all(isinstance(s, str) for s in subjects):
        raise ConfigError(f"'subjects' must be a sequence of str labels; got {subjects!r}.")
    distinct = sorted(set(subjects))
    bad_count = not isinstance(n_folds, (int, np.integer)) or isinstance(n_folds, bool)
    if bad_count or not 2 <= n_folds <= len(distinct):
        raise ConfigError(
            f"'n_folds' must be an integer from 2 to the number of subjects ({len(distinct)}); "
            f"got {n_folds!r}.",
            "Use more subjects or fewer folds.",
        )
    order = np.random.default_rng(seed).permutation(len(distinct))
    groups = np.array_split(order, int(n_folds))
    folds = []
    for group in groups:
        test = tuple(sorted(distinct[k] for k in group))
        train = tuple(s for s in distinct if s not in test)
        folds.append((train, test))
    return folds
