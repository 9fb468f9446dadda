"""Read XDF files (LabRecorder's format) as neurodeck EEG: one signal stream and its markers.

An XDF file holds any number of streams. :func:`load_xdf_signal` takes one signal stream (numeric
samples at a regular rate): the one named by ``stream``, else the only one of type ``EEG``, else
the only signal stream of any type; several candidates are refused with their names listed. The
markers are the samples of every marker stream (string streams, and irregular streams of type
``Markers``), the first channel of a sample being its label.

Timestamps are put on the recorder's clock with the file's ClockOffset chunks
(``pyxdf.load_xdf(synchronize_clocks=True)``), so the markers line up with the EEG even when they
came from another machine. They are not dejittered: neurodeck keeps per-sample timestamps as the
recorder received them (as its own session folders do), so a gap in the stream stays visible and
calibration drops the trials it hits, and a marker stamped with a sample's time stays on that
sample.

Samples are converted to microvolts from each channel's declared unit (``desc/channels/channel/
unit``: microvolts, millivolts, volts, ...); a channel without a known unit is taken as
microvolts, with a warning.

The file's structure is checked first (:mod:`neurodeck.streaming.xdf_scan`; pyxdf would skip
damaged parts with a log message): a file that does not start with ``XDF:``, a chunk with an
impossible length, tag, stream id, header or sample count is reported as corrupt; a file that
ends inside a chunk or lacks a stream's footer (a copy cut short, or a recording that was not
stopped properly) is reported as truncated unless ``allow_truncated``. Each is a
:class:`~neurodeck.common.types.RecordingError`.
"""

from __future__ import annotations

import io
import logging
import mmap
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.common.types import (
    FloatArray,
    MarkerEvent,
    RecordingError,
    StreamChoiceError,
    TimeArray,
    TruncatedRecordingError,
)
from neurodeck.streaming.lsl_io import unit_scale_to_uv
from neurodeck.streaming.xdf_scan import XdfLayout, XdfStreamHeader, corrupt_error, scan_xdf
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Channel types kept with ``eeg_only`` (a channel without a type counts as EEG).
_EEG_TYPES = ("eeg", "")
#: Channel types whose values are voltages (kept without ``eeg_only``).
_VOLTAGE_TYPES = ("eeg", "", "eog", "ecg", "emg", "seeg", "ecog", "dbs", "exg")


@dataclass(frozen=True)
class XdfSignal:
    """One signal stream of an XDF file with the markers of its marker streams.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples), float32
        Samples in microvolts, C-contiguous.
    timestamps : ndarray, shape (n_samples,), float64
        Sample times on the recorder's clock (clock offsets applied).
    sfreq : float
        Nominal (content) rate in Hz.
    sample_period_s : float
        Expected spacing of ``timestamps`` (``1 / (sfreq * replay_speed)``).
    channel_names : tuple of str
    markers : tuple of MarkerEvent
        Markers of every marker stream, on the clock of ``timestamps``, sorted.
    stream : XdfStreamHeader
        The stream the samples come from.
    marker_streams : tuple of str
        Names of the marker streams read.
    source : Path
        The file.
    """

    data: FloatArray
    timestamps: TimeArray
    sfreq: float
    sample_period_s: float
    channel_names: tuple[str, ...]
    markers: tuple[MarkerEvent, ...]
    stream: XdfStreamHeader
    marker_streams: tuple[str, ...]
    source: Path

    @property
    def n_samples(self) -> int:
        """Number of samples per channel."""
        return int(self.data.shape[1])


# -- choosing the streams ---------------------------------------------------------------------
def _listing(headers: Sequence[XdfStreamHeader]) -> str:
    return ", ".join(h.describe() for h in headers) or "none"


