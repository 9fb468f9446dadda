"""Record a calibration session from a live stream: generated cues, or the stream's own markers.

Both ways record with :class:`neurodeck.streaming.recorder.SessionRecorder` (EEG and markers to disk
as they arrive; a crash loses at most the last second) into a session folder that
:func:`neurodeck.calibration.trials.load_calibration_source` reads back, so calibrating from a live
stream and from a recording run exactly the same code afterwards.

- :func:`record_paradigm`: a :class:`~neurodeck.calibration.cues.CuePlayer` publishes the paradigm's
  cues on an LSL marker stream; the recorder and a
  :class:`~neurodeck.calibration.cue_terminal.TerminalCueDisplay` both read them from there (so does
  the dashboard).
- :func:`record_from_markers`: trials come from a marker stream that already exists (a replayed
  EEGBCI run publishes its T0/T1/T2 annotations), recorded until the stream ends, enough trials
  arrived, or the time is up.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pylsl
from neurodeck.calibration.cue_terminal import TerminalCueDisplay
from neurodeck.calibration.cues import CuePlayer
from neurodeck.calibration.emotion import SamRating, StimulusSet, check_rating
from neurodeck.calibration.paradigm import Paradigm
from neurodeck.calibration.trials import MIN_TRIALS_PER_CLASS
from neurodeck.common.types import StreamLostError, StreamNotFoundError
from neurodeck.streaming.lsl_io import resolve_stream
from neurodeck.streaming.markers import MarkerReceiver
from neurodeck.streaming.recorder import SessionRecorder

logger = logging.getLogger(__name__)

#: Longest wait for the first EEG sample after connecting.
FIRST_SAMPLE_TIMEOUT_S = 10.0
#: A stream gone for longer than this during the cues ends the calibration (the recording is
#: kept); a shorter loss is bridged, and the trials inside the gap are dropped when cut.
LOST_GIVE_UP_S = 30.0


class CalibrationControl:
    """Commands to a running :func:`record_paradigm` from another thread (the dashboard).

    ``pause`` holds the cues after the current trial, ``resume`` continues, ``abort`` ends the
    session with ``calib_abort`` (the recording is closed and kept), ``rate`` hands a
    self-assessment to the session, which pushes it on the cue stream within about 50 ms. Safe
    from any thread.
    """

    def __init__(self) -> None:
        self.paused = threading.Event()
        self.aborted = threading.Event()
        self._ratings: queue.SimpleQueue[SamRating] = queue.SimpleQueue()

    def rate(self, valence: int, arousal: int) -> None:
        """Queue a self-assessment (SAM valence and arousal, 1-9) for the cue stream.

        Raises
        ------
        ConfigError
            When a value is not an int from 1 to 9.
        """
        self._ratings.put(check_rating(valence, arousal))

    def take_ratings(self) -> list[SamRating]:
        """The ratings queued since the last call, oldest first (called by the session)."""
        out = []
        while True:
            try:
                out.append(self._ratings.get_nowait())
            except queue.Empty:
                return out

    def pause(self) -> None:
        """Hold the cues after the current trial."""
        self.paused.set()

    def resume(self) -> None:
        """Continue after a pause."""
        self.paused.clear()

    def abort(self) -> None:
        """Stop the session; what was recorded is kept."""
        self.aborted.set()


@dataclass(frozen=True)
class RecordedCalibration:
    """What a live calibration recording produced.

    Parameters
    ----------
    path : Path
        The session folder.
    ended : float
        ``time.perf_counter()`` when the last trial was complete (the start of the
        "time to a ready model").
    n_samples, n_cues : int
        EEG samples and cue markers recorded.
    complete : bool
        The paradigm ran to its end (or the marker stream ended normally).
    reason : str
        Why recording stopped.
    """

    path: Path
    ended: float
    n_samples: int
    n_cues: int
    complete: bool
    reason: str


def _wait_first_sample(recorder: SessionRecorder, name: str) -> None:
    if not recorder.wait_until(n_samples=1, timeout_s=FIRST_SAMPLE_TIMEOUT_S):
        recorder.stop()
        raise StreamNotFoundError(
            f"Stream '{name}' sends no samples (nothing within {FIRST_SAMPLE_TIMEOUT_S:g} s).",
            "Check that the headset is switched on and streaming; `neurodeck streams` lists "
            "what is visible.",
        )


def _lost(
    recorder: SessionRecorder, name: str, reason: str, paradigm: Paradigm, done: int
) -> StreamLostError:
    """The loss, and advice that holds: fitting later only when enough trials were recorded."""
    s = recorder.status()
    per_class = MIN_TRIALS_PER_CLASS.get(paradigm.family, 2)
    needed = per_class * len(paradigm.class_names)
    if done >= needed:
        hint = (
            f"Reconnect the headset and calibrate again, or fit from the {done} trials recorded "
            f"with `neurodeck calibrate --recording {recorder.path}`."
        )
    else:
        hint = (
            f"Reconnect the headset and calibrate again: {done} trials were recorded, and a fit "
            f"needs at least {per_class} per class ({needed} for {paradigm.name})."
        )
    return StreamLostError(
        f"Stream '{name}' was lost {reason}, after {s.duration_s:.1f} s of EEG. Everything "
        f"received is saved in {recorder.path}.",
        hint,
    )


def record_paradigm(
    eeg_info: pylsl.StreamInfo,
    out_dir: str | Path,
    paradigm: Paradigm,
    seed: int = 0,
    speed: float = 1.0,
    cue_stream: str = "neurodeck-cues",
    display: TextIO | None = None,
    overwrite: bool = False,
    control: CalibrationControl | None = None,
    on_cue_stream: Callable[[pylsl.StreamInfo], None] | None = None,
    terminal: bool = True,
    stimuli: StimulusSet | None = None,
    on_cue_stream_end: Callable[[], None] | None = None,
) -> RecordedCalibration:
    """Play the paradigm's cues on LSL and record the EEG and the cues until the last trial.

    Parameters
    ----------
    eeg_info : pylsl.StreamInfo
        The resolved EEG stream.
    out_dir : path
        Session folder (see :mod:`neurodeck.streaming.recorder`).
    paradigm : Paradigm
    seed : int
        Seed of the cue order and breaks.
    speed : float
        Schedule compression (1 for a person; more for replayed tests).
    cue_stream : str
        Name of the cue marker stream.
    display : text stream, optional
        Where the cues are printed (default stdout).
    overwrite : bool
        Replace a previous session in ``out_dir``.
    control : CalibrationControl, optional
        Pause, resume, abort and rate from another thread. An abort returns normally with
        ``complete=False``.
    on_cue_stream : callable, optional
        Called with the cue stream's info before the first cue, so that a display can connect to
        it in time (the dashboard's cue view).
    terminal : bool
        Print the cues on ``display`` (the command line); False for the dashboard. For
        affective paradigms the terminal also asks for the self-assessments on stdin when it
        is a terminal.
    stimuli : StimulusSet, optional
        The user's stimuli, one per block (see :class:`~neurodeck.calibration.cues.CuePlayer`).
    on_cue_stream_end : callable, optional
        Called just before the cue stream closes, so that the display of ``on_cue_stream``
        closes its inlet first (an inlet whose outlet vanishes makes liblsl print an error).

    Returns
    -------
    RecordedCalibration

    Raises
    ------
    StreamNotFoundError
        The EEG stream sends nothing.
    StreamLostError
        The EEG stream was gone for more than :data:`LOST_GIVE_UP_S` during the cues, or at the
        last trial (the recording up to then is kept). A stall, or a shorter loss after which
        the recorder re-attached, does not stop the cues.
    KeyboardInterrupt
        Ctrl-C: the cues stop with ``calib_abort``, the recording is closed and kept.
    """
    # a source_id of its own: two sessions on one machine must never read each other's cues
    source_id = f"{cue_stream}-{paradigm.name}-{uuid.uuid4().hex[:8]}"
    player = CuePlayer(
        paradigm, seed=seed, name=cue_stream, source_id=source_id, speed=speed, stimuli=stimuli
    )
    recorder = None
    shown = None
    try:
        cue_info = resolve_stream(name=cue_stream, source_id=player.source_id, timeout_s=5.0)
        recorder = SessionRecorder(eeg_info, out_dir, [cue_info], overwrite=overwrite).start()
        _wait_first_sample(recorder, eeg_info.name())
        if on_cue_stream is not None:
            on_cue_stream(cue_info)
        if terminal:
            shown = TerminalCueDisplay(
                cue_info,
                stream=display or sys.stdout,
                paradigm=paradigm,
                seed=seed,
                on_rating=player.rate,
            ).start()
        player.start(wait_for_consumers_s=5.0)
        lost_since: float | None = None
        while not player.done:
            if recorder.status().stream_lost:  # the cues go on; the recorder re-attaches
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > LOST_GIVE_UP_S:
                    player.stop()
                    done, _ = player.progress()
                    raise _lost(recorder, eeg_info.name(), "during the cues", paradigm, done)
            else:
                lost_since = None
            if control is not None:
                if control.aborted.is_set():
                    player.stop()
                    done, _ = player.progress()
                    status = recorder.status()
                    return RecordedCalibration(
                        recorder.path,
                        time.perf_counter(),
                        status.n_samples,
                        done,
                        False,
                        f"aborted by the user after {done} trials",
                    )
                if control.paused.is_set() != player.pause_requested:
                    (player.pause if control.paused.is_set() else player.resume)()
                _push_ratings(control, player)
            time.sleep(0.05)
        ended = time.perf_counter()
        if control is not None:
            _push_ratings(control, player)
        end_ts = player.timestamp_of(player.schedule[-1]) if player.t0 else 0.0
        _wait_for_timestamp(recorder, end_ts)
        status = recorder.status()
        if status.stream_lost:
            raise _lost(
                recorder, eeg_info.name(), "before the last trial", paradigm, paradigm.n_trials
            )
        return RecordedCalibration(
            recorder.path, ended, status.n_samples, paradigm.n_trials, True, "paradigm finished"
        )
    except KeyboardInterrupt:
        player.stop()
        raise
    finally:
        if recorder is not None:
            recorder.stop()
        if shown is not None:
            shown.stop()
        if on_cue_stream_end is not None:
            on_cue_stream_end()
        player.close()


def _push_ratings(control: CalibrationControl, player: CuePlayer) -> None:
    """Push the ratings the control queued, as ``sam`` markers on the cue stream."""
    for rating in control.take_ratings():
        player.rate(rating.valence, rating.arousal)


def _wait_for_timestamp(recorder: SessionRecorder, timestamp: float, timeout_s: float = 3.0):
    """Let the EEG up to ``timestamp`` arrive (it lags the cues by the transport delay)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        s = recorder.status()
        if s.last_timestamp >= timestamp or s.stream_lost:
            return
        time.sleep(0.02)


def record_from_markers(
    eeg_info: pylsl.StreamInfo,
    marker_info: pylsl.StreamInfo,
    out_dir: str | Path,
    marker_classes: Mapping[str, str],
    max_trials: int | None = None,
    duration_s: float | None = None,
    trial_s: float = 4.5,
    progress: Callable[[str], None] | None = None,
    overwrite: bool = False,
    control: CalibrationControl | None = None,
) -> RecordedCalibration:
    """Record a stream and its own marker stream until it ends, ``max_trials`` or ``duration_s``.

    Parameters
    ----------
    eeg_info, marker_info : pylsl.StreamInfo
        The resolved EEG stream and the marker stream that cues it.
    out_dir : path
        Session folder.
    marker_classes : mapping
        Marker label -> class name; only these count as trials.
    max_trials : int, optional
        Stop ``trial_s`` content seconds after this many cues.
    duration_s : float, optional
        Stop after this many content seconds of EEG.
    trial_s : float
        Content seconds after a cue that its trial needs.
    progress : callable, optional
        Called about once a second with a status line.
    overwrite : bool
    control : CalibrationControl, optional
        Its ``abort`` stops the recording (kept, ``complete=False``) from another thread.

    Returns
    -------
    RecordedCalibration
        ``reason`` says which condition ended it; the stream ending is a normal end.
    """
    say = progress or (lambda _line: None)
    receiver = MarkerReceiver(marker_info).start()  # before the recorder: a replay waits for it
    try:
        recorder = SessionRecorder(eeg_info, out_dir, [marker_info], overwrite=overwrite)
    except BaseException:
        receiver.stop()
        raise
    recorder.start()
    try:
        _wait_first_sample(recorder, eeg_info.name())
        last_say = 0.0
        reason, stop_after = "", None
        while not reason:
            s = recorder.status()
            cues = [e for e in receiver.events() if e.label in marker_classes]
            if max_trials and stop_after is None and len(cues) >= max_trials:
                stop_after = s.duration_s + trial_s
            if control is not None and control.aborted.is_set():
                reason = "stopped by the user"
            elif s.stream_lost:
                reason = "the stream ended"
            elif duration_s is not None and s.duration_s >= duration_s:
                reason = f"{duration_s:g} s recorded"
            elif stop_after is not None and s.duration_s >= stop_after:
                reason = f"{max_trials} trials recorded"
            if time.monotonic() - last_say >= 1.0 or reason:
                counts = Counter(marker_classes[e.label] for e in cues)
                say(
                    f"recorded {s.duration_s:6.1f} s, {len(cues)} cues "
                    f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none yet'})"
                )
                last_say = time.monotonic()
            time.sleep(0.05)
        ended = time.perf_counter()
        status = recorder.status()
        complete = reason != "stopped by the user"
        return RecordedCalibration(
            recorder.path, ended, status.n_samples, len(cues), complete, reason
        )
    finally:
        receiver.stop()
        recorder.stop()
