"""Load EEG recordings from disk (EDF, BDF, FIF, GDF, BrainVision, XDF) into float32 microvolts.

Every format but XDF goes through :func:`mne.io.read_raw`; this module turns its many exception
types into one :class:`~neurodeck.common.types.RecordingError` that says what is wrong and what to
do. XDF files (LabRecorder) are read by :mod:`neurodeck.streaming.xdf_read`: one signal stream,
with the markers of the file's marker streams as annotations. The EEGBCI (PhysioNet motor imagery)
runs are located with :func:`eegbci_run_files`.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from neurodeck.common.types import FloatArray, RecordingError, TruncatedRecordingError
from neurodeck.streaming.annotations import markers_to_annotations
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: File endings :func:`load_recording` accepts (lower case, compared case-insensitively).
SUPPORTED_EXTENSIONS = (".edf", ".bdf", ".gdf", ".fif", ".fif.gz", ".vhdr", ".xdf")
#: The endings of :data:`SUPPORTED_EXTENSIONS` read as XDF.
XDF_EXTENSIONS = (".xdf",)

#: mne channel types whose data are voltages (kept, in microvolts, when ``eeg_only=False``).
_VOLTAGE_TYPES = ("eeg", "eog", "ecg", "emg", "seeg", "ecog", "dbs")

#: Folder of the EEGBCI files below a data root, as mne's fetcher lays them out.
EEGBCI_SUBDIR = Path("MNE-eegbci-data", "files", "eegmmidb", "1.0.0")

Annotation = tuple[float, float, str]

#: A channel is flat when its peak-to-peak amplitude is at most this fraction of its largest
#: magnitude (a constant, up to float rounding) ...
FLAT_RELATIVE = 1e-6
#: ... or at most this many microvolts (a picovolt: no EEG amplifier resolves it).
FLAT_ABSOLUTE_UV = 1e-6
#: Channel names listed in a message before "and N more".
_MAX_NAMED = 12

#: Fixed-width fields of each signal in an EDF/BDF header, in file order, with their widths.
_EDF_SIGNAL_FIELDS = (
    ("label", 16),
    ("transducer", 80),
    ("physical dimension", 8),
    ("physical minimum", 8),
    ("physical maximum", 8),
    ("digital minimum", 8),
    ("digital maximum", 8),
    ("prefiltering", 80),
    ("samples per record", 8),
    ("reserved", 32),
)
_EDF_RANGE_FIELDS = ("physical minimum", "physical maximum", "digital minimum", "digital maximum")
_EDF_ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
_HEADER_HINT = (
    "Fix the physical and digital minimum and maximum of these signals in the file header (the "
    "header editor of EDFbrowser can), or export the recording again from the acquisition "
    "software."
)
_TRUNCATED_HINT = (
    "Copy the file again from its source; or, to use the complete records it holds, add "
    "--allow-truncated to `neurodeck replay` or `neurodeck calibrate --recording` (in Python: "
    "load_recording(..., allow_truncated=True))."
)


@dataclass(frozen=True)
class Recording:
    """A continuous EEG recording held in memory.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples), float32
        Samples in microvolts, C-contiguous.
    sfreq : float
        Sampling rate in Hz.
    channel_names : tuple of str
        One label per row of ``data``, exactly as written in the file (for example ``'C3..'``).
    annotations : tuple of (onset_s, duration_s, description)
        Events of the file; ``onset_s`` is in seconds from the first sample of ``data``.
    source : Path
        The file the recording was read from.
    """

    data: FloatArray
    sfreq: float
    channel_names: tuple[str, ...]
    annotations: tuple[Annotation, ...]
    source: Path

    def __post_init__(self) -> None:
        if self.data.ndim != 2 or self.data.shape[0] != len(self.channel_names):
            raise RecordingError(
                f"Recording data of shape {self.data.shape} does not match its "
                f"{len(self.channel_names)} channel names ({self.source}).",
                "Data must be (n_channels, n_samples) with one name per channel.",
            )

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return self.data.shape[0]

    @property
    def n_samples(self) -> int:
        """Number of samples per channel."""
        return self.data.shape[1]

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return self.n_samples / self.sfreq


def _extension(path: Path) -> str:
    """Lower-case file ending, with ``.fif.gz`` treated as one ending."""
    name = path.name.lower()
    return ".fif.gz" if name.endswith(".fif.gz") else path.suffix.lower()


def is_xdf_path(path: Path | str) -> bool:
    """True when ``path`` ends in an XDF ending (case-insensitive)."""
    return _extension(Path(path)) in XDF_EXTENSIONS


def check_recording_path(path: Path) -> None:
    """Raise RecordingError when ``path`` cannot be a usable recording, before reading its data.

    Parameters
    ----------
    path : Path
        The file to check.

    Raises
    ------
    RecordingError
        The file is missing, a folder, or has an unsupported ending; or it is an EDF/BDF file
        whose header holds a non-numeric range field (no reader can scale its samples); or an
        EDF/BDF/GDF file whose header gives no signal a defined range (physical or digital
        minimum equal to the maximum, or not finite); or a GDF file whose header is corrupt or
        declares more data than the file holds (see
        :func:`neurodeck.streaming.gdf_header.inspect_gdf`). The message names the signals and
        the values.

    Notes
    -----
    Only the header is read. Signals of an EDF/BDF/GDF file with an undefined range beside
    usable ones pass here; :func:`load_recording` reports them with a warning.
    """
    _check_path(path)


def _check_path(path: Path) -> _UndefinedRanges:
    """:func:`check_recording_path`; returns the EDF/BDF/GDF signals with an undefined range."""
    if not path.exists():
        raise RecordingError(
            f"Recording file not found: {path}.",
            "Check the path (relative paths are taken from the current folder).",
        )
    if not path.is_file():
        raise RecordingError(f"Recording path is not a file: {path}.", "Give one EEG file.")
    if _extension(path) not in SUPPORTED_EXTENSIONS:
        raise RecordingError(
            f"Unsupported recording format '{_extension(path) or '(no extension)'}' ({path}).",
            f"Supported formats: {', '.join(SUPPORTED_EXTENSIONS)} (BrainVision: give the .vhdr).",
        )
    if _extension(path) == ".gdf":
        from neurodeck.streaming.gdf_header import inspect_gdf

        header = inspect_gdf(path)
        return _check_ranges(path, list(zip(header.labels, header.ranges, strict=True)))
    if _extension(path) not in (".edf", ".bdf"):
        return _UndefinedRanges(0, {})
    signals = _edf_signal_ranges(path)
    return _check_edf_ranges(path, signals) if signals else _UndefinedRanges(0, {})


@dataclass(frozen=True)
class _UndefinedRanges:
    """The data signals of an EDF/BDF/GDF header whose range is undefined.

    ``n_signals`` counts the header's data signals (annotation signals left out); ``problems``
    maps the index of a signal among them to what is wrong with its range.
    """

    n_signals: int
    problems: dict[int, str]

    def by_channel(self, ch_names: Sequence[str]) -> dict[str, str]:
        """The problems keyed by channel name; mne keeps the data signals in header order."""
        if len(ch_names) != self.n_signals:
            return {}
        return {ch_names[i]: problem for i, problem in self.problems.items()}


def _edf_header(path: Path) -> tuple[bytes, dict[str, list[str]]] | None:
    """The fixed part of an EDF/BDF header and each signal field (as text, one per signal).

    Returns None when the file does not start like an EDF/BDF header (mne then says what is
    wrong with it).
    """
    with open(path, "rb") as file:
        head = file.read(256)
        if len(head) < 256 or head[:8].strip() not in (b"0", b"\xffBIOSEMI"):
            return None
        try:
            n_signals = int(head[252:256].decode("latin-1").strip())
        except ValueError:
            return None
        if n_signals < 1:
            return None
        body = file.read(256 * n_signals)
    if len(body) < 256 * n_signals:
        return None
    fields: dict[str, list[str]] = {}
    offset = 0
    for name, width in _EDF_SIGNAL_FIELDS:
        fields[name] = [
            body[offset + i * width : offset + (i + 1) * width].decode("latin-1").split("\x00")[0]
            for i in range(n_signals)
        ]
        offset += width * n_signals
    return head, fields


def _edf_signal_ranges(path: Path) -> list[tuple[str, dict[str, str]]] | None:
    """Label and range fields (as text) of each data signal of an EDF/BDF header.

    Returns None when the file does not start like an EDF/BDF header. Annotation signals are
    left out.
    """
    header = _edf_header(path)
    if header is None:
        return None
    fields = header[1]
    return [
        (label.strip(), {name: fields[name][i] for name in _EDF_RANGE_FIELDS})
        for i, label in enumerate(fields["label"])
        if label.strip() not in _EDF_ANNOTATION_LABELS
    ]


def _edf_without_records(path: Path) -> str | None:
    """What is missing when an EDF/BDF file holds not one of the data records its header
    declares (None otherwise, or when the header cannot tell)."""
    header = _edf_header(path)
    if header is None:
        return None
    head, fields = header
    try:
        header_bytes = int(head[184:192].decode("latin-1").strip())
        n_records = int(head[236:244].decode("latin-1").strip())
        samples = [int(text.strip()) for text in fields["samples per record"]]
    except ValueError:
        return None
    record_bytes = sum(samples) * (3 if head[:1] == b"\xff" else 2)
    if n_records < 1 or record_bytes < 1 or path.stat().st_size >= header_bytes + record_bytes:
        return None
    return (
        f"it holds not one complete data record of the {n_records} its header declares "
        f"({path.stat().st_size - header_bytes} bytes of data, where a record takes "
        f"{record_bytes})"
    )


def _edf_number(text: str) -> float | None:
    """A header number as mne reads it (a decimal comma allowed); None when it is not one."""
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _check_edf_ranges(path: Path, signals: list[tuple[str, dict[str, str]]]) -> _UndefinedRanges:
    """Refuse non-numeric range fields and a header without one defined range; return the
    signals whose range is undefined, each with what is wrong."""
    non_numeric = [
        f"{label!r} {name} {text.strip()!r}"
        for label, ranges in signals
        for name, text in ranges.items()
        if _edf_number(text) is None
    ]
    if non_numeric:
        raise RecordingError(
            f"{path}: the {_extension(path)[1:].upper()} header holds text where numbers "
            f"belong, so no reader can scale its samples: {_listing(non_numeric)}.",
            _HEADER_HINT,
        )
    numbers = [
        (label, {name: float(_edf_number(text) or 0.0) for name, text in ranges.items()})
        for label, ranges in signals
    ]
    return _check_ranges(path, numbers)


def _check_ranges(path: Path, signals: list[tuple[str, Mapping[str, float]]]) -> _UndefinedRanges:
    """Refuse a header (EDF, BDF, GDF) without one defined signal range; return the signals
    whose range is undefined, each with what is wrong."""
    undefined: dict[int, str] = {}
    for index, (_label, ranges) in enumerate(signals):
        problem = _range_problem(ranges)
        if problem:
            undefined[index] = problem
    if undefined and len(undefined) == len(signals):
        described = [f"{signals[i][0]} ({what})" for i, what in undefined.items()]
        raise RecordingError(
            f"{path}: no signal of this file can be converted to microvolts; its header gives "
            f"every signal an undefined range: {_listing(described)}.",
            _HEADER_HINT,
        )
    return _UndefinedRanges(len(signals), undefined)


def _range_problem(values: Mapping[str, float]) -> str:
    """What makes a signal's header range unusable ("" when nothing does)."""
    bad = [f"{name} {value:g}" for name, value in values.items() if not math.isfinite(value)]
    if bad:
        return ", ".join(bad)
    for kind in ("physical", "digital"):
        low, high = values[f"{kind} minimum"], values[f"{kind} maximum"]
        if low == high:
            return f"{kind} minimum = maximum = {low:g}"
    return ""


