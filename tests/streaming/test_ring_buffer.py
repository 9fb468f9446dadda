"""RingBuffer: exact ranges, wrap-around, overruns, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from neurodeck.common.types import ConfigError
from neurodeck.streaming.ring_buffer import RingBuffer


def _chunk(start: int, n: int, n_channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(start, start + n)
    data = np.vstack([idx + 1000 * c for c in range(n_channels)]).astype(np.float32)
    return data, idx.astype(np.float64) / 100.0


def test_write_and_read_exact_range_across_wrap() -> None:
    buf = RingBuffer(3, 10)
    for start in range(0, 27, 3):
        buf.write(*_chunk(start, 3), t_recv=float(start))
    data, stamps, recv = buf.read(27, 10)
    np.testing.assert_array_equal(data[0], np.arange(17, 27))
    np.testing.assert_array_equal(data[2], np.arange(17, 27) + 2000)
    np.testing.assert_allclose(stamps, np.arange(17, 27) / 100.0)
    assert recv[-1] == 24.0 and recv[0] == 15.0
    assert data.flags.c_contiguous


def test_latest_returns_newest_and_end_index() -> None:
    buf = RingBuffer(3, 8)
    buf.write(*_chunk(0, 5), t_recv=0.0)
    data, _, end = buf.latest(20)
    assert end == 5 and data.shape == (3, 5)
    buf.write(*_chunk(5, 7), t_recv=0.0)
    data, _, end = buf.latest(4)
    np.testing.assert_array_equal(data[0], [8, 9, 10, 11])
    assert end == 12


def test_overwritten_range_is_an_overrun() -> None:
    buf = RingBuffer(3, 10)
    buf.write(*_chunk(0, 25), t_recv=0.0)  # larger than capacity: 15 overrun at write
    assert buf.counters().overruns == 15
    np.testing.assert_array_equal(buf.read(25, 10)[0][0], np.arange(15, 25))
    assert buf.read(20, 10) is None  # [10, 20) is gone
    assert buf.counters().overruns == 20


def test_bad_arguments_name_the_problem() -> None:
    buf = RingBuffer(3, 10)
    buf.write(*_chunk(0, 5), t_recv=0.0)
    with pytest.raises(ConfigError, match="n_samples"):
        buf.read(5, 11)
    with pytest.raises(ConfigError, match="not in the buffer"):
        buf.read(6, 2)
    with pytest.raises(ConfigError, match=r"\(3, n\)"):
        buf.write(np.zeros((2, 4), np.float32), np.zeros(4), 0.0)


def test_concurrent_reader_sees_consistent_windows() -> None:
    buf = RingBuffer(3, 64)
    stop = threading.Event()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            if buf.n_written >= 16:
                data, _, end = buf.latest(16)
                if not np.array_equal(data[0], np.arange(end - 16, end)):
                    errors.append(f"torn window ending at {end}")

    t = threading.Thread(target=reader)
    t.start()
    for start in range(0, 20000, 7):
        buf.write(*_chunk(start, 7), t_recv=0.0)
    stop.set()
    t.join()
    assert not errors
