"""Loaders for user-supplied emotion EEG datasets: SEED, SEED-IV and DEAP, as labelled trials.

Nothing is downloaded: the user points at the folder of a licensed copy, and each loader returns
:class:`AffectiveTrial` objects, one per film / music-video trial, with float32 ``(n_channels,
n_samples)`` data in microvolts. Folders are searched by file name first, so filtering by subject
or session never opens the files of other subjects. Every bad input raises
:class:`neurodeck.common.types.RecordingError` naming the file and saying what to do (malformed
arguments raise :class:`neurodeck.common.types.ConfigError`).

Layouts and facts, with where they were checked (third-party loaders are cross-checks, not
authorities; "UNVERIFIED" marks what no source available to us confirmed):

SEED (``load_seed``)
    ``<root>/Preprocessed_EEG/`` (``root`` may be that folder) holds ``label.mat`` (variable
    ``label``, 15 values -1 / 0 / 1 = negative / neutral / positive) and one file per subject and
    session named ``<subject>_<yyyymmdd>.mat`` (``1_20131027.mat``), with 15 variables
    ``<prefix>_eeg1`` .. ``<prefix>_eeg15`` (prefix per subject, ``djc``) of shape ``(62, T)``.
    Checked: torcheeg ``SEEDDataset`` (folder, file names, ``label.mat``), a public walk-through
    of the files (keys ``djc_eeg1..15``, ``djc_eeg1`` shape ``(62, 47001)``), LibEER
    ``read_seed_raw`` (three dated files per subject, session order = date order). The label order
    in ``label.mat`` matches the sequence hard-coded by MetaBCI and EEG-FM-Bench
    (1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1); this module reads it from the file.
    200 Hz: torcheeg, LibEER, EEG-FM-Bench, and 47001 samples = 235 s = the 235 one-second DE
    windows of the matching ``ExtractedFeatures`` trial. The 0-75 Hz band-pass is UNVERIFIED
    (the readme text was not available to us).
SEED-IV (``load_seed_iv``)
    ``<root>/eeg_raw_data/<1|2|3>/<subject>_<yyyymmdd>.mat`` (``root`` may be ``eeg_raw_data``),
    24 variables ``<prefix>_eeg1`` .. ``<prefix>_eeg24`` of shape ``(62, T)``. Checked: the
    dataset page (bcmi.sjtu.edu.cn/~seed/seed-iv.html: folders '1', '2', '3' are the sessions,
    ``{SubjectName}_{Date}.mat``, fields ``cz_eeg1`` .. ``cz_eeg24``). Trial labels per session
    (0 neutral, 1 sad, 2 fear, 3 happy) are fixed by the dataset ReadMe and are identical in
    torcheeg, LibEER, EEG-FM-Bench and a loader quoting the ReadMe (see
    :data:`SEED_IV_SESSION_LABELS`). Sampling rate: the files are at **200 Hz**, not the 1000 Hz
    of the amplifier. Evidence (inferred, the page does not state the rate of ``eeg_raw_data``;
    it says the raw EEG is downsampled to 200 Hz before features are computed on 4 s windows):
    trials 1-3 of a file, as printed by one public loader, have 33601, 19001 and 39801 samples,
    i.e. 168, 95 and 199 s at 200 Hz, and the dataset's own ``de_LDS1..3`` features, as printed
    by another, have 42, 23 and 49 four-second windows, which matches (at 1000 Hz the clips,
    about 2-4 minutes long, would last 34, 19 and 40 s); torcheeg, LibEER and EEG-FM-Bench
    also read them at 200 Hz. The page documents no separate 200 Hz signal folder
    (``eeg_feature_smooth`` holds features, not signals, and is not read).
    ``sfreq=`` overrides the rate, and a trial longer than 10 minutes at the assumed rate logs a
    warning (a 1000 Hz copy would look five times too long).
DEAP (``load_deap``)
    ``<root>/data_preprocessed_python/sNN.dat`` (a Python 2 pickle, read with
    ``encoding='latin1'``: a dict with ``data`` ``(40, 40, 8064)`` trial x channel x sample and
    ``labels`` ``(40, 4)`` valence, arousal, dominance, liking on 1-9) and / or
    ``<root>/data_preprocessed_matlab/sNN.mat`` with the same two variables (the ``.mat``
    variant is preferred: no pickle is opened). Checked: the dataset readme as quoted in public
    repositories (128 Hz, 4-45 Hz band-pass, common average reference, channels in Geneva
    order, 60 s trials after a 3 s pre-trial baseline, trials in video order; array shapes and
    rating order), torcheeg ``DEAPDataset`` (first 32 channels are EEG, 384 baseline samples,
    ``iso-8859-1`` pickle encoding) and its channel list, equal to :data:`DEAP_CHANNELS`. The
    ``.mat`` variant is UNVERIFIED beyond the brief (same variables assumed, and checked at load).
    The 3 s pre-trial baseline (384 samples) is dropped unless ``keep_baseline=True``.

Units (UNVERIFIED by any dataset document we could read). DEAP: microvolts, as third-party
loaders assume (they multiply by 1e-6 to give MNE volts). SEED / SEED-IV: EEG-FM-Bench treats
both as microvolts (it divides by 1e6 for MNE); torcheeg and LibEER use the values unscaled.
Values are therefore kept as they are, with one safeguard for all three datasets: a trial whose
median absolute value is below 1e-3 (volt scale; EEG in microvolts is around 1-100) is
multiplied by 1e6 and a warning is logged.

Security. DEAP ``.dat`` files are pickles; they are read with an unpickler that can only build
numpy arrays (``numpy[._]core.multiarray._reconstruct``, ``numpy[._]core.numeric._frombuffer``,
``numpy.ndarray``, ``numpy.dtype``, and ``_codecs.encode``, which Python 3 uses for bytes in
protocol-2 pickles) and raises :class:`RecordingError` for any other global, so a tampered file
cannot run code. ``copyreg._reconstructor`` is not needed for numpy arrays and is refused. The
original files (Python 2, ``numpy.core.multiarray`` names, byte strings decoded as latin-1) are
read as they are.

MATLAB v7.3 (HDF5) files cannot be read by ``scipy.io.loadmat`` and h5py is not a dependency: such
a file raises a :class:`RecordingError` that says how to re-save it as v7.
"""

