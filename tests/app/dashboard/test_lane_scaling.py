"""Per-channel lane scales: robust, recomputed a few times a second, smoothed in log steps."""

from __future__ import annotations

import numpy as np
from neurodeck.app.dashboard.views.lane_scaling import (
    AUTO_FILL,
    AUTO_SMOOTHING,
    AUTO_UPDATES_HZ,
    LaneScaler,
    robust_spread,
)

SFREQ = 160.0


def _rows(*amplitudes: float) -> np.ndarray:
    t = np.linspace(0, 1, 2000, endpoint=False)
    return np.array([a * np.sin(2 * np.pi * 7 * t) for a in amplitudes])


def test_the_spread_ignores_a_blink_and_flat_rows_get_one_microvolt() -> None:
    rows = _rows(10.0, 0.0)
    rows[0, :40] = 500.0  # a blink: 2 % of the points
    spread = robust_spread(rows)
    assert 19.0 < spread[0] < 21.0 and spread[1] == 1.0
    rows[0, 100:200] = np.nan
    assert np.isfinite(robust_spread(rows)).all()


def test_scales_are_held_between_updates_then_move_part_of_the_way() -> None:
    scaler = LaneScaler()
    first = scaler.update(_rows(10.0, 30.0), n_written=0, sfreq=SFREQ).copy()
    np.testing.assert_allclose(first * AUTO_FILL, robust_spread(_rows(10.0, 30.0)))
    early = int(SFREQ / AUTO_UPDATES_HZ) - 1
    held = scaler.update(_rows(100.0, 300.0), n_written=early, sfreq=SFREQ)
    np.testing.assert_array_equal(held, first)  # not yet time: no jump
    moved = scaler.update(_rows(100.0, 300.0), n_written=early + 1, sfreq=SFREQ)
    np.testing.assert_allclose(moved, first * 10.0**AUTO_SMOOTHING, rtol=1e-6)  # half way, in log
    assert len(scaler.update(_rows(1.0, 2.0, 3.0), early + 2, SFREQ)) == 3  # new channels: fresh
    scaler.reset()
    assert scaler.uv is None
