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
:class:`~streaming.session.DecodeSession` (its own inlet, acquisition and inference threads: the
acquisition never waits for the model, and the model never waits for the dashboard).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pylsl
from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY, NeurodeckError, Prediction, StreamMeta
from neurodeck.control.affect import (
    DEFAULT_AFFECTIVE_SMOOTHING_S,
    affect_axes,
    smooth_probabilities,
)
from neurodeck.control.analysis import SpectrumAnalyzer
from neurodeck.control.calibration_job import STREAM_TRIALS, CalibrationJob
from neurodeck.control.settings import DecodeSettings, Settings
from neurodeck.control.snapshot import (
    FROM_MARKERS,
    CalibrationView,
    CoreSnapshot,
    CueSpan,
    DecodingView,
    HealthView,
    SignalView,
    SpectrumView,
    StreamRow,
)
from neurodeck.control.sources import ChildSource, start_replay, start_simulator
from neurodeck.streaming.acquisition import Acquisition
from neurodeck.streaming.lsl_io import local_clock, poll_resolver, resolve_stream
from neurodeck.streaming.markers import MarkerReceiver
from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor
from neurodeck.streaming.settings import AcquisitionSettings

logger = logging.getLogger(__name__)

#: Imagery length assumed for a replayed cue when the model does not say (EEGBCI: about 4.1 s).
DEFAULT_CUE_S = 4.0


@dataclasses.dataclass(frozen=True)
class CoreSettings:
    """Settings of the core (the dashboard's TOML file fills them).

    Parameters
    ----------
    scope_s : float
        Seconds of signal kept for the scope (the longest span it can show).
    display_band : (float, float)
        Band-pass of the scope's filtered view, Hz (the upper edge is lowered below Nyquist).
    notch_hz : float or None
        Mains notch of the filtered view (50 or 60), None for none.
    analysis_s : float
        Seconds of signal behind the spectra and flags.
    analysis_period_s : float
        How often they are recomputed.
    history_s : float
        Span of the prediction timeline.
    smoothing_s : float
        Time constant of the probability bars and the cursor (motor imagery).
    affective_smoothing_s : float
        Time constant of the smoothed state of affective decoders (a mood changes over seconds).
    cv_folds : int
        Cross-validation folds after a dashboard calibration.
    cue_speed : float
        Schedule compression of dashboard calibrations (1 for a person).
    stream_trials : int
        Cues recorded when calibrating on the stream's own markers.
    out_dir : Path
        Where profiles, recordings and child logs go.
    encoder : Path or None
        Pretrained encoder that calibrations fine-tune (None: the shipped default).
    acquisition : AcquisitionSettings
    decode : DecodeSettings
        Hop, device and deadline of live decoding: the same as ``neurodeck decode`` reads.
    """

    scope_s: float = 20.0
    display_band: tuple[float, float] = (1.0, 40.0)
    notch_hz: float | None = 50.0
    analysis_s: float = 4.0
    analysis_period_s: float = 0.5
    history_s: float = 30.0
    smoothing_s: float = 1.0
    affective_smoothing_s: float = DEFAULT_AFFECTIVE_SMOOTHING_S
    cv_folds: int = 5
    cue_speed: float = 1.0
    stream_trials: int = STREAM_TRIALS
    out_dir: Path = Path("runs/dashboard")
    encoder: Path | None = None
    acquisition: AcquisitionSettings = dataclasses.field(default_factory=AcquisitionSettings)
    decode: DecodeSettings = dataclasses.field(default_factory=DecodeSettings)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> CoreSettings:
        """The core's settings from the user's settings tree (``overrides`` win)."""
        dash = settings.dashboard
        values: dict[str, Any] = {
            "notch_hz": dash.notch_hz or None,
            "cv_folds": dash.cv_folds,
            "out_dir": Path(dash.out_dir).expanduser().resolve(),
            "affective_smoothing_s": dash.affective_smoothing_s,
            "acquisition": settings.acquisition,
            "decode": settings.decode,
        }
        return cls(**{**values, **overrides})


