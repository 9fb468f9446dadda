"""The cue player: a paradigm's schedule published as LSL markers, paced against the LSL clock.

The :class:`CuePlayer` is the only source of truth for what was asked when: it pushes every marker
of :meth:`Paradigm.schedule <calibration.paradigm.Paradigm.schedule>` on a string marker stream
(type ``Markers``, default name ``neurodeck-cues``), paced against the LSL clock, each with its
scheduled time as timestamp. The recorder stores that stream next to the EEG; the dashboard's cue
view and the headless :class:`~neurodeck.calibration.cue_terminal.TerminalCueDisplay` show what they
read from it, so what the person saw and what was recorded cannot disagree.

The stream header carries the paradigm (``desc/paradigm_json``), so a consumer knows the number of
trials and the classes without being told (:func:`paradigm_from_info`), and the seed, so it can
tell which class the next block has (the affective displays show its prompt before its cue).

Markers that are not scheduled, such as the self-assessment ratings of
:mod:`neurodeck.calibration.emotion`, go out on the same stream through
:meth:`CuePlayer.push_marker` (or :meth:`CuePlayer.rate`), from any thread, so that they are
recorded with the cues.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Self

import pylsl
from neurodeck.calibration.emotion import StimulusSet, format_rating, trial_classes, with_stimuli
from neurodeck.calibration.paradigm import (
    CALIB_ABORT,
    CALIB_PAUSE,
    CALIB_RESUME,
    FIXATION,
    REST,
    Cue,
    Paradigm,
)
from neurodeck.common.checks import check_positive
from neurodeck.common.types import ConfigError, NeurodeckError
from neurodeck.streaming.lsl_io import local_clock, make_stream_info
from neurodeck.streaming.threads import JoinableThreadOwner

logger = logging.getLogger(__name__)

#: Default name of the cue marker stream.
DEFAULT_CUE_STREAM = "neurodeck-cues"


def paradigm_from_info(info: pylsl.StreamInfo) -> Paradigm | None:
    """The paradigm declared in a cue stream's full header (``inlet.info()``), or None.

    A header from a resolver holds no description; open an inlet and call ``info()`` first.
    """
    text = info.desc().child_value("paradigm_json")
    if not text:
        return None
    try:
        return Paradigm.from_dict(json.loads(text))
    except (ValueError, TypeError, NeurodeckError):
        logger.warning("Stream '%s' declares an unreadable paradigm: %r", info.name(), text)
        return None


class CuePlayer(JoinableThreadOwner):
    """Publishes a paradigm's schedule on an LSL marker stream, paced against the LSL clock.

    Marker ``k`` is pushed when ``local_clock()`` reaches ``t0 + cue.t_s / speed`` and carries
    exactly that timestamp, so a late wake-up delays delivery but never shifts the timestamp.
    ``t0`` is the time of ``calib_start``.

    Parameters
    ----------
    paradigm : Paradigm
        What to play.
    seed : int
        Seed of the schedule (class order and breaks).
    name : str
        Marker stream name.
    source_id : str, optional
        Marker stream source_id (default ``f"{name}-{paradigm.name}"``), stable so that a
        recorder's inlet can recover after a restart.
    speed : float
        Schedule compression (> 0, at most 1000): times are divided by it. 1 for real sessions;
        more for tests and fast demos. Declared as ``desc/replay_speed``.
    stimuli : StimulusSet, optional
        The user's stimuli: every block gets one (:meth:`StimulusSet.assign`, seeded by
        ``seed``), announced by a ``stimulus <path>`` marker right after its cue. The folder is
        declared as ``desc/stimuli_root``.

    Notes
    -----
    The stream is visible as soon as the object exists, so that consumers can connect before
    :meth:`start`. Markers pushed before a consumer connected never reach it: pass
    ``wait_for_consumers_s`` to :meth:`start`, or connect first. A player runs once.
    """

    def __init__(
        self,
        paradigm: Paradigm,
        seed: int = 0,
        name: str = DEFAULT_CUE_STREAM,
        source_id: str | None = None,
        speed: float = 1.0,
        stimuli: StimulusSet | None = None,
    ) -> None:
        if not isinstance(paradigm, Paradigm):
            raise ConfigError(f"'paradigm' must be a Paradigm; got {paradigm!r}.")
        if not name:
            raise ConfigError(f"'name' must be a non-empty stream name; got {name!r}.")
        self.paradigm = paradigm
        self.seed = seed
        self.stimuli = stimuli
        schedule = paradigm.schedule(seed)
        if stimuli is not None:
            schedule = with_stimuli(schedule, stimuli.assign(trial_classes(schedule), seed))
        self.schedule: tuple[Cue, ...] = tuple(schedule)
        self.name = name
        self.source_id = source_id or f"{name}-{paradigm.name}"
        self.speed = check_positive("speed", speed, upper=1000.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0: float | None = None
        self._n_pushed = 0
        self._trials_done = 0
        self._done = False
        self._aborted = False
        self._last_push = 0.0
        self._max_lateness_s = 0.0
        self._error: BaseException | None = None
        self._pause_requested = threading.Event()
        self._resume = threading.Event()
        self._paused = False
        self._shift_s = 0.0
        self._push_lock = threading.Lock()
        extra = {"stimuli_root": str(stimuli.root)} if stimuli is not None else {}
        info = make_stream_info(
            name,
            "Markers",
            ["marker"],
            pylsl.IRREGULAR_RATE,
            self.source_id,
            channel_format="string",
            unit="",
            channel_type="Markers",
            extra_desc={
                "paradigm": paradigm.name,
                "paradigm_json": json.dumps(paradigm.to_dict()),
                "n_trials": str(paradigm.n_trials),
                "seed": str(seed),
                "replay_speed": f"{self.speed:g}",
                **extra,
            },
        )
        self._outlet: pylsl.StreamOutlet | None = pylsl.StreamOutlet(info)
        logger.info("Cue stream '%s' open (%s).", name, paradigm.summary())

    # -- state --------------------------------------------------------------------------------
    @property
    def n_trials(self) -> int:
        """Trials in the session."""
        return self.paradigm.n_trials

    @property
    def done(self) -> bool:
        """True once ``calib_end`` was pushed."""
        return self._done

    @property
    def aborted(self) -> bool:
        """True once ``calib_abort`` was pushed."""
        return self._aborted

    @property
    def t0(self) -> float | None:
        """LSL timestamp of ``calib_start`` (None before it was pushed)."""
        return self._t0

    @property
    def n_pushed(self) -> int:
        """Markers pushed so far (``calib_abort`` included)."""
        return self._n_pushed

    @property
    def max_lateness_s(self) -> float:
        """Largest delay of a push behind its timestamp so far, in seconds."""
        return self._max_lateness_s

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the publishing thread, if any."""
        return self._error

    @property
    def is_running(self) -> bool:
        """True while the publishing thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        """True while the cues are held by :meth:`pause`."""
        return self._paused

    @property
    def pause_requested(self) -> bool:
        """True from :meth:`pause` until :meth:`resume` (the hold starts after this trial)."""
        return self._pause_requested.is_set()

    @property
    def shift_s(self) -> float:
        """Seconds (LSL clock) the schedule was shifted by pauses so far."""
        return self._shift_s

    def pause(self) -> None:
        """Hold the cues after the current trial: before the next ``fixation``, ``calib_pause``
        is pushed and nothing more until :meth:`resume` (a trial is never cut in two).

        Notes
        -----
        Safe from any thread.
        """
        self._resume.clear()
        self._pause_requested.set()

    def resume(self) -> None:
        """Continue after :meth:`pause`: ``calib_resume``, then the rest of the schedule, shifted.

        Notes
        -----
        Safe from any thread.
        """
        self._pause_requested.clear()
        self._resume.set()

    def progress(self) -> tuple[int, int]:
        """``(trials_done, n_trials)``; a trial is done when its imagery period ended.

        Notes
        -----
        Safe from any thread.
        """
        return self._trials_done, self.n_trials

    def push_marker(self, label: str) -> float | None:
        """Push a marker that is not in the schedule (a rating, a note) now, on the cue stream.

        Parameters
        ----------
        label : str
            The marker, for example ``format_rating(7, 3)``.

        Returns
        -------
        float or None
            Its LSL timestamp (``local_clock()`` at the push), or None when the stream is
            already closed (the marker is lost, with a logged warning).

        Notes
        -----
        Safe from any thread (the publishing thread's pushes take the same lock).
        """
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"'label' must be a non-empty string; got {label!r}.")
        outlet = self._outlet
        if outlet is None:
            logger.warning("Cue stream '%s' is closed; marker %r not sent.", self.name, label)
            return None
        timestamp = local_clock()
        self._push(outlet, label, timestamp)
        return timestamp

    def rate(self, valence: int, arousal: int) -> float | None:
        """Push a self-assessment (``sam valence=V arousal=A``) now; see :meth:`push_marker`.

        Raises
        ------
        ConfigError
            When a value is not an int from 1 to 9.

        Notes
        -----
        Safe from any thread.
        """
        return self.push_marker(format_rating(valence, arousal))

    def timestamp_of(self, cue: Cue) -> float:
        """The LSL timestamp a scheduled cue gets (``t0 + t_s / speed``, plus the pauses so far);
        needs a started run."""
        if self._t0 is None:
            raise RuntimeError("The player has not pushed calib_start yet.")
        return self._t0 + cue.t_s / self.speed + self._shift_s

    # -- control ------------------------------------------------------------------------------
    def start(self, wait_for_consumers_s: float = 0.0) -> Self:
        """Publish on a background thread; returns at once (returns self).

        Parameters
        ----------
        wait_for_consumers_s : float
            Wait up to this long (wall time) for a consumer, such as the recorder, to connect
            before ``calib_start``; the run starts anyway, with a warning, when none came.

        Notes
        -----
        Called from the owner's thread.
        """
        if self._thread is not None or self._stop.is_set() or self._outlet is None:
            raise RuntimeError(f"Cue player '{self.name}' already ran, was stopped or closed.")
        wait_s = float(wait_for_consumers_s)
        if wait_s < 0:
            raise ConfigError(f"'wait_for_consumers_s' must be >= 0; got {wait_for_consumers_s}.")
        self._thread = threading.Thread(
            target=self._thread_main, args=(self._outlet, wait_s), name=f"cues-{self.name}"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Abort the run: ``calib_abort`` is pushed unless the session already ended.

        Waits up to ``timeout`` for the publishing thread to push it and end. Stopping before
        :meth:`start` (or while waiting for consumers) pushes nothing.

        Notes
        -----
        Safe from any thread except the publishing thread.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self, linger_s: float = 0.5) -> None:
        """Stop, then destroy the outlet (idempotent).

        Parameters
        ----------
        linger_s : float
            Keep the outlet at least this long after the last push while consumers are
            connected, so that the last markers in transit reach them.
        """
        self.stop()
        outlet, self._outlet = self._outlet, None
        if outlet is None:
            return
        remaining = self._last_push + linger_s - time.monotonic()
        if self._n_pushed and remaining > 0 and outlet.have_consumers():
            time.sleep(remaining)
        del outlet

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- publishing thread --------------------------------------------------------------------
    def _thread_main(self, outlet: pylsl.StreamOutlet, wait_s: float) -> None:
        """Body of the publishing thread: play, and abort on stop or on a fault."""
        try:
            if wait_s > 0:
                self._wait_for_consumers(outlet, wait_s)
            if not self._stop.is_set():
                self._play(outlet)
        except Exception as exc:
            logger.exception("Cue player '%s' failed.", self.name)
            self._error = exc
        finally:
            if self._n_pushed and not self._done:
                self._push(outlet, CALIB_ABORT, local_clock())
                self._aborted = True
                logger.info("Calibration aborted after %d trials.", self._trials_done)

    def _wait_for_consumers(self, outlet: pylsl.StreamOutlet, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while not outlet.have_consumers():
            if self._stop.wait(0.01):
                return
            if time.monotonic() >= deadline:
                logger.warning(
                    "No consumer connected to '%s' within %g s; starting anyway.", self.name, wait_s
                )
                return

    def _play(self, outlet: pylsl.StreamOutlet) -> None:
        """Push every cue at its time; returns early when stopped."""
        t0 = local_clock()
        self._t0 = t0
        for cue in self.schedule:
            if cue.marker == FIXATION and not self._hold(outlet, t0 + cue.t_s / self.speed):
                return
            due = t0 + cue.t_s / self.speed + self._shift_s
            while (remaining := due - local_clock()) > 0:
                if self._stop.wait(min(remaining, 0.05)):
                    return
                if cue.marker == FIXATION and self._pause_requested.is_set():
                    if not self._hold(outlet, t0 + cue.t_s / self.speed):
                        return
                    due = t0 + cue.t_s / self.speed + self._shift_s
            if self._stop.is_set():
                return
            self._max_lateness_s = max(self._max_lateness_s, -remaining)
            self._push(outlet, cue.marker, due)
            if cue.marker == REST:
                self._trials_done += 1
        self._done = True
        logger.info(
            "Calibration finished: %d trials (max push lateness %.1f ms).",
            self._trials_done,
            self._max_lateness_s * 1e3,
        )

    def _hold(self, outlet: pylsl.StreamOutlet, scheduled: float) -> bool:
        """While a pause is requested, hold before a ``fixation`` due at ``scheduled + shift``.

        Returns False when stopped during the hold. On resume, the rest of the schedule moves by
        the time spent held so that the next trial starts one break after ``calib_resume``.
        """
        if not self._pause_requested.is_set():
            return True
        t_pause = local_clock()
        self._push(outlet, CALIB_PAUSE, t_pause)
        self._paused = True
        logger.info("Calibration paused after %d trials.", self._trials_done)
        while not self._resume.wait(0.05):
            if self._stop.is_set():
                self._paused = False
                return False
        self._paused = False
        t_resume = local_clock()
        self._push(outlet, CALIB_RESUME, t_resume)
        # the next fixation comes one short settle (0.5 s of schedule) after the resume
        self._shift_s = max(self._shift_s, t_resume + 0.5 / self.speed - scheduled)
        logger.info("Calibration resumed after %.1f s.", t_resume - t_pause)
        return not self._stop.is_set()

    def _push(self, outlet: pylsl.StreamOutlet, marker: str, timestamp: float) -> None:
        with self._push_lock:
            outlet.push_sample([marker], timestamp)
            self._n_pushed += 1
            self._last_push = time.monotonic()
        logger.debug("cue %s at %.4f", marker, timestamp)
