"""The scope draws the selected channels in lanes, scaled, decimated, raw or filtered, flagged."""

from __future__ import annotations

import numpy as np
import pytest
from neurodeck.app.dashboard.views.decimation import peak_decimate
from neurodeck.app.dashboard.views.lane_scaling import AUTO_FILL
from neurodeck.app.dashboard.views.scope import (
    CLIP_LANES,
    FLAG_COLOURS,
    TRACE_COLOUR,
    ScopeView,
)
from neurodeck.control.snapshot import ChannelQuality, CoreSnapshot, SignalView, SpectrumView
from PyQt6 import QtCore, QtGui

from tests.app.dashboard.fakes import FakeCore

pytestmark = pytest.mark.gui

NAMES = ("Fz", "C3", "Cz", "C4")
SFREQ = 100.0


def _signal(raw: np.ndarray, filtered: np.ndarray | None = None, n_written: int | None = None):
    filtered = raw * 0.5 if filtered is None else filtered
    return SignalView(
        channel_names=NAMES[: raw.shape[0]],
        sfreq=SFREQ,
        raw=np.ascontiguousarray(raw, dtype=np.float32),
        filtered=np.ascontiguousarray(filtered, dtype=np.float32),
        t_end=12.0,
        n_written=raw.shape[1] if n_written is None else n_written,
        filter_label="1-40 Hz band-pass, 50 Hz notch",
    )


def _spectrum(quality: tuple[ChannelQuality, ...]) -> SpectrumView:
    return SpectrumView(
        channel_names=NAMES,
        freqs=np.zeros(1),
        psd=np.zeros((4, 1)),
        band_names=(),
        band_power=np.zeros((4, 0)),
        quality=quality,
        scalp_positions=np.zeros((0, 2)),
        scalp_names=(),
        scalp_maps={},
    )


def _rows(view: ScopeView) -> tuple[np.ndarray, np.ndarray]:
    """The drawn curve as (n_drawn, n_points) arrays of x and y (NaN separators removed)."""
    x, y = view.curve.getData()
    n_rows = len(view.drawn_names)
    if n_rows == 0:
        assert len(y) == 0
        return np.zeros((0, 0)), np.zeros((0, 0))
    x, y = x.reshape(n_rows, -1), y.reshape(n_rows, -1)
    assert np.isnan(y[:, -1]).all()
    return x[:, :-1], y[:, :-1]