def display_preprocessor(meta: StreamMeta, settings: CoreSettings) -> tuple[Preprocessor, str]:
    """The scope's causal display filter for a stream, and its label for the toggle's tooltip."""
    from neurodeck.streaming.session import scale_to_uv

    nyquist = meta.sfreq / 2
    low, high = settings.display_band
    high = min(high, 0.9 * nyquist)
    notch = settings.notch_hz if settings.notch_hz and settings.notch_hz < 0.9 * nyquist else None
    cfg = PreprocessingConfig(bandpass=(low, high), filter_order=2, notch_hz=notch)
    label = f"{low:g}-{high:g} Hz band-pass" + (f", {notch:g} Hz notch" if notch else "")
    pre = Preprocessor(cfg, meta.channel_names, meta.sfreq, in_scale_to_uv=scale_to_uv(meta))
    return pre, label


def row_of(info: pylsl.StreamInfo) -> StreamRow:
    """A browser row for a resolved stream."""
    return StreamRow(
        info.name(),
        info.type(),
        info.channel_count(),
        info.nominal_srate(),
        info.hostname(),
        info.source_id(),
    )


class _Connection:
    """The connected stream: monitor acquisition, its markers and the display filter label."""

    def __init__(self, info: pylsl.StreamInfo, settings: CoreSettings) -> None:
        self.info = info
        self.row = row_of(info)
        label: list[str] = []

        def factory(meta: StreamMeta) -> Preprocessor:
            pre, text = display_preprocessor(meta, settings)
            label.append(text)
            return pre

        acq_settings = dataclasses.replace(
            settings.acquisition, buffer_s=max(settings.acquisition.buffer_s, settings.scope_s)
        )
        self.acquisition = Acquisition(info, acq_settings, preprocessor_factory=factory)
        self.filter_label = label[0] if label else ""
        self.meta = self.acquisition.meta
        from neurodeck.streaming.session import scale_to_uv

        self.raw_scale = scale_to_uv(self.meta)
        self.markers: MarkerReceiver | None = None
        self.marker_info: pylsl.StreamInfo | None = None
        self.acquisition.start()

    def stop(self) -> None:
        self.acquisition.stop()
        if self.markers is not None:
            self.markers.stop()


class _Decoder:
    """A running decode session, its prediction history and the prediction outlet."""

    def __init__(self, session: Any, spec: Any, label: str, outlet: Any, history: int) -> None:
        self.session, self.spec, self.label, self.outlet = session, spec, label, outlet
        self.predictions: deque[Prediction] = deque(maxlen=history)

    def sink(self, prediction: Prediction) -> None:
        self.predictions.append(prediction)  # deque.append is atomic: no lock on this thread

    def stop(self) -> None:
        self.session.stop()
        self.outlet.close()