def _described(problems: Mapping[str, str]) -> list[str]:
    return [f"{name} ({what})" for name, what in problems.items()]


def _listing(items: Sequence[str]) -> str:
    """``items`` joined by commas, the first :data:`_MAX_NAMED` of them, then how many more."""
    shown = ", ".join(items[:_MAX_NAMED])
    more = len(items) - _MAX_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def flat_rows(data: NDArray[np.floating]) -> NDArray[np.bool_]:
    """Which rows of ``data`` hold one value throughout (a dead or unplugged channel).

    Parameters
    ----------
    data : ndarray, shape (..., n_samples)
        Finite samples in microvolts.

    Returns
    -------
    flat : ndarray of bool, shape (...)
        True where the peak-to-peak amplitude is at most :data:`FLAT_RELATIVE` of the largest
        magnitude or :data:`FLAT_ABSOLUTE_UV` microvolts, whichever is larger.
    """
    data = np.asarray(data)
    high = data.max(axis=-1).astype(np.float64)  # float64: no overflow near the float32 limit
    peak_to_peak = high - data.min(axis=-1)
    magnitude = np.abs(data).max(axis=-1)
    return peak_to_peak <= np.maximum(FLAT_RELATIVE * magnitude, FLAT_ABSOLUTE_UV)


def check_channels(
    data: FloatArray,
    channel_names: Sequence[str],
    source: object,
    undefined_range: Mapping[str, str] | None = None,
    report_non_finite: bool = True,
) -> tuple[str, ...]:
    """Refuse a recording none of whose channels carries signal; warn about those that do not.

    A channel carries no signal when every sample is NaN/inf, when it is flat (one value over
    the whole recording, see :func:`flat_rows`), or when its file header gives it no defined
    range (``undefined_range``). A recording with some such channels is usable (an unplugged
    electrode): they are kept and named in a logged warning.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples), float32
        Samples in microvolts (at least one per channel).
    channel_names : sequence of str, length n_channels
    source : object
        Where the data came from, for the messages (a path).
    undefined_range : mapping of str to str, optional
        Channels whose header range is undefined, each with what is wrong.
    report_non_finite : bool
        Also warn about channels that hold some NaN/inf samples among finite ones.

    Returns
    -------
    tuple of str
        The channels that carry no signal (empty for a sound recording).

    Raises
    ------
    RecordingError
        When no channel carries signal; the message names each channel and why.
    """
    undefined_range = dict(undefined_range or {})
    empty, flat, partial = [], [], []
    for row, name in zip(data, channel_names, strict=True):
        if name in undefined_range:
            continue
        finite = np.isfinite(row)
        if not finite.any():
            empty.append(name)
            continue
        if not finite.all():
            partial.append(f"{name} ({int((~finite).sum())} of {finite.size} samples)")
        if flat_rows(row if finite.all() else row[finite]):
            flat.append(name)
    groups = []
    if empty:
        groups.append(f"only NaN/inf: {_listing(empty)}")
    if flat:
        groups.append(f"flat, one value throughout: {_listing(flat)}")
    if undefined_range:
        described = _listing(_described(undefined_range))
        groups.append(f"undefined range in the file header, read as 0 uV: {described}")
    dead = (*empty, *flat, *undefined_range)
    if dead and len(dead) == len(channel_names):
        raise RecordingError(
            f"{source} holds no EEG signal: none of its {len(dead)} channels carries any "
            f"({'; '.join(groups)}).",
            "Check the electrodes and the amplifier, and that the file was exported with the "
            "right units and ranges; then record or export it again.",
        )
    if dead:
        logger.warning(
            "%s: %d of %d channels carry no signal (an unplugged electrode?): %s. They are kept; "
            "a decoder that reads them sees no signal there.",
            source,
            len(dead),
            len(channel_names),
            "; ".join(groups),
        )
    if partial and report_non_finite:
        logger.warning(
            "%s: NaN/inf samples in %s; windows and trials that contain them are skipped.",
            source,
            _listing(partial),
        )
    return dead


