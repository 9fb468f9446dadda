"""Spectra, band powers, channel flags, head positions and scalp maps of the dashboard."""

from __future__ import annotations

import numpy as np
import pytest
from neurodeck.control.analysis import (
    MIN_CHANNELS_FOR_MAPS,
    ScalpInterpolator,
    SpectrumAnalyzer,
    band_powers,
    channel_quality,
    head_positions,
    welch_psd,
)
from neurodeck.control.snapshot import BANDS

SFREQ = 250.0
NAMES_10_20 = (
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz",
    "C4", "T8", "P7", "P3", "Pz", "P4", "P8", "O1", "Oz", "O2",
)  # fmt: skip


def _sine(amp_uv: float, freq_hz: float, n_samples: int, sfreq: float = SFREQ) -> np.ndarray:
    return amp_uv * np.sin(2 * np.pi * freq_hz * np.arange(n_samples) / sfreq)


# ------------------------------------------------------------------ spectra


def test_sine_power_lands_in_alpha_with_parseval_magnitude(rng) -> None:
    amp_uv = 20.0  # power A^2 / 2 = 200 µV^2
    data = _sine(amp_uv, 10.0, int(4 * SFREQ))[None] + 0.1 * rng.standard_normal((1, 1000))
    freqs, psd = welch_psd(data.astype(np.float32), SFREQ)
    power = band_powers(freqs, psd)
    assert psd.shape == (1, len(freqs))
    alpha = list(BANDS).index("alpha")
    assert power[0, alpha] == pytest.approx(amp_uv**2 / 2, rel=0.03)
    others = np.delete(power[0], alpha)
    assert others.max() < 0.01 * power[0, alpha]


def test_psd_integrates_to_the_variance(rng) -> None:
    noise = 15.0 * rng.standard_normal((3, 20 * int(SFREQ)))
    freqs, psd = welch_psd(noise, SFREQ)
    variance = psd.sum(axis=1) * (freqs[1] - freqs[0])
    np.testing.assert_allclose(variance, noise.var(axis=1), rtol=0.05)
    assert freqs[1] - freqs[0] == pytest.approx(1.0)  # nperseg_s = 1 s


def test_band_powers_integrate_over_half_open_bands() -> None:
    freqs = np.arange(0.0, 50.5, 0.5)
    psd = np.ones((2, len(freqs)))
    psd[1] *= 3.0
    power = band_powers(freqs, psd, {"a": (1.0, 4.0), "b": (4.0, 8.0)})
    # [1, 4) holds 1.0 ... 3.5: six bins of 0.5 Hz
    np.testing.assert_allclose(power, [[3.0, 4.0], [9.0, 12.0]])


def test_welch_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="sfreq"):
        welch_psd(np.zeros((2, 100)), 0.0)
    with pytest.raises(ValueError, match="data"):
        welch_psd(np.zeros(100), SFREQ)


# ------------------------------------------------------------------ channel flags


def test_flat_noisy_and_outlier_channels_are_flagged(rng) -> None:
    names = ("A", "B", "C", "D", "E", "F", "G")
    data = 10.0 * rng.standard_normal((7, 1000))
    data[1] = 5000.0 + 0.05 * rng.standard_normal(1000)  # flat with a DC offset
    data[2] = 300.0 * rng.standard_normal(1000)  # above the absolute limit
    data[3] = 80.0 * rng.standard_normal(1000)  # 8x the others: a relative outlier
    data[4, 10:13] = np.nan
    quality = channel_quality(names, data.astype(np.float32), SFREQ)
    flags = {q.name: q.flag for q in quality}
    assert flags == {
        "A": "ok", "B": "flat", "C": "noisy", "D": "noisy", "E": "noisy", "F": "ok", "G": "ok"
    }  # fmt: skip
    reasons = {q.name: q.reason for q in quality}
    assert reasons["B"] == "flat: 0.1 µV rms; check the electrode contact"
    assert "30" in reasons["C"] and "limit 100 µV" in reasons["C"]
    assert "the median channel" in reasons["D"]
    assert "3 non-finite" in reasons["E"]
    assert reasons["A"] == ""