class DashboardCore:
    """Implements :class:`app.dashboard.snapshot.CoreCommands`.

    Parameters
    ----------
    settings : CoreSettings, optional
    resolve_s : float
        How long a stream search listens.
    """

    def __init__(self, settings: CoreSettings | None = None, resolve_s: float = 1.0) -> None:
        self.settings = settings or CoreSettings()
        self.resolve_s = resolve_s
        self._lock = threading.Lock()
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._streams: tuple[StreamRow, ...] = ()
        self._infos: dict[str, pylsl.StreamInfo] = {}
        self._browsing = False
        self._connecting = False
        self._conn: _Connection | None = None
        self._decoder: _Decoder | None = None
        self._source: ChildSource | None = None
        self._job: CalibrationJob | None = None
        self._spectrum: SpectrumView | None = None
        self._status = (
            "Not connected: pick a stream, open a recording (Ctrl+O) or start the simulator."
        )
        self._errors: list[str] = []
        self._resolver: pylsl.ContinuousResolver | None = None
        self._closed = threading.Event()
        self._worker = threading.Thread(
            target=self._run_commands, name="core-commands", daemon=True
        )
        self._analysis = threading.Thread(
            target=self._run_analysis, name="core-analysis", daemon=True
        )
        self._worker.start()
        self._analysis.start()

    # -- commands (return at once) --------------------------------------------------------------
    def refresh_streams(self) -> None:
        """Search for LSL streams again."""
        self._browsing = True
        self._submit(self._flagged("browsing", self._do_refresh))

    def connect(self, key: str) -> None:
        """Connect to a stream of the latest search by :attr:`StreamRow.key`."""
        self._connecting = True
        self._submit(self._flagged("connecting", lambda: self._do_connect_key(key)))

    def disconnect(self) -> None:
        """Stop decoding and disconnect."""
        self._submit(self._do_disconnect)

    def replay(self, paths: Sequence[Path], speed: float = 1.0, loop: bool = False) -> None:
        """Replay recordings in a child process and connect to them."""
        self._connecting = True
        paths = [Path(p) for p in paths]
        start = lambda log: start_replay(paths, speed, loop, log)  # noqa: E731
        self._submit(self._flagged("connecting", lambda: self._do_source(start)))

    def simulate(self, n_channels: int = 32, sfreq: float = 250.0) -> None:
        """Start the simulator in a child process and connect to it."""
        self._connecting = True
        start = lambda log: start_simulator(n_channels, sfreq, log)  # noqa: E731
        self._submit(self._flagged("connecting", lambda: self._do_source(start)))

    def stop_source(self) -> None:
        """Stop the replay or simulator started here."""
        self._submit(self._do_stop_source)

    def load_model(self, path: Path, decoder: str | None = None) -> None:
        """Decode the connected stream with a profile folder or a checkpoint."""
        self._submit(lambda: self._do_load_model(Path(path), decoder))

    def stop_decoding(self) -> None:
        """Stop decoding; the stream stays connected."""
        self._submit(self._do_stop_decoding)

    def start_calibration(
        self, paradigm: str = "mi-lr", out_dir: Path | None = None, stimuli: Path | None = None
    ) -> None:
        """Record a cued calibration on the connected stream, then fit a profile.

        ``paradigm`` is a preset, a paradigm TOML file, or :data:`FROM_MARKERS` to take the
        trials from the stream's own marker stream (a replay, the simulator). ``stimuli``: a
        folder of the user's own stimuli for an affective paradigm (checked on the core thread).
        """
        self._submit(lambda: self._do_start_calibration(paradigm, out_dir, stimuli))

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
            self._error(
                "No calibration is running, so there is no block to rate.",
                "Start an affective calibration (emotion-recall) first.",
            )
            return
        try:
            job.rate(valence, arousal)
        except NeurodeckError as exc:
            self._error(exc.problem, exc.hint)

    def use_profile(self) -> None:
        """Decode with the profile the last calibration wrote."""
        job = self._job
        if job is None or job.profile_path is None:
            self._error("There is no calibrated profile yet.", "Run a calibration first.")
            return
        self.load_model(job.profile_path)

    def dismiss_errors(self) -> None:
        """Forget the errors shown so far."""
        with self._lock:
            self._errors.clear()

    def close(self) -> None:
        """Stop every thread and child process (blocks up to a few seconds)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._queue.put(None)
        self._worker.join(5.0)
        if self._job is not None:
            self._job.abort()
            self._job.join(5.0)
        self._do_disconnect()
        self._do_stop_source()
        self._analysis.join(2.0)

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until every queued command ran (tests and scripts; never from the GUI)."""
        done = threading.Event()
        self._submit(done.set)
        return done.wait(timeout_s)

    # -- snapshot -------------------------------------------------------------------------------
    def snapshot(self) -> CoreSnapshot:
        """The state at this instant (cheap, never blocks on I/O)."""
        now = local_clock()
        with self._lock:
            conn, decoder, source, job = self._conn, self._decoder, self._source, self._job
            streams, status, errors = self._streams, self._status, tuple(self._errors)
            spectrum = self._spectrum
        connection = "disconnected"
        signal = health = None
        if self._connecting:
            connection = "connecting"
        if conn is not None:
            acq = (decoder.session.acquisition if decoder else conn.acquisition).status()
            connection = {"stalled": "stalled", "stopped": "lost"}.get(acq.state, "connected")
            signal = self._signal(conn)
            health = self._health(conn, acq, decoder)
        return CoreSnapshot(
            t=now,
            streams=streams,
            browsing=self._browsing,
            connection=connection,
            stream=conn.row if conn else None,
            signal=signal,
            spectrum=spectrum if conn else None,
            health=health,
            decoding=self._decoding(decoder, conn, now) if decoder and conn else None,
            calibration=job.view() if job else CalibrationView(),
            source=source.view() if source else None,
            status=status,
            errors=errors,
        )

    def _signal(self, conn: _Connection, seconds: float | None = None) -> SignalView | None:
        """The newest ``seconds`` (default: the scope span) of raw and filtered samples."""
        acq = conn.acquisition
        n = int((seconds or self.settings.scope_s) * conn.meta.sfreq)
        raw, stamps, end = acq.raw.latest(n)
        assert acq.processed is not None
        filtered, _, end_f = acq.processed.latest(n)
        k = min(raw.shape[1], filtered.shape[1])
        if k == 0:
            return None
        # the processed buffer is written after the raw one; align on the older end
        if end_f < end:
            raw, stamps = (
                raw[:, : raw.shape[1] - (end - end_f)],
                stamps[: len(stamps) - (end - end_f)],
            )
        k = min(raw.shape[1], filtered.shape[1])
        raw = raw[:, raw.shape[1] - k :] * np.float32(conn.raw_scale)
        return SignalView(
            channel_names=conn.meta.channel_names,
            sfreq=conn.meta.sfreq,
            raw=raw,
            filtered=filtered[:, filtered.shape[1] - k :],
            t_end=float(stamps[-1]) if len(stamps) else 0.0,
            n_written=min(end, end_f),
            filter_label=conn.filter_label,
        )

    def _health(self, conn: _Connection, acq: Any, decoder: _Decoder | None) -> HealthView:
        fields: dict[str, Any] = {}
        message = acq.message
        if decoder is not None:
            w = decoder.session.worker.status()
            lat = w.latency
            fields = {
                "decoding": True,
                "predictions": w.n_predictions,
                "dropped_skipped": w.dropped_skipped,
                "dropped_stale": w.dropped_stale,
                "dropped_invalid": w.dropped_invalid,
                "e2e_p50_ms": lat.e2e_p50_ms,
                "e2e_p99_ms": lat.e2e_p99_ms,
                "compute_p50_ms": lat.compute_p50_ms,
                "compute_p99_ms": lat.compute_p99_ms,
                "device": w.device,
                "runner": w.runner,
            }
            message = message or w.message
        if acq.state == "stalled":  # say what to do, not only what happened
            message = (
                f"No samples from '{conn.meta.name}' for over {self.settings.acquisition.stall_s:g}"
                " s: check the headset and its driver; neurodeck re-attaches when it comes back."
            )
        return HealthView(
            state=acq.state,
            rate_hz=0.0 if acq.state == "stalled" else acq.rate_hz,
            nominal_hz=conn.meta.sfreq * conn.meta.replay_speed,
            n_samples=acq.n_samples,
            lost_samples=acq.lost_samples,
            n_gaps=acq.n_gaps,
            overruns=acq.overruns,
            n_nonfinite=acq.n_nonfinite,
            n_stalls=acq.n_stalls,
            message=message,
            **fields,
        )

    def _decoding(self, decoder: _Decoder, conn: _Connection, now: float) -> DecodingView:
        spec = decoder.spec
        n_classes = len(spec.class_names)
        preds = list(decoder.predictions)
        horizon = now - self.settings.history_s
        preds = [p for p in preds if p.t_last >= horizon]
        times = np.array([p.t_last for p in preds], np.float64)
        probs = np.array([p.probabilities for p in preds], np.float64).reshape(-1, n_classes)
        family = getattr(spec, "family", MOTOR_IMAGERY)
        affective = family == AFFECTIVE
        smoothing_s = (
            self.settings.affective_smoothing_s if affective else self.settings.smoothing_s
        )
        tau = smoothing_s / max(conn.meta.replay_speed, 1e-6)
        history = smooth_probabilities(times, probs, tau)  # (n, n_classes)
        smoothed = history[-1] if len(times) else np.full(n_classes, 1.0 / n_classes)
        names = spec.class_names
        valence = arousal = workload = None
        if affective:
            valence, arousal, workload = affect_axes(tuple(names)).expected(smoothed)
        feedback = None
        if "left" in names and "right" in names:
            feedback = float(smoothed[names.index("right")] - smoothed[names.index("left")])
        return DecodingView(
            class_names=tuple(names),
            decoder=decoder.label,
            times=times,
            probabilities=probs,
            smoothed=smoothed,
            feedback=feedback,
            cues=self._cue_spans(conn, dict(spec.marker_classes), horizon),
            history_s=self.settings.history_s,
            smoothing_s=smoothing_s,
            family=family,
            smoothed_history=history,
            valence=valence,
            arousal=arousal,
            workload=workload,
        )

    def _cue_spans(
        self, conn: _Connection, marker_classes: dict[str, str], horizon: float
    ) -> tuple[CueSpan, ...]:
        """True cues of the stream's markers (and of a running calibration) in the timeline."""
        from neurodeck.calibration.paradigm import class_of_marker

        events = conn.markers.events() if conn.markers is not None else []
        length = DEFAULT_CUE_S / max(conn.meta.replay_speed, 1e-6)
        spans = []
        for e in events:
            if e.timestamp < horizon - length:
                continue
            label = marker_classes.get(e.label) or class_of_marker(e.label)
            if label:
                spans.append(CueSpan(e.timestamp, e.timestamp + length, label))
        return tuple(spans)

    # -- the command thread ---------------------------------------------------------------------
    def _submit(self, fn: Callable[[], None]) -> None:
        if not self._closed.is_set():
            self._queue.put(fn)

    def _flagged(self, flag: str, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` that clears ``self._<flag>`` when it ends (views show it as busy until then)."""

        def run() -> None:
            try:
                fn()
            finally:
                setattr(self, f"_{flag}", False)

        return run

    def _run_commands(self) -> None:
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            try:
                fn()
            except NeurodeckError as exc:
                self._error(exc.problem, exc.hint)
            except Exception as exc:  # a command must never kill the core
                logger.exception("dashboard command failed")
                self._error(f"Unexpected error: {exc!r}.", "See the log; please report it.")

    def _error(self, problem: str, hint: str = "") -> None:
        text = f"{problem} {hint}".strip()
        logger.warning("%s", text)
        with self._lock:
            self._errors.append(text)
            del self._errors[:-5]
            self._status = problem

    def _say(self, status: str) -> None:
        with self._lock:
            self._status = status

    def _do_refresh(self, wait: bool = True) -> None:
        """Update the stream list from the continuous resolver (which listens all the time)."""
        if self._resolver is None:
            self._resolver = pylsl.ContinuousResolver(forget_after=3.0)
        infos = self._resolver.results()
        if wait:  # the first answers of a new resolver take a moment
            infos = poll_resolver(self._resolver, self.resolve_s, first=False)
        rows = {row_of(i).key: (row_of(i), i) for i in infos}
        with self._lock:
            self._streams = tuple(sorted((r for r, _ in rows.values()), key=lambda r: r.name))
            self._infos = {k: i for k, (_, i) in rows.items()}
        if wait:
            eeg = sum(r.stream_type != "Markers" for r in self._streams)
            self._say(f"{len(self._streams)} streams found ({eeg} signal streams).")

    def _do_connect_key(self, key: str) -> None:
        info = self._infos.get(key) or next(
            (i for i in self._infos.values() if i.name() == key), None
        )
        if info is None:  # not in the last search: a source_id, else a name
            try:
                info = resolve_stream(source_id=key, timeout_s=2.0)
            except NeurodeckError:
                info = resolve_stream(name=key, timeout_s=3.0)
        self._do_connect(info)

    def _do_connect(self, info: pylsl.StreamInfo) -> None:
        if info.type() == "Markers" or info.nominal_srate() <= 0:
            from neurodeck.common.types import ConfigError

            raise ConfigError(
                f"'{info.name()}' is a marker stream ({info.type()}), not a signal.",
                "Connect to the headset's EEG stream; its markers are picked up by themselves.",
            )
        self._do_disconnect()
        self._say(f"connecting to '{info.name()}'...")
        conn = _Connection(info, self.settings)
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
        self._say(f"connected to '{m.name}': {m.n_channels} ch at {m.sfreq:g} Hz{extra}")

    def _do_disconnect(self) -> None:
        self._do_stop_decoding()
        with self._lock:
            conn, self._conn, self._spectrum = self._conn, None, None
        if conn is not None:
            self._say(f"disconnected from '{conn.meta.name}'")
            conn.stop()

    def _do_source(self, start: Callable[[Path], ChildSource]) -> None:
        self._do_stop_source()
        source = start(self.settings.out_dir / "logs")
        with self._lock:
            self._source = source
        self._say(f"starting the {source.kind} ({source.label})...")
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
        from neurodeck.streaming.session import DecodeSession
        from neurodeck.streaming.sinks import LSLPredictionOutlet, default_outlet_name

        conn = self._conn
        if conn is None:
            raise NeurodeckError(
                "No stream is connected, so there is nothing to decode.",
                "Connect to a stream (or open a recording) first, then load the profile.",
            )
        self._say(f"loading {path.name}...")
        spec, _ = load_decoder_spec(path, decoder)
        self._do_stop_decoding()
        outlet_name = default_outlet_name(spec.family)  # neurodeck-predictions or -emotion
        out = LSLPredictionOutlet(
            spec.class_names, outlet_name, f"{outlet_name}-{conn.row.key}", family=spec.family
        )
        holder = _Decoder(None, spec, "", out, history=4096)
        try:
            session = DecodeSession(
                conn.info,
                spec,
                sinks=[holder.sink, out],
                marker_info=conn.marker_info,
                settings=self.settings.acquisition,
                hop_s=self.settings.decode.hop_s,
                device=self.settings.decode.device,
                deadline_s=self.settings.decode.deadline_s,
            ).start()
        except Exception:
            out.close()
            raise
        holder.session = session
        label = f"{path.name}"
        from neurodeck.calibration.profile import is_profile, load_profile

        if is_profile(path):
            label += f" ({decoder or load_profile(path).decoder} decoder)"
        holder.label = label
        with self._lock:
            self._decoder = holder
        self._say(
            f"decoding '{conn.meta.name}' with {label} ({', '.join(spec.class_names)}); "
            f"probabilities on LSL stream '{outlet_name}'"
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
        self._say(f"calibration: {paradigm.summary()}; recording into {out / 'recording'}")

    # -- the analysis thread --------------------------------------------------------------------
    def _run_analysis(self) -> None:
        analyzer: SpectrumAnalyzer | None = None
        for_conn: _Connection | None = None
        next_browse = time.monotonic()  # browse at once, then every 2 s
        while not self._closed.wait(self.settings.analysis_period_s):
            if time.monotonic() >= next_browse:
                self._submit(lambda: self._do_refresh(wait=False))  # keep the list current
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
                signal = self._signal(conn, self.settings.analysis_s)
                if signal is None or signal.raw.shape[1] < int(conn.meta.sfreq):
                    continue  # less than a second so far
                spectrum = analyzer.compute(signal.filtered, signal.raw)
                with self._lock:
                    if self._conn is conn:
                        self._spectrum = spectrum
            except Exception:  # analysis is a view aid: log, keep the thread alive
                logger.exception("spectrum analysis failed")
                time.sleep(1.0)