def choose_signal_stream(
    headers: Sequence[XdfStreamHeader], name: str | None, source: object
) -> XdfStreamHeader:
    """The signal stream to read: the one named ``name``, else the only EEG / signal stream.

    Raises
    ------
    RecordingError
        No such stream, no signal stream, or several candidates (listed by name).
    """
    signals = [h for h in headers if h.is_signal]
    others = [h for h in headers if not h.is_signal]
    if name is not None:
        named = [h for h in signals if h.name == name]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise RecordingError(
                f"{source} holds {len(named)} signal streams named '{name}' "
                f"(source_id {', '.join(repr(h.source_id) for h in named)}).",
                "Rename one of the devices in its recording software and record again.",
            )
        not_signal = [h for h in others if h.name == name]
        what = (
            f"'{name}' is not a signal stream ({not_signal[0].describe()})"
            if not_signal
            else f"it holds no stream named '{name}'"
        )
        raise RecordingError(
            f"{source}: {what}. Signal streams: {_listing(signals)}; other streams: "
            f"{_listing(others)}.",
            "Give --xdf-stream the name of one of its signal streams (names are case-sensitive).",
        )
    eeg = [h for h in signals if h.stream_type.lower() == "eeg"]
    candidates = eeg or signals
    if not candidates:
        raise RecordingError(
            f"{source} holds no EEG stream: none has numeric samples at a regular rate "
            f"(streams: {_listing(others)}).",
            "Record the EEG stream together with the markers (in LabRecorder: tick it in the "
            "stream list).",
        )
    if len(candidates) > 1:
        kind = "EEG" if eeg else "signal"
        names = [h.name for h in candidates]
        raise StreamChoiceError(
            f"{source} holds {len(candidates)} {kind} streams: {_listing(candidates)}; "
            "neurodeck reads one.",
            f"Choose one by name with --xdf-stream NAME (replay and calibrate), for example "
            f"--xdf-stream '{names[0]}'; in Python, xdf_stream='{names[0]}'.",
            tuple(names),
        )
    return candidates[0]


# -- reading with pyxdf -----------------------------------------------------------------------
class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _pyxdf_log() -> Iterator[_Collect]:
    """Keep pyxdf's log records (no tracebacks on the terminal); warnings are re-logged here."""
    pyxdf_logger = logging.getLogger("pyxdf.pyxdf")
    handler = _Collect()
    saved = pyxdf_logger.propagate, pyxdf_logger.level
    pyxdf_logger.addHandler(handler)
    pyxdf_logger.propagate, pyxdf_logger.level = False, logging.WARNING
    try:
        yield handler
    finally:
        pyxdf_logger.removeHandler(handler)
        pyxdf_logger.propagate, pyxdf_logger.level = saved


def _load_streams(
    path: Path, buf: Any, layout: XdfLayout, ids: list[int], dejitter: bool
) -> dict[int, dict[str, Any]]:
    """pyxdf.load_xdf of the streams ``ids`` (complete chunks only); errors -> RecordingError."""
    import pyxdf

    whole = layout.complete_bytes == len(buf)
    target = path if whole else io.BytesIO(bytes(buf[: layout.complete_bytes]))
    with _pyxdf_log() as log, warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            streams, _ = pyxdf.load_xdf(
                target,
                select_streams=ids,
                synchronize_clocks=True,
                dejitter_timestamps=dejitter,
            )
        except Exception as exc:  # pyxdf raises many types on damaged input
            raise corrupt_error(
                path, f"pyxdf could not read it ({type(exc).__name__}: {exc})"
            ) from exc
    errors = [r.getMessage() for r in log.records if r.levelno >= logging.ERROR]
    if errors:
        raise corrupt_error(path, f"pyxdf reports: {errors[0]}")
    for record in log.records:
        logger.warning("%s: pyxdf: %s", path.name, record.getMessage())
    return {int(s["info"]["stream_id"]): s for s in streams}