def test_offset_and_drift_do_not_make_a_channel_noisy(rng) -> None:
    n = 1000
    data = 10.0 * rng.standard_normal((4, n))
    data[0] += 20000.0 + np.linspace(0.0, 400.0, n)  # DC-coupled amplifier: offset and drift
    quality = channel_quality(("A", "B", "C", "D"), data, SFREQ)
    assert [q.flag for q in quality] == ["ok"] * 4


def test_no_relative_test_with_few_channels(rng) -> None:
    data = rng.standard_normal((3, 1000)) * np.array([[5.0], [5.0], [60.0]])
    assert [q.flag for q in channel_quality(("A", "B", "C"), data, SFREQ)] == ["ok"] * 3


# ------------------------------------------------------------------ head positions


def test_head_positions_follow_the_10_20_layout() -> None:
    names = ["cz", "Fz", "C3", "T7", "T8", "Fpz", "Oz", "STI 014", "T3", "O1.."]
    positions, located, indices = head_positions(names)
    assert located == ("cz", "Fz", "C3", "T7", "T8", "Fpz", "Oz", "T3", "O1..")
    assert indices == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    pos = dict(zip(located, positions, strict=True))
    np.testing.assert_allclose(pos["cz"], [0.0, 0.0], atol=0.05)
    assert pos["Fz"][1] > 0.3 and abs(pos["Fz"][0]) < 0.05  # front = +y
    assert pos["C3"][0] < -0.3 and abs(pos["C3"][1]) < 0.05  # left = -x
    assert pos["T8"][0] > 0.9
    for name in ("T7", "T8", "Fpz", "Oz"):
        assert np.hypot(*pos[name]) == pytest.approx(1.0, abs=0.05)
    np.testing.assert_allclose(pos["T3"], pos["T7"])  # old name of the same site
    assert pos["O1.."][1] < -0.8


def test_head_positions_of_unknown_names_are_empty() -> None:
    positions, located, indices = head_positions(["foo", "bar"])
    assert positions.shape == (0, 2) and located == () and indices == []


# ------------------------------------------------------------------ scalp interpolation


def test_interpolator_reproduces_constant_and_linear_fields() -> None:
    positions, _, _ = head_positions(NAMES_10_20)
    interp = ScalpInterpolator(positions, grid=32)
    assert interp.extent == (-1.2, 1.2, -1.2, 1.2)
    constant = interp(np.full(len(positions), 3.5))
    assert constant.shape == (32, 32)
    inside = np.isfinite(constant)
    np.testing.assert_allclose(constant[inside], 3.5, atol=1e-6)
    # orientation: row 0 is the lowest y, column 0 the lowest x (pixel centres)
    centres = -1.2 + (np.arange(32) + 0.5) * 2.4 / 32
    both = interp(np.column_stack([positions[:, 1], positions[:, 0]]))  # maps of y and of x
    assert both.shape == (2, 32, 32)
    rows, cols = np.nonzero(inside)
    np.testing.assert_allclose(both[0][rows, cols], centres[rows], atol=1e-6)
    np.testing.assert_allclose(both[1][rows, cols], centres[cols], atol=1e-6)


def test_interpolator_is_nan_outside_the_head() -> None:
    positions, _, _ = head_positions(NAMES_10_20)
    image = ScalpInterpolator(positions, grid=48)(np.arange(len(positions), dtype=float))
    centres = -1.2 + (np.arange(48) + 0.5) * 2.4 / 48
    radius = np.hypot(centres[None, :], centres[:, None])
    assert np.isnan(image[radius > 1.0]).all()
    assert np.isfinite(image[radius <= 1.0]).all()
    assert np.nanmin(image) < np.nanmax(image)


# ------------------------------------------------------------------ the analyzer