#: Start of the warning mne gives when a file holds fewer data records than its header declares.
_TRUNCATION_WARNINGS = ("Number of records from the header does not match the file size",)


def _check_structure(path: Path, allow_truncated: bool) -> None:
    """Refuse a FIF or BrainVision file cut short (mne would read it silently as shorter), and
    an EDF/BDF file without one complete record (mne's error would not say so)."""
    from neurodeck.streaming.truncation import brainvision_truncation, fif_truncation

    ending = _extension(path)
    if ending in (".edf", ".bdf"):
        missing = _edf_without_records(path)
        if missing is not None:  # nothing to read, even with allow_truncated
            raise RecordingError(
                f"{path} is truncated, {missing}: a copy cut short, or a recording that was "
                "not stopped properly.",
                "Copy the file again from its source, or export the recording again.",
            )
        return  # a file that holds some of its records: mne warns (see _read_raw)
    if ending in (".fif", ".fif.gz"):
        missing = fif_truncation(path)
    elif ending == ".vhdr":
        missing = brainvision_truncation(path)
    else:
        return
    if missing is None:
        return
    if not allow_truncated:
        raise TruncatedRecordingError(
            f"{path} is truncated, {missing}: a copy cut short, or a recording or export that "
            "was not finished.",
            _TRUNCATED_HINT,
        )
    logger.warning("%s is truncated (%s); reading what it holds.", path, missing)


