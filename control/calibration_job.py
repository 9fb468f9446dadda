"""A calibration run from the dashboard: cues and recording, then fitting in a child process.

1. **Cues** (thread in this process): :func:`neurodeck.calibration.live.record_paradigm` plays the
   paradigm on the ``neurodeck-cues`` LSL stream and records the EEG and the cues crash-safe into
   ``OUT/recording``; the job reads the cues back from that stream (as the terminal display does)
   to tell the cue view what to draw. Pause, resume and abort go through a
   :class:`~neurodeck.calibration.live.CalibrationControl`.
2. **Fitting** (child process): ``neurodeck calibrate --recording OUT/recording --out OUT``, the
   very command a user would type, with one torch thread, so that fine-tuning never competes with
   the dashboard for the GIL or for more than one core. Its progress lines are read as they come.
3. **Done**: ``report.json`` and the profile are in ``OUT``; ``use this profile`` decodes with it.

Affective paradigms (``emotion-recall``): the view carries each block's prompt (or the user's
stimulus), and the self-assessment the person submits (:meth:`CalibrationJob.rate`) goes through
the :class:`~neurodeck.calibration.live.CalibrationControl` to the cue stream, where it is recorded.

Nothing recorded is lost: an abort or a failure keeps ``OUT/recording``, and the message says how to
fit it later, or, when it holds too few complete trials for the fitting, what a fit needs.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pylsl
from neurodeck.calibration.emotion import (
    STIMULUS_FIXATION_PROMPT,
    StimulusSet,
    block_ratings,
    is_annotation,
    load_stimuli,
    parse_stimulus,
    trial_classes,
    trial_prompt,
)
from neurodeck.calibration.live import (
    CalibrationControl,
    RecordedCalibration,
    record_from_markers,
    record_paradigm,
)
from neurodeck.calibration.paradigm import (
    CALIB_ABORT,
    CALIB_END,
    CALIB_PAUSE,
    CALIB_START,
    FIXATION,
    REST,
    SELF_ASSESSMENT,
    Paradigm,
    class_of_marker,
)
from neurodeck.calibration.trials import MIN_TRIALS_PER_CLASS
from neurodeck.common.jsonio import write_text_atomic
from neurodeck.common.types import AFFECTIVE, ConfigError, MarkerEvent, NeurodeckError
from neurodeck.control.children import spawn
from neurodeck.control.settings import STREAM_TRIALS
from neurodeck.control.snapshot import FROM_MARKERS, CalibrationView
from neurodeck.streaming.lsl_io import local_clock
from neurodeck.streaming.markers import MarkerReceiver

logger = logging.getLogger(__name__)

#: Progress lines of ``neurodeck calibrate`` and the fraction of the fitting they mark.
_FIT_STEPS = (
    (re.compile(r"cutting trials"), 0.05),
    (re.compile(r"model ready"), 0.15),
    (re.compile(r"fine-tuning"), 0.2),
    (re.compile(r"cross-validating"), 0.45),
)
_FOLD = re.compile(r"cross-validation fold (\d+)/(\d+)")

#: Cue markers recognised on a stream's own marker stream, and their classes: EEGBCI's T1/T2
#: (imagined left/right fist), the simulator's class names, neurodeck's own cue markers.
STREAM_CUE_CLASSES = {
    "T1": "left",
    "T2": "right",
    **{c: c for c in ("left", "right", "feet", "tongue")},
    **{f"cue_{c}": c for c in ("left", "right", "feet", "rest", "tongue")},
}


def fit_fraction(line: str, previous: float | None) -> float | None:
    """Fitting progress in [0, 1] after a progress line of ``neurodeck calibrate``.

    The steps are: cutting trials (5 %), a usable model (15 %), fine-tuning (20 %),
    cross-validating (45 %), then each fold ``k/n`` up to 100 %. It never goes back.
    """
    fold = _FOLD.search(line)
    value = None
    if fold:
        k, n = int(fold.group(1)), max(int(fold.group(2)), 1)
        value = 0.45 + 0.55 * (k - 1) / n
    for pattern, step in _FIT_STEPS:
        if value is None and pattern.search(line):
            value = step
    if value is None:
        return previous
    return value if previous is None else max(previous, value)


def load_job_stimuli(
    folder: Path | None, paradigm: Paradigm, from_markers: bool = False
) -> StimulusSet | None:
    """The checked stimuli folder of a dashboard calibration (None without one).

    Raises
    ------
    ConfigError
        The calibration takes the stream's own markers, the paradigm is not affective, or the
        folder is refused by :func:`neurodeck.calibration.emotion.load_stimuli`.
    """
    if folder is None:
        return None
    if from_markers:
        raise ConfigError(
            "Stimuli need a calibration whose cues neurodeck plays, not the stream's markers.",
            "Choose the emotion-recall paradigm.",
        )
    if paradigm.family != AFFECTIVE:
        raise ConfigError(
            f"Stimuli need an affective paradigm; '{paradigm.name}' is {paradigm.family}.",
            "Choose the emotion-recall paradigm, or clear the stimuli folder.",
        )
    return load_stimuli(folder, paradigm.class_names)


def complete_trials(labels: Sequence[str]) -> Counter[str]:
    """Trials per class whose cue period ended before the recording did.

    ``labels`` are the recorded markers in order (cue-display vocabulary: ``cue_left``,
    ``rest``...; annotations removed). A class cue counts when another marker follows it
    that is not ``calib_abort``: the last cue of an aborted run was cut short.
    """
    counts: Counter[str] = Counter()
    for label, after in pairwise(labels):
        name = class_of_marker(label)
        if name is not None and after != CALIB_ABORT:
            counts[name] += 1
    return counts


def stopped_message(
    reason: str,
    recording: Path,
    out_dir: Path,
    counts: Counter[str],
    classes: Sequence[str],
    minimum: int,
) -> str:
    """What a calibration stopped before its end says: the fit-later command only when it fits.

    Parameters
    ----------
    reason : str
        Why it stopped (``aborted by the user after 3 trials``).
    recording, out_dir : Path
        The kept recording and the profile folder.
    counts : Counter
        Complete trials per class (:func:`complete_trials`).
    classes : sequence of str
        The classes the fitting needs (two at least).
    minimum : int
        Fewest trials per class the fitting accepts.
    """
    head = f"Calibration {reason}. The recording is kept in {recording}"
    per_class = {c: counts.get(c, 0) for c in classes}
    if len(per_class) >= 2 and min(per_class.values()) >= minimum:
        return (
            f"{head}; fit it later with: neurodeck calibrate --recording {recording} "
            f"--out {out_dir}"
        )
    shown = ", ".join(f"{c} {n}" for c, n in per_class.items()) or "no trial of any class"
    classes_note = "" if len(per_class) >= 2 else " of at least two classes"
    return (
        f"{head}, but it holds too few complete trials to fit a profile ({shown}; the fitting "
        f"needs at least {minimum} trials per class{classes_note}). Start a new calibration "
        "and let it run longer (Pause holds the cues when a break is needed)."
    )


def _as_cue(event: MarkerEvent) -> MarkerEvent:
    """A stream marker in the cue display's vocabulary (``T1`` -> ``cue_left``, ``T0`` -> rest)."""
    label = event.label
    if label in STREAM_CUE_CLASSES and not label.startswith("cue_"):
        return MarkerEvent(event.timestamp, f"cue_{STREAM_CUE_CLASSES[label]}")
    if label in ("T0", "rest"):
        return MarkerEvent(event.timestamp, REST)
    return event


