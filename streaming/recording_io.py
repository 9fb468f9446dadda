"""Load EEG recordings from disk (EDF, BDF, FIF, GDF, BrainVision, XDF) into float32 microvolts.

Every format but XDF goes through :func:`mne.io.read_raw`; this module turns its many exception
types into one :class:`~neurodeck.common.types.RecordingError` that says what is wrong and what to
do. XDF files (LabRecorder) are read by :mod:`neurodeck.streaming.xdf_read`: one signal stream,
with the markers of the file's marker streams as annotations. The EEGBCI (PhysioNet motor imagery)
runs are located with :func:`eegbci_run_files`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from neurodeck.common.types import FloatArray, RecordingError
from neurodeck.streaming.annotations import markers_to_annotations

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
    """Raise RecordingError when ``path`` is missing, a folder, or has an unsupported ending."""
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


#: Start of the warning mne gives when a file holds fewer data records than its header declares.
_TRUNCATION_WARNINGS = ("Number of records from the header does not match the file size",)


def _read_raw(path: Path, allow_truncated: bool):  # -> mne.io.BaseRaw; mne is imported lazily
    """Read a file with mne, turning parser failures and truncation into RecordingError."""
    import mne

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            raw = mne.io.read_raw(path, preload=True, verbose="warning")
        except Exception as exc:  # mne's readers raise many types on corrupt input
            raise RecordingError(
                f"Could not read {path} as {_extension(path)} ({type(exc).__name__}: {exc}).",
                "The file may hold no data, be truncated or corrupt, or not really be in this "
                "format; open it in another viewer (e.g. EDFbrowser) or export it again.",
            ) from exc
    for item in caught:
        message = str(item.message)
        if message.startswith(_TRUNCATION_WARNINGS) and not allow_truncated:
            raise RecordingError(
                f"{path} is shorter than its header declares: it holds only "
                f"{raw.n_times / raw.info['sfreq']:.1f} s of complete data records (a truncated "
                "copy, or a recording that was not stopped properly).",
                "Copy the file again, or pass allow_truncated=True to use the data it holds.",
            )
        logger.info("%s: %s", path.name, message)
    return raw


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
        short, or a recording that was not stopped properly) and use its complete records; for
        XDF, a file that ends inside a chunk or lacks stream footers, read up to its last
        complete chunk.
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
        allowed), holds no EEG channel or no samples; an XDF file holds several EEG streams and
        ``xdf_stream`` names none of them.

    Notes
    -----
    Called from the main thread before streaming starts (it reads the whole file, and mne's
    warnings are captured with ``warnings.catch_warnings``, which is process-wide).
    """
    path = Path(path).expanduser()
    check_recording_path(path)
    if is_xdf_path(path):
        return _load_xdf(path, eeg_only, allow_truncated, xdf_stream)
    raw = _read_raw(path, allow_truncated)
    kinds = ("eeg",) if eeg_only else _VOLTAGE_TYPES
    present = set(raw.get_channel_types())
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
    data = np.ascontiguousarray(raw.get_data() * 1e6, dtype=np.float32)  # volts -> microvolts
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