from __future__ import annotations

import codecs
import inspect
import logging
import math
import pickle
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import scipy.io
from neurodeck.common.types import ConfigError, RecordingError
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: The 62 electrodes of SEED and SEED-IV, in the order of the rows of every trial.
SEED_CHANNELS: tuple[str, ...] = (
    "FP1", "FPZ", "FP2", "AF3", "AF4", "F7", "F5", "F3", "F1", "FZ",
    "F2", "F4", "F6", "F8", "FT7", "FC5", "FC3", "FC1", "FCZ", "FC2",
    "FC4", "FC6", "FT8", "T7", "C5", "C3", "C1", "CZ", "C2", "C4",
    "C6", "T8", "TP7", "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4", "CP6",
    "TP8", "P7", "P5", "P3", "P1", "PZ", "P2", "P4", "P6", "P8",
    "PO7", "PO5", "PO3", "POZ", "PO4", "PO6", "PO8", "CB1", "O1", "OZ",
    "O2", "CB2",
)  # fmt: skip

#: The 32 EEG channels of DEAP's preprocessed files (Geneva order); rows 32-39 are not EEG.
DEAP_CHANNELS: tuple[str, ...] = (
    "FP1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1",
    "OZ", "PZ", "FP2", "AF4", "FZ", "F4", "F8", "FC6", "FC2", "CZ", "C4", "T8", "CP6", "CP2",
    "P4", "P8", "PO4", "O2",
)  # fmt: skip

#: Sampling rates (Hz) of the files as distributed.
SEED_SFREQ = 200.0
SEED_IV_SFREQ = 200.0
DEAP_SFREQ = 128.0
#: Length of DEAP's pre-trial baseline at the start of every trial (seconds).
DEAP_BASELINE_S = 3.0

#: SEED ``label.mat`` values -> class names.
SEED_LABEL_NAMES: dict[int, str] = {-1: "negative", 0: "neutral", 1: "positive"}
#: SEED-IV label codes -> class names.
SEED_IV_LABEL_NAMES: tuple[str, ...] = ("neutral", "sad", "fear", "happy")
#: SEED-IV label code of each of the 24 trials, per session (from the dataset ReadMe).
SEED_IV_SESSION_LABELS: dict[str, tuple[int, ...]] = {
    "1": (1, 2, 3, 0, 2, 0, 0, 1, 0, 1, 2, 1, 1, 1, 2, 3, 2, 2, 3, 3, 0, 3, 0, 3),
    "2": (2, 1, 3, 0, 0, 2, 0, 2, 3, 3, 2, 3, 2, 0, 1, 1, 2, 1, 0, 3, 0, 1, 3, 1),
    "3": (1, 2, 2, 1, 3, 3, 3, 1, 1, 2, 1, 0, 2, 3, 3, 0, 2, 3, 0, 0, 2, 0, 1, 0),
}
#: DEAP rating columns, in the order of the ``labels`` array.
DEAP_RATINGS: tuple[str, ...] = ("valence", "arousal", "dominance", "liking")

#: Layout names returned by :func:`detect_layout`.
Layout = Literal["seed", "seed-iv", "deap"]
DeapLabel = Literal["valence", "arousal", "quadrant"]

_SEED_TRIALS = 15
_SEED_IV_TRIALS = 24
_DEAP_EEG_CHANNELS = 32
_DEAP_RATING_RANGE = (1.0, 9.0)
#: A trial whose median |value| is below this is taken to be in volts.
_VOLT_SCALE_LIMIT = 1e-3
#: A SEED-IV trial longer than this (seconds, at the assumed rate) triggers a warning.
_LONGEST_PLAUSIBLE_TRIAL_S = 600.0

_SESSION_FILE = re.compile(r"(?P<subject>[A-Za-z0-9]+)_(?P<date>\d{8})\.mat", re.IGNORECASE)
_TRIAL_VARIABLE = re.compile(r"(?P<prefix>\w+)_eeg(?P<index>[0-9]+)")
_DEAP_FILE = re.compile(r"s(?P<number>\d{2})\.(?P<ext>dat|mat)", re.IGNORECASE)
_MAT_V73_MARK = b"MATLAB 7.3"
_V73_HINT = (
    "scipy reads MAT files up to v7 and neurodeck does not install h5py for HDF5 files. Re-save "
    "it as v7 in MATLAB or Octave: S = load('<file>'); save('<file>', '-struct', 'S', '-v7')."
)
_SEED_IV_SESSIONS = ("1", "2", "3")


