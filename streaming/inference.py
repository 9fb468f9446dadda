"""Inference worker: decode the newest window on its own thread, never queueing stale ones."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from common.types import Prediction, Window
from streaming.latency import LatencySummary, LatencyTracker
from streaming.lsl_io import local_clock
from streaming.ring_buffer import RingBuffer
from streaming.runner import ModelRunner, RunnerOptions
from streaming.scheduler import WindowScheduler

logger = logging.getLogger(__name__)

PredictionSink = Callable[[Prediction], None]

__all__ = ["InferenceWorker", "ModelRunner", "PredictionSink", "RunnerOptions", "WorkerStatus"]


@dataclass(frozen=True)
class WorkerStatus:
    """Counters of an :class:`InferenceWorker`."""

    n_predictions: int
    dropped_skipped: int
    dropped_stale: int
    dropped_invalid: int
    n_faults: int
    device: str
    latency: LatencySummary
    message: str = ""

    @property
    def dropped(self) -> int:
        """All windows that were due but not decoded."""
        return self.dropped_skipped + self.dropped_stale + self.dropped_invalid


class InferenceWorker:
    """Decodes the newest complete window whenever new data arrive, on its own thread.

    At most one window is in flight: while the model runs, newer grid windows are not queued; the
    next iteration takes only the newest and counts the ones in between as skipped. A window whose
    last sample was pulled more than ``deadline_s`` ago is dropped (stale) rather than decoded.

    Parameters
    ----------
    runner : ModelRunner
        The model on its device.
    class_names : sequence of str
        Class labels in the model's order.
    buffer : RingBuffer
        Preprocessed samples at the model's rate.
    data_event : threading.Event
        Set by the acquisition thread after each write.
    scheduler : WindowScheduler
        Window grid.
    sfreq : float
        Rate of ``buffer``.
    bad_until : callable
        Returns the index before which windows are invalid (gaps, NaN, filter settling).
    sinks : sequence of callables
        Each receives every :class:`Prediction` (called on this thread; must not block).
    deadline_s : float or None
        Staleness limit measured from the window's pull time.
    label_at : callable, optional
        ``f(t_last) -> str | None`` giving the true cue (replay) for each prediction.
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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)
        self._n = 0
        self._stale = 0
        self._invalid = 0
        self._faults = 0
        self._message = ""
        self.on_fault: Callable[[BaseException], None] | None = None

    def start(self) -> InferenceWorker:
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
            self._n,
            self.scheduler.n_skipped,
            self._stale,
            self._invalid,
            self._faults,
            str(self.runner.device),
            self.latency.summary(),
            self._message,
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
        """Decode the newest due window, if any (also usable synchronously, offline)."""
        end = self.scheduler.due(self.buffer.n_written)
        if end is None:
            return None
        window = self._cut(end)
        if window is None:
            return None
        probs = self.runner.predict_proba(window.data[None])[0]
        t_out = local_clock()
        true = self.label_at(window.t_last) if self.label_at is not None else None
        pred = Prediction(
            tuple(float(p) for p in probs),
            self.class_names,
            window.t_last,
            window.t_recv,
            t_out,
            window.end_index,
            self._n,
            true,
        )
        self._n += 1
        self.recent.append(pred)
        self.latency.add(pred)
        for sink in self.sinks:
            sink(pred)
        return pred

    def _cut(self, end: int) -> Window | None:
        n = self.scheduler.window_n
        if end - n < self.bad_until():
            self._invalid += 1
            return None
        got = self.buffer.read(end, n)
        if got is None:  # overwritten: counted as an overrun by the buffer
            self._stale += 1
            return None
        data, stamps, recv = got
        if self.deadline_s is not None and local_clock() - recv[-1] > self.deadline_s:
            self._stale += 1
            return None
        return Window(data, end, float(stamps[-1]), float(recv[-1]), self.sfreq)
