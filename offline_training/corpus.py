"""EEG files -> a cached corpus of preprocessed recordings, for pretraining and cross-subject work.

Every recording goes through the live path's own chain (:class:`neurodeck.streaming.preprocessing.
Preprocessor`, causal, applied over the whole recording as online), so a model never sees data
prepared differently from what it gets live. Steps per file: load
(:func:`neurodeck.streaming.recording_io. load_recording`) -> canonical channel names
(:func:`neurodeck.streaming.channels.normalize_channel_name`) -> keep 10-05 EEG channels -> pick the
config's channels, if it names any -> preprocess -> store as float32 ``(n_channels, n_samples)``
``.npy`` in a cache folder. A second build with the same files and settings reads only the small
JSON descriptions; the arrays are opened lazily with ``np.load(mmap_mode="r")``, so corpora much
bigger than memory work.

Sources are described by :class:`FolderSource` (any EDF/BDF/FIF files below a folder) and
:class:`EEGBCISource` (the PhysioNet motor-imagery runs, located without downloading).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
from neurodeck.common.types import ChannelMappingError, ConfigError, RecordingError
from neurodeck.streaming.channels import is_eeg_channel_name, map_channels, normalize_channel_name
from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor
from neurodeck.streaming.recording_io import SUPPORTED_EXTENSIONS, eegbci_run_files, load_recording
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Bump when the stored arrays or their description change meaning; old cache entries are ignored.
CACHE_VERSION = 1

#: File endings a :class:`FolderSource` collects by default.
DEFAULT_EXTENSIONS = (".edf", ".bdf", ".fif", ".fif.gz")

#: ``progress(n_done, n_total, info)``, called after each recording (built, cached or skipped).
ProgressCallback = Callable[[int, int, "RecordingInfo"], None]

OnMissing = Literal["error", "skip"]


class CorpusAnnotation(NamedTuple):
    """One event of a recording, in seconds from the first preprocessed sample."""

    onset_s: float
    duration_s: float
    description: str


@dataclass(frozen=True)
class RecordingInfo:
    """A file a source contributes, with the subject and run it belongs to.

    Parameters
    ----------
    path : Path
        The EEG file (absolute).
    subject : str
        Subject label (``'S001'`` for EEGBCI; see :class:`FolderSource` for folders).
    run : str
        Session / run label within the subject (``'R04'`` for EEGBCI, the file stem for folders).
    origin : str
        Short description of the source, for messages.
    """

    path: Path
    subject: str
    run: str
    origin: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).expanduser().resolve())
        if not isinstance(self.subject, str) or not self.subject:
            raise ConfigError(f"'subject' must be a non-empty str; got {self.subject!r}.")
        if not isinstance(self.run, str):
            raise ConfigError(f"'run' must be a str; got {self.run!r}.")


class CorpusSource(ABC):
    """Where the files of a corpus come from."""

    @abstractmethod
    def recordings(self) -> list[RecordingInfo]:
        """The files of this source, in a deterministic order.

        Raises
        ------
        RecordingError
            If the source's location does not exist.
        """

    @abstractmethod
    def describe(self) -> str:
        """One line saying what this source searches (used in error messages)."""


def _check_extensions(extensions: Any) -> tuple[str, ...]:
    """Lower-case endings with a leading dot, each one :func:`load_recording` reads."""
    if isinstance(extensions, str) or not isinstance(extensions, Sequence) or not extensions:
        raise ConfigError(
            f"'extensions' must be a non-empty sequence such as ('.edf', '.bdf'); "
            f"got {extensions!r}."
        )
    endings = tuple(
        str(e).lower() if str(e).startswith(".") else f".{e}".lower() for e in extensions
    )
    unknown = [e for e in endings if e not in SUPPORTED_EXTENSIONS]
    if unknown:
        raise ConfigError(
            f"'extensions' {unknown} cannot be read; supported: {', '.join(SUPPORTED_EXTENSIONS)}."
        )
    return endings


def _check_subject_regex(pattern: Any) -> str | None:
    """None, or a regular expression that compiles."""
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except (re.error, TypeError) as err:
        raise ConfigError(
            f"'subject_regex' must be a regular expression; got {pattern!r} ({err})."
        ) from err
    return pattern


def _strip_extension(name: str) -> str:
    """File name without its EEG ending (``'x.fif.gz'`` -> ``'x'``)."""
    lowered = name.lower()
    for ending in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if lowered.endswith(ending):
            return name[: -len(ending)]
    return Path(name).stem


@dataclass(frozen=True)
class FolderSource(CorpusSource):
    """EEG files below a folder.

    Parameters
    ----------
    path : Path or str
        The folder to search.
    pattern : str
        Glob pattern on file names (``'*'``: every file); combined with ``extensions``.
    extensions : sequence of str
        File endings to collect, case-insensitive (default EDF, BDF, FIF and ``.fif.gz``).
    recursive : bool
        Search sub-folders too.
    subject_regex : str or None
        Regular expression searched in the file's path relative to ``path`` (``/`` separators);
        its group ``subject`` (or group 1, or the whole match) is the subject label. Files that
        do not match are skipped with a warning. Example for PhysioNet EEGMAT
        (``Subject00_1.edf``): ``r'(Subject\\d+)_'``.

    Notes
    -----
    Without ``subject_regex`` the subject is the name of the first folder below ``path`` that
    holds the file (``path/S01/ses-1/x.edf`` -> ``'S01'``, so BIDS ``sub-XX`` folders work), or
    the file stem when the file lies directly in ``path``. The run label is the file stem.
    """

    path: Path
    pattern: str = "*"
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    recursive: bool = True
    subject_regex: str | None = None

    def __post_init__(self) -> None:
        set_field = object.__setattr__
        if not isinstance(self.path, (str, os.PathLike)):
            raise ConfigError(f"'path' must be a folder path; got {self.path!r}.")
        set_field(self, "path", Path(self.path).expanduser().resolve())
        if not isinstance(self.pattern, str) or not self.pattern:
            raise ConfigError(f"'pattern' must be a non-empty glob pattern; got {self.pattern!r}.")
        set_field(self, "extensions", _check_extensions(self.extensions))
        set_field(self, "recursive", bool(self.recursive))
        set_field(self, "subject_regex", _check_subject_regex(self.subject_regex))

    def describe(self) -> str:
        """One line saying what is searched."""
        depth = "recursively" if self.recursive else "non-recursively"
        return f"{self.path} ({depth}, '{self.pattern}' with {', '.join(self.extensions)})"

    def recordings(self) -> list[RecordingInfo]:
        """The matching files, sorted by path."""
        if not self.path.is_dir():
            raise RecordingError(
                f"Corpus folder not found: {self.path}.",
                "Check the folder given to FolderSource (relative paths start at the current one).",
            )
        found = self.path.rglob(self.pattern) if self.recursive else self.path.glob(self.pattern)
        files = sorted(p for p in found if p.is_file() and p.name.lower().endswith(self.extensions))
        infos = (self._info(p) for p in files)
        return [info for info in infos if info is not None]

    def _info(self, file: Path) -> RecordingInfo | None:
        """Subject and run of one file (None, with a warning, when the regex does not match)."""
        relative = file.relative_to(self.path)
        if self.subject_regex is not None:
            match = re.search(self.subject_regex, relative.as_posix())
            if match is None:
                logger.warning(
                    "Skipping %s: its path does not match subject_regex %r.",
                    file,
                    self.subject_regex,
                )
                return None
            groups = match.groupdict()
            subject = groups.get("subject") or (match.group(1) if match.groups() else match[0])
        else:
            parts = relative.parts
            subject = parts[0] if len(parts) > 1 else _strip_extension(file.name)
        return RecordingInfo(file, subject, _strip_extension(file.name), f"folder {self.path}")


def _check_ids(name: str, values: Any, low: int, high: int) -> tuple[int, ...]:
    """A non-empty tuple of distinct integers in ``[low, high]``."""
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = (values,)
    rule = f"must be one or more distinct integers from {low} to {high}"
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ConfigError(f"'{name}' {rule}; got {values!r}.")
    values = tuple(values)
    ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
    if not values or not ok or not all(low <= v <= high for v in values):
        raise ConfigError(f"'{name}' {rule}; got {list(values)!r}.")
    if len(set(values)) != len(values):
        raise ConfigError(f"'{name}' {rule}; got repeats in {list(values)!r}.")
    return tuple(int(v) for v in values)


@dataclass(frozen=True)
class EEGBCISource(CorpusSource):
    """Runs of the PhysioNet EEG Motor Movement/Imagery dataset (EEGBCI) below a data root.

    Files are located with :func:`neurodeck.streaming.recording_io.eegbci_run_files` and never
    downloaded; a run that is absent is skipped with a warning (some subjects lack some runs).

    Parameters
    ----------
    root : Path or str
        Data root holding ``MNE-eegbci-data/files/eegmmidb/1.0.0``.
    subjects : sequence of int
        Subject numbers, 1 to 109; labelled ``'S001'`` and so on.
    runs : sequence of int
        Run numbers, 1 to 14 (default 4, 8, 12: left vs right fist imagery); labelled ``'R04'``.
    """

    root: Path
    subjects: tuple[int, ...]
    runs: tuple[int, ...] = (4, 8, 12)

    def __post_init__(self) -> None:
        if not isinstance(self.root, (str, os.PathLike)):
            raise ConfigError(f"'root' must be a folder path; got {self.root!r}.")
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())
        object.__setattr__(self, "subjects", _check_ids("subjects", self.subjects, 1, 109))
        object.__setattr__(self, "runs", _check_ids("runs", self.runs, 1, 14))

    def describe(self) -> str:
        """One line saying what is searched."""
        return f"EEGBCI subjects {list(self.subjects)} runs {list(self.runs)} below {self.root}"

    def recordings(self) -> list[RecordingInfo]:
        """Existing runs, subject by subject, in the order given."""
        infos = []
        for subject in self.subjects:
            for run, path in self._subject_files(subject):
                infos.append(RecordingInfo(path, f"S{subject:03d}", f"R{run:02d}", "EEGBCI"))
        return infos

    def _subject_files(self, subject: int) -> list[tuple[int, Path]]:
        """(run, path) of the subject's runs that exist; absent runs are logged and skipped."""
        try:
            paths = eegbci_run_files(self.root, subject, self.runs, allow_download=False)
            return list(zip(self.runs, paths, strict=True))
        except RecordingError:
            pass  # some runs are absent: find which, one by one
        found = []
        for run in self.runs:
            try:
                found.append((run, eegbci_run_files(self.root, subject, [run])[0]))
            except RecordingError as err:
                logger.warning("Skipping EEGBCI subject %d run %d: %s", subject, run, err.problem)
        return found