@dataclass(frozen=True)
class AffectiveTrial:
    """One labelled trial (a film or music-video excerpt) of an emotion dataset.

    Parameters
    ----------
    data : ndarray of float32, shape (n_channels, n_samples)
        EEG in microvolts, C-contiguous.
    sfreq : float
        Sampling rate (Hz).
    channel_names : tuple of str, length n_channels
        10-10 names as the dataset writes them, upper-cased (``'FP1'``, ``'FPZ'``, ``'CB1'``).
    label : str
        Class name, lower case: ``'negative'`` / ``'neutral'`` / ``'positive'`` (SEED),
        ``'neutral'`` / ``'sad'`` / ``'fear'`` / ``'happy'`` (SEED-IV), see :func:`load_deap`.
    subject : str
        Subject label (``'1'`` for SEED / SEED-IV, ``'s01'`` for DEAP).
    session : str
        ``'1'``, ``'2'``, ``'3'`` (DEAP has one session, ``'1'``).
    trial : int
        0-based index of the trial within its session, in the dataset's own order.
    ratings : dict of str to float
        DEAP self-assessment on 1-9 (valence, arousal, dominance, liking); empty otherwise.
    """

    data: NDArray[np.float32]
    sfreq: float
    channel_names: tuple[str, ...]
    label: str
    subject: str
    session: str
    trial: int
    ratings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = self.data
        if not isinstance(data, np.ndarray) or data.ndim != 2 or data.dtype != np.float32:
            raise ConfigError(
                f"'data' must be a float32 (n_channels, n_samples) array; got "
                f"{getattr(data, 'dtype', type(data).__name__)} "
                f"{getattr(data, 'shape', '')}."
            )
        if data.shape[0] != len(self.channel_names):
            raise ConfigError(
                f"'data' has {data.shape[0]} rows but {len(self.channel_names)} channel names."
            )

    @property
    def duration_s(self) -> float:
        """Length of the trial in seconds."""
        return self.data.shape[1] / self.sfreq


# --------------------------------------------------------------------------- small helpers


def _natural_key(label: str) -> tuple[int, int, str]:
    """Sort key putting ``'2'`` before ``'10'`` and numbers before names."""
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def _seed_subject(value: Any) -> str:
    """``1``, ``'1'`` or ``'01'`` -> ``'1'``; other labels are kept as written."""
    text = str(value).strip()
    return str(int(text)) if text.isdigit() else text


def _deap_subject(value: Any) -> str:
    """``1``, ``'1'``, ``'01'``, ``'s1'`` or ``'S01'`` -> ``'s01'``."""
    text = str(value).strip().lower()
    digits = text[1:] if text.startswith("s") else text
    return f"s{int(digits):02d}" if digits.isdigit() else text


def _as_set(values: Any, name: str, normalize: Callable[[Any], str]) -> set[str] | None:
    """None, or the normalized labels of a str / int / iterable of them."""
    if values is None:
        return None
    if isinstance(values, str | int):
        values = [values]
    if not isinstance(values, Iterable):
        raise ConfigError(f"'{name}' must be None, a label or a list of labels; got {values!r}.")
    chosen = {normalize(v) for v in values}
    if not chosen:
        raise ConfigError(f"'{name}' is empty; pass None to load all {name}.")
    return chosen


def _check_requested(
    requested: set[str] | None, available: Iterable[str], what: str, where: Path
) -> None:
    """Raise if a requested subject / session is not in ``available``."""
    if requested is None:
        return
    present = sorted(set(available), key=_natural_key)
    missing = sorted(requested - set(present), key=_natural_key)
    if missing:
        raise RecordingError(
            f"No {what} {', '.join(missing)} in {where} (found: {', '.join(present) or 'none'}).",
            f"Ask for {what}s that exist, or check that the folder holds the whole dataset.",
        )


