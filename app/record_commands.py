"""``neurodeck record`` and ``neurodeck export``: crash-safe session recording and conversion.

``record`` writes an EEG stream and its markers to a session folder as they arrive (see
:mod:`neurodeck.streaming.recorder`); ``export`` turns such a folder into a FIF or EDF file with the
markers as annotations, or an XDF file with the EEG and marker streams and their timestamps. The
core is imported inside the handlers, after the LSL configuration is chosen.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from neurodeck.common.types import ConfigError

#: Seconds ``--markers auto`` waits for the ``<stream>-markers`` stream before going without.
AUTO_MARKERS_TIMEOUT_S = 2.0
#: Seconds between progress lines.
PROGRESS_INTERVAL_S = 1.0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``record`` and ``export`` sub-commands to the CLI's sub-parsers.

    Each parser's defaults carry its handler as ``handler`` (also listed in :data:`COMMANDS`).
    """
    p = sub.add_parser(
        "record",
        help="record an EEG stream and its markers, crash-safe",
        description="Record until Ctrl-C or --duration. A stream that stalls or goes away is "
        "waited for (as long as --lost-timeout allows) and re-attached when it comes back with "
        "the same channels and rate; the gap is marked. Data are on disk within a second of "
        "arriving.",
    )
    p.add_argument(
        "--stream",
        required=True,
        metavar="NAME",
        help="EEG stream name (or source_id with --by-id)",
    )
    p.add_argument("--by-id", action="store_true", help="--stream is a source_id")
    p.add_argument(
        "--markers",
        default="auto",
        metavar="auto|NONE|NAME",
        help="marker stream: 'auto' (<stream>-markers if it appears), 'NONE', or a stream name",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="session folder")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (wall clock)")
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="wait S s for the stream"
    )
    p.add_argument(
        "--lost-timeout",
        type=float,
        metavar="S",
        help="give up when the stream has been gone for S seconds (default: wait for it until "
        "--duration or Ctrl-C)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a session in --out")
    p.add_argument("--json", type=Path, help="write the summary as JSON")
    p.set_defaults(handler=cmd_record)

    p = sub.add_parser(
        "export",
        help="convert a recorded session to FIF, EDF or XDF",
        description="FIF and EDF hold the EEG with the markers as annotations; XDF (what "
        "LabRecorder writes) holds the EEG stream and each marker stream with every sample's "
        "timestamp on the recording host's LSL clock. The file is written under a temporary name "
        "and renamed when complete.",
    )
    p.add_argument("session", type=Path, metavar="SESSION_DIR", help="folder written by record")
    p.add_argument(
        "out_file", type=Path, metavar="OUT_FILE", help="file to write (.fif, .edf or .xdf)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT_FILE")
    p.add_argument("--json", type=Path, help="write the summary as JSON")
    p.set_defaults(handler=cmd_export)


def _check_args(args: argparse.Namespace) -> None:
    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"'--duration' must be > 0 seconds; got {args.duration}.")
    if not args.timeout > 0:
        raise ConfigError(f"'--timeout' must be > 0 seconds; got {args.timeout}.")
    if args.lost_timeout is not None and not args.lost_timeout > 0:
        raise ConfigError(f"'--lost-timeout' must be > 0 seconds; got {args.lost_timeout}.")


def _marker_infos(eeg: Any, choice: str, timeout_s: float, early: Any = None) -> list[Any]:
    """Resolve the marker stream asked for; ``auto`` goes without when none appears.

    Among several marker streams of the name, the one paired with ``eeg`` (source_id
    ``<eeg source_id>-markers``, as replay and simulate publish) is taken; otherwise several
    are refused (:class:`~neurodeck.common.types.AmbiguousStreamError`). ``early`` is a
    :class:`~neurodeck.streaming.lsl_io.StreamSearch` for ``<name>-markers`` started with the
    EEG stream's: ``auto`` waits :data:`AUTO_MARKERS_TIMEOUT_S` from its start.
    """
    from neurodeck.streaming.lsl_io import StreamSearch, pick_stream, resolve_stream

    if choice.lower() == "none":
        return []
    paired = f"{eeg.source_id()}-markers"
    hint = "Stop the marker stream you do not want, or record without markers (--markers NONE)."
    if choice != "auto":
        return [
            resolve_stream(name=choice, timeout_s=timeout_s, prefer_source_id=paired, hint=hint)
        ]
    name = f"{eeg.name()}-markers"
    search = early if early is not None and early.query.get("name") == name else None
    search = search or StreamSearch(name=name)
    found = search.wait(max(0.0, search.started + AUTO_MARKERS_TIMEOUT_S - time.monotonic()))
    if found:
        return [pick_stream(found, search.describe(), prefer_source_id=paired, hint=hint)]
    print(
        f"no marker stream '{name}' appeared within {AUTO_MARKERS_TIMEOUT_S:g} s; "
        "recording without markers (give --markers NAME to record another one)",
        flush=True,
    )
    return []