class CalibrationJob:
    """One calibration from the dashboard (one use).

    Parameters
    ----------
    eeg_info : pylsl.StreamInfo
        The connected EEG stream.
    paradigm : Paradigm
    out_dir : Path
        Profile folder; the recording goes to ``out_dir / "recording"``.
    cv_folds : int
        Cross-validation folds of the fitting (0 skips it).
    cue_speed : float
        Schedule compression (1 for a person; tests and sped-up replays use more).
    seed : int
        Seed of the cue order.
    model : Path, optional
        Encoder to fine-tune (default: the shipped one).
    marker_info : pylsl.StreamInfo, optional
        With it, trials come from this marker stream of the EEG stream (``paradigm`` only names
        the timing of the display) and the recording stops after ``max_trials`` cues, when the
        stream ends, or on abort.
    max_trials : int
        Cues to record from ``marker_info``.
    stimuli : StimulusSet, optional
        The user's stimuli (affective paradigms), one per block.
    """

    def __init__(
        self,
        eeg_info: pylsl.StreamInfo,
        paradigm: Paradigm,
        out_dir: Path,
        cv_folds: int = 5,
        cue_speed: float = 1.0,
        seed: int = 0,
        model: Path | None = None,
        marker_info: pylsl.StreamInfo | None = None,
        max_trials: int = STREAM_TRIALS,
        stimuli: StimulusSet | None = None,
    ) -> None:
        self.eeg_info = eeg_info
        self.stimuli = stimuli
        self.paradigm = paradigm
        self.out_dir = Path(out_dir).expanduser().resolve()  # shown in messages: absolute
        self.cv_folds = cv_folds
        self.cue_speed = cue_speed
        self.seed = seed
        self.model = model
        self.marker_info = marker_info
        self.max_trials = max_trials
        self.control = CalibrationControl()
        self._lock = threading.Lock()
        self._phase = "starting"
        self._message = f"{paradigm.summary()}; connecting the recorder"
        self._cues: MarkerReceiver | None = None
        self._fit_lines: deque[str] = deque(maxlen=200)
        self._fit_fraction: float | None = None
        self._report: dict[str, Any] | None = None
        self._recording: Path | None = None
        self._profile: Path | None = None
        self._proc: subprocess.Popen | None = None
        schedule = paradigm.schedule(seed)
        self._trial_classes = trial_classes(schedule)  # the class of each block, for prompts
        self._total_s = schedule[-1].t_s if schedule else 0.0  # schedule seconds
        if marker_info is not None:
            self._total_s = 0.0  # the stream decides
        self._thread = threading.Thread(target=self._run, name="calibration-job", daemon=True)

    # -- control (any thread) -------------------------------------------------------------------
    def start(self) -> CalibrationJob:
        """Start the run on its own thread (returns self)."""
        self._thread.start()
        return self

    def pause(self) -> None:
        """Hold the cues after the current trial (a stream's own markers cannot be held)."""
        if self.marker_info is None:
            self.control.pause()

    def resume(self) -> None:
        """Continue after a pause."""
        self.control.resume()

    def rate(self, valence: int, arousal: int) -> None:
        """Queue the latest block's self-assessment for the cue stream (returns at once).

        Raises
        ------
        ConfigError
            When a value is not an int from 1 to 9.
        """
        self.control.rate(valence, arousal)

    def abort(self) -> None:
        """Stop the cues (recording kept) or the fitting."""
        self.control.abort()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True when it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """True once the job is done, aborted or failed."""
        return self._phase in ("done", "aborted", "failed")

    @property
    def profile_path(self) -> Path | None:
        """The profile folder once a model is usable (before cross-validation ends)."""
        return self._profile

    # -- view -----------------------------------------------------------------------------------
    def view(self) -> CalibrationView:
        """The current state, for the cue view and the progress bars (any thread)."""
        with self._lock:
            phase, message = self._phase, self._message
            fit_lines, fraction = tuple(self._fit_lines), self._fit_fraction
            report, recording, profile = self._report, self._recording, self._profile
        if phase == "cues" and self.control.paused.is_set():
            phase = "paused"
        events = self._cues.events() if self._cues is not None else []
        annotated = events
        events = [e for e in events if not is_annotation(e.label)]
        name, classes, n_trials = self.paradigm.name, self.paradigm.class_names, 0
        if self.marker_info is not None:
            events = [_as_cue(e) for e in events]
            name, n_trials = FROM_MARKERS, self.max_trials
            classes = tuple(sorted({c for e in events if (c := class_of_marker(e.label))}))
        cue, age, duration, trial, elapsed = self._cue_state(events)
        affective = self._affective_state(annotated, cue, trial)
        return CalibrationView(
            phase=phase,
            paradigm=name,
            class_names=classes,
            cue=cue,
            cue_age_s=age,
            cue_duration_s=duration,
            trial=trial,
            n_trials=n_trials or self.paradigm.n_trials,
            elapsed_s=elapsed,
            total_s=self._total_s,
            fit_lines=fit_lines,
            fit_fraction=fraction,
            report=report,
            recording_path=str(recording) if recording else None,
            profile_path=str(profile) if profile else None,
            message=message,
            **affective,
        )

    def _affective_state(self, events: list, cue: str | None, trial: int) -> dict[str, Any]:
        """Prompt, stimulus, rating period and ratings of an affective paradigm's view."""
        if self.paradigm.family != AFFECTIVE or self.marker_info is not None:
            return {}
        blocks = block_ratings(events)
        ratings = tuple((b.block, b.valence, b.arousal) for b in blocks if b.rated)
        state: dict[str, Any] = {"ratings": ratings}
        name = class_of_marker(cue) if cue else None
        if cue == FIXATION and 0 < trial <= len(self._trial_classes):
            if self.stimuli is not None:  # the coming stimulus' kind is not known yet
                state["prompt"] = STIMULUS_FIXATION_PROMPT
            else:
                state["prompt"] = self.paradigm.prompt(self._trial_classes[trial - 1])
        elif name is not None:
            path = self._current_stimulus(events)
            state["stimulus"] = path
            state["prompt"] = trial_prompt(self.paradigm, name, path)
        elif cue == SELF_ASSESSMENT and blocks:
            state["rating_open"] = not blocks[-1].rated
        return state

    def _current_stimulus(self, events: list) -> str | None:
        """Absolute path of the stimulus announced after the latest cue, if any."""
        if self.stimuli is None:
            return None
        for event in reversed(events):
            if (path := parse_stimulus(event.label)) is not None:
                return str(self.stimuli.path(path))
            if class_of_marker(event.label) is not None:
                return None  # its stimulus marker has not arrived yet
        return None

    def _cue_state(self, events: list) -> tuple[str | None, float, float, int, float]:
        """Latest cue, its age and length (schedule seconds), trial number, session time."""
        if not events:
            return None, 0.0, 0.0, 0, 0.0
        now = local_clock()
        last = events[-1]
        start = next((e.timestamp for e in events if e.label == CALIB_START), events[0].timestamp)
        trial = sum(e.label == FIXATION for e in events)
        if self.marker_info is not None:  # a stream's own markers have no fixation
            trial = sum(class_of_marker(e.label) is not None for e in events)
        age = max(0.0, (now - last.timestamp) * self.cue_speed)
        p = self.paradigm
        durations = {
            CALIB_START: p.lead_in_s,
            FIXATION: p.fixation_s,
            REST: sum(p.rest_s) / 2,
            SELF_ASSESSMENT: sum(p.rest_s) / 2,
        }
        duration = durations.get(last.label, p.imagery_s if class_of_marker(last.label) else 0.0)
        end = last.timestamp if last.label in (CALIB_END, CALIB_ABORT, CALIB_PAUSE) else now
        return last.label, age, duration, trial, max(0.0, (end - start) * self.cue_speed)

    def _set(self, **fields: Any) -> None:
        with self._lock:
            for key, value in fields.items():
                setattr(self, f"_{key}", value)

    # -- the job thread -------------------------------------------------------------------------
    def _attach_cues(self, info: pylsl.StreamInfo) -> None:
        self._cues = MarkerReceiver(info).start()
        self._set(phase="cues", message=f"{self.paradigm.summary()}")

    def _detach_cues(self) -> None:
        """Close the cue stream's inlet before the stream ends (its markers stay readable)."""
        if self._cues is not None:
            self._cues.stop()

    def _record_markers(self) -> RecordedCalibration:
        """Record the stream with its own markers until enough cues, its end, or abort."""
        assert self.marker_info is not None
        self._cues = MarkerReceiver(self.marker_info).start()
        self._set(
            phase="cues",
            message=f"recording '{self.eeg_info.name()}' with its own cue markers: up to "
            f"{self.max_trials} trials, or until the stream ends (Abort stops and keeps it)",
        )
        return record_from_markers(
            self.eeg_info,
            self.marker_info,
            self.out_dir / "recording",
            STREAM_CUE_CLASSES,
            max_trials=self.max_trials,
            overwrite=True,
            control=self.control,
        )

    def _run(self) -> None:
        try:
            if self.marker_info is not None:
                recorded = self._record_markers()
            else:
                recorded = self._record_paradigm()
            self._set(recording=recorded.path)
            if not recorded.complete:
                self._set(phase="aborted", message=self._stopped_message(recorded))
                return
            self._fit(recorded.path)
        except NeurodeckError as exc:
            recording = self.out_dir / "recording"
            kept = f" What was recorded is kept in {recording}." if recording.exists() else ""
            self._set(phase="failed", message=f"{exc.problem} {exc.hint}{kept}".strip())
        except Exception as exc:  # a job must never die silently
            logger.exception("Calibration job failed")
            self._set(phase="failed", message=f"Calibration failed unexpectedly: {exc!r}")
        finally:
            if self._cues is not None:
                self._cues.stop()

    def _stopped_message(self, recorded: RecordedCalibration) -> str:
        """The aborted run's message: fit it later, or what a fit would need."""
        events = self._cues.events() if self._cues is not None else []
        labels = [_as_cue(e).label for e in events if not is_annotation(e.label)]
        counts = complete_trials(labels)
        classes: Sequence[str] = self.paradigm.class_names
        if self.marker_info is not None:  # the fitting takes the classes that were cued
            classes = sorted(counts)
        minimum = MIN_TRIALS_PER_CLASS.get(self.paradigm.family, 2)
        return stopped_message(
            recorded.reason, recorded.path, self.out_dir, counts, classes, minimum
        )

    def _record_paradigm(self) -> RecordedCalibration:
        """Play the paradigm's cues and record until its end (or abort)."""
        return record_paradigm(
            self.eeg_info,
            self.out_dir / "recording",
            self.paradigm,
            seed=self.seed,
            speed=self.cue_speed,
            overwrite=True,
            control=self.control,
            on_cue_stream=self._attach_cues,
            terminal=False,
            stimuli=self.stimuli,
            on_cue_stream_end=self._detach_cues,
        )

    def _fit(self, recording: Path) -> None:
        """Run ``neurodeck calibrate --recording`` in a child process and follow its progress."""
        self._set(phase="fitting", message="fitting the decoders (fine-tuning in the background)")
        args = ["calibrate", "--recording", str(recording)]
        args += ["--out", str(self.out_dir), "--cv-folds", str(self.cv_folds)]
        args += ["--seed", str(self.seed)]
        if self.model is not None:
            args += ["--model", str(self.model)]
        if self.paradigm.family == AFFECTIVE and self.marker_info is None:
            # the fitting follows the recording's family and epoch: hand it the paradigm
            spec = self.out_dir / "paradigm.toml"
            write_text_atomic(spec, self.paradigm.to_toml())
            args += ["--paradigm", str(spec)]
        if self.marker_info is not None and self._cues is not None:
            seen = {e.label for e in self._cues.events()} & set(STREAM_CUE_CLASSES)
            args += ["--classes", *(f"{m}={STREAM_CUE_CLASSES[m]}" for m in sorted(seen))]
        t0 = time.perf_counter()
        proc = spawn(args, pipe_output=True, single_thread=True).proc
        self._proc = proc
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip()
            if not line or "ERR|" in line:
                continue
            with self._lock:
                self._fit_lines.append(line.strip())
                self._fit_fraction = fit_fraction(line, self._fit_fraction)
                if "model ready" in line:
                    self._profile = self.out_dir
        code = proc.wait()
        if self.control.aborted.is_set():
            self._set(
                phase="aborted",
                message=f"Fitting stopped. The recording is kept in {recording}; fit it later "
                f"with: neurodeck calibrate --recording {recording} --out {self.out_dir}",
            )
            return
        if code != 0:
            last = " ".join(list(self._fit_lines)[-2:])
            self._set(phase="failed", message=f"Fitting failed: {last}")
            return
        report = json.loads((self.out_dir / "report.json").read_text(encoding="utf-8"))
        self._set(
            phase="done",
            report=report,
            profile=self.out_dir,
            fit_fraction=1.0,
            message=f"Profile written to {self.out_dir} in {time.perf_counter() - t0:.0f} s; "
            f"it decodes with the {report.get('decoder', '?')} decoder.",
        )