def _expected(samples: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """Lane layout of ``samples (n, n_samples)``: -k + clip((x - mean) * scale)."""
    centred = samples - samples.mean(axis=1, keepdims=True)
    lanes = np.clip(centred * np.reshape(scale, (-1, 1)), -CLIP_LANES, CLIP_LANES)
    return lanes - np.arange(len(samples))[:, None]


@pytest.fixture
def raw(rng) -> np.ndarray:
    """4 channels x 2 s at 100 Hz with distinct amplitudes and DC offsets (µV)."""
    amps = np.array([[10.0], [20.0], [30.0], [5.0]])
    return rng.standard_normal((4, 200)) * amps + np.array([[100.0], [-50.0], [0.0], [7.0]])


@pytest.fixture
def view(qtbot) -> ScopeView:
    scope = ScopeView(FakeCore())
    qtbot.addWidget(scope)
    scope.span_combo.setCurrentIndex(0)  # 2 s: the whole test signal, no decimation
    scope.set_auto_scale(False)
    scope.scale_spin.setValue(50)  # the figures below are at 50 uV per lane
    return scope


def test_all_channels_are_drawn_in_lanes_at_the_global_scale(view, raw) -> None:
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    assert view.drawn_names == NAMES
    x, y = _rows(view)
    filtered = (raw * 0.5).astype(np.float32)
    np.testing.assert_allclose(y, _expected(filtered.astype(np.float64), 1 / 50), atol=1e-5)
    np.testing.assert_allclose(x[0], (np.arange(200) - 199) / SFREQ)  # newest sample at 0
    assert view.plot.getPlotItem().getViewBox().viewRange()[0] == pytest.approx([-2.0, 0.0])
    ticks = view.axis._tickLevels[0]
    assert [name for _, name in ticks] == list(NAMES)
    assert view.stack.currentWidget() is view.plot


def test_deselecting_a_channel_removes_it(view, raw) -> None:
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    item = view.channel_list.item(1)  # C3, through the list's check box
    item.setCheckState(QtCore.Qt.CheckState.Unchecked)
    assert view.drawn_names == ("Fz", "Cz", "C4")
    _, y = _rows(view)
    kept = (raw[[0, 2, 3]] * 0.5).astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(y, _expected(kept, 1 / 50), atol=1e-5)
    view.none_button.click()
    assert view.drawn_names == ()
    assert len(view.curve.getData()[1]) == 0
    view.all_button.click()
    assert view.drawn_names == NAMES


def test_filter_toggle_switches_to_raw_samples(view, raw) -> None:
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    assert view.filter_check.toolTip() == "1-40 Hz band-pass, 50 Hz notch"
    view.filter_check.setChecked(False)
    _, y = _rows(view)
    raw32 = raw.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(y, _expected(raw32, 1 / 50), atol=1e-5)  # offsets removed


def test_global_scale_steps_and_per_channel_gain(view, raw, qtbot) -> None:
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    filtered = (raw * 0.5).astype(np.float32).astype(np.float64)
    view.scale_spin.stepBy(1)
    assert view.uv_per_div == 100
    qtbot.keyClick(view, QtCore.Qt.Key.Key_Plus)
    qtbot.keyClick(view, QtCore.Qt.Key.Key_Plus)
    assert view.uv_per_div == 20
    view.set_gain("C3", 2.0)
    view.scale_gains(["Cz"], 0.5)
    _, y = _rows(view)
    scale = np.array([1.0, 2.0, 0.5, 1.0]) / 20
    np.testing.assert_allclose(y, _expected(filtered, scale), atol=1e-5)
    assert view.channel_list.item(1).text() == "C3  ×2"
    view.reset_gains()
    _, y = _rows(view)
    np.testing.assert_allclose(y, _expected(filtered, 1 / 20), atol=1e-5)
    assert view.channel_list.item(1).text() == "C3"


def test_auto_scale_fits_each_channel_to_its_lane(view, raw) -> None:
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    view.set_auto_scale(True)
    assert view.scale_spin.isHidden()
    _, y = _rows(view)
    lanes = y + np.arange(4)[:, None]
    spread = np.percentile(lanes, 95, axis=1) - np.percentile(lanes, 5, axis=1)
    np.testing.assert_allclose(spread, AUTO_FILL, rtol=1e-4)  # 10 µV and 30 µV channels alike


def test_large_artefacts_are_clipped_to_their_lane(view, raw) -> None:
    raw = raw.copy()
    raw[2, 50] = 1e6
    view.filter_check.setChecked(False)
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    _, y = _rows(view)
    assert y[2].max() == pytest.approx(-2 + CLIP_LANES)


def test_unchanged_samples_are_not_redrawn(view, raw, monkeypatch) -> None:
    snap = CoreSnapshot(t=12.0, signal=_signal(raw))
    view.render(snap)
    calls = []
    monkeypatch.setattr(view.curve, "setData", lambda *a, **k: calls.append(k))
    view.render(snap)
    view.render(CoreSnapshot(t=12.5, signal=snap.signal))
    assert calls == []
    view.render(CoreSnapshot(t=12.5, signal=_signal(raw, n_written=201)))
    assert len(calls) == 1


def test_no_signal_shows_the_placeholder(view, raw) -> None:
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    view.render(CoreSnapshot(t=13.0))
    assert view.stack.currentWidget() is view.placeholder
    assert "Not connected" in view.placeholder.text()
    assert len(view.curve.getData()[0]) == 0
    assert view.drawn_names == ()


def test_flagged_channels_are_coloured_with_their_reason(view, raw) -> None:
    quality = (
        ChannelQuality("Fz", "ok"),
        ChannelQuality("C3", "noisy", "noisy: 312 µV rms (limit 100 µV)"),
        ChannelQuality("Cz", "ok"),
        ChannelQuality("C4", "flat", "flat: 0.1 µV rms; check the electrode contact"),
    )
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw), spectrum=_spectrum(quality)))
    assert view.flags_label.text() == "2 flagged: C3 noisy, C4 flat"
    c3, c4, fz = (view.channel_list.item(i) for i in (1, 3, 0))
    assert c3.toolTip().startswith("noisy: 312 µV rms (limit 100 µV)\n50 µV/div")
    assert c4.toolTip().startswith("flat: 0.1 µV rms")
    assert fz.toolTip() == "50 µV/div"
    assert c3.foreground().color() == QtGui.QColor(FLAG_COLOURS["noisy"])
    assert c4.foreground().color() == QtGui.QColor(FLAG_COLOURS["flat"])
    assert set(view.axis.label_colours) == {"C3", "C4"}
    view.render(CoreSnapshot(t=12.5, signal=_signal(raw), spectrum=_spectrum(quality[:1])))
    assert view.flags_label.text() == ""
    assert view.channel_list.item(1).toolTip() == "50 µV/div"


