"""WindowScheduler: newest complete window, never a backlog."""

from __future__ import annotations

import pytest
from neurodeck.common.types import ConfigError
from neurodeck.streaming.scheduler import WindowScheduler, WindowSpec


def test_grid_and_newest_window() -> None:
    s = WindowScheduler(window_n=320, hop_n=40)
    assert s.due(319) is None
    assert s.due(320) == 320
    assert s.due(350) is None
    assert s.due(360) == 360
    # the consumer was busy for 5 hops: only the newest comes back, 4 are counted as skipped
    assert s.due(565) == 560
    assert s.n_skipped == 4


def test_window_spec_validation_and_samples() -> None:
    assert WindowSpec(2.0, 0.25).samples(160.0) == (320, 40)
    with pytest.raises(ConfigError, match=r"'hop_s' must be <= 2\.0"):
        WindowSpec(2.0, 3.0)
    with pytest.raises(ConfigError, match=r"'window_s' must be a finite number > 0"):
        WindowSpec(0.0, 0.1)