@dataclass(frozen=True)
class CorpusRecording:
    """One preprocessed recording of a :class:`Corpus` (its samples stay on disk).

    Parameters
    ----------
    path : Path
        The source EEG file.
    subject, run : str
        Labels from the source (see :class:`RecordingInfo`).
    channel_names : tuple of str
        Canonical channel names, one per row of the stored array.
    sfreq : float
        Sampling rate of the stored array in Hz (the preprocessing's output rate).
    n_samples : int
        Samples per channel of the stored array.
    annotations : tuple of CorpusAnnotation
        Events of the file. Onsets are times from the first sample, so they hold in the
        preprocessed time base too: resampling keeps times (output sample ``k`` is at
        ``k / sfreq``).
    resample_delay_s : float
        Group delay of the resampler's anti-alias filter (0 without resampling): like the
        band-pass's delay, the content lags the annotation times by this much, exactly as live.
    cache_file : Path
        The ``.npy`` file of shape (n_channels, n_samples), float32.
    """

    path: Path
    subject: str
    run: str
    channel_names: tuple[str, ...]
    sfreq: float
    n_samples: int
    annotations: tuple[CorpusAnnotation, ...]
    resample_delay_s: float
    cache_file: Path

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channel_names)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sfreq


def _run_label(run: str | int) -> str:
    """Run labels compare as strings; an int ``n`` means the EEGBCI label ``'R0n'``."""
    if isinstance(run, (int, np.integer)) and not isinstance(run, bool):
        return f"R{int(run):02d}"
    return str(run)