def _marker_label(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _markers(
    streams: dict[int, dict[str, Any]], headers: Sequence[XdfStreamHeader], path: Path
) -> tuple[MarkerEvent, ...]:
    events: list[MarkerEvent] = []
    for header in headers:
        stream = streams[header.stream_id]
        stamps = np.asarray(stream["time_stamps"], dtype=np.float64)
        if not np.isfinite(stamps).all():
            raise corrupt_error(path, f"marker stream '{header.name}' has non-finite timestamps")
        for sample, stamp in zip(stream["time_series"], stamps.tolist(), strict=True):
            events.append(MarkerEvent(stamp, _marker_label(sample[0])))
    events.sort(key=lambda e: e.timestamp)  # stable: equal times keep stream order
    return tuple(events)


# -- channels and units -----------------------------------------------------------------------
def _channel_table(header: XdfStreamHeader) -> tuple[list[str], list[str], list[str]]:
    """Labels, units and types, one per channel (generic ``Ch1..ChN`` when labels are missing)."""
    n = header.channel_count
    labels = [c[0] for c in header.channels]
    units = ([c[1] for c in header.channels] + [""] * n)[:n]
    types = ([c[2].lower() for c in header.channels] + [""] * n)[:n]
    if len(labels) != n or not all(labels):
        logger.warning(
            "XDF stream '%s' declares no channel labels for all its %d channels "
            "(desc/channels/channel/label); using Ch1..Ch%d.",
            header.name,
            n,
            n,
        )
        labels = [f"Ch{i + 1}" for i in range(n)]
    return labels, units, types


def _scales(name: str, units: Sequence[str]) -> NDArray[np.float64]:
    """Per-channel factor to microvolts (unknown or missing unit: 1, with a warning)."""
    scales = [unit_scale_to_uv(unit) if unit else None for unit in units]
    unknown = sorted({u for u, s in zip(units, scales, strict=True) if s is None})
    if unknown:
        logger.warning(
            "XDF stream '%s' declares unit(s) %s; assuming microvolts for those channels. If "
            "the amplitudes look 1e6 times off, fix the channel units in the recording.",
            name,
            [u or "(none)" for u in unknown],
        )
    return np.array([1.0 if s is None else s for s in scales], dtype=np.float64)


def _samples(
    stream: dict[str, Any], header: XdfStreamHeader, eeg_only: bool, path: Path
) -> tuple[FloatArray, tuple[str, ...]]:
    """The kept channels in microvolts, (n_channels, n_samples) float32, and their names."""
    labels, units, types = _channel_table(header)
    kinds = _EEG_TYPES if eeg_only else _VOLTAGE_TYPES
    keep = [i for i, t in enumerate(types) if t in kinds]
    if not keep:
        raise RecordingError(
            f"{path}: stream '{header.name}' holds no {'EEG' if eeg_only else 'voltage'} "
            f"channels (channel types: {', '.join(sorted(set(types)))}).",
            "Check the channel types in the recording software, or choose another stream "
            "with --xdf-stream.",
        )
    values = np.asarray(stream["time_series"])[:, keep].T
    scales = _scales(header.name, [units[i] for i in keep])
    if np.all(scales == 1.0):
        data = np.ascontiguousarray(values, dtype=np.float32)
    else:
        data = np.ascontiguousarray(values.astype(np.float64) * scales[:, None], np.float32)
    return data, tuple(labels[i] for i in keep)


# -- entry point ------------------------------------------------------------------------------
@contextmanager
def _mapped(path: Path) -> Iterator[Any]:
    """The file's bytes, memory-mapped (``b''`` for an empty file)."""
    try:
        with open(path, "rb") as f:
            if f.seek(0, io.SEEK_END) == 0:
                yield b""
                return
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                yield buf
    except OSError as exc:
        raise RecordingError(
            f"Cannot read {path} ({exc.strerror or exc}).",
            "Check the path and that you may read the file.",
        ) from exc


def _check_truncation(path: Path, layout: XdfLayout, allow_truncated: bool) -> None:
    if layout.truncation is None:
        return
    if not allow_truncated:
        raise TruncatedRecordingError(
            f"{path} is truncated: {layout.truncation} (a copy cut short, or a recording that "
            "was not stopped properly).",
            "Copy the file again from its source; or, to use the complete chunks it holds, add "
            "--allow-truncated to `neurodeck replay` or `neurodeck calibrate --recording` (in "
            "Python: load_recording(..., allow_truncated=True)).",
        )
    logger.warning("%s is truncated (%s); reading its complete chunks.", path, layout.truncation)


def _check_counts(
    path: Path, layout: XdfLayout, streams: dict[int, dict[str, Any]], ids: list[int]
) -> None:
    for sid in ids:
        header, got = layout.headers[sid], len(streams[sid]["time_stamps"])
        declared = layout.footer_counts.get(sid)
        # pyxdf drops samples beyond the footer's count when the last clock offset is also
        # anomalous (an outlet closed while recording, pylsl#67): that is a repair, not damage
        repaired = declared is not None and got == declared < layout.sample_counts[sid]
        if got != layout.sample_counts[sid] and not repaired:
            raise corrupt_error(
                path,
                f"pyxdf read {got} samples of '{header.name}' where its chunks hold "
                f"{layout.sample_counts[sid]}",
            )
        if declared is not None and declared != got:
            logger.warning(
                "%s: the footer of '%s' declares %d samples; the file holds %d.",
                path.name,
                header.name,
                declared,
                got,
            )


def check_xdf(
    path: Path | str, stream: str | None = None, allow_truncated: bool = False
) -> XdfStreamHeader:
    """Check an XDF file from its chunk layout, without decoding samples (fast).

    What :func:`load_xdf_signal` refuses before it reads: a corrupt or truncated file (unless
    ``allow_truncated``), no signal stream or an ambiguous one, a signal stream without samples.

    Returns
    -------
    XdfStreamHeader
        The signal stream that would be read.

    Raises
    ------
    RecordingError
        Saying what is wrong with the file and what to do.
    """
    path = Path(path).expanduser()
    with _mapped(path) as buf:
        layout = scan_xdf(buf, path)
    _check_truncation(path, layout, allow_truncated)
    chosen = choose_signal_stream(list(layout.headers.values()), stream, path)
    if layout.sample_counts.get(chosen.stream_id, 0) == 0:
        raise RecordingError(
            f"{path}: stream '{chosen.name}' holds no samples.",
            "Check that the device was streaming while recording, then record again.",
        )
    return chosen


def load_xdf_signal(
    path: Path | str,
    stream: str | None = None,
    eeg_only: bool = True,
    allow_truncated: bool = False,
    dejitter: bool = False,
) -> XdfSignal:
    """Read one signal stream of an XDF file, in microvolts, with the file's markers.

    Parameters
    ----------
    path : Path or str
        An ``.xdf`` file (for example written by LabRecorder or ``neurodeck export``).
    stream : str, optional
        Name of the signal stream to read; needed when the file holds several EEG streams.
    eeg_only : bool
        Keep only channels typed EEG (or untyped); with False every voltage channel.
    allow_truncated : bool
        Read a file cut short (a partial last chunk, or missing footers) up to its last
        complete chunk instead of refusing it.
    dejitter : bool
        Replace the signal's timestamps by pyxdf's linear fit (off: timestamps as recorded).

    Returns
    -------
    signal : XdfSignal
        ``data`` of shape (n_channels, n_samples), float32 microvolts; ``timestamps`` of shape
        (n_samples,) and the markers on the recorder's clock.

    Raises
    ------
    RecordingError
        Missing, corrupt or truncated file, no (or an ambiguous) signal stream, no EEG channel,
        or no samples.
    """
    path = Path(path).expanduser()
    with _mapped(path) as buf:
        layout = scan_xdf(buf, path)
        _check_truncation(path, layout, allow_truncated)
        headers = list(layout.headers.values())
        chosen = choose_signal_stream(headers, stream, path)
        marker_headers = [h for h in headers if h.is_marker]
        ids = [chosen.stream_id, *(h.stream_id for h in marker_headers)]
        streams = _load_streams(path, buf, layout, ids, dejitter)
    _check_counts(path, layout, streams, ids)
    eeg = streams[chosen.stream_id]
    if len(eeg["time_stamps"]) == 0:
        raise RecordingError(
            f"{path}: stream '{chosen.name}' holds no samples.",
            "Check that the device was streaming while recording, then record again.",
        )
    timestamps = np.ascontiguousarray(eeg["time_stamps"], dtype=np.float64)
    if not np.isfinite(timestamps).all():
        raise corrupt_error(path, f"stream '{chosen.name}' has non-finite timestamps")
    if np.any(np.diff(timestamps) < 0):
        logger.warning(
            "%s: timestamps of '%s' go back in time at %d places; markers there may land on "
            "the wrong sample.",
            path.name,
            chosen.name,
            int(np.sum(np.diff(timestamps) < 0)),
        )
    data, names = _samples(eeg, chosen, eeg_only, path)
    markers = _markers(streams, marker_headers, path)
    logger.info(
        "Loaded %s stream '%s': %d channels, %d samples at %g Hz, %d markers.",
        path.name,
        chosen.name,
        data.shape[0],
        data.shape[1],
        chosen.nominal_srate,
        len(markers),
    )
    return XdfSignal(
        data=data,
        timestamps=timestamps,
        sfreq=chosen.nominal_srate,
        sample_period_s=1.0 / (chosen.nominal_srate * chosen.replay_speed),
        channel_names=names,
        markers=markers,
        stream=chosen,
        marker_streams=tuple(h.name for h in marker_headers),
        source=path,
    )
