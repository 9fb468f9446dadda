"""The dashboard's core: every thread, LSL inlet, child process and model behind the views.

The GUI thread calls two kinds of methods here:

- :meth:`DashboardCore.snapshot` (about 30 Hz): assembles a :class:`CoreSnapshot` from what the
  threads last published. It takes one short lock and copies the newest scope samples out of
  the ring buffers; it never waits on LSL, torch, a file or a child process.
- commands (:meth:`connect`, :meth:`replay`, :meth:`load_model`, :meth:`start_calibration`...):
  they put a closure on the command queue and return at once. One command thread runs them in
  order; anything slow (resolving a stream, loading a model, starting a child) happens there.
  Errors become messages in :attr:`CoreSnapshot.errors` that say what is wrong and what to do.

Threads while connected: the monitor's acquisition thread (every channel, raw and through the
display filter, for the scope), the analysis thread (spectra, band power, channel flags, scalp
maps, 2 Hz), the marker receiver of the stream's own markers, and while decoding a
:class:`~neurodeck.streaming.session.DecodeSession` (its own inlet, acquisition and inference
threads: the acquisition never waits for the model, and the model never waits for the dashboard).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pylsl
from neurodeck.common.types import (
    NeurodeckError,
    RecordingError,
    StreamChoiceError,
    TruncatedRecordingError,
)
from neurodeck.control.analysis import SpectrumAnalyzer
from neurodeck.control.calibration_job import CalibrationJob
from neurodeck.control.command_queue import CommandQueue
from neurodeck.control.connection import Connection, row_of
from neurodeck.control.decoding import LiveDecoder, decoder_label
from neurodeck.control.settings import CoreSettings
from neurodeck.control.snapshot import (
    FROM_MARKERS,
    HOST_SEPARATOR,
    CalibrationView,
    CoreSnapshot,
    ReplayQuestion,
    SpectrumView,
    StreamRow,
)
from neurodeck.control.sources import (
    ChildSource,
    ReplayOptions,
    check_replay,
    start_replay,
    start_simulator,
)
from neurodeck.streaming.lsl_io import local_clock, poll_resolver, resolve_stream
from neurodeck.streaming.markers import MarkerReceiver

logger = logging.getLogger(__name__)


def listed(rows: Iterable[StreamRow]) -> tuple[StreamRow, ...]:
    """The stream list: one row per :attr:`StreamRow.identity`, in that order."""
    return tuple(sorted({r.identity: r for r in rows}.values(), key=lambda r: r.identity))


def streams_found(streams: tuple[StreamRow, ...]) -> str:
    """The status line of a stream search, from the list the browser shows."""
    n, signals = len(streams), sum(r.stream_type != "Markers" for r in streams)
    return f"{n} stream{'s' * (n != 1)} found ({signals} signal stream{'s' * (signals != 1)})."


class DashboardCore:
    """Implements :class:`neurodeck.control.snapshot.CoreCommands`.

    Parameters
    ----------
    settings : CoreSettings, optional
    resolve_s : float
        How long a stream search listens.
    """

    def __init__(self, settings: CoreSettings | None = None, resolve_s: float = 1.0) -> None:
        settings = settings or CoreSettings()
        # paths in messages are absolute, whatever folder the dashboard was started in
        out_dir = settings.out_dir.expanduser().resolve()
        self.settings = dataclasses.replace(settings, out_dir=out_dir)
        self.resolve_s = resolve_s
        self._lock = threading.Lock()
        self._streams: tuple[StreamRow, ...] = ()
        self._infos: dict[str, pylsl.StreamInfo] = {}
        self._browsing = False
        self._connecting = False
        self._conn: Connection | None = None
        self._decoder: LiveDecoder | None = None
        self._source: ChildSource | None = None
        self._question: ReplayQuestion | None = None  # the latest replay that asks the user
        self._job: CalibrationJob | None = None
        self._spectrum: SpectrumView | None = None
        self._resolver: pylsl.ContinuousResolver | None = None
        self._job_said: str | None = None  # the status line said when the calibration started
        self._closed = threading.Event()
        self._commands = CommandQueue(
            "Not connected: pick a stream, open a recording (Ctrl+O) or start the simulator."
        )
        self._analysis = threading.Thread(
            target=self._run_analysis, name="core-analysis", daemon=True
        )
        self._analysis.start()

    # -- commands (return at once) --------------------------------------------------------------
    def refresh_streams(self) -> None:
        """Search for LSL streams again."""
        self._browsing = True
        self._commands.submit(self._flagged("browsing", self._do_refresh))

    def connect(self, key: str) -> None:
        """Connect to a stream of the latest search by :attr:`StreamRow.key`."""
        self._connecting = True
        self._commands.submit(self._flagged("connecting", lambda: self._do_connect_key(key)))

    def disconnect(self) -> None:
        """Stop decoding and disconnect."""
        self._commands.submit(self._do_disconnect)

    def replay(
        self,
        paths: Sequence[Path],
        speed: float = 1.0,
        loop: bool = False,
        allow_truncated: bool = False,
        xdf_stream: str | None = None,
    ) -> None:
        """Replay recordings in a child process and connect to them.

        The files are checked first (:func:`~neurodeck.control.sources.check_replay`): a bad
        one is refused with its error, and the running source stays connected. A file cut
        short, or an XDF file with several signal streams, is refused with a question
        (:attr:`CoreSnapshot.replay_question`); calling again with ``allow_truncated`` or
        ``xdf_stream`` answers it.
        """
        self._connecting = True
        paths = [Path(p).expanduser().resolve() for p in paths]
        options = ReplayOptions(allow_truncated, xdf_stream)
        start = lambda log: start_replay(paths, speed, loop, log, options)  # noqa: E731

        def ask(kind: str, exc: RecordingError, choices: tuple[str, ...] = ()) -> None:
            what = "replay the part it holds?" if kind == "truncated" else "which stream?"
            self._commands.say(f"{', '.join(p.name for p in paths)}: {what}")
            with self._lock:
                serial = self._question.serial + 1 if self._question else 1
                self._question = ReplayQuestion(
                    serial, tuple(paths), kind, exc.problem, choices,
                    options, speed, loop,
                )  # fmt: skip

        def run() -> None:
            try:
                check_replay(paths, speed, options)  # before the running source is touched
            except TruncatedRecordingError as exc:  # a question, not an error: the view asks
                ask("truncated", exc)
                return
            except StreamChoiceError as exc:
                ask("xdf_stream", exc, exc.choices)
                return
            self._do_source(start)

        self._commands.submit(self._flagged("connecting", run))

    def simulate(self, n_channels: int = 32, sfreq: float = 250.0) -> None:
        """Start the simulator in a child process and connect to it."""
        self._connecting = True
        start = lambda log: start_simulator(n_channels, sfreq, log)  # noqa: E731
        self._commands.submit(self._flagged("connecting", lambda: self._do_source(start)))

    def stop_source(self) -> None:
        """Stop the replay or simulator started here."""
        self._commands.submit(self._do_stop_source)

    def load_model(self, path: Path, decoder: str | None = None) -> None:
        """Decode the connected stream with a profile folder (or its ``profile.json``) or a
        ``.safetensors`` checkpoint file."""
        path = Path(path).expanduser().resolve()
        self._commands.submit(lambda: self._do_load_model(path, decoder))

    def stop_decoding(self) -> None:
        """Stop decoding; the stream stays connected."""
        self._commands.submit(self._do_stop_decoding)

    def start_calibration(
        self, paradigm: str = "mi-lr", out_dir: Path | None = None, stimuli: Path | None = None
    ) -> None:
        """Record a cued calibration on the connected stream, then fit a profile.

        ``paradigm`` is a preset, a paradigm TOML file, or :data:`FROM_MARKERS` to take the
        trials from the stream's own marker stream (a replay, the simulator). ``stimuli``: a
        folder of the user's own stimuli for an affective paradigm (checked on the core thread).
        """
        out_dir = Path(out_dir).expanduser().resolve() if out_dir is not None else None
        stimuli = Path(stimuli).expanduser().resolve() if stimuli is not None else None
        self._commands.submit(lambda: self._do_start_calibration(paradigm, out_dir, stimuli))

    def pause_calibration(self) -> None:
        """Hold the cues after the current trial."""
        if self._job is not None:
            self._job.pause()

    def resume_calibration(self) -> None:
        """Continue a paused calibration."""
        if self._job is not None:
            self._job.resume()

    def abort_calibration(self) -> None:
        """Stop the cues or the fitting; the recording is kept."""
        if self._job is not None:
            self._job.abort()

    def rate(self, valence: int, arousal: int) -> None:
        """Record the latest block's self-assessment (1-9 each) on the calibration's cue stream.

        Queued to the job's session thread, which pushes it (no LSL here: GUI thread).
        """
        job = self._job
        if job is None or job.finished:
            self._commands.error(
                "No calibration is running, so there is no block to rate.",
                "Start an affective calibration (emotion-recall) first.",
            )
            return
        try:
            job.rate(valence, arousal)
        except NeurodeckError as exc:
            self._commands.error(exc.problem, exc.hint)

    def use_profile(self) -> None:
        """Decode with the profile the last calibration wrote."""
        job = self._job
        if job is None or job.profile_path is None:
            self._commands.error("There is no calibrated profile yet.", "Run a calibration first.")
            return
        self.load_model(job.profile_path)

    def dismiss_errors(self) -> None:
        """Forget the errors shown so far."""
        self._commands.dismiss()

    def close(self) -> None:
        """Stop every thread and child process (blocks up to a few seconds)."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._job is not None:  # its recorder's inlets close before the source stops
            self._job.abort()
            self._job.join(5.0)
        # The last command disconnects, then stops the source, on the command thread: a child
        # started there is sent SIGTERM by Linux when that thread ends (PR_SET_PDEATHSIG follows
        # the thread), and a child killed under open inlets makes liblsl print "ERR| Stream
        # transmission broke off" on every normal close.
        self._commands.submit(self._teardown)
        self._commands.close(5.0)
        self._teardown()  # again, should the command thread not have come to it
        self._analysis.join(2.0)

    def _teardown(self) -> None:
        """Close the inlets first, then stop the child that publishes (each step once)."""
        self._do_disconnect()
        self._do_stop_source()

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until every queued command ran (tests and scripts; never from the GUI)."""
        done = threading.Event()
        self._commands.submit(done.set)
        return done.wait(timeout_s)

    # -- snapshot -------------------------------------------------------------------------------
    def snapshot(self) -> CoreSnapshot:
        """The state at this instant (cheap, never blocks on I/O)."""
        now = local_clock()
        with self._lock:
            conn, decoder, source, job = self._conn, self._decoder, self._source, self._job
            streams, spectrum = self._streams, self._spectrum
        if conn is not None and conn.row.identity not in {r.identity for r in streams}:
            streams = listed((*streams, conn.row))  # connected, missed by the latest search
        status, errors = self._commands.messages(streams)  # the count is of this list
        connection = "disconnected"
        signal = health = None
        if self._connecting:
            connection = "connecting"
        calibration = job.view() if job else CalibrationView()
        if job is not None and status == self._job_said:
            status = _calibration_status(calibration) or status
        if conn is not None:
            acq = (decoder.session.acquisition if decoder else conn.acquisition).status()
            connection = {"stalled": "stalled", "stopped": "lost"}.get(acq.state, "connected")
            signal = conn.signal(self.settings.scope_s)
            worker = decoder.session.worker.status() if decoder else None
            health = conn.health(acq, worker, self.settings.acquisition.stall_s)
            if connection != "connected":  # not "connected to" while nothing arrives
                status = _stall_status(conn.meta.name, connection, acq)
        return CoreSnapshot(
            t=now,
            streams=streams,
            browsing=self._browsing,
            connection=connection,
            stream=conn.row if conn else None,
            signal=signal,
            spectrum=spectrum if conn else None,
            health=health,
            decoding=decoder.view(conn, now, self.settings) if decoder and conn else None,
            calibration=calibration,
            source=source.view() if source else None,
            status=status,
            errors=errors,
            replay_question=self._question,
        )

    def _do_refresh(self, wait: bool = True) -> None:
        """Update the stream list from the continuous resolver (which listens all the time)."""
        if self._resolver is None:
            self._resolver = pylsl.ContinuousResolver(forget_after=3.0)
        infos = self._resolver.results()
        if wait:  # the first answers of a new resolver take a moment
            infos = poll_resolver(self._resolver, self.resolve_s, first=False)
        found = [(row_of(i), i) for i in infos]
        with self._lock:
            self._streams = listed(r for r, _ in found)
            self._infos = {r.key: i for r, i in found}
        if wait:
            self._commands.say(streams_found)  # counted at each snapshot, from its list

    def _do_connect_key(self, key: str) -> None:
        info = self._infos.get(key) or next(
            (i for i in self._infos.values() if i.name() == key), None
        )
        if info is None:  # not in the last search: a source_id, else a name (and host)
            try:
                info = resolve_stream(source_id=key, timeout_s=2.0)
            except NeurodeckError:
                name = key.partition(HOST_SEPARATOR)[0]
                info = resolve_stream(name=name, timeout_s=3.0)
        self._do_connect(info)

    def _do_connect(self, info: pylsl.StreamInfo) -> None:
        if info.type() == "Markers" or info.nominal_srate() <= 0:
            from neurodeck.common.types import ConfigError

            raise ConfigError(
                f"'{info.name()}' is a marker stream ({info.type()}), not a signal.",
                "Connect to the headset's EEG stream; its markers are picked up by themselves.",
            )
        self._do_disconnect()
        self._commands.say(f"connecting to '{info.name()}'...")
        conn = Connection(info, self.settings)
        try:
            conn.marker_info = resolve_stream(
                name=f"{info.name()}-markers", stream_type="Markers", timeout_s=0.5
            )
            conn.markers = MarkerReceiver(conn.marker_info).start()
        except NeurodeckError:
            pass  # a headset without markers: nothing to overlay
        with self._lock:
            self._conn = conn
            self._spectrum = None
        m = conn.meta
        extra = f", replay x{m.replay_speed:g}" if m.replay_speed != 1 else ""
        self._commands.say(f"connected to '{m.name}': {m.n_channels} ch at {m.sfreq:g} Hz{extra}")

    def _do_disconnect(self) -> None:
        self._do_stop_decoding()
        with self._lock:
            conn, self._conn, self._spectrum = self._conn, None, None
        if conn is not None:
            self._commands.say(f"disconnected from '{conn.meta.name}'")
            conn.stop()

    def _do_source(self, start: Callable[[Path], ChildSource]) -> None:
        self._do_stop_source()
        source = start(self.settings.out_dir / "logs")
        with self._lock:
            self._source = source
        self._commands.say(f"starting the {source.kind} ({source.label})...")
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            if not source.running:
                raise NeurodeckError(
                    source.failure() or f"The {source.kind} ended before publishing.",
                    f"See {source.log}.",
                )
            try:
                info = resolve_stream(name=source.stream_name, stream_type="EEG", timeout_s=0.5)
            except NeurodeckError:
                continue
            self._do_connect(info)
            return
        raise NeurodeckError(
            f"The {source.kind} did not publish within 30 s.", f"See {source.log}."
        )

    def _do_stop_source(self) -> None:
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            if self._conn is not None and self._conn.meta.name == source.stream_name:
                self._do_disconnect()
            source.stop()

    def _do_load_model(self, path: Path, decoder: str | None) -> None:
        from neurodeck.calibration.decoders import load_decoder_spec
        from neurodeck.calibration.profile import profile_folder_of

        path = profile_folder_of(path)  # a profile's profile.json stands for its folder
        conn = self._conn
        if conn is None:
            raise NeurodeckError(
                "No stream is connected, so there is nothing to decode.",
                "Connect to a stream (or open a recording) first, then load the profile.",
            )
        self._commands.say(f"loading {path.name}...")
        spec, _ = load_decoder_spec(path, decoder)
        self._do_stop_decoding()
        live = LiveDecoder.start(conn, spec, decoder_label(path, decoder), self.settings)
        with self._lock:
            self._decoder = live
        self._commands.say(
            f"decoding '{conn.meta.name}' with {live.label} ({', '.join(spec.class_names)}); "
            f"probabilities on LSL stream '{live.outlet.name}'"
        )

    def _do_stop_decoding(self) -> None:
        with self._lock:
            decoder, self._decoder = self._decoder, None
        if decoder is not None:
            decoder.stop()

    def _do_start_calibration(
        self, paradigm_name: str, out_dir: Path | None, stimuli: Path | None = None
    ) -> None:
        from neurodeck.calibration.paradigm import load_paradigm
        from neurodeck.control.calibration_job import load_job_stimuli

        conn = self._conn
        if conn is None:
            raise NeurodeckError(
                "No stream is connected, so there is nothing to calibrate on.",
                "Connect to the headset's stream first.",
            )
        if self._job is not None and not self._job.finished:
            raise NeurodeckError(
                "A calibration is already running.", "Abort it first (Esc) to start another."
            )
        from_markers = paradigm_name == FROM_MARKERS
        if from_markers and conn.marker_info is None:
            raise NeurodeckError(
                f"'{conn.meta.name}' has no marker stream ('{conn.meta.name}-markers'), so there "
                "are no cues of its own to calibrate on.",
                "Choose a paradigm (mi-lr, mi-4): neurodeck then shows the cues itself.",
            )
        paradigm = load_paradigm("mi-lr" if from_markers else paradigm_name)
        stimulus_set = load_job_stimuli(stimuli, paradigm, from_markers)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = out_dir or self.settings.out_dir / "profiles" / f"{conn.meta.name}-{stamp}"
        job = CalibrationJob(
            conn.info,
            paradigm,
            out,
            cv_folds=self.settings.cv_folds,
            cue_speed=conn.meta.replay_speed if from_markers else self.settings.cue_speed,
            model=self.settings.encoder,
            marker_info=conn.marker_info if from_markers else None,
            max_trials=self.settings.stream_trials,
            stimuli=stimulus_set,
        )
        with self._lock:
            self._job = job
        job.start()
        recording = job.out_dir / "recording"
        self._job_said = f"calibration: {paradigm.summary()}; recording into {recording}"
        self._commands.say(self._job_said)

    def _flagged(self, flag: str, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` that clears ``self._<flag>`` when it ends (views show it as busy until then)."""

        def run() -> None:
            try:
                fn()
            finally:
                setattr(self, f"_{flag}", False)

        return run

    # -- the analysis thread --------------------------------------------------------------------
    def _run_analysis(self) -> None:
        analyzer: SpectrumAnalyzer | None = None
        for_conn: Connection | None = None
        next_browse = time.monotonic()  # browse at once, then every 2 s
        while not self._closed.wait(self.settings.analysis_period_s):
            if time.monotonic() >= next_browse:
                self._commands.submit(lambda: self._do_refresh(wait=False))  # keep the list current
                next_browse = time.monotonic() + 2.0
            conn = self._conn
            if conn is None:
                analyzer = for_conn = None
                continue
            try:
                if conn is not for_conn:
                    analyzer = SpectrumAnalyzer(
                        conn.meta.channel_names, conn.meta.sfreq, span_s=self.settings.analysis_s
                    )
                    for_conn = conn
                assert analyzer is not None
                signal = conn.signal(self.settings.analysis_s)
                if signal is None or signal.raw.shape[1] < int(conn.meta.sfreq):
                    continue  # less than a second so far
                spectrum = analyzer.compute(signal.filtered, signal.raw)
                with self._lock:
                    if self._conn is conn:
                        self._spectrum = spectrum
            except Exception:  # analysis is a view aid: log, keep the thread alive
                logger.exception("spectrum analysis failed")
                time.sleep(1.0)


def _calibration_status(cal: CalibrationView) -> str | None:
    """The status line once a calibration moved on from recording (None while it records).

    The first sentence of the calibration's message; the Calibration tab shows all of it.
    """
    if cal.phase not in ("fitting", "done", "aborted", "failed"):
        return None
    first = cal.message.split(". ", 1)[0].rstrip(".")
    if first.lower().startswith("calibration"):
        return first
    return f"calibration {cal.phase}: {first}"


def _stall_status(name: str, connection: str, acq: Any) -> str:
    """The status line while the connected stream delivers nothing (stalled, or lost)."""
    text = f"'{name}' {connection}: no samples for {acq.silent_s:.0f} s"
    if acq.layout_refused:
        return f"{text}; it came back with another layout: connect to it again to use it"
    return f"{text}; waiting for it to come back (re-attached by itself)"