def _require_dir(root: Any) -> Path:
    """``root`` as an existing folder."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise RecordingError(
            f"Dataset folder {path} does not exist or is not a folder.",
            "Pass the folder where you extracted your copy of the dataset.",
        )
    return path.resolve()


def _to_microvolts(values: Any, where: str) -> NDArray[np.float32]:
    """A finite float32 C-contiguous copy of one trial, rescaled from volts if it looks like volts.

    Parameters
    ----------
    values : ndarray, shape (n_channels, n_samples)
        One trial as stored in the file.
    where : str
        File and variable, for messages.
    """
    data = np.ascontiguousarray(values, dtype=np.float32)
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.shape[1] - finite.all(axis=0).sum())
        raise RecordingError(
            f"{where} holds NaN or infinite values ({bad} of {data.shape[1]} samples).",
            "The file is damaged or was edited; restore it from the dataset archive, or leave "
            "this subject out.",
        )
    step = max(1, data.shape[1] // 20_000)  # a strided subset is enough for the typical size
    typical = float(np.median(np.abs(data[:, ::step]))) if data.size else 0.0
    if 0.0 < typical < _VOLT_SCALE_LIMIT:
        logger.warning(
            "%s: median |value| %.3g looks like volts; multiplying by 1e6 to get microvolts.",
            where,
            typical,
        )
        data *= 1e6
    return data


def _loadmat(path: Path) -> dict[str, Any]:
    """The variables of a MAT file (v4 to v7), or a :class:`RecordingError` saying why not."""
    try:
        with path.open("rb") as handle:
            header = handle.read(128)
    except OSError as err:
        raise RecordingError(
            f"Cannot open {path}: {err}.", "Check that the file exists and is readable."
        ) from err
    if header.startswith(_MAT_V73_MARK):
        raise RecordingError(f"{path} is a MATLAB v7.3 (HDF5) file.", _V73_HINT)
    try:
        return scipy.io.loadmat(str(path))
    except NotImplementedError as err:  # scipy's answer to v7.3 files
        raise RecordingError(f"{path} is a MATLAB v7.3 (HDF5) file ({err}).", _V73_HINT) from err
    except Exception as err:
        raise RecordingError(
            f"Cannot read {path} as a MATLAB file ({type(err).__name__}: {err}).",
            "The file may be incomplete; extract it again from the dataset archive.",
        ) from err


def _numeric_array(value: Any, ndim: int, where: str) -> NDArray[Any]:
    """``value`` if it is a real numeric array with ``ndim`` dimensions."""
    if (
        not isinstance(value, np.ndarray)
        or value.ndim != ndim
        or not (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating))
    ):
        if isinstance(value, np.ndarray):
            got = f"{value.dtype} array of shape {value.shape}"
        else:
            got = type(value).__name__
        raise RecordingError(
            f"{where} is not a {ndim}-D numeric array (got {got}).",
            "The file does not have the layout of the dataset; use the files as distributed.",
        )
    return value


def _read_eeg_variables(
    path: Path, n_trials: int, dataset: str
) -> list[tuple[str, NDArray[np.float32]]]:
    """The ``<prefix>_eeg1..n_trials`` variables of a SEED / SEED-IV file, in trial order.

    Returns
    -------
    list of (str, ndarray of float32, shape (62, n_samples))
        Variable name and its data in microvolts, for trials 1..n_trials.
    """
    contents = _loadmat(path)
    names = [key for key in contents if not key.startswith("__")]
    by_index: dict[int, str] = {}
    for key in names:
        match = _TRIAL_VARIABLE.fullmatch(key)
        if match is None:
            continue
        index = int(match["index"])
        if index in by_index:
            raise RecordingError(
                f"{path} holds two variables for trial {index}: {by_index[index]} and {key}.",
                f"Each {dataset} file holds one subject-session; use the files as distributed.",
            )
        by_index[index] = key
    if set(by_index) != set(range(1, n_trials + 1)):
        shown = ", ".join(sorted(names)[:6]) + (", ..." if len(names) > 6 else "")
        raise RecordingError(
            f"{path} holds {len(by_index)} EEG trial variables (<prefix>_eeg<k>), expected "
            f"{n_trials} named <prefix>_eeg1 .. <prefix>_eeg{n_trials}; variables: "
            f"{shown or 'none'}.",
            f"Point at the {dataset} EEG signal files (Preprocessed_EEG for SEED, eeg_raw_data "
            "for SEED-IV), not the feature files, and use them as distributed.",
        )
    trials = []
    for index in range(1, n_trials + 1):
        key = by_index[index]
        where = f"{path} variable {key}"
        values = _numeric_array(contents[key], 2, where)
        if values.shape[0] != len(SEED_CHANNELS) or values.shape[1] == 0:
            raise RecordingError(
                f"{where} has shape {values.shape}, expected ({len(SEED_CHANNELS)}, n_samples).",
                f"{dataset} trials are 62 channels x samples; use the files as distributed.",
            )
        trials.append((key, _to_microvolts(values, where)))
    return trials


def _session_files(folder: Path) -> list[tuple[str, str, Path]]:
    """``(subject, date, path)`` of each ``<subject>_<yyyymmdd>.mat`` file in ``folder``."""
    found = []
    for path in folder.iterdir():
        match = _SESSION_FILE.fullmatch(path.name)
        if match and path.is_file():
            found.append((_seed_subject(match["subject"]), match["date"], path))
    return found


# --------------------------------------------------------------------------- SEED


def _seed_folder(root: Path) -> Path | None:
    """The folder holding SEED's ``label.mat`` and session files, if ``root`` looks like SEED."""
    nested = root / "Preprocessed_EEG"
    if nested.is_dir():
        return nested
    if (root / "label.mat").is_file() and _session_files(root):
        return root
    return None


