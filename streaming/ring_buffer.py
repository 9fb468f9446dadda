"""Preallocated multichannel ring buffer with per-sample timestamps.

Writes cost O(chunk): samples land at ``index % capacity`` through at most two slice copies, never
a roll of the whole buffer. Every sample ever written has an absolute index (``n_written`` counts
them), so readers can ask for exact ranges and learn when they fell behind.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from neurodeck.common.types import ConfigError, FloatArray, TimeArray


@dataclass(frozen=True, slots=True)
class BufferCounters:
    """Health counters of a :class:`RingBuffer`.

    Parameters
    ----------
    n_written : int
        Samples written since creation.
    lost_samples : int
        Samples missing according to timestamp gaps (reported by the writer).
    n_gaps : int
        Number of timestamp gaps.
    overruns : int
        Samples overwritten before a reader asked for them (a reader fell behind by more than the
        capacity, or one write was larger than the capacity).
    """

    n_written: int
    lost_samples: int
    n_gaps: int
    overruns: int


class RingBuffer:
    """Fixed-size buffer of the newest ``capacity`` samples of ``n_channels`` channels.

    Parameters
    ----------
    n_channels : int
        Number of channels.
    capacity : int
        Number of samples kept.

    Notes
    -----
    Thread-safe: one writer (the acquisition thread) and any number of readers. Readers get
    copies; the lock is held only for the copy, never while waiting on anything.
    """

    def __init__(self, n_channels: int, capacity: int) -> None:
        if n_channels < 1 or capacity < 1:
            raise ConfigError(
                f"RingBuffer needs n_channels >= 1 and capacity >= 1; got {n_channels}, {capacity}."
            )
        self.n_channels = int(n_channels)
        self.capacity = int(capacity)
        self._data = np.zeros((self.n_channels, self.capacity), dtype=np.float32)
        self._times = np.zeros(self.capacity, dtype=np.float64)
        self._recv = np.zeros(self.capacity, dtype=np.float64)
        self._lock = threading.Lock()
        self._n_written = 0
        self._lost = 0
        self._gaps = 0
        self._overruns = 0

    # -- writer side -------------------------------------------------------------------------
    def write(self, data: FloatArray, timestamps: TimeArray, t_recv: float) -> int:
        """Append a chunk.

        Parameters
        ----------
        data : ndarray, shape (n_channels, n_samples), float32
            New samples, oldest first.
        timestamps : ndarray, shape (n_samples,), float64
            Corrected LSL timestamps of the samples.
        t_recv : float
            ``local_clock()`` when the chunk was pulled.

        Returns
        -------
        n_written : int
            Absolute count of samples written after this chunk.

        Notes
        -----
        Called from the acquisition thread; never blocks beyond the copy.
        """
        n = data.shape[1]
        if n == 0:
            return self._n_written
        if data.shape[0] != self.n_channels or timestamps.shape[0] != n:
            raise ConfigError(
                f"RingBuffer.write expects data ({self.n_channels}, n) and n timestamps; "
                f"got {data.shape} and {timestamps.shape}."
            )
        with self._lock:
            if n > self.capacity:  # keep only the newest part; the rest is an overrun
                self._overruns += n - self.capacity
                self._n_written += n - self.capacity
                data, timestamps, n = (
                    data[:, -self.capacity :],
                    timestamps[-self.capacity :],
                    self.capacity,
                )
            start = self._n_written % self.capacity
            first = min(n, self.capacity - start)
            self._data[:, start : start + first] = data[:, :first]
            self._times[start : start + first] = timestamps[:first]
            self._recv[start : start + first] = t_recv
            if first < n:
                rest = n - first
                self._data[:, :rest] = data[:, first:]
                self._times[:rest] = timestamps[first:]
                self._recv[:rest] = t_recv
            self._n_written += n
            return self._n_written

    def add_lost(self, n_samples: int) -> None:
        """Record a timestamp gap of ``n_samples`` missing samples (called by the writer)."""
        with self._lock:
            self._lost += int(n_samples)
            self._gaps += 1

    # -- reader side -------------------------------------------------------------------------
    @property
    def n_written(self) -> int:
        """Absolute number of samples written so far."""
        return self._n_written

    def counters(self) -> BufferCounters:
        """Snapshot of the health counters."""
        with self._lock:
            return BufferCounters(self._n_written, self._lost, self._gaps, self._overruns)

    def read(
        self, end_index: int, n_samples: int
    ) -> tuple[FloatArray, TimeArray, TimeArray] | None:
        """Copy the samples ``[end_index - n_samples, end_index)`` out of the buffer.

        Parameters
        ----------
        end_index : int
            Absolute index (exclusive) of the last sample wanted; at most ``n_written``.
        n_samples : int
            Number of samples wanted; at most ``capacity``.

        Returns
        -------
        data : ndarray, shape (n_channels, n_samples), float32, C-contiguous
        timestamps : ndarray, shape (n_samples,), float64
        t_recv : ndarray, shape (n_samples,), float64
            Pull time of each sample's chunk.
        Or None when part of the range was already overwritten (counted as an overrun).
        """
        if n_samples > self.capacity or n_samples < 1:
            raise ConfigError(
                f"'n_samples' must be between 1 and the buffer capacity ({self.capacity}); "
                f"got {n_samples}."
            )
        with self._lock:
            if end_index > self._n_written or end_index < n_samples:
                raise ConfigError(
                    f"Range ending at {end_index} is not in the buffer "
                    f"({self._n_written} samples written)."
                )
            if end_index - n_samples < self._n_written - self.capacity:
                self._overruns += (self._n_written - self.capacity) - (end_index - n_samples)
                return None
            start = (end_index - n_samples) % self.capacity
            if start + n_samples <= self.capacity:  # contiguous: plain slice copies
                sl = slice(start, start + n_samples)
                return self._data[:, sl].copy(), self._times[sl].copy(), self._recv[sl].copy()
            head = self.capacity - start  # wrapped: two slices
            return (
                np.concatenate((self._data[:, start:], self._data[:, : n_samples - head]), axis=1),
                np.concatenate((self._times[start:], self._times[: n_samples - head])),
                np.concatenate((self._recv[start:], self._recv[: n_samples - head])),
            )

    def latest(self, n_samples: int) -> tuple[FloatArray, TimeArray, int]:
        """Copy the newest ``n_samples`` samples (fewer when fewer were written).

        Returns
        -------
        data : ndarray, shape (n_channels, n), float32
        timestamps : ndarray, shape (n,), float64
        end_index : int
            Absolute index (exclusive) of the newest sample returned.
        """
        with self._lock:
            end = self._n_written
        n = min(n_samples, end, self.capacity)
        if n == 0:
            return (
                np.zeros((self.n_channels, 0), np.float32),
                np.zeros(0, np.float64),
                end,
            )
        out = self.read(end, n)
        if out is None:  # pragma: no cover - cannot happen: end is the newest index
            raise RuntimeError("ring buffer overrun on latest()")
        return out[0], out[1], end