class _Progress:
    """One progress line per interval: rewritten on a terminal, one line each otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty()
        self._last = 0.0

    def update(self, status: Any, elapsed_s: float, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_INTERVAL_S:
            return
        self._last = now
        text = (
            f"[{elapsed_s:6.1f} s] {status.n_samples} samples ({status.duration_s:.1f} s of "
            f"signal), {status.n_markers} markers"
        )
        if status.stream_lost:
            text += f" | stream gone for {status.silent_s:.1f} s, waiting for it"
        elif status.stalled:
            text += f" | stream stalled for {status.silent_s:.1f} s, waiting for it"
        if status.n_gaps:
            text += f" | {status.n_gaps} gap{'s' * (status.n_gaps > 1)} marked"
        self.stream.write(("\r\x1b[2K" + text) if self.tty else text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _record_until_done(
    recorder: Any, duration_s: float | None, lost_timeout_s: float | None = None
) -> str:
    """Show progress until ``duration_s``, Ctrl-C, or a loss longer than ``lost_timeout_s``.

    A stalled or lost stream is waited for (the recorder re-attaches when it comes back).

    Returns
    -------
    reason : str
        ``duration reached``, ``interrupted``, ``stream lost`` or ``write error``.
    """
    progress = _Progress()
    t0 = time.monotonic()
    reason = "duration reached"
    lost_since: float | None = None
    try:
        while duration_s is None or time.monotonic() - t0 < duration_s:
            status = recorder.status()
            progress.update(status, time.monotonic() - t0)
            now = time.monotonic()
            lost_since = (lost_since or now) if status.stream_lost else None
            if lost_timeout_s is not None and lost_since and now - lost_since >= lost_timeout_s:
                reason = "stream lost"
                break
            if status.error is not None and not status.running:
                reason = "write error"
                break
            time.sleep(0.05)
    except KeyboardInterrupt:  # Ctrl-C ends a recording normally
        reason = "interrupted"
    finally:
        recorder.stop()
        progress.update(recorder.status(), time.monotonic() - t0, force=True)
        progress.finish()
    return reason


def cmd_record(args: argparse.Namespace) -> int:
    """Record an EEG stream (and its markers) to a session folder until stopped."""
    from neurodeck.common.jsonio import write_json
    from neurodeck.streaming.lsl_io import StreamSearch, by_id_hint, resolve_stream
    from neurodeck.streaming.recorder import SessionRecorder, check_out_dir

    _check_args(args)
    check_out_dir(args.out, args.overwrite)  # before waiting for streams
    query = {"source_id": args.stream} if args.by_id else {"name": args.stream}
    early = None
    if args.markers == "auto" and not args.by_id:  # listen for both at once
        early = StreamSearch(name=f"{args.stream}-markers")
    eeg = resolve_stream(**query, timeout_s=args.timeout, hint=by_id_hint("record"))
    markers = _marker_infos(eeg, args.markers, args.timeout, early)
    recorder = SessionRecorder(eeg, args.out, markers, overwrite=args.overwrite)
    marker_names = [m.name() for m in markers]
    print(
        f"recording '{eeg.name()}' ({recorder.meta.n_channels} ch, {recorder.meta.sfreq:g} Hz)"
        f"{' and ' + ', '.join(repr(n) for n in marker_names) if marker_names else ''} "
        f"to {args.out}. Ctrl-C stops.",
        flush=True,
    )
    reason = _record_until_done(recorder.start(), args.duration, args.lost_timeout)
    status = recorder.status()
    if status.error:
        print(f"recorder error: {status.error}", file=sys.stderr)
    if status.n_gaps or status.n_reattached:
        print(
            f"{status.n_gaps} gap(s) in the timestamps, marked; the stream came back "
            f"{status.n_reattached} time(s)"
        )
    print(
        f"{reason}: recorded {status.n_samples} samples ({status.duration_s:.1f} s of signal) "
        f"and {status.n_markers} markers"
    )
    print(f"session folder: {args.out}")
    summary = {
        "folder": str(args.out),
        "stream": eeg.name(),
        "marker_streams": marker_names,
        "n_samples": status.n_samples,
        "n_markers": status.n_markers,
        "duration_s": status.duration_s,
        "stream_lost": status.stream_lost,
        "n_gaps": status.n_gaps,
        "reattached": status.n_reattached,
        "ended_by": reason,
        "error": status.error,
    }
    write_json(args.json, summary)
    if reason == "stream lost":
        print(
            f"neurodeck record: error: stream '{eeg.name()}' was gone for more than "
            f"{args.lost_timeout:g} s; what was recorded is kept in {args.out}.\n"
            "  what to do: check the headset and its driver, then record again (or raise "
            "--lost-timeout).",
            file=sys.stderr,
        )
        return 2
    return 0 if status.error is None else 1


def cmd_export(args: argparse.Namespace) -> int:
    """Convert a session folder to FIF, EDF or XDF."""
    from neurodeck.common.jsonio import write_json
    from neurodeck.streaming.recorded_session import (
        MARKERS_FILE,
        check_export_target,
        export_session,
        load_session,
    )

    check_export_target(args.out_file, args.overwrite)  # before a long load
    session = load_session(args.session)
    if not session.complete:
        print(
            f"note: {args.session} was not closed cleanly (the recorder was killed?); exporting "
            f"the {session.duration_s:.1f} s it holds"
        )
    if session.markers_file_missing:
        print(
            f"warning: {args.session / MARKERS_FILE} is missing, so {args.out_file.name} will "
            "hold NO markers (no cue annotations) even if some were recorded; restore the file "
            "from a copy of the session and export again to keep them",
            file=sys.stderr,
            flush=True,
        )
    out = export_session(session, args.out_file, overwrite=args.overwrite)
    print(
        f"exported {session.n_samples} samples ({session.duration_s:.1f} s) and "
        f"{len(session.markers)} markers to {out}"
    )
    write_json(
        args.json,
        {
            "session": str(args.session),
            "out_file": str(out),
            "n_samples": session.n_samples,
            "n_markers": len(session.markers),
            "complete": session.complete,
            "markers_file_missing": session.markers_file_missing,
        },
    )
    return 0


#: Command name -> handler, for the CLI's dispatch table.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "record": cmd_record,
    "export": cmd_export,
}