def test_new_stream_rebuilds_the_channel_list(view, raw) -> None:
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    view.select_channels(["Fz", "Cz"])
    view.render(CoreSnapshot(t=13.0, signal=_signal(raw[:3])))
    assert view.channel_list.count() == 3
    assert view.drawn_names == ("Fz", "Cz")


def test_long_signals_are_peak_decimated_per_pixel(view, rng) -> None:
    n_channels, n_samples = 64, 2500  # 10 s at 250 Hz
    names = tuple(f"E{i}" for i in range(n_channels))
    data = (10.0 * rng.standard_normal((n_channels, n_samples))).astype(np.float32)
    data[5, 1234] = 400.0  # a one-sample spike survives decimation
    signal = SignalView(names, 250.0, data, data, 10.0, n_written=10**6)
    view.span_combo.setCurrentText("10 s")
    view.scale_spin.setValue(1000)
    view.render(CoreSnapshot(t=10.0, signal=signal))
    n_bins = view._n_bins()
    x, y = _rows(view)
    assert y.shape[0] == n_channels
    assert y.shape[1] <= 2 * n_bins + 4
    assert (np.diff(x[0]) >= 0).all() and x[0, -1] <= 0.0 and x[0, 0] >= -10.0
    centre = data[5].astype(np.float64).mean()
    assert y[5].max() + 5 == pytest.approx((400.0 - centre) / 1000, abs=0.01)


def test_peak_decimation_keeps_extremes_and_aligns_bins(rng) -> None:
    data = rng.standard_normal((3, 1000))
    positions, values = peak_decimate(data, first_index=7, n_bins=100)
    assert values.shape[1] == len(positions) <= 2 * 100 + 4
    np.testing.assert_allclose(values.max(axis=1), data.max(axis=1))
    np.testing.assert_allclose(values.min(axis=1), data.min(axis=1))
    # one sample later the bins stay on the same absolute samples
    shifted_positions, shifted = peak_decimate(data[:, 1:], first_index=8, n_bins=100)
    np.testing.assert_allclose(shifted_positions[2:12] + 1, positions[2:12])
    np.testing.assert_allclose(shifted[:, 2:12], values[:, 2:12])
    short = rng.standard_normal((2, 50))
    same_positions, same = peak_decimate(short, first_index=0, n_bins=100)
    assert same is short and len(same_positions) == 50


def test_screenshot_is_not_blank(view, raw, qtbot) -> None:
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    view.render(CoreSnapshot(t=12.0, signal=_signal(raw)))
    image = view.plot.grab().toImage()
    trace = QtGui.QColor(TRACE_COLOUR).rgb()
    n_trace = sum(
        image.pixel(x, y) == trace
        for x in range(0, image.width(), 2)
        for y in range(image.height())
    )
    assert n_trace > 500  # the traces were painted
