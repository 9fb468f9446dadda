"""Latency accounting over a sliding horizon.

The definitions (``t_last``, ``t_recv``, ``t_out``) are in docs/architecture.md, "The path of
one window".
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
from neurodeck.common.types import Prediction


@dataclass(frozen=True)
class LatencySummary:
    """p50 / p99 / max of the three latencies, in milliseconds, over the recent horizon.

    ``n`` is the number of predictions the figures were computed from (0: all fields are NaN).
    """

    n: int
    transport_p50_ms: float
    transport_p99_ms: float
    transport_max_ms: float
    compute_p50_ms: float
    compute_p99_ms: float
    compute_max_ms: float
    e2e_p50_ms: float
    e2e_p99_ms: float
    e2e_max_ms: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dictionary (NaN becomes None)."""
        return {
            k: (None if isinstance(v, float) and np.isnan(v) else v)
            for k, v in asdict(self).items()
        }


class LatencyTracker:
    """Keeps the latencies of the last ``horizon`` predictions.

    Parameters
    ----------
    horizon : int
        Number of most recent predictions the percentiles are computed over.

    Notes
    -----
    ``add`` is called from the inference thread, ``summary`` from any thread.
    """

    def __init__(self, horizon: int = 2000) -> None:
        self._rows: deque[tuple[float, float, float]] = deque(maxlen=horizon)
        self._lock = threading.Lock()

    def add(self, prediction: Prediction) -> None:
        """Record one prediction's transport, compute and end-to-end latency."""
        row = (prediction.transport_ms, prediction.compute_ms, prediction.e2e_ms)
        with self._lock:
            self._rows.append(row)

    def summary(self) -> LatencySummary:
        """Percentiles over the horizon."""
        with self._lock:
            rows = np.array(self._rows, dtype=np.float64).reshape(-1, 3)
        if rows.shape[0] == 0:
            return LatencySummary(0, *([float("nan")] * 9))
        p50, p99, mx = np.percentile(rows, 50, axis=0), np.percentile(rows, 99, axis=0), rows.max(0)
        return LatencySummary(
            int(rows.shape[0]),
            float(p50[0]),
            float(p99[0]),
            float(mx[0]),
            float(p50[1]),
            float(p99[1]),
            float(mx[1]),
            float(p50[2]),
            float(p99[2]),
            float(mx[2]),
        )