def _read_raw(path: Path, allow_truncated: bool, preload: bool = True):  # -> mne.io.BaseRaw
    """Read a file with mne, turning parser failures and truncation into RecordingError.

    With ``preload=False`` only the header is read (mne is imported lazily).
    """
    import mne

    _check_structure(path, allow_truncated)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = mne.io.read_raw(path, preload=preload, verbose="warning")
        except Exception as exc:  # mne's readers raise many types on corrupt input
            detail = (str(exc).strip().splitlines() or [""])[0]  # the parser's first line only
            raise RecordingError(
                f"Could not read {path} as {_extension(path)} ({type(exc).__name__}: {detail}).",
                "The file may hold no data, be truncated or corrupt, or not really be in this "
                "format; open it in another viewer (e.g. EDFbrowser) or export it again.",
            ) from exc
    for item in caught:
        message = str(item.message)
        if message.startswith(_TRUNCATION_WARNINGS) and not allow_truncated:
            raise TruncatedRecordingError(
                f"{path} is shorter than its header declares: it holds only "
                f"{raw.n_times / raw.info['sfreq']:.1f} s of complete data records (a truncated "
                "copy, or a recording that was not stopped properly).",
                _TRUNCATED_HINT,
            )
        logger.info("%s: %s", path.name, message)
    return raw