class Corpus:
    """Preprocessed recordings with their subjects, runs and events; samples memory-mapped.

    Parameters
    ----------
    recordings : sequence of CorpusRecording
        The recordings, in order (usually from :func:`build_corpus`).
    preprocessing : PreprocessingConfig or None
        The settings the arrays were made with.

    Notes
    -----
    Arrays are opened on first use and kept open (one memory map per file); views made by
    :meth:`select` share them. Pickling (e.g. to DataLoader workers) leaves the maps behind, so
    workers open their own instead of receiving copies of the data.
    """

    def __init__(
        self,
        recordings: Sequence[CorpusRecording],
        preprocessing: PreprocessingConfig | None = None,
        _arrays: dict[Path, NDArray[np.float32]] | None = None,
    ) -> None:
        self._recordings = tuple(recordings)
        if not all(isinstance(r, CorpusRecording) for r in self._recordings):
            raise ConfigError("'recordings' must hold CorpusRecording objects.")
        self._preprocessing = preprocessing
        self._arrays: dict[Path, NDArray[np.float32]] = {} if _arrays is None else _arrays

    def __len__(self) -> int:
        return len(self._recordings)

    def __getitem__(self, i: int) -> CorpusRecording:
        return self._recordings[i]

    def __iter__(self) -> Iterator[CorpusRecording]:
        return iter(self._recordings)

    def __repr__(self) -> str:
        return f"Corpus({len(self)} recordings, {len(self.subjects())} subjects)"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_arrays"] = {}  # memory maps would pickle as full copies
        return state

    @property
    def recordings(self) -> tuple[CorpusRecording, ...]:
        """The recordings, in order."""
        return self._recordings

    @property
    def preprocessing(self) -> PreprocessingConfig | None:
        """The preprocessing settings of the stored arrays."""
        return self._preprocessing

    def subjects(self) -> tuple[str, ...]:
        """Distinct subject labels, sorted."""
        return tuple(sorted({r.subject for r in self._recordings}))

    def runs(self) -> tuple[str, ...]:
        """Distinct run labels, sorted."""
        return tuple(sorted({r.run for r in self._recordings}))

    def select(
        self,
        subjects: Iterable[str] | None = None,
        runs: Iterable[str | int] | None = None,
    ) -> Corpus:
        """A view on the recordings of some subjects and/or runs (no data is copied).

        Parameters
        ----------
        subjects : iterable of str or None
            Subject labels to keep (None: all).
        runs : iterable of str or int or None
            Run labels to keep (None: all); an int ``n`` stands for the EEGBCI label ``'R0n'``.

        Raises
        ------
        ConfigError
            If a requested subject or run is not in the corpus.
        """
        keep_subjects = self._wanted("subjects", subjects, self.subjects(), str)
        keep_runs = self._wanted("runs", runs, self.runs(), _run_label)
        chosen = [
            r
            for r in self._recordings
            if (keep_subjects is None or r.subject in keep_subjects)
            and (keep_runs is None or r.run in keep_runs)
        ]
        return Corpus(chosen, self._preprocessing, self._arrays)

    @staticmethod
    def _wanted(
        name: str, values: Iterable[Any] | None, present: Sequence[str], label: Callable
    ) -> set[str] | None:
        """Requested labels as a set, checked against those present."""
        if values is None:
            return None
        if isinstance(values, (str, int)):
            values = [values]
        wanted = {label(v) for v in values}
        unknown = sorted(wanted - set(present))
        if unknown:
            raise ConfigError(
                f"'{name}' {unknown} are not in the corpus; it holds {list(present)}.",
                "Select among the labels the corpus holds (Corpus.subjects() / Corpus.runs()).",
            )
        return wanted

    def data(self, i: int) -> NDArray[np.float32]:
        """Samples of recording ``i``, memory-mapped read-only.

        Returns
        -------
        ndarray, shape (n_channels, n_samples), float32
            A read-only memory map; slice it and copy what you need.

        Raises
        ------
        RecordingError
            If the cache file is gone or no longer matches the corpus description.
        """
        rec = self._recordings[i]
        array = self._arrays.get(rec.cache_file)
        if array is None:
            array = _open_cached(rec)
            self._arrays[rec.cache_file] = array
        return array


