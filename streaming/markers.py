"""Marker streams: receive cue markers (string LSL stream) with corrected timestamps."""

from __future__ import annotations

import bisect
import logging
import threading
import time

import pylsl
from neurodeck.common.types import MarkerEvent

logger = logging.getLogger(__name__)


class MarkerReceiver:
    """Pulls a string marker stream on a small thread and keeps every marker.

    Parameters
    ----------
    info : pylsl.StreamInfo
        A resolved marker stream (type ``Markers``, string channel).
    poll_s : float
        Sleep between pulls when nothing arrived.

    Notes
    -----
    ``events`` and ``label_at`` may be called from any thread.
    """

    def __init__(self, info: pylsl.StreamInfo, poll_s: float = 0.005) -> None:
        self._inlet = pylsl.StreamInlet(info, recover=True, processing_flags=0)
        self._inlet.open_stream(timeout=5.0)
        self.name = info.name()
        self._poll_s = poll_s
        self._events: list[MarkerEvent] = []
        self._times: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._offset = 0.0
        self._thread = threading.Thread(target=self._run, name=f"markers-{self.name}", daemon=True)

    def start(self) -> MarkerReceiver:
        """Start the thread (returns self)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        try:
            self._inlet.close_stream()
        except Exception:  # pragma: no cover - best effort on shutdown
            logger.debug("marker close_stream failed", exc_info=True)

    def events(self) -> list[MarkerEvent]:
        """All markers received so far, in timestamp order."""
        with self._lock:
            return list(self._events)

    def label_at(self, timestamp: float) -> MarkerEvent | None:
        """The newest marker at or before ``timestamp`` (None if none yet)."""
        with self._lock:
            i = bisect.bisect_right(self._times, timestamp)
            return self._events[i - 1] if i else None

    def _run(self) -> None:
        try:
            self._offset = float(self._inlet.time_correction(timeout=2.0))
        except Exception:  # keep zero offset: same machine in practice
            logger.debug("marker time_correction unavailable", exc_info=True)
        while not self._stop.is_set():
            try:
                samples, stamps = self._inlet.pull_chunk(timeout=0.0)
            except Exception:
                logger.exception("Marker stream '%s' fault (thread keeps running)", self.name)
                time.sleep(0.1)
                continue
            if stamps:
                self._add(samples, stamps)
            else:
                time.sleep(self._poll_s)

    def _add(self, samples: list[list[str]], stamps: list[float]) -> None:
        with self._lock:
            for sample, ts in zip(samples, stamps, strict=True):
                event = MarkerEvent(float(ts) + self._offset, str(sample[0]))
                i = bisect.bisect_right(self._times, event.timestamp)
                self._times.insert(i, event.timestamp)
                self._events.insert(i, event)