def _channel_types(raw, path: Path) -> list[str]:
    """mne's type of each channel; a damaged channel description is a RecordingError."""
    try:
        return raw.get_channel_types()
    except Exception as exc:  # mne raises KeyError / ValueError on unknown kind codes
        raise RecordingError(
            f"Could not read {path}: its channel descriptions are damaged "
            f"({type(exc).__name__}: {exc}).",
            "The file is corrupt: copy it again from its source, or export it again.",
        ) from exc


def _annotations_of(raw) -> tuple[Annotation, ...]:
    """Annotations with onsets relative to the first sample of the data.

    A raw object's annotation onsets count from its measurement start, which lies ``first_time``
    before the first sample (as in mne's ``_sync_onset``; non-zero for cropped FIF files).
    """
    annots = raw.annotations
    return tuple(
        (float(onset - raw.first_time), float(duration), str(desc))
        for onset, duration, desc in zip(
            annots.onset, annots.duration, annots.description, strict=True
        )
    )


def _load_xdf(
    path: Path, eeg_only: bool, allow_truncated: bool, xdf_stream: str | None
) -> Recording:
    """One signal stream of an XDF file, its markers as annotations on their samples."""
    from neurodeck.streaming.xdf_read import load_xdf_signal

    signal = load_xdf_signal(
        path, stream=xdf_stream, eeg_only=eeg_only, allow_truncated=allow_truncated
    )
    check_channels(signal.data, signal.channel_names, path)
    annotations = markers_to_annotations(
        signal.timestamps, signal.markers, signal.sfreq, signal.sample_period_s, path
    )
    return Recording(
        data=signal.data,
        sfreq=signal.sfreq,
        channel_names=signal.channel_names,
        annotations=annotations,
        source=path,
    )


