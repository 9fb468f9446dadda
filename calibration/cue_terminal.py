"""The terminal display of cues: what a calibration run from the command line shows and asks.

:class:`TerminalCueDisplay` reads the cue marker stream of a
:class:`~neurodeck.calibration.cues.CuePlayer` and writes one text line per marker as it arrives
(:func:`render_cue`, with the class prompts of :data:`CLASS_PROMPTS`), on pipes and files as well as
terminals, with ANSI colour only on a terminal. For affective paradigms it also prints each block's
prompt (what to recall, or how to take in the stimulus) and, when the input is a terminal, asks for
the self-assessment ratings, read line by line with a timeout so that the cues never wait for them.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self, TextIO

import pylsl
from neurodeck.calibration.cues import paradigm_from_info
from neurodeck.calibration.emotion import (
    SAM_MAX,
    SAM_MIN,
    SAM_SCALES,
    STIMULUS_FIXATION_PROMPT,
    parse_rating,
    parse_stimulus,
    stimulus_kind,
    trial_classes,
    trial_prompt,
)
from neurodeck.calibration.paradigm import (
    CALIB_ABORT,
    CALIB_END,
    CALIB_PAUSE,
    CALIB_RESUME,
    CALIB_START,
    FIXATION,
    REST,
    SELF_ASSESSMENT,
    Paradigm,
    class_of_marker,
)
from neurodeck.common.types import AFFECTIVE, StreamNotFoundError

logger = logging.getLogger(__name__)

#: How the terminal shows each class: (symbol, title, instruction).
CLASS_PROMPTS: dict[str, tuple[str, str, str]] = {
    "left": ("<<", "LEFT HAND", "imagine squeezing your left hand"),
    "right": (">>", "RIGHT HAND", "imagine squeezing your right hand"),
    "feet": ("vv", "BOTH FEET", "imagine pressing both feet down"),
    "tongue": ("^^", "TONGUE", "imagine moving your tongue"),
    "rest": ("..", "REST", "relax, imagine no movement"),
    "negative": ("--", "NEGATIVE", "relive the memory until the tone"),
    "neutral": ("==", "NEUTRAL", "relive the memory until the tone"),
    "positive": ("++", "POSITIVE", "relive the memory until the tone"),
}

_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def class_prompt(class_name: str) -> tuple[str, str, str]:
    """``(symbol, title, instruction)`` shown for a class (a generic one for unknown classes)."""
    return CLASS_PROMPTS.get(
        class_name, ("**", class_name.upper(), f"perform the '{class_name}' task")
    )


def render_cue(label: str, trial: int, n_trials: int | None) -> str | None:
    """The terminal line for a marker, or None for markers that are not shown.

    Parameters
    ----------
    label : str
        The marker.
    trial : int
        Number of the current trial from 1 (the count of ``fixation`` markers so far).
    n_trials : int or None
        Trials in the session (None when unknown: shown as ``?``).

    Examples
    --------
    >>> render_cue("cue_left", 3, 40)
    '[ 3/40]  <<  LEFT HAND  (imagine squeezing your left hand)'
    """
    total = str(n_trials) if n_trials else "?"
    prefix = f"[{trial:>{max(2, len(total))}}/{total}]"
    if label == CALIB_START:
        return f"calibration started: {n_trials} trials" if n_trials else "calibration started"
    if label == FIXATION:
        return f"{prefix}  +   fixation: look at the cross, keep still"
    if label == REST:
        return f"{prefix}  -   rest: relax, blink"
    if label == CALIB_END:
        return "calibration finished"
    if label == CALIB_ABORT:
        return "calibration aborted"
    if label == CALIB_PAUSE:
        return "paused: relax, move if you need to"
    if label == CALIB_RESUME:
        return "resuming: get ready"
    if label == SELF_ASSESSMENT:
        return f"{prefix}  ?   rate how you felt: valence and arousal, {SAM_MIN}-{SAM_MAX}"
    rating = parse_rating(label)
    if rating is not None:
        return f"{prefix}      rating saved: valence {rating.valence}, arousal {rating.arousal}"
    stimulus = parse_stimulus(label)
    if stimulus is not None:
        return f"{prefix}      stimulus: {stimulus}"
    class_name = class_of_marker(label)
    if class_name is None:
        return None
    symbol, title, instruction = class_prompt(class_name)
    return f"{prefix}  {symbol:<2}  {title}  ({instruction})"


def _wants_colour(stream: TextIO) -> bool:
    """ANSI colour only on a terminal, and never with ``NO_COLOR`` set."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached stream
        return False