def _open_cached(rec: CorpusRecording) -> NDArray[np.float32]:
    """Memory-map a cache file and check its shape and type."""
    hint = "Build the corpus again (delete the cache folder if the problem stays)."
    try:
        array = np.load(rec.cache_file, mmap_mode="r")
    except (OSError, ValueError) as err:
        raise RecordingError(f"Cannot open cached array {rec.cache_file} ({err}).", hint) from err
    expected = (rec.n_channels, rec.n_samples)
    if array.shape != expected or array.dtype != np.float32:
        raise RecordingError(
            f"Cached array {rec.cache_file} has shape {array.shape} {array.dtype}; "
            f"expected {expected} float32.",
            hint,
        )
    return array


# -- building -------------------------------------------------------------------------------------


def cache_key(path: Path, preprocessing: PreprocessingConfig) -> str:
    """Hex digest naming a file's cache entry.

    Hashes the absolute path, the file's size and modification time, the preprocessing settings
    and :data:`CACHE_VERSION`: touching the file or changing a setting gives a new entry.

    Raises
    ------
    OSError
        If the file cannot be examined.
    """
    path = Path(path).resolve()
    stat = path.stat()
    content = {
        "path": str(path),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "preprocessing": preprocessing.to_dict(),
        "version": CACHE_VERSION,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Processed:
    """A freshly preprocessed recording, before it is stored."""

    data: NDArray[np.float32]
    channel_names: tuple[str, ...]
    sfreq: float
    annotations: tuple[CorpusAnnotation, ...]
    resample_delay_s: float


def _eeg_rows(path: Path, names: Sequence[str]) -> tuple[list[int], tuple[str, ...]]:
    """Rows of 10-05 EEG channels and their canonical names (later duplicates dropped)."""
    rows, kept, other = [], [], []
    for row, name in enumerate(names):
        canonical = normalize_channel_name(name)
        if not is_eeg_channel_name(canonical):
            other.append(name)
        elif canonical in kept:
            logger.warning("%s: channel %r repeats %r; keeping the first.", path, name, canonical)
        else:
            rows.append(row)
            kept.append(canonical)
    if other:
        logger.debug("%s: dropping non-EEG channels %s", path.name, other)
    if not rows:
        raise RecordingError(
            f"{path} has no channel with a 10-05 EEG name (channels: {list(names)}).",
            "Rename the channels to 10-20/10-10 names, or leave the file out of the corpus.",
        )
    return rows, tuple(kept)


def _check_channels(path: Path, names: Sequence[str], config: PreprocessingConfig) -> None:
    """Raise ChannelMappingError naming the file when the config's channels are missing."""
    if config.channel_names is None:
        return
    try:
        map_channels(names, config.channel_names)
    except ChannelMappingError as err:
        raise ChannelMappingError(
            f"{path}: {err.problem}",
            "Leave the file out, choose channels every file records, or build with "
            "on_missing='skip' to skip such files with a warning.",
        ) from err


def _preprocess_file(path: Path, config: PreprocessingConfig, min_duration_s: float) -> _Processed:
    """Load, harmonise channel names, keep EEG, preprocess causally over the whole recording."""
    rec = load_recording(path)
    if rec.duration_s < min_duration_s:
        raise RecordingError(
            f"{path} is too short: {rec.duration_s:.2f} s < min_duration_s={min_duration_s} s.",
            "Leave it out or lower min_duration_s.",
        )
    rows, names = _eeg_rows(path, rec.channel_names)
    _check_channels(path, names, config)
    pre = Preprocessor(config, names, rec.sfreq)
    x = rec.data if len(rows) == rec.n_channels else rec.data[rows]  # (n_eeg, n_samples)
    data = pre.process_array(x)  # (n_out_channels, n_out_samples) float32
    annotations = tuple(CorpusAnnotation(*a) for a in rec.annotations)
    return _Processed(data, pre.out_channel_names, pre.out_sfreq, annotations, pre.resample_delay_s)


def _write_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary name next to ``target``, then rename (no half-written entries)."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _store(info: RecordingInfo, processed: _Processed, cache_dir: Path, key: str) -> None:
    """Save the array, then its description (the description marks a complete entry)."""

    def save_array(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            np.save(handle, processed.data)

    description = {
        "source": str(info.path),
        "channel_names": list(processed.channel_names),
        "sfreq": processed.sfreq,
        "n_samples": int(processed.data.shape[1]),
        "annotations": [list(a) for a in processed.annotations],
        "resample_delay_s": processed.resample_delay_s,
        "version": CACHE_VERSION,
    }
    _write_atomic(cache_dir / f"{key}.npy", save_array)
    _write_atomic(cache_dir / f"{key}.json", lambda tmp: tmp.write_text(json.dumps(description)))


def _from_cache(info: RecordingInfo, cache_dir: Path, key: str) -> CorpusRecording | None:
    """The cached description of a file, or None when there is no complete entry."""
    meta_file, array_file = cache_dir / f"{key}.json", cache_dir / f"{key}.npy"
    if not (meta_file.is_file() and array_file.is_file()):
        return None
    try:
        meta = json.loads(meta_file.read_text())
        return CorpusRecording(
            path=info.path,
            subject=info.subject,
            run=info.run,
            channel_names=tuple(meta["channel_names"]),
            sfreq=float(meta["sfreq"]),
            n_samples=int(meta["n_samples"]),
            annotations=tuple(
                CorpusAnnotation(float(o), float(d), str(s)) for o, d, s in meta["annotations"]
            ),
            resample_delay_s=float(meta["resample_delay_s"]),
            cache_file=array_file,
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        logger.warning("Ignoring damaged cache entry %s (%s); rebuilding.", meta_file, err)
        return None


def _build_one(
    info: RecordingInfo,
    config: PreprocessingConfig,
    cache_dir: Path,
    on_missing: OnMissing,
    min_duration_s: float,
) -> CorpusRecording | None:
    """Cached or freshly built entry of one file; None (with a warning) for a bad file."""
    try:
        key = cache_key(info.path, config)
        cached = _from_cache(info, cache_dir, key)
        if cached is not None:
            return cached
        processed = _preprocess_file(info.path, config, min_duration_s)
    except ChannelMappingError as err:
        if on_missing == "error":
            raise
        logger.warning("Skipping %s: %s", info.path, err.problem)
        return None
    except (RecordingError, ConfigError, OSError, ValueError) as err:
        logger.warning("Skipping %s: %s", info.path, err)
        return None
    _store(info, processed, cache_dir, key)
    return _from_cache(info, cache_dir, key)


def _collect(sources: Sequence[CorpusSource]) -> list[RecordingInfo]:
    """Files of every source; a file listed twice is kept once (first source wins)."""
    infos, seen = [], set()
    for source in sources:
        for info in source.recordings():
            if info.path not in seen:
                seen.add(info.path)
                infos.append(info)
    return infos


def _check_build_args(
    sources: Any, preprocessing: Any, on_missing: Any, min_duration_s: Any
) -> list[CorpusSource]:
    """Validate the arguments of :func:`build_corpus`; return the sources as a list."""
    if isinstance(sources, CorpusSource):
        sources = [sources]
    sources = list(sources)
    if not sources or not all(isinstance(s, CorpusSource) for s in sources):
        raise ConfigError(
            f"'sources' must be one or more FolderSource / EEGBCISource; got {sources!r}."
        )
    if not isinstance(preprocessing, PreprocessingConfig):
        raise ConfigError(
            f"'preprocessing' must be a PreprocessingConfig; got {type(preprocessing).__name__}."
        )
    if on_missing not in ("error", "skip"):
        raise ConfigError(f"'on_missing' must be 'error' or 'skip'; got {on_missing!r}.")
    if not isinstance(min_duration_s, (int, float)) or not min_duration_s >= 0:
        raise ConfigError(f"'min_duration_s' must be a number >= 0; got {min_duration_s!r}.")
    return sources


def build_corpus(
    sources: CorpusSource | Iterable[CorpusSource],
    preprocessing: PreprocessingConfig,
    cache_dir: Path | str,
    progress: ProgressCallback | None = None,
    on_missing: OnMissing = "error",
    min_duration_s: float = 1.0,
) -> Corpus:
    """Preprocess every file of the sources into a cached, memory-mapped :class:`Corpus`.

    Parameters
    ----------
    sources : CorpusSource or iterable of CorpusSource
        Where the files come from.
    preprocessing : PreprocessingConfig
        The live chain's settings (a model's: those saved in its checkpoint).
    cache_dir : Path or str
        Folder for the ``.npy`` arrays and ``.json`` descriptions (created if needed). Entries are
        named by :func:`cache_key`; they can be shared between corpora and deleted at any time.
    progress : callable or None
        ``progress(n_done, n_total, info)`` after each file.
    on_missing : {'error', 'skip'}
        When a file lacks channels of ``preprocessing.channel_names``: raise, or skip it with a
        warning.
    min_duration_s : float
        Files shorter than this are skipped with a warning.

    Returns
    -------
    Corpus
        One entry per usable file, in source order.

    Raises
    ------
    ChannelMappingError
        A file lacks required channels and ``on_missing='error'``; the message names the file
        and the channels.
    RecordingError
        A source folder is missing, or no usable recording was found.

    Notes
    -----
    A file that cannot be read, holds no EEG channel, or is too short is skipped with a warning
    naming it; failures are not cached, so a repaired file is tried again.
    """
    sources = _check_build_args(sources, preprocessing, on_missing, min_duration_s)
    cache_dir = Path(cache_dir).expanduser().resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    infos = _collect(sources)
    entries = []
    for done, info in enumerate(infos, start=1):
        entry = _build_one(info, preprocessing, cache_dir, on_missing, min_duration_s)
        if entry is not None:
            entries.append(entry)
        if progress is not None:
            progress(done, len(infos), info)
    if not entries:
        searched = "; ".join(s.describe() for s in sources)
        raise RecordingError(
            f"No usable recording for the corpus: {len(infos)} file(s) found in {searched}, "
            "none could be used.",
            "Check the paths, patterns and subjects; the warnings above say why files were "
            "skipped.",
        )
    logger.info(
        "Corpus: %d of %d recordings usable (cache %s).", len(entries), len(infos), cache_dir
    )
    return Corpus(entries, preprocessing)