def _eeg(rng, n_seconds: float = 4.0) -> np.ndarray:
    n = int(n_seconds * SFREQ)
    data = 5.0 * rng.standard_normal((len(NAMES_10_20), n))
    for name in ("O1", "Oz", "O2"):  # occipital alpha
        data[NAMES_10_20.index(name)] += _sine(20.0, 10.0, n)
    return data.astype(np.float32)


def test_analyzer_builds_a_spectrum_view(rng) -> None:
    data = _eeg(rng)
    analyzer = SpectrumAnalyzer(NAMES_10_20, SFREQ, span_s=4.0, grid=40)
    view = analyzer.compute(data, data)
    n_ch = len(NAMES_10_20)
    assert view.channel_names == NAMES_10_20
    assert view.psd.shape == (n_ch, len(view.freqs))
    assert view.band_names == tuple(BANDS)
    assert view.band_power.shape == (n_ch, len(BANDS))
    assert [q.flag for q in view.quality] == ["ok"] * n_ch
    assert view.scalp_names == NAMES_10_20
    assert view.scalp_positions.shape == (n_ch, 2)
    assert set(view.scalp_maps) == set(BANDS)
    alpha = view.scalp_maps["alpha"]
    assert alpha.shape == (40, 40)
    alpha_power = view.band_power[:, list(BANDS).index("alpha")]
    assert alpha_power[NAMES_10_20.index("Oz")] == pytest.approx(200.0 + 5**2 * 5 / 125, rel=0.2)
    # the back of the head (low rows) is hotter than the front in alpha
    assert np.nanmean(alpha[:12]) > np.nanmean(alpha[-12:]) + 0.5
    assert np.nanmax(alpha) == pytest.approx(np.log10(alpha_power.max()), abs=0.3)
    assert view.span_s == pytest.approx(4.0)


def test_analyzer_uses_the_newest_span_and_raw_for_flags(rng) -> None:
    data = _eeg(rng, n_seconds=8.0)
    data[:, : int(4 * SFREQ)] += 500.0 * rng.standard_normal((len(NAMES_10_20), 1000))
    raw = data.copy()
    raw[NAMES_10_20.index("C3")] = 1234.0  # flat only in the raw signal
    view = SpectrumAnalyzer(NAMES_10_20, SFREQ, span_s=4.0).compute(data, raw)
    assert view.band_power.max() < 300.0  # the loud first 4 s are not analysed
    flags = {q.name: q.flag for q in view.quality}
    assert flags["C3"] == "flat"
    assert sum(f != "ok" for f in flags.values()) == 1


def test_flagged_channels_are_left_out_of_the_maps(rng) -> None:
    data = _eeg(rng)
    data[NAMES_10_20.index("Cz")] = 400.0 * rng.standard_normal(data.shape[1])
    view = SpectrumAnalyzer(NAMES_10_20, SFREQ, grid=41).compute(data, data)
    assert {q.name: q.flag for q in view.quality}["Cz"] == "noisy"
    beta = view.scalp_maps["beta"]
    beta_power = view.band_power[:, list(BANDS).index("beta")]
    assert beta[20, 20] < np.log10(beta_power[NAMES_10_20.index("Cz")]) - 2.0  # no hot spot


def test_analyzer_without_enough_positions_has_no_maps(rng) -> None:
    names = ("Cz", "C3", "X1", "X2", "X3")
    assert MIN_CHANNELS_FOR_MAPS > 2
    data = 5.0 * rng.standard_normal((5, 1000))
    view = SpectrumAnalyzer(names, SFREQ).compute(data, data)
    assert dict(view.scalp_maps) == {}
    assert view.scalp_names == ("Cz", "C3")
    assert view.band_power.shape == (5, len(BANDS))


def test_analyzer_rejects_mismatched_data() -> None:
    analyzer = SpectrumAnalyzer(NAMES_10_20, SFREQ)
    with pytest.raises(ValueError, match="filtered"):
        analyzer.compute(np.zeros((3, 100)), np.zeros((3, 100)))
