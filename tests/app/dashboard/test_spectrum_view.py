"""The spectrum panel draws the mean spectrum, the mean band powers and the band's scalp map."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from neurodeck.app.dashboard.views.spectrum import FREQ_RANGE_HZ, NO_MAP, SpectrumPanel
from neurodeck.control.analysis import SpectrumAnalyzer
from neurodeck.control.snapshot import BANDS, CoreSnapshot, SpectrumView

from tests.app.dashboard.fakes import FakeCore

pytestmark = pytest.mark.gui

SFREQ = 250.0
NAMES = ("Fz", "C3", "Cz", "C4", "P3", "Pz", "P4", "O1", "Oz", "O2", "X1")


@pytest.fixture(scope="module")
def spectrum() -> SpectrumView:
    rng = np.random.default_rng(7)
    n = int(4 * SFREQ)
    data = 5.0 * rng.standard_normal((len(NAMES), n))
    data[7:10] += 20.0 * np.sin(2 * np.pi * 10.0 * np.arange(n) / SFREQ)  # occipital alpha
    return SpectrumAnalyzer(NAMES, SFREQ, grid=32).compute(data, data)


@pytest.fixture
def panel(qtbot) -> SpectrumPanel:
    widget = SpectrumPanel(FakeCore())
    qtbot.addWidget(widget)
    return widget


def test_no_spectrum_shows_the_placeholder(panel, spectrum) -> None:
    panel.render(CoreSnapshot(t=0.0))
    assert panel.stack.currentWidget() is panel.placeholder
    panel.render(CoreSnapshot(t=1.0, spectrum=spectrum))
    assert panel.stack.currentWidget() is not panel.placeholder
    panel.render(CoreSnapshot(t=2.0))
    assert panel.stack.currentWidget() is panel.placeholder
    x, _ = panel.mean_curve.getData()
    assert x is None or len(x) == 0
    assert panel.image.image is None


def test_mean_spectrum_and_range_are_drawn_in_log_power(panel, spectrum) -> None:
    panel.render(CoreSnapshot(t=1.0, spectrum=spectrum))
    keep = (spectrum.freqs >= FREQ_RANGE_HZ[0]) & (spectrum.freqs <= FREQ_RANGE_HZ[1])
    x, y = panel.mean_curve.getData()
    np.testing.assert_allclose(x, spectrum.freqs[keep])
    np.testing.assert_allclose(y, np.log10(spectrum.psd[:, keep].mean(axis=0)))
    np.testing.assert_allclose(
        panel.high_curve.getData()[1], np.log10(spectrum.psd[:, keep].max(0))
    )
    np.testing.assert_allclose(panel.low_curve.getData()[1], np.log10(spectrum.psd[:, keep].min(0)))
    assert x[np.argmax(y)] == pytest.approx(10.0)  # the alpha peak
    assert len(panel.channel_curve.getData()[0]) == 0
    panel.channels_check.setChecked(True)
    _, cy = panel.channel_curve.getData()
    rows = cy.reshape(len(NAMES), -1)
    np.testing.assert_allclose(rows[:, :-1], np.log10(spectrum.psd[:, keep]))
    assert np.isnan(rows[:, -1]).all()


def test_bars_are_the_mean_band_power(panel, spectrum) -> None:
    panel.render(CoreSnapshot(t=1.0, spectrum=spectrum))
    heights = np.asarray(panel.bars.opts["height"])
    np.testing.assert_allclose(heights, spectrum.band_power.mean(axis=0))
    np.testing.assert_allclose(panel.bars.opts["x"], np.arange(len(BANDS)))
    assert [label.textItem.toPlainText() for label in panel.bar_labels] == [
        f"{h:.3g}" for h in heights
    ]


def test_flagged_channels_are_left_out_of_means_and_ranges(panel, spectrum) -> None:
    quality = tuple(
        dataclasses.replace(q, flag="noisy", reason="noisy") if q.name == "Cz" else q
        for q in spectrum.quality
    )
    flagged = dataclasses.replace(spectrum, quality=quality)
    panel.render(CoreSnapshot(t=1.0, spectrum=flagged))
    ok = np.array([name != "Cz" for name in NAMES])
    keep = (spectrum.freqs >= FREQ_RANGE_HZ[0]) & (spectrum.freqs <= FREQ_RANGE_HZ[1])
    np.testing.assert_allclose(
        panel.mean_curve.getData()[1], np.log10(spectrum.psd[ok][:, keep].mean(axis=0))
    )
    np.testing.assert_allclose(panel.bars.opts["height"], spectrum.band_power[ok].mean(axis=0))


def test_scalp_map_shows_the_chosen_band(panel, spectrum) -> None:
    panel.render(CoreSnapshot(t=1.0, spectrum=spectrum))
    assert panel.band == "alpha"
    np.testing.assert_array_equal(panel.image.image, spectrum.scalp_maps["alpha"])
    rect = panel.image.mapRectToParent(panel.image.boundingRect())
    assert (rect.left(), rect.right(), rect.top(), rect.bottom()) == pytest.approx(
        (-1.2, 1.2, -1.2, 1.2)
    )
    finite = spectrum.scalp_maps["alpha"][np.isfinite(spectrum.scalp_maps["alpha"])]
    assert panel.image.getLevels() == pytest.approx((finite.min(), finite.max()))
    assert f"max {finite.max():.2f}" in panel.map_label.text()
    panel.band_combo.setCurrentText("beta")
    np.testing.assert_array_equal(panel.image.image, spectrum.scalp_maps["beta"])
    ex, ey = panel.electrodes.getData()
    np.testing.assert_allclose(np.column_stack([ex, ey]), spectrum.scalp_positions)
    assert list(panel.electrodes.data["data"]) == list(spectrum.scalp_names)
    assert "X1" not in spectrum.scalp_names


def test_missing_maps_are_explained(panel, spectrum) -> None:
    no_maps = dataclasses.replace(spectrum, scalp_maps={})
    panel.render(CoreSnapshot(t=1.0, spectrum=no_maps))
    assert panel.image.image is None
    assert panel.map_label.text() == NO_MAP


def test_the_same_spectrum_is_not_redrawn(panel, spectrum, monkeypatch) -> None:
    panel.render(CoreSnapshot(t=1.0, spectrum=spectrum))
    calls = []
    monkeypatch.setattr(panel.mean_curve, "setData", lambda *a, **k: calls.append(k))
    panel.render(CoreSnapshot(t=1.1, spectrum=spectrum))
    assert calls == []
    panel.render(CoreSnapshot(t=1.2, spectrum=dataclasses.replace(spectrum)))
    assert len(calls) == 1
