"""Inference worker: decode the newest window on its own thread, never queueing stale ones."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
from neurodeck.common.types import Prediction, Window
from neurodeck.streaming.latency import LatencySummary, LatencyTracker
from neurodeck.streaming.lsl_io import local_clock
from neurodeck.streaming.ring_buffer import RingBuffer
from neurodeck.streaming.runner import ModelRunner, RunnerOptions
from neurodeck.streaming.scheduler import WindowScheduler

logger = logging.getLogger(__name__)

PredictionSink = Callable[[Prediction], None]

__all__ = ["InferenceWorker", "ModelRunner", "PredictionSink", "RunnerOptions", "WorkerStatus"]


@dataclass(frozen=True)
class WorkerStatus:
    """Counters of an :class:`InferenceWorker`.

    ``runner`` is :meth:`ModelRunner.describe` (device, precision, CUDA graphs, CPU threads).
    ``n_windows`` counts every window of the grid since the first: each one is a prediction, a
    dropped window (skipped, stale or invalid) or a fault, so
    ``n_predictions + dropped + n_faults == n_windows`` once the worker is idle.
    """

    n_predictions: int
    dropped_skipped: int
    dropped_stale: int
    dropped_invalid: int
    n_faults: int
    device: str
    latency: LatencySummary
    message: str = ""
    runner: str = ""
    n_windows: int = 0

    @property
    def dropped(self) -> int:
        """All windows that were due but not decoded."""
        return self.dropped_skipped + self.dropped_stale + self.dropped_invalid


class InferenceWorker:
    """Decodes the newest complete window whenever new data arrive, on its own thread.

    At most one window is in flight: while the model runs, newer grid windows are not queued; the
    next iteration takes only the newest and counts the ones in between as skipped. A window whose
    last sample is older than ``deadline_s`` (its timestamp, on the local LSL clock, against
    now) is dropped as stale rather than decoded late: after a stalled source resumes, its
    backlog is dropped, not decoded seconds late. A window whose probabilities are not finite is
    dropped as invalid: a NaN never reaches a sink.

    Parameters
    ----------
    runner : ModelRunner
        The model on its device.
    class_names : sequence of str
        Class labels in the model's order.
    buffer : RingBuffer
        Preprocessed samples at the model's rate, shape ``(n_channels, capacity)``.
    data_event : threading.Event
        Set by the acquisition thread after each write; the thread also wakes every 0.1 s.
    scheduler : WindowScheduler
        Window grid.
    sfreq : float
        Rate of ``buffer``.
    bad_until : callable
        Returns the index before which windows are invalid (gaps, NaN, filter settling).
    sinks : sequence of callables
        Each receives every :class:`Prediction` (called on this thread; must not block).
    deadline_s : float or None
        Staleness limit, seconds from the window's last sample time to the moment it would be
        decoded (None: no limit).
    label_at : callable, optional
        ``f(t_last) -> str | None`` giving the true cue (replay) for each prediction.
    history : int
        Predictions kept in :attr:`recent`.

    Notes
    -----
    Counters, :attr:`latency` and :attr:`recent` are written by the inference thread and may be
    read from any.
    """

    def __init__(
        self,
        runner: ModelRunner,
        class_names: Sequence[str],
        buffer: RingBuffer,
        data_event: threading.Event,
        scheduler: WindowScheduler,
        sfreq: float,
        bad_until: Callable[[], int] = lambda: 0,
        sinks: Sequence[PredictionSink] = (),
        deadline_s: float | None = 0.5,
        label_at: Callable[[float], str | None] | None = None,
        history: int = 600,
    ) -> None:
        self.runner = runner
        self.class_names = tuple(class_names)
        self.buffer = buffer
        self.data_event = data_event
        self.scheduler = scheduler
        self.sfreq = float(sfreq)
        self.bad_until = bad_until
        self.sinks = list(sinks)
        self.deadline_s = deadline_s
        self.label_at = label_at
        self.latency = LatencyTracker()
        self.recent: deque[Prediction] = deque(maxlen=history)
        self.n_predictions = 0
        self.dropped_stale = 0
        self.dropped_invalid = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)
        self._faults = 0
        self._message = ""
        self.on_fault: Callable[[BaseException], None] | None = None

    def start(self) -> Self:
        """Warm the model up and start the thread (returns self)."""
        self.runner.warm_up(self.buffer.n_channels, self.scheduler.window_n)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (the window in flight finishes first)."""
        self._stop.set()
        self.data_event.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    @property
    def latest(self) -> Prediction | None:
        """Most recent prediction."""
        return self.recent[-1] if self.recent else None

    def status(self) -> WorkerStatus:
        """Counters and latency figures (any thread)."""
        return WorkerStatus(
            self.n_predictions,
            self.scheduler.n_skipped,
            self.dropped_stale,
            self.dropped_invalid,
            self._faults,
            str(self.runner.device),
            self.latency.summary(),
            self._message,
            self.runner.describe(),
            self.scheduler.n_due,
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.data_event.wait(0.1)
            self.data_event.clear()
            try:
                self.step()
            except Exception as exc:  # a fault is reported; the worker keeps running
                self._faults += 1
                self._message = f"inference fault: {exc!r}"
                logger.exception("Inference worker fault (worker keeps running)")
                if self.on_fault is not None:
                    self.on_fault(exc)

    def step(self) -> Prediction | None:
        """Decode the newest due window, if any (also usable synchronously, offline).

        Returns
        -------
        prediction : Prediction or None
            None when no window was due, or when it was dropped (and counted).

        Raises
        ------
        Exception
            A model error, or the first exception of a sink (after the prediction was recorded).
        """
        window = self._next_window()
        if window is None:
            return None
        probs = self.runner.predict_proba(window.data[None])  # (1, chans, times) -> (1, classes)
        if not np.all(np.isfinite(probs)):
            self.dropped_invalid += 1
            if not self._message:
                self._message = (
                    "the model produced non-finite probabilities; those windows are dropped "
                    "(counted as invalid) and never published"
                )
                logger.warning("Non-finite model output at window %d: dropped.", window.end_index)
            return None
        return self._deliver(probs[0], window, local_clock())

    def _next_window(self) -> Window | None:
        """The newest due window, or None (nothing due, or dropped and counted).

        Returns
        -------
        window : Window or None
            ``window.data`` has shape ``(n_channels, n_samples)``, float32.
        """
        end = self.scheduler.due(self.buffer.n_written)
        if end is None:
            return None
        n = self.scheduler.window_n
        if end - n < self.bad_until():
            self.dropped_invalid += 1
            return None
        got = self.buffer.read(end, n)
        if got is None:  # overwritten: counted as an overrun by the buffer
            self.dropped_stale += 1
            return None
        data, stamps, recv = got
        window = Window(data, end, float(stamps[-1]), float(recv[-1]), self.sfreq)
        if self.deadline_s is None or local_clock() - window.t_last <= self.deadline_s:
            return window
        self.dropped_stale += 1  # its newest sample is older than deadline_s
        return None

    def _deliver(self, probabilities: np.ndarray, window: Window, t_out: float) -> Prediction:
        """Make the prediction of ``window``, record it, and hand it to the sinks.

        Parameters
        ----------
        probabilities : ndarray, shape (n_classes,)
        window : Window
        t_out : float
            ``local_clock()`` when the probabilities existed on the host.
        """
        true = self.label_at(window.t_last) if self.label_at is not None else None
        pred = Prediction(
            tuple(float(p) for p in probabilities),
            self.class_names,
            window.t_last,
            window.t_recv,
            t_out,
            window.end_index,
            self.n_predictions,
            true,
        )
        self.n_predictions += 1
        self.recent.append(pred)
        self.latency.add(pred)
        for sink in self.sinks:
            sink(pred)
        return pred