def _seed_labels(folder: Path) -> tuple[str, ...]:
    """Class name of each of the 15 SEED trials, from ``label.mat``."""
    path = folder / "label.mat"
    if not path.is_file():
        raise RecordingError(
            f"SEED label file {path} is missing.",
            "Copy label.mat from the dataset's Preprocessed_EEG folder next to the .mat files.",
        )
    contents = _loadmat(path)
    if "label" not in contents:
        raise RecordingError(
            f"{path} has no variable 'label' (variables: "
            f"{', '.join(k for k in contents if not k.startswith('__')) or 'none'}).",
            "Use the label.mat distributed in SEED's Preprocessed_EEG folder.",
        )
    values = _numeric_array(np.asarray(contents["label"]), 2, f"{path} variable label").ravel()
    if values.size != _SEED_TRIALS or not set(values.tolist()) <= set(SEED_LABEL_NAMES):
        raise RecordingError(
            f"{path} variable label holds {values.tolist()}, expected {_SEED_TRIALS} values "
            "of -1, 0 or 1.",
            "Use the label.mat distributed in SEED's Preprocessed_EEG folder.",
        )
    return tuple(SEED_LABEL_NAMES[int(v)] for v in values)


def load_seed(
    root: str | Path,
    subjects: Iterable[str | int] | str | int | None = None,
    sessions: Iterable[str | int] | str | int | None = None,
) -> list[AffectiveTrial]:
    """Load SEED's ``Preprocessed_EEG`` trials (62 channels, 200 Hz, 3 classes).

    Parameters
    ----------
    root : str or Path
        The SEED folder holding ``Preprocessed_EEG/``, or ``Preprocessed_EEG`` itself.
    subjects : label or list of labels, optional
        Subjects to load (``1`` or ``'1'``); all when None. Other subjects' files are not read.
    sessions : label or list of labels, optional
        Sessions to load: ``'1'``, ``'2'``, ``'3'`` are each subject's files in date order.

    Returns
    -------
    list of AffectiveTrial
        15 trials per subject-session, ordered by subject, session, trial; ``data`` has shape
        ``(62, n_samples)`` and labels ``'negative'`` / ``'neutral'`` / ``'positive'``.

    Raises
    ------
    RecordingError
        Missing folder or ``label.mat``, no session files, an unknown subject or session, a file
        that is not a v4-v7 MAT file, lacks one of the 15 trials, has a wrong shape or NaNs.
    ConfigError
        ``subjects`` / ``sessions`` are not labels.
    """
    base = _require_dir(root)
    folder = _seed_folder(base) or base
    wanted_subjects = _as_set(subjects, "subjects", _seed_subject)
    wanted_sessions = _as_set(sessions, "sessions", _seed_subject)
    files = _session_files(folder)
    if not files:
        raise RecordingError(
            f"No SEED session files (<subject>_<yyyymmdd>.mat) in {folder}.",
            "Pass the SEED folder holding Preprocessed_EEG/, or Preprocessed_EEG itself.",
        )
    _check_requested(wanted_subjects, (s for s, _, _ in files), "subject", folder)
    per_subject: dict[str, list[tuple[str, Path]]] = {}
    for subject, date, path in files:
        if wanted_subjects is None or subject in wanted_subjects:
            per_subject.setdefault(subject, []).append((date, path))
    chosen: list[tuple[str, str, Path]] = []
    for subject in sorted(per_subject, key=_natural_key):
        dated = sorted(per_subject[subject], key=lambda item: (item[0], item[1].name))
        for rank, (_, path) in enumerate(dated, start=1):
            if wanted_sessions is None or str(rank) in wanted_sessions:
                chosen.append((subject, str(rank), path))
    if wanted_sessions is not None:
        present = {session for _, session, _ in chosen}
        _check_requested(wanted_sessions, present, "session", folder)
    labels = _seed_labels(folder)
    trials = []
    for subject, session, path in chosen:
        for index, (_, data) in enumerate(_read_eeg_variables(path, _SEED_TRIALS, "SEED")):
            trials.append(
                AffectiveTrial(
                    data, SEED_SFREQ, SEED_CHANNELS, labels[index], subject, session, index
                )
            )
    return trials


# --------------------------------------------------------------------------- SEED-IV


def _seed_iv_folder(root: Path) -> Path | None:
    """The ``eeg_raw_data`` folder (holding session folders 1/2/3), if ``root`` looks like it."""
    nested = root / "eeg_raw_data"
    if nested.is_dir():
        return nested
    for session in _SEED_IV_SESSIONS:
        if (root / session).is_dir() and _session_files(root / session):
            return root
    return None


