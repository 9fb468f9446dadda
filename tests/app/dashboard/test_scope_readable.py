"""The Signals tab reads well on real EEG: per-channel scales, a µV scale bar, clean 10-10 names."""

from __future__ import annotations

import re

import numpy as np
import pytest
from neurodeck.app.dashboard.views.scope import ScopeView
from neurodeck.control.snapshot import CoreSnapshot, SignalView

from tests.app.dashboard.fakes import FakeCore
from tests.app.dashboard.test_small_screen import EEGBCI_NAMES
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.gui

SCALE_TEXT = re.compile(r"^\d+(\.\d+)? µV\b")


@pytest.fixture(scope="module")
def eegbci_signal() -> SignalView:
    """10 s of EEGBCI S001 run 4 (64 channels, 160 Hz, µV), raw and 1-40 Hz band-passed."""
    from neurodeck.streaming.recording_io import eegbci_run_files
    from scipy.signal import butter, sosfilt

    files = eegbci_run_files(SHARED_DATA, 1, [4]) if SHARED_DATA.is_dir() else []
    if not files:
        pytest.skip(f"shared EEG data not found at {SHARED_DATA} (set NEURODECK_DATA)")
    import mne

    raw = mne.io.read_raw_edf(files[0], preload=True, verbose="error")
    data = raw.get_data(start=0, stop=4800) * 1e6  # (64, 4800): 30 s
    band = butter(4, [1.0, 40.0], btype="band", fs=160.0, output="sos")
    filtered = sosfilt(band, data, axis=1)  # causal, as the core's display filter
    keep = slice(3200, 4800)  # the last 10 s, past the filter's start-up
    return SignalView(
        tuple(raw.ch_names),
        160.0,
        np.ascontiguousarray(data[:, keep], dtype=np.float32),
        np.ascontiguousarray(filtered[:, keep], dtype=np.float32),
        30.0,
        4800,
        "1-40 Hz band-pass",
    )


@pytest.fixture
def view(qtbot) -> ScopeView:
    scope = ScopeView(FakeCore())
    qtbot.addWidget(scope)
    scope.resize(900, 700)
    return scope


def _lanes(view: ScopeView) -> np.ndarray:
    """Drawn traces relative to their lane centre, ``(n_drawn, n_points)`` (0 = lane centre)."""
    _, y = view.curve.getData()
    rows = y.reshape(len(view.drawn_names), -1)[:, :-1]
    return rows + np.arange(len(rows))[:, None]


@pytest.mark.data
def test_real_eeg_traces_stay_in_their_lanes_by_default(view, eegbci_signal) -> None:
    view.render(CoreSnapshot(t=30.0, signal=eegbci_signal))
    lanes = _lanes(view)
    assert lanes.shape[0] == 64
    outside = (np.abs(lanes) > 0.5).mean(axis=1)  # share of each trace outside its own lane
    assert np.median(outside) <= 0.005
    assert outside.max() <= 0.02, (view.drawn_names[int(outside.argmax())], outside.max())
    height = np.percentile(lanes, 95, axis=1) - np.percentile(lanes, 5, axis=1)
    assert np.median(height) >= 0.3  # and they are not squashed flat either


@pytest.mark.data
def test_the_scale_bar_reads_microvolts_in_both_modes(view, eegbci_signal) -> None:
    view.render(CoreSnapshot(t=30.0, signal=eegbci_signal))
    assert view.auto_scale  # per-channel scaling is the default
    text = view.scale_bar.text()
    assert SCALE_TEXT.match(text), text
    view.set_auto_scale(False)
    view.scale_spin.setValue(50)
    text = view.scale_bar.text()
    assert SCALE_TEXT.match(text), text
    microvolts = float(text.split()[0])
    lanes = view.scale_bar.lanes  # the bar's height in lanes
    assert microvolts == pytest.approx(50 * lanes)
    assert view.scale_spin.isVisibleTo(view)
    view.set_auto_scale(True)
    assert not view.scale_spin.isVisibleTo(view)  # no stale µV/div in per-channel mode
    assert SCALE_TEXT.match(view.scale_bar.text())


def test_per_channel_scales_are_shown_per_lane(view, rng) -> None:
    amps = np.array([[5.0], [50.0]])
    data = (amps * rng.standard_normal((2, 1000))).astype(np.float32)
    signal = SignalView(("C3..", "Fp1."), 100.0, data, data, 10.0, 1000, "")
    view.render(CoreSnapshot(t=10.0, signal=signal))
    scales = view.lane_uv_per_div  # name -> µV per division of its lane
    assert scales["Fp1."] == pytest.approx(10 * scales["C3.."], rel=0.3)
    tips = [view.channel_list.item(i).toolTip() for i in range(2)]
    assert all("µV/div" in tip for tip in tips), tips


def test_scales_follow_the_signal_smoothly_and_rarely(view, rng, monkeypatch) -> None:
    data = (20.0 * rng.standard_normal((4, 1000))).astype(np.float32)
    names = ("Fz", "C3", "Cz", "C4")
    view.render(CoreSnapshot(t=10.0, signal=SignalView(names, 100.0, data, data, 10.0, 1000, "")))
    first = dict(view.lane_uv_per_div)
    calls = []
    original = np.percentile
    monkeypatch.setattr(np, "percentile", lambda *a, **k: calls.append(1) or original(*a, **k))
    louder = data * 4
    for k in range(1, 11):  # 10 frames, 0.1 s of signal
        signal = SignalView(names, 100.0, louder, louder, 10.0 + k / 100, 1000 + k, "")
        view.render(CoreSnapshot(t=10.0 + k / 100, signal=signal))
    assert len(calls) <= 1  # a few times a second, not every frame
    for _ in range(40):  # 4 s at 10 new samples a frame
        n = 1000 + 11 + _ * 10
        signal = SignalView(names, 100.0, louder, louder, n / 100, n, "")
        view.render(CoreSnapshot(t=n / 100, signal=signal))
    after = view.lane_uv_per_div
    ratio = np.array([after[n] / first[n] for n in names])
    np.testing.assert_allclose(ratio, 4.0, rtol=0.15)  # converged to the louder signal


def test_channel_names_are_clean_10_10_names(view, rng) -> None:
    data = rng.standard_normal((64, 200)).astype(np.float32)
    signal = SignalView(tuple(EEGBCI_NAMES), 100.0, data, data, 2.0, 200, "")
    view.render(CoreSnapshot(t=2.0, signal=signal))
    shown = [view.channel_list.item(i).text() for i in range(view.channel_list.count())]
    assert shown[:4] == ["FC5", "FC3", "FC1", "FCz"]
    for raw_name, clean in (("Cz..", "Cz"), ("Fp1.", "Fp1"), ("Afz.", "AFz"), ("T10.", "T10")):
        assert shown[EEGBCI_NAMES.index(raw_name)] == clean
    assert not any(name.endswith(".") for name in shown)
    ticks = [text for _, text in view.axis._tickLevels[0]]
    assert ticks == shown
    assert view.selected_names() == tuple(EEGBCI_NAMES)  # settings keep the stream's own names


def test_display_names_match_mne_spelling() -> None:
    from neurodeck.models.electrodes import electrode_name
    from neurodeck.streaming.channels import normalize_channel_name

    for name in EEGBCI_NAMES:
        assert electrode_name(name) == normalize_channel_name(name)
    assert electrode_name("EEG FP1-REF") == "Fp1"
    assert electrode_name("T3") == "T3"  # the old name stays what the file says
    assert electrode_name("STI 014.") == "STI 014"