def check_recording(
    path: Path | str, allow_truncated: bool = False, xdf_stream: str | None = None
) -> None:
    """Raise RecordingError when ``path`` cannot be read, from its header only (fast).

    What :func:`load_recording` checks before reading the samples: the path and format
    (:func:`check_recording_path`), then the header as mne parses it (a corrupt or garbage file,
    one truncated unless ``allow_truncated``, one without a channel or a sample). A program about
    to replace a working source with this file calls it first, so that a bad file leaves that
    source alone.

    Parameters
    ----------
    path : Path or str
        An EDF, BDF, GDF, FIF, BrainVision ``.vhdr`` or XDF file.
    allow_truncated : bool
        As in :func:`load_recording`.
    xdf_stream : str, optional
        As in :func:`load_recording`: the signal stream of an XDF file that holds several.

    Raises
    ------
    RecordingError
        Saying what is wrong with the file and what to do.
    """
    path = Path(path).expanduser()
    _check_path(path)
    if is_xdf_path(path):
        from neurodeck.streaming.xdf_read import check_xdf

        check_xdf(path, xdf_stream, allow_truncated)
        return
    raw = _read_raw(path, allow_truncated, preload=False)
    if not raw.ch_names or raw.n_times == 0:
        raise RecordingError(
            f"{path} contains no {'channels' if not raw.ch_names else 'samples'}.",
            "Record or export it again.",
        )


def load_recording(
    path: Path | str,
    eeg_only: bool = True,
    allow_truncated: bool = False,
    xdf_stream: str | None = None,
) -> Recording:
    """Read an EEG file into a :class:`Recording` in microvolts.

    Parameters
    ----------
    path : Path or str
        An EDF, BDF, GDF, FIF, BrainVision ``.vhdr`` or XDF file.
    eeg_only : bool
        Keep only channels that mne types as EEG (every signal of an EDF file is typed EEG; in an
        XDF file, channels typed EEG or untyped). With False, every voltage channel (EEG, EOG,
        ECG, EMG, sEEG, ECoG, DBS) is kept.
    allow_truncated : bool
        Accept an EDF/BDF file that holds fewer data records than its header declares (a copy cut
        short, or a recording that was not stopped properly) and use its complete records; a
        FIF file whose blocks are not closed, or a BrainVision data file that ends inside a
        sample, and use the data it holds (see :mod:`neurodeck.streaming.truncation`); for XDF,
        a file that ends inside a chunk or lacks stream footers, read up to its last complete
        chunk. (A GDF file cut short is always refused: mne cannot read it.)
    xdf_stream : str, optional
        The name of the signal stream to read from an XDF file (needed when it holds several EEG
        streams; ignored for other formats). Markers come from every marker stream of the file
        (see :func:`neurodeck.streaming.xdf_read.load_xdf_signal`).

    Returns
    -------
    recording : Recording
        ``data`` of shape (n_channels, n_samples), float32 microvolts, channel names as in the
        file, annotations relative to the first sample.

    Raises
    ------
    RecordingError
        The file is missing, has an unsupported format, cannot be parsed, is truncated (unless
        allowed), holds no EEG channel or no samples, or none of its channels carries signal
        (every one all NaN/inf, flat, or with an undefined range in an EDF/BDF/GDF header; see
        :func:`check_channels`); an XDF file holds several EEG streams and ``xdf_stream`` names
        none of them. Channels without signal beside usable ones are named in a logged warning;
        those with an undefined header range are read as 0 (their samples cannot be scaled).

    Notes
    -----
    Called from the main thread before streaming starts (it reads the whole file, and mne's
    warnings are captured with ``warnings.catch_warnings``, which is process-wide).
    """
    path = Path(path).expanduser()
    ranges = _check_path(path)
    if is_xdf_path(path):
        return _load_xdf(path, eeg_only, allow_truncated, xdf_stream)
    raw = _read_raw(path, allow_truncated)
    undefined_range = ranges.by_channel(raw.ch_names)  # before picking: in header order
    kinds = ("eeg",) if eeg_only else _VOLTAGE_TYPES
    present = set(_channel_types(raw, path))
    if not present.intersection(kinds):
        raise RecordingError(
            f"{path} holds no {'EEG' if eeg_only else 'voltage'} channels "
            f"(channel types found: {', '.join(sorted(present)) or 'none'}).",
            "Check that the file is an EEG recording, or fix its channel types in the "
            "recording software before exporting.",
        )
    raw.pick(sorted(present.intersection(kinds)))
    if raw.n_times == 0:
        raise RecordingError(f"{path} contains no samples.", "Record or export it again.")
    with np.errstate(over="ignore"):  # beyond float32: inf, reported by check_channels
        data = np.ascontiguousarray(raw.get_data() * 1e6, dtype=np.float32)  # volts -> uV
    undefined_range = {k: v for k, v in undefined_range.items() if k in raw.ch_names}
    for name in undefined_range:  # mne scaled them with a made-up range: meaningless values
        data[raw.ch_names.index(name)] = 0.0
    check_channels(data, raw.ch_names, path, undefined_range)
    logger.info(
        "Loaded %s: %d channels, %d samples at %g Hz, %d annotations.",
        path.name,
        data.shape[0],
        data.shape[1],
        raw.info["sfreq"],
        len(raw.annotations),
    )
    return Recording(
        data=data,
        sfreq=float(raw.info["sfreq"]),
        channel_names=tuple(raw.ch_names),
        annotations=_annotations_of(raw),
        source=path,
    )