def load_seed_iv(
    root: str | Path,
    subjects: Iterable[str | int] | str | int | None = None,
    sessions: Iterable[str | int] | str | int | None = None,
    sfreq: float = SEED_IV_SFREQ,
) -> list[AffectiveTrial]:
    """Load SEED-IV's ``eeg_raw_data`` trials (62 channels, 4 classes).

    Parameters
    ----------
    root : str or Path
        The SEED-IV folder holding ``eeg_raw_data/``, or ``eeg_raw_data`` itself.
    subjects : label or list of labels, optional
        Subjects to load (``1`` or ``'1'``); all when None. Other subjects' files are not read.
    sessions : label or list of labels, optional
        Sessions (the folders ``'1'``, ``'2'``, ``'3'``); all present when None.
    sfreq : float
        Sampling rate of the files; 200 Hz as distributed (see the module notes).

    Returns
    -------
    list of AffectiveTrial
        24 trials per subject-session, ordered by subject, session, trial; ``data`` has shape
        ``(62, n_samples)``, labels ``'neutral'`` / ``'sad'`` / ``'fear'`` / ``'happy'``.

    Raises
    ------
    RecordingError
        Missing folder, no session folders or files, an unknown subject or session, two files
        of one subject in a session, a bad MAT file, trial count, shape, or NaNs.
    ConfigError
        ``sfreq`` is not a positive number, or ``subjects`` / ``sessions`` are not labels.
    """
    if isinstance(sfreq, bool) or not isinstance(sfreq, int | float) or not sfreq > 0:
        raise ConfigError(f"'sfreq' must be a positive number of Hz; got {sfreq!r}.")
    if not math.isfinite(sfreq):
        raise ConfigError(f"'sfreq' must be finite; got {sfreq!r}.")
    base = _require_dir(root)
    folder = _seed_iv_folder(base) or base
    wanted_subjects = _as_set(subjects, "subjects", _seed_subject)
    wanted_sessions = _as_set(sessions, "sessions", _seed_subject)
    present = [s for s in _SEED_IV_SESSIONS if (folder / s).is_dir()]
    if not present:
        raise RecordingError(
            f"No SEED-IV session folders (1, 2, 3) in {folder}.",
            "Pass the SEED-IV folder holding eeg_raw_data/, or eeg_raw_data itself.",
        )
    _check_requested(wanted_sessions, present, "session", folder)
    sessions_to_read = [s for s in present if wanted_sessions is None or s in wanted_sessions]
    chosen: list[tuple[str, str, Path]] = []
    seen_subjects: set[str] = set()
    for session in sessions_to_read:
        per_subject: dict[str, Path] = {}
        for subject, _, path in _session_files(folder / session):
            seen_subjects.add(subject)
            if subject in per_subject:
                raise RecordingError(
                    f"Session folder {folder / session} holds two files of subject {subject}: "
                    f"{per_subject[subject].name} and {path.name}.",
                    "Keep one file per subject in each session folder, as distributed.",
                )
            per_subject[subject] = path
        for subject, path in per_subject.items():
            if wanted_subjects is None or subject in wanted_subjects:
                chosen.append((subject, session, path))
    if not seen_subjects:
        raise RecordingError(
            f"No SEED-IV files (<subject>_<yyyymmdd>.mat) in the session folders of {folder}.",
            "Extract eeg_raw_data completely; each session folder holds one file per subject.",
        )
    _check_requested(wanted_subjects, seen_subjects, "subject", folder)
    chosen.sort(key=lambda item: (_natural_key(item[0]), item[1]))
    trials = []
    for subject, session, path in chosen:
        codes = SEED_IV_SESSION_LABELS[session]
        for index, (key, data) in enumerate(_read_eeg_variables(path, _SEED_IV_TRIALS, "SEED-IV")):
            if data.shape[1] / sfreq > _LONGEST_PLAUSIBLE_TRIAL_S:
                logger.warning(
                    "%s variable %s lasts %.0f s at %g Hz, far longer than a SEED-IV film clip; "
                    "if your copy is at 1000 Hz, pass sfreq=1000.",
                    path,
                    key,
                    data.shape[1] / sfreq,
                    sfreq,
                )
            trials.append(
                AffectiveTrial(
                    data,
                    float(sfreq),
                    SEED_CHANNELS,
                    SEED_IV_LABEL_NAMES[codes[index]],
                    subject,
                    session,
                    index,
                )
            )
    return trials


# --------------------------------------------------------------------------- DEAP


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """The only globals a DEAP pickle may refer to: what numpy needs to rebuild arrays."""
    try:
        from numpy._core import multiarray, numeric  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # bytes in Python 3 protocol-2 pickles
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds dicts, lists, numbers, strings and numpy arrays, nothing else."""

    def __init__(self, handle: BinaryIO, path: Path) -> None:
        super().__init__(handle, encoding="latin1")
        self._path = path
        self._allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global only if it is one of numpy's array constructors."""
        target = self._allowed.get((module, name))
        if target is None:
            raise RecordingError(
                f"{self._path} asks to load '{module}.{name}', which a DEAP file never needs; "
                "it was refused and nothing was run.",
                "The file is not an original DEAP data_preprocessed_python file (it may have "
                "been tampered with); replace it from the dataset archive, or use the "
                "data_preprocessed_matlab .mat files.",
            )
        return target


def _unpickle_deap(path: Path) -> Any:
    """The object in a DEAP ``.dat`` file, read with :class:`_NumpyOnlyUnpickler`."""
    try:
        with path.open("rb") as handle:
            return _NumpyOnlyUnpickler(handle, path).load()
    except RecordingError:
        raise
    except Exception as err:
        raise RecordingError(
            f"Cannot read {path} as a DEAP pickle ({type(err).__name__}: {err}).",
            "The file may be incomplete; extract it again from data_preprocessed_python.zip, "
            "or use the data_preprocessed_matlab .mat files.",
        ) from err


