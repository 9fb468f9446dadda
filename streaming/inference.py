"""Inference worker: decode the newest window on its own thread, never queueing stale ones.

The parts every worker shares live here as small pieces: a :class:`Lane` is one stream's decoding
state (buffer, window grid, validity, sinks, latency, counters) and cuts its newest due window;
:func:`decode_batch` runs windows of one shape through the model in one call and hands each lane
its :class:`~common.types.Prediction`; :class:`DecodeThread` is the thread loop with warm-up and
fault reporting. :class:`InferenceWorker` serves one lane; :class:`streaming.batching.
BatchedInferenceWorker` serves several with one model.
"""

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

__all__ = [
    "DecodeThread",
    "InferenceWorker",
    "Lane",
    "ModelRunner",
    "PredictionSink",
    "RunnerOptions",
    "WorkerStatus",
    "decode_batch",
]


@dataclass(frozen=True)
class WorkerStatus:
    """Counters of an :class:`InferenceWorker` (or of one lane of a batched worker).

    ``runner`` is :meth:`ModelRunner.describe` (device, precision, CUDA graphs, CPU threads).
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

    @property
    def dropped(self) -> int:
        """All windows that were due but not decoded."""
        return self.dropped_skipped + self.dropped_stale + self.dropped_invalid


class Lane:
    """One stream's decoding state: where its windows come from and where its predictions go.

    Parameters
    ----------
    class_names : sequence of str
        Class labels in the model's order.
    buffer : RingBuffer
        Preprocessed samples at the model's rate, shape ``(n_channels, capacity)``.
    scheduler : WindowScheduler
        Window grid.
    sfreq : float
        Rate of ``buffer``.
    bad_until : callable
        Returns the index before which windows are invalid (gaps, NaN, filter settling).
    sinks : sequence of callables
        Each receives every :class:`Prediction` of this lane (called on the inference thread;
        must not block).
    label_at : callable, optional
        ``f(t_last) -> str | None`` giving the true cue (replay) for each prediction.
    history : int
        Predictions kept in :attr:`recent`.
    name : str
        Label in logs and statuses.

    Notes
    -----
    Counters and :attr:`recent` are written by the inference thread and may be read from any.
    """

    def __init__(
        self,
        class_names: Sequence[str],
        buffer: RingBuffer,
        scheduler: WindowScheduler,
        sfreq: float,
        bad_until: Callable[[], int] = lambda: 0,
        sinks: Sequence[PredictionSink] = (),
        label_at: Callable[[float], str | None] | None = None,
        history: int = 600,
        name: str = "",
    ) -> None:
        self.class_names = tuple(class_names)
        self.buffer = buffer
        self.scheduler = scheduler
        self.sfreq = float(sfreq)
        self.bad_until = bad_until
        self.sinks = list(sinks)
        self.label_at = label_at
        self.name = name
        self.latency = LatencyTracker()
        self.recent: deque[Prediction] = deque(maxlen=history)
        self.n_predictions = 0
        self.dropped_stale = 0
        self.dropped_invalid = 0

    @property
    def window_shape(self) -> tuple[int, int]:
        """``(n_channels, n_samples)`` of this lane's windows."""
        return self.buffer.n_channels, self.scheduler.window_n

    @property
    def latest(self) -> Prediction | None:
        """Most recent prediction."""
        return self.recent[-1] if self.recent else None

    def next_window(self, deadline_s: float | None) -> Window | None:
        """The newest due window, or None (nothing due, or dropped and counted).

        Parameters
        ----------
        deadline_s : float or None
            A window whose last sample was pulled more than this long ago is stale.

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
        return None if self.drop_if_stale(window, deadline_s) else window

    def drop_if_stale(self, window: Window, deadline_s: float | None) -> bool:
        """True (and counted) when ``window`` was pulled more than ``deadline_s`` ago."""
        if deadline_s is None or local_clock() - window.t_recv <= deadline_s:
            return False
        self.dropped_stale += 1
        return True

    def deliver(self, probabilities: np.ndarray, window: Window, t_out: float) -> Prediction:
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

    def status(self, runner: ModelRunner, n_faults: int = 0, message: str = "") -> WorkerStatus:
        """This lane's counters and latency figures (any thread)."""
        return WorkerStatus(
            self.n_predictions,
            self.scheduler.n_skipped,
            self.dropped_stale,
            self.dropped_invalid,
            n_faults,
            str(runner.device),
            self.latency.summary(),
            message,
            runner.describe(),
        )


