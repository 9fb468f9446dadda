"""Several streams, one model: a batched inference worker.

A :class:`BatchedInferenceWorker` serves several :class:`~streaming.inference.Lane` s (one per
stream: its ring buffer, window grid, validity, sinks, class names, latency and counters) with one
:class:`~streaming.runner.ModelRunner`. On each wake it takes every lane's newest due window,
drops the stale ones (counted per lane), stacks the windows of one shape into a batch ``(k,
n_channels, n_samples)`` for a single model call, and hands each lane its prediction. One batch is
in flight at a time; windows of different shapes go in separate batches, the group holding the
oldest window first. A stale or invalid window of one lane never delays the others.

Wiring: every writer must wake the worker, so give the acquisitions the worker's event before
they start (``acquisition.data_event = worker.data_event``) or call :meth:`BatchedInferenceWorker.
notify` after each write; the worker also wakes every 0.1 s on its own.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np
from neurodeck.common.types import ConfigError, Prediction, Window
from neurodeck.streaming.inference import DecodeThread, Lane, WorkerStatus, decode_batch
from neurodeck.streaming.runner import ModelRunner

logger = logging.getLogger(__name__)

__all__ = ["BatchedInferenceWorker"]


class BatchedInferenceWorker(DecodeThread):
    """Decodes the newest due window of every lane, batched by shape, on one thread.

    Parameters
    ----------
    runner : ModelRunner
        The model on its device, shared by all lanes. Its ``options.max_batch`` is raised to the
        number of lanes when smaller, so that on CUDA every batch size gets its own graph.
    lanes : sequence of Lane
        One per stream; lanes without a name are called ``lane0``, ``lane1``, ...
    data_event : threading.Event, optional
        Set by the writers after each write (default: a new event, :attr:`data_event`).
    deadline_s : float or None
        A window pulled more than this long before its batch starts is dropped and counted as
        stale in its lane.

    Raises
    ------
    ConfigError
        No lane, or two lanes with one name.
    """

    def __init__(
        self,
        runner: ModelRunner,
        lanes: Sequence[Lane],
        data_event: threading.Event | None = None,
        deadline_s: float | None = 0.5,
    ) -> None:
        if not lanes:
            raise ConfigError(
                "A BatchedInferenceWorker needs at least one lane; got none.",
                "Give one Lane per stream to decode.",
            )
        for i, lane in enumerate(lanes):
            lane.name = lane.name or f"lane{i}"
        names = [lane.name for lane in lanes]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(
                f"Lane names must be unique; {', '.join(twice)} appear more than once.",
                "Name each lane after its stream.",
            )
        super().__init__(runner, data_event or threading.Event(), "inference-batched")
        self.lanes = tuple(lanes)
        self.deadline_s = deadline_s
        if runner.options.max_batch < len(self.lanes):
            runner.options = dataclasses.replace(runner.options, max_batch=len(self.lanes))
            logger.info("max_batch raised to %d, the number of lanes.", len(self.lanes))
        self.n_batches = 0
        #: batch size -> number of model calls of that size
        self.batch_sizes: Counter[int] = Counter()

    # -- lanes ----------------------------------------------------------------------------------
    def lane(self, key: int | str) -> Lane:
        """A lane by index or name.

        Raises
        ------
        KeyError
            No lane has that name.
        """
        if isinstance(key, int):
            return self.lanes[key]
        for lane in self.lanes:
            if lane.name == key:
                return lane
        raise KeyError(f"No lane named {key!r}; lanes: {', '.join(ln.name for ln in self.lanes)}.")

    def status(self, key: int | str = 0) -> WorkerStatus:
        """Counters and latency figures of one lane; faults are the worker's (any thread)."""
        return self.lane(key).status(self.runner, self._faults, self._message)

    def statuses(self) -> dict[str, WorkerStatus]:
        """Lane name -> :meth:`status` (any thread)."""
        return {lane.name: self.status(i) for i, lane in enumerate(self.lanes)}

    def notify(self) -> None:
        """Wake the worker (call after writing into a lane's buffer)."""
        self.data_event.set()

    # -- decoding -------------------------------------------------------------------------------
    def _warm_up(self) -> None:
        """Warm the most common shape up (precision, graphs), then every batch size per shape."""
        shapes = Counter(lane.window_shape for lane in self.lanes)
        main = shapes.most_common(1)[0][0]
        self.runner.warm_up(*main)
        for shape, count in shapes.items():
            for k in range(1, count + 1):  # on CUDA: captures the graph of each batch size
                self.runner.predict_proba(np.zeros((k, *shape), np.float32))

    def step(self) -> list[Prediction]:
        """Decode every lane's newest due window (also usable synchronously, offline).

        Returns
        -------
        predictions : list of Prediction
            One per decoded window, batch by batch.

        Raises
        ------
        Exception
            The first fault of a batch (a model error, a sink's exception), after the other
            batches ran.
        """
        groups: dict[tuple[int, ...], list[tuple[Lane, Window]]] = {}
        for lane in self.lanes:
            window = lane.next_window(self.deadline_s)
            if window is not None:
                groups.setdefault(window.data.shape, []).append((lane, window))
        out: list[Prediction] = []
        failure: Exception | None = None
        for items in sorted(groups.values(), key=lambda g: min(w.t_recv for _, w in g)):
            # an earlier batch took time: check the deadline again
            fresh = [(ln, w) for ln, w in items if not ln.drop_if_stale(w, self.deadline_s)]
            if not fresh:
                continue
            self.n_batches += 1
            self.batch_sizes[len(fresh)] += 1
            try:
                out.extend(decode_batch(self.runner, fresh))
            except Exception as exc:  # the next batch still runs
                failure = failure or exc
        if failure is not None:
            raise failure
        return out