def _deap_folders(root: Path) -> tuple[Path | None, Path | None]:
    """``(python_folder, matlab_folder)`` holding DEAP ``sNN.dat`` / ``sNN.mat`` files, if any."""

    def holds(folder: Path, ext: str) -> bool:
        return folder.is_dir() and any(
            (m := _DEAP_FILE.fullmatch(p.name)) and m["ext"].lower() == ext
            for p in folder.iterdir()
        )

    python = root / "data_preprocessed_python"
    matlab = root / "data_preprocessed_matlab"
    python_dir = python if python.is_dir() else (root if holds(root, "dat") else None)
    matlab_dir = matlab if matlab.is_dir() else (root if holds(root, "mat") else None)
    return python_dir, matlab_dir


def _deap_files(folder: Path | None, ext: str) -> dict[str, Path]:
    """Subject label -> file, for the ``sNN.<ext>`` files directly in ``folder``."""
    found: dict[str, Path] = {}
    if folder is None:
        return found
    for path in folder.iterdir():
        match = _DEAP_FILE.fullmatch(path.name)
        if match and match["ext"].lower() == ext and path.is_file():
            found[f"s{match['number']}"] = path
    return found


def _read_deap_subject(path: Path) -> tuple[NDArray[Any], NDArray[Any]]:
    """``data`` (n_trials, n_channels, n_samples) and ``labels`` (n_trials, 4) of one file."""
    if path.suffix.lower() == ".mat":
        contents: Any = _loadmat(path)
    else:
        contents = _unpickle_deap(path)
    if not isinstance(contents, dict) or "data" not in contents or "labels" not in contents:
        if isinstance(contents, dict):
            keys = ", ".join(sorted(str(k) for k in contents if not str(k).startswith("__")))
        else:
            keys = f"a {type(contents).__name__}"
        raise RecordingError(
            f"{path} does not hold DEAP's 'data' and 'labels' arrays (found: {keys}).",
            "Use the files of data_preprocessed_python or data_preprocessed_matlab as distributed.",
        )
    data = _numeric_array(contents["data"], 3, f"{path} 'data'")
    labels = _numeric_array(contents["labels"], 2, f"{path} 'labels'")
    if (
        data.shape[1] < _DEAP_EEG_CHANNELS
        or labels.shape[0] != data.shape[0]
        or labels.shape[1] < len(DEAP_RATINGS)
        or data.shape[0] == 0
    ):
        raise RecordingError(
            f"{path} has 'data' of shape {data.shape} and 'labels' of shape {labels.shape}; "
            "expected (n_trials, >=32 channels, n_samples) and (n_trials, 4), e.g. "
            "(40, 40, 8064) and (40, 4).",
            "Use the files of DEAP's preprocessed data as distributed.",
        )
    return data, labels


def _deap_label(ratings: dict[str, float], label: str, threshold: float) -> str:
    """Class name of one trial; a rating equal to ``threshold`` counts as low."""
    high_valence = ratings["valence"] > threshold
    high_arousal = ratings["arousal"] > threshold
    if label == "valence":
        return "high_valence" if high_valence else "low_valence"
    if label == "arousal":
        return "high_arousal" if high_arousal else "low_arousal"
    return f"{'h' if high_valence else 'l'}v{'h' if high_arousal else 'l'}a"