def _eegbci_path(root: Path, subject: int, run: int) -> Path:
    """Where mne's EEGBCI fetcher stores one run below ``root``."""
    return root / EEGBCI_SUBDIR / f"S{subject:03d}" / f"S{subject:03d}R{run:02d}.edf"


def _check_eegbci_ids(subject: int, runs: Sequence[int]) -> None:
    """Validate subject (1-109) and run numbers (1-14)."""
    if not isinstance(subject, int) or not 1 <= subject <= 109:
        raise RecordingError(
            f"EEGBCI 'subject' must be an integer from 1 to 109; got {subject!r}.",
            "Pick a subject of the PhysioNet EEG Motor Movement/Imagery dataset.",
        )
    bad = [run for run in runs if not isinstance(run, int) or not 1 <= run <= 14]
    if bad or not runs:
        raise RecordingError(
            f"EEGBCI 'runs' must be one or more integers from 1 to 14; got {list(runs)!r}.",
            "Runs 4, 8, 12 are left/right fist imagery; 6, 10, 14 are fists/feet imagery.",
        )


def eegbci_run_files(
    root: Path | str, subject: int, runs: Sequence[int], allow_download: bool = False
) -> list[Path]:
    """Paths of EEGBCI runs below a data root, located by mne's fetcher.

    Parameters
    ----------
    root : Path or str
        Data root holding ``MNE-eegbci-data/files/eegmmidb/1.0.0/S001/S001R04.edf`` and so on.
    subject : int
        Subject number, 1 to 109.
    runs : sequence of int
        Run numbers, 1 to 14.
    allow_download : bool
        Fetch missing runs from PhysioNet into ``root``. Without it (the default) nothing is
        downloaded: ``mne.datasets.eegbci.load_data`` has no such switch, so absent files are
        reported before it is called.

    Returns
    -------
    paths : list of Path
        One EDF file per run, in the order of ``runs``.

    Raises
    ------
    RecordingError
        Invalid subject or run, files absent (and no download allowed), or the download failed.
    """
    from mne.datasets import eegbci

    root = Path(root).expanduser()
    runs = list(runs)
    _check_eegbci_ids(subject, runs)
    missing = [p for p in (_eegbci_path(root, subject, r) for r in runs) if not p.is_file()]
    if missing and not allow_download:
        raise RecordingError(
            f"EEGBCI subject {subject} run file(s) not found below {root}: "
            f"{', '.join(p.name for p in missing)} (looked in {missing[0].parent}).",
            "Point the data root at the folder that holds MNE-eegbci-data (NEURODECK_DATA), or "
            "allow downloading from PhysioNet.",
        )
    try:
        paths = eegbci.load_data(subject, runs, path=str(root), update_path=False, verbose="error")
    except Exception as exc:  # network errors, checksum mismatch, permissions
        raise RecordingError(
            f"Could not fetch EEGBCI subject {subject} runs {runs} into {root} "
            f"({type(exc).__name__}: {exc}).",
            "Check the network connection and write permission, or copy the files there by hand.",
        ) from exc
    return [Path(p) for p in paths]