def decode_batch(runner: ModelRunner, items: Sequence[tuple[Lane, Window]]) -> list[Prediction]:
    """Decode windows of one shape in one model call; each lane gets its prediction.

    Parameters
    ----------
    runner : ModelRunner
    items : sequence of (Lane, Window)
        Windows of one shape ``(n_channels, n_samples)``, stacked into ``(k, n_channels,
        n_samples)`` for :meth:`ModelRunner.predict_proba`.

    Returns
    -------
    predictions : list of Prediction
        In the order of ``items``.

    Raises
    ------
    Exception
        The first exception a lane's sink raised, after every other lane got its prediction.
    """
    if not items:
        return []
    if len(items) == 1:
        x = items[0][1].data[None]  # (1, chans, times), no copy
    else:
        x = np.stack([window.data for _, window in items])  # (k, chans, times)
    probs = runner.predict_proba(x)  # (k, classes)
    t_out = local_clock()
    predictions: list[Prediction] = []
    failure: Exception | None = None
    for (lane, window), row in zip(items, probs, strict=True):
        try:
            predictions.append(lane.deliver(row, window, t_out))
        except Exception as exc:  # one lane's broken sink must not starve the others
            failure = failure or exc
    if failure is not None:
        raise failure
    return predictions


class DecodeThread:
    """The inference thread: wake on new data, :meth:`step`, report faults, keep running.

    Parameters
    ----------
    runner : ModelRunner
        The model on its device.
    data_event : threading.Event
        Set by the writer(s) after each write; the thread also wakes every 0.1 s.
    name : str
        Thread name.

    Notes
    -----
    Subclasses implement :meth:`step` and :meth:`_warm_up`.
    """

    def __init__(self, runner: ModelRunner, data_event: threading.Event, name: str) -> None:
        self.runner = runner
        self.data_event = data_event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._faults = 0
        self._message = ""
        self.on_fault: Callable[[BaseException], None] | None = None

    def start(self) -> Self:
        """Warm the model up and start the thread (returns self)."""
        self._warm_up()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (the batch in flight finishes first)."""
        self._stop.set()
        self.data_event.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def _warm_up(self) -> None:
        raise NotImplementedError

    def step(self) -> object:
        """Decode what is due (also usable synchronously, offline)."""
        raise NotImplementedError

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


class InferenceWorker(DecodeThread):
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
    history : int
        Predictions kept in :attr:`recent`.
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
        super().__init__(runner, data_event, "inference")
        self.lane = Lane(class_names, buffer, scheduler, sfreq, bad_until, sinks, label_at, history)
        self.deadline_s = deadline_s

    # the lane's parts, under the names this class always had
    @property
    def buffer(self) -> RingBuffer:
        """Preprocessed samples the windows are cut from."""
        return self.lane.buffer

    @property
    def scheduler(self) -> WindowScheduler:
        """Window grid."""
        return self.lane.scheduler

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class labels in the model's order."""
        return self.lane.class_names

    @property
    def sinks(self) -> list[PredictionSink]:
        """Receivers of every prediction."""
        return self.lane.sinks

    @property
    def latency(self) -> LatencyTracker:
        """Latencies of the recent predictions."""
        return self.lane.latency

    @property
    def recent(self) -> deque[Prediction]:
        """The recent predictions, oldest first."""
        return self.lane.recent

    @property
    def latest(self) -> Prediction | None:
        """Most recent prediction."""
        return self.lane.latest

    def status(self) -> WorkerStatus:
        """Counters and latency figures (any thread)."""
        return self.lane.status(self.runner, self._faults, self._message)

    def _warm_up(self) -> None:
        self.runner.warm_up(*self.lane.window_shape)

    def step(self) -> Prediction | None:
        """Decode the newest due window, if any (also usable synchronously, offline)."""
        window = self.lane.next_window(self.deadline_s)
        if window is None:
            return None
        return decode_batch(self.runner, [(self.lane, window)])[0]