class _LineReader:
    """Lines typed on an input stream, each waited for with a timeout, without blocking forever.

    On POSIX the stream's file descriptor is polled with ``select`` and read with ``os.read``
    into a buffer of its own (nothing is read while no rating is asked for). Elsewhere, or for
    streams without a descriptor, one daemon thread reads lines into a queue.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._fd: int | None = None
        try:
            if os.name == "posix":
                self._fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None
        self._buffer = b""
        self._lines: queue.Queue[str] = queue.Queue()
        self._thread: threading.Thread | None = None

    def discard(self) -> None:
        """Forget what was typed before now (a stray Enter must not answer the next question)."""
        if self._fd is not None:
            while select.select([self._fd], [], [], 0)[0]:
                if not os.read(self._fd, 4096):
                    break
            self._buffer = b""
        while not self._lines.empty():
            self._lines.get_nowait()

    def readline(self, timeout_s: float, stop: threading.Event) -> str | None:
        """The next line without its newline, or None after ``timeout_s`` (or on ``stop``)."""
        deadline = time.monotonic() + timeout_s
        if self._fd is None:
            return self._readline_threaded(deadline, stop)
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or stop.is_set():
                return None
            if select.select([self._fd], [], [], min(remaining, 0.1))[0]:
                chunk = os.read(self._fd, 4096)
                if not chunk:  # end of input
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", errors="replace")

    def _readline_threaded(self, deadline: float, stop: threading.Event) -> str | None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._pump, name="rating-input", daemon=True)
            self._thread.start()
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                return self._lines.get(timeout=min(remaining, 0.1)).rstrip("\r\n")
            except queue.Empty:
                continue
        return None

    def _pump(self) -> None:
        for line in iter(self._stream.readline, ""):
            self._lines.put(line)


class TerminalCueDisplay:
    """Shows the cues of an LSL cue stream as text lines, one per marker, as they arrive.

    For affective paradigms it also prints each block's prompt (what to recall, or how to take
    in the stimulus) at its ``fixation`` and cue, and at each ``self_assessment`` it asks for
    the valence and arousal ratings (1-9) on ``input_stream`` when that is a terminal, in a
    thread of its own (the cues never wait for it) and for at most ``rating_timeout_s``; each
    complete rating goes to ``on_rating``. Without a terminal it says that ratings are skipped.

    Parameters
    ----------
    info : pylsl.StreamInfo
        The resolved cue stream (for example
        ``resolve_stream(name="neurodeck-cues", stream_type="Markers")``).
    stream : text stream, optional
        Where to write (default ``sys.stdout``). Works on pipes and files: no cursor control;
        ANSI colour only when it is a terminal (and ``NO_COLOR`` is unset).
    n_trials : int, optional
        Trials in the session; default: read from the stream header.
    colour : bool, optional
        Force colour on or off.
    paradigm : Paradigm, optional
        The paradigm played; default: read from the stream header (``desc/paradigm_json``).
    seed : int, optional
        Its schedule's seed (which class each block has); default: from the header.
    on_rating : callable, optional
        Called as ``on_rating(valence, arousal)`` from the rating thread, for example
        :meth:`CuePlayer.rate <calibration.cues.CuePlayer.rate>`. Without it ratings are not
        asked for.
    input_stream : text stream, optional
        Where ratings are typed (default ``sys.stdin``); asked only when it is a terminal.
    rating_timeout_s : float, optional
        Longest wait for a rating, wall seconds; default: the shortest break of the paradigm
        divided by the stream's replay speed, so that asking never runs into the next block.

    Notes
    -----
    Trials are counted by ``fixation`` markers. :meth:`start` connects and starts a thread that
    pulls and writes; it ends by itself after ``calib_end`` or ``calib_abort``.
    """

    def __init__(
        self,
        info: pylsl.StreamInfo,
        stream: TextIO | None = None,
        n_trials: int | None = None,
        colour: bool | None = None,
        paradigm: Paradigm | None = None,
        seed: int | None = None,
        on_rating: Callable[[int, int], object] | None = None,
        input_stream: TextIO | None = None,
        rating_timeout_s: float | None = None,
    ) -> None:
        self._info = info
        self._stream = stream if stream is not None else sys.stdout
        self.n_trials = n_trials
        self.colour = _wants_colour(self._stream) if colour is None else colour
        self.trial = 0
        self.paradigm = paradigm
        self.seed = seed
        self.speed = 1.0
        self.stimuli_root: Path | None = None
        self.on_rating = on_rating
        self.rating_timeout_s = rating_timeout_s
        self._input = input_stream if input_stream is not None else sys.stdin
        self._reader: _LineReader | None = None
        self._rating_thread: threading.Thread | None = None
        self._said_no_tty = False
        self._write_lock = threading.Lock()
        self._finished = threading.Event()
        self._stop = threading.Event()
        self._inlet: pylsl.StreamInlet | None = None
        self._thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        """True once ``calib_end`` or ``calib_abort`` was shown."""
        return self._finished.is_set()

    @property
    def affective(self) -> bool:
        """True when the paradigm is of the affective family (prompts and ratings)."""
        return self.paradigm is not None and self.paradigm.family == AFFECTIVE

    def start(self, timeout_s: float = 5.0) -> Self:
        """Connect to the cue stream and start showing (returns self).

        Markers pushed before the connection are not shown.

        Raises
        ------
        StreamNotFoundError
            When the stream cannot be opened within ``timeout_s``.

        Notes
        -----
        Called from the owner's thread; blocks until connected.
        """
        if self._thread is not None:
            raise RuntimeError("The display was already started.")
        inlet = pylsl.StreamInlet(self._info, recover=True)
        try:
            inlet.open_stream(timeout=timeout_s)
            full_info = inlet.info(timeout=timeout_s)
        except RuntimeError:  # pylsl's TimeoutError or LostError
            raise StreamNotFoundError(
                f"Could not connect to the cue stream '{self._info.name()}' within "
                f"{timeout_s:g} s.",
                "Check that the calibration (cue player) is running.",
            ) from None
        self.read_header(full_info)
        self._inlet = inlet
        self._thread = threading.Thread(
            target=self._run, args=(inlet,), name=f"cue-display-{self._info.name()}", daemon=True
        )
        self._thread.start()
        return self

    def read_header(self, info: pylsl.StreamInfo) -> None:
        """Take what was not given from a cue stream's full header: the paradigm, the trial
        count, the seed, the replay speed and the stimuli folder."""
        desc = info.desc()
        if self.paradigm is None:
            self.paradigm = paradigm_from_info(info)
        if self.n_trials is None and self.paradigm is not None:
            self.n_trials = self.paradigm.n_trials
        for key, convert, attr in (("seed", int, "seed"), ("replay_speed", float, "speed")):
            text = desc.child_value(key)
            if text and (attr != "seed" or self.seed is None):
                try:
                    setattr(self, attr, convert(text))
                except ValueError:
                    logger.warning("Cue stream header has an unreadable %s: %r", key, text)
        root = desc.child_value("stimuli_root")
        if root and self.stimuli_root is None:
            self.stimuli_root = Path(root)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session ended (``calib_end`` or ``calib_abort``); False on timeout."""
        return self._finished.wait(timeout)

    def stop(self) -> None:
        """Stop showing and disconnect (idempotent)."""
        self._stop.set()
        for thread in (self._thread, self._rating_thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(2.0)
        if self._inlet is not None:
            try:
                self._inlet.close_stream()
            except Exception:  # pragma: no cover - best effort on shutdown
                logger.debug("cue display close_stream failed", exc_info=True)
            self._inlet = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def show(self, label: str) -> str | None:
        """Count, render and write one marker; returns the text written (None if not shown).

        Notes
        -----
        Called from the display thread (or directly, without LSL, in tests).
        """
        if label == FIXATION:
            self.trial += 1
        line = render_cue(label, self.trial, self.n_trials)
        if label in (CALIB_END, CALIB_ABORT):
            self._finished.set()
        if line is None:
            return None
        if self.affective:
            line = self._affective_text(label, line)
        styled = self._style(label, line)
        if label == SELF_ASSESSMENT and _is_tty(self._stream):
            styled = "\a" + styled  # the end-of-block tone: the eyes may be closed
        self._write(styled + "\n")
        if label == SELF_ASSESSMENT and self.affective:
            self._start_rating()
        return line

    # -- affective ----------------------------------------------------------------------------
    def _trial_class(self) -> str | None:
        """The class of the current trial, from the schedule (fixation markers carry none)."""
        if self.paradigm is None or self.seed is None or self.trial < 1:
            return None
        classes = trial_classes(self.paradigm.schedule(self.seed))
        return classes[self.trial - 1] if self.trial <= len(classes) else None

    def _affective_text(self, label: str, line: str) -> str:
        """``line`` with the prompt of the block (fixation, cue) or the stimulus' path."""
        assert self.paradigm is not None
        indent = " " * 8
        wrap = lambda text: textwrap.fill(  # noqa: E731
            text, width=96, initial_indent=indent, subsequent_indent=indent
        )
        stimuli = self.stimuli_root is not None
        if label == FIXATION:
            if stimuli:
                return f"{line}\n{wrap(STIMULUS_FIXATION_PROMPT)}"
            prompt = trial_prompt(self.paradigm, self._trial_class())
            how = "read this, then close your eyes and relive it until the tone:"
            return f"{line}\n{wrap(how)}\n{wrap(prompt)}" if prompt else line
        if (name := class_of_marker(label)) is not None:
            if stimuli:
                return line.split("(")[0] + "(look at the stimulus and let yourself feel it)"
            prompt = trial_prompt(self.paradigm, name)
            return f"{line}\n{wrap(prompt)}" if prompt else line
        if (path := parse_stimulus(label)) is not None and self.stimuli_root is not None:
            kind = stimulus_kind(path) or "file"
            return (  # the path unwrapped, on a line of its own, to be copied
                f"{line}\n{wrap(trial_prompt(self.paradigm, None, path))}\n"
                f"{indent}({kind}, which the terminal cannot show: {self.stimuli_root / path})"
            )
        return line

    def _start_rating(self) -> None:
        """Ask for the block's rating in a thread of its own, or say why not."""
        if self.on_rating is None:
            return
        if not _is_tty(self._input):
            if not self._said_no_tty:
                self._said_no_tty = True
                self._write(
                    "        ratings skipped: the input is not a terminal (run the calibration "
                    "in a terminal, or rate in the dashboard)\n"
                )
            return
        if self._rating_thread is not None and self._rating_thread.is_alive():
            return
        timeout_s = self.rating_timeout_s
        if timeout_s is None:
            rest_s = self.paradigm.rest_s[0] if self.paradigm is not None else 20.0
            timeout_s = rest_s / max(self.speed, 1e-9)
        self._rating_thread = threading.Thread(
            target=self._ask_rating, args=(timeout_s,), name="cue-display-rating", daemon=True
        )
        self._rating_thread.start()

    def _ask_rating(self, timeout_s: float) -> None:
        """Body of the rating thread: both scales, then ``on_rating``."""
        try:
            if self._reader is None:
                self._reader = _LineReader(self._input)
            self._reader.discard()
            deadline = time.monotonic() + timeout_s
            values = []
            for scale, low, high in SAM_SCALES:
                question = f"        {scale}: {SAM_MIN} {low} .. {SAM_MAX} {high} (Enter skips)? "
                value = self._ask(question, deadline)
                if value is None:
                    self._write("        no rating for this block\n")
                    return
                values.append(value)
            assert self.on_rating is not None
            self.on_rating(values[0], values[1])
        except Exception:
            logger.exception("Asking for a rating failed (the cues go on).")

    def _ask(self, question: str, deadline: float) -> int | None:
        """One scale's value, asked until valid; None on Enter, timeout or stop."""
        assert self._reader is not None
        while True:
            self._write(question)
            line = self._reader.readline(deadline - time.monotonic(), self._stop)
            if line is None:
                self._write("\n")
                return None
            text = line.strip()
            if not text:
                return None
            if text.isdigit() and SAM_MIN <= int(text) <= SAM_MAX:
                return int(text)
            self._write(f"        please type a whole number from {SAM_MIN} to {SAM_MAX}\n")

    # -- output -------------------------------------------------------------------------------
    def _write(self, text: str) -> None:
        with self._write_lock:
            self._stream.write(text)
            self._stream.flush()

    def _style(self, label: str, line: str) -> str:
        if not self.colour:
            return line
        if class_of_marker(label) is not None or label in (CALIB_END, CALIB_ABORT):
            return f"{_BOLD}{line}{_RESET}"
        return f"{_DIM}{line}{_RESET}"

    def _run(self, inlet: pylsl.StreamInlet) -> None:
        while not self._stop.is_set() and not self._finished.is_set():
            try:
                sample, _ = inlet.pull_sample(timeout=0.05)
                if sample:
                    self.show(str(sample[0]))
            except Exception:
                logger.exception("Cue display fault (thread keeps running)")
                time.sleep(0.1)