def load_deap(
    root: str | Path,
    subjects: Iterable[str | int] | str | int | None = None,
    label: DeapLabel = "valence",
    threshold: float = 5.0,
    keep_baseline: bool = False,
) -> list[AffectiveTrial]:
    """Load DEAP's preprocessed trials (32 EEG channels, 128 Hz, self-assessed ratings).

    Parameters
    ----------
    root : str or Path
        The DEAP folder holding ``data_preprocessed_python/`` and / or
        ``data_preprocessed_matlab/``, or one of those folders. Where a subject has both, the
        ``.mat`` file is read.
    subjects : label or list of labels, optional
        Subjects to load (``1``, ``'1'``, ``'s01'``); all when None.
    label : {'valence', 'arousal', 'quadrant'}
        ``'valence'`` -> ``'low_valence'`` / ``'high_valence'``, ``'arousal'`` likewise,
        ``'quadrant'`` -> ``'lvla'``, ``'lvha'``, ``'hvla'``, ``'hvha'``. A rating is high when
        strictly greater than ``threshold``; a rating equal to it is low.
    threshold : float
        Boundary on the 1-9 rating scale.
    keep_baseline : bool
        Keep the 3 s pre-trial baseline at the start of each trial (dropped by default, leaving
        60 s = 7680 samples).

    Returns
    -------
    list of AffectiveTrial
        40 trials per subject (session ``'1'``, in DEAP's video order), ``data`` of shape
        ``(32, n_samples)``, all four ratings in ``ratings``.

    Raises
    ------
    RecordingError
        Missing folder, no ``sNN.dat`` / ``sNN.mat`` files, an unknown subject, an unreadable or
        refused file (a pickle asking for anything but numpy arrays), wrong shapes, NaNs, or
        ratings outside 1-9.
    ConfigError
        ``label`` or ``threshold`` is invalid, or ``subjects`` are not labels.
    """
    if label not in ("valence", "arousal", "quadrant"):
        raise ConfigError(f"'label' must be 'valence', 'arousal' or 'quadrant'; got {label!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ConfigError(f"'threshold' must be a number on the 1-9 scale; got {threshold!r}.")
    if not math.isfinite(threshold):
        raise ConfigError(f"'threshold' must be finite; got {threshold!r}.")
    base = _require_dir(root)
    python_dir, matlab_dir = _deap_folders(base)
    files = _deap_files(python_dir, "dat")
    files.update(_deap_files(matlab_dir, "mat"))  # .mat preferred: no pickle to open
    if not files:
        raise RecordingError(
            f"No DEAP files (sNN.dat in data_preprocessed_python/ or sNN.mat in "
            f"data_preprocessed_matlab/) in {base}.",
            "Pass the DEAP folder holding data_preprocessed_python/ or "
            "data_preprocessed_matlab/, or one of those folders.",
        )
    wanted = _as_set(subjects, "subjects", _deap_subject)
    _check_requested(wanted, files, "subject", base)
    start = 0 if keep_baseline else round(DEAP_BASELINE_S * DEAP_SFREQ)
    trials = []
    for subject in sorted(files, key=lambda s: _natural_key(s[1:])):
        if wanted is not None and subject not in wanted:
            continue
        path = files[subject]
        data, labels = _read_deap_subject(path)
        if data.shape[2] <= start:
            raise RecordingError(
                f"{path} trials have {data.shape[2]} samples, not more than the "
                f"{start}-sample pre-trial baseline.",
                "Use the files of DEAP's preprocessed data as distributed (8064 samples per "
                "trial), or pass keep_baseline=True.",
            )
        for index in range(data.shape[0]):
            row = labels[index, : len(DEAP_RATINGS)].astype(float)
            low, high = _DEAP_RATING_RANGE
            if not (np.isfinite(row).all() and ((row >= low) & (row <= high)).all()):
                raise RecordingError(
                    f"{path} trial {index} has ratings {row.tolist()}, outside 1-9.",
                    "The 'labels' array is damaged or is not DEAP's; use the files as distributed.",
                )
            ratings = {name: float(v) for name, v in zip(DEAP_RATINGS, row, strict=True)}
            eeg = _to_microvolts(
                data[index, :_DEAP_EEG_CHANNELS, start:], f"{path} 'data' trial {index}"
            )
            trials.append(
                AffectiveTrial(
                    eeg,
                    DEAP_SFREQ,
                    DEAP_CHANNELS,
                    _deap_label(ratings, label, float(threshold)),
                    subject,
                    "1",
                    index,
                    ratings,
                )
            )
    return trials


# --------------------------------------------------------------------------- dispatch

_EXPECTED_LAYOUTS = (
    "SEED: Preprocessed_EEG/ (or that folder) with label.mat and <subject>_<yyyymmdd>.mat "
    "files; SEED-IV: eeg_raw_data/ (or that folder) with session folders 1, 2, 3 of "
    "<subject>_<yyyymmdd>.mat files; DEAP: data_preprocessed_python/ with sNN.dat or "
    "data_preprocessed_matlab/ with sNN.mat (or one of those folders)"
)


def detect_layout(root: str | Path) -> Layout:
    """Which dataset a folder holds, from folder and file names only (no file is opened).

    Parameters
    ----------
    root : str or Path
        A dataset folder as accepted by :func:`load_seed`, :func:`load_seed_iv` or
        :func:`load_deap`.

    Returns
    -------
    {'seed', 'seed-iv', 'deap'}

    Raises
    ------
    RecordingError
        If the folder is missing, matches none of the layouts, or more than one.
    """
    base = _require_dir(root)
    found: list[Layout] = []
    if _seed_folder(base) is not None:
        found.append("seed")
    if _seed_iv_folder(base) is not None:
        found.append("seed-iv")
    if any(folder is not None for folder in _deap_folders(base)):
        found.append("deap")
    if not found:
        raise RecordingError(
            f"{base} holds none of the supported emotion datasets. Expected {_EXPECTED_LAYOUTS}.",
            "Pass the folder where you extracted your copy of SEED, SEED-IV or DEAP.",
        )
    if len(found) > 1:
        raise RecordingError(
            f"{base} holds more than one dataset ({', '.join(found)}).",
            "Pass the folder of the one dataset you want to load.",
        )
    return found[0]


_LOADERS: dict[str, Callable[..., list[AffectiveTrial]]] = {
    "seed": load_seed,
    "seed-iv": load_seed_iv,
    "deap": load_deap,
}


def load_affective(root: str | Path, **kw: Any) -> list[AffectiveTrial]:
    """Load whichever of SEED, SEED-IV or DEAP ``root`` holds (see :func:`detect_layout`).

    Parameters
    ----------
    root : str or Path
        The dataset folder.
    **kw
        Keyword arguments of the matching loader (:func:`load_seed`, :func:`load_seed_iv`,
        :func:`load_deap`).

    Returns
    -------
    list of AffectiveTrial

    Raises
    ------
    RecordingError
        As :func:`detect_layout` and the loader.
    ConfigError
        A keyword the matching loader does not take.
    """
    layout = detect_layout(root)
    loader = _LOADERS[layout]
    accepted = [name for name in inspect.signature(loader).parameters if name != "root"]
    unknown = sorted(set(kw) - set(accepted))
    if unknown:
        raise ConfigError(
            f"{root} holds {layout}, whose loader takes no {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(accepted)}."
        )
    return loader(root, **kw)
