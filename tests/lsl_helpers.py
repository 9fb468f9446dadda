"""Synthetic LSL outlets for tests: channel 0 carries the sample index."""

from __future__ import annotations

import threading
import time

import numpy as np
import pylsl
from neurodeck.streaming.lsl_io import local_clock, make_stream_info


class IndexedOutlet:
    """Pushes ``n_samples`` samples paced at ``sfreq * speed`` on a thread; ch0 = sample index.

    Timestamps are ``t0 + i / (sfreq * speed)``; the header declares ``replay_speed``.
    """

    def __init__(
        self,
        name: str,
        n_channels: int,
        sfreq: float,
        n_samples: int,
        speed: float = 1.0,
        chunk_n: int = 16,
        channel_names: list[str] | None = None,
        source_id: str | None = None,
        start_index: int = 0,
        labels: bool = True,
    ) -> None:
        names = channel_names or (["index"] + [f"Ch{i}" for i in range(1, n_channels)])
        if labels:
            info = make_stream_info(
                name,
                "EEG",
                names,
                sfreq,
                source_id or name,
                extra_desc={"replay_speed": str(speed)},
            )
        else:
            info = pylsl.StreamInfo(name, "EEG", n_channels, sfreq, "float32", source_id or name)
            info.desc().append_child_value("replay_speed", str(speed))
        self.outlet = pylsl.StreamOutlet(info, chunk_size=chunk_n)
        self.n_channels, self.sfreq, self.speed = n_channels, sfreq, speed
        self.n_samples, self.chunk_n, self.start_index = n_samples, chunk_n, start_index
        self.pushed = 0
        self.nan_at: int | None = None
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        rng = np.random.default_rng(0)
        self._noise = rng.standard_normal((4096, n_channels)).astype(np.float32) * 10

    def start(self) -> IndexedOutlet:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)

    def close(self) -> None:
        self.stop()
        del self.outlet

    def done(self) -> bool:
        return self.pushed >= self.n_samples

    def pause(self) -> None:
        """Stall like a stopped process (SIGSTOP): nothing is pushed until :meth:`resume`."""
        self._running.clear()

    def resume(self) -> None:
        """Go on (SIGCONT): the samples due meanwhile go out at once, with their own times."""
        self._running.set()

    def _run(self) -> None:
        period = 1.0 / (self.sfreq * self.speed)
        t0 = local_clock() + 0.05
        i = 0
        while i < self.n_samples and not self._stop.is_set():
            if not self._running.wait(0.05):
                continue
            n = min(self.chunk_n, self.n_samples - i)
            due = t0 + (i + n - 1) * period
            wait = due - local_clock()
            if wait > 0:
                time.sleep(wait)
            idx = np.arange(i, i + n) + self.start_index
            data = self._noise[idx % 4096].copy()
            data[:, 0] = idx
            if self.nan_at is not None and i <= self.nan_at < i + n:
                data[self.nan_at - i, 1] = np.nan
            self.outlet.push_chunk(data, t0 + np.arange(i, i + n) * period)
            i += n
            self.pushed = i


def wait_until(predicate, timeout_s: float, interval_s: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
