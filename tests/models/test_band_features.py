"""Band power and differential entropy against analytic values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from neurodeck.common.types import ConfigError
from neurodeck.models.band_features import (
    BANDS,
    band_matrix,
    band_power,
    de_of_variance,
    differential_entropy,
)


def _expected_band_variance(lo: float, hi: float, sfreq: float, n: int, sigma: float) -> float:
    """E[band power] of white noise of std ``sigma`` in 1-s frames of ``n`` samples.

    Every one-sided bin holds ``2 sigma^2 / n``, except that removing each frame's mean before
    the periodic Hann taper takes ``|W(1)|^2 / n = n / 16`` of the taper's ``sum w^2 = 3 n / 8``
    from bin 1: it keeps 5/6 of its power.
    """
    f = np.fft.rfftfreq(n, 1 / sfreq)
    bins = np.flatnonzero((f >= lo) & (f < min(hi, sfreq / 2)))
    share = np.where(bins == 1, 5 / 6, 1.0).sum()
    return float(2 * sigma**2 * share / n)


@pytest.mark.parametrize("sfreq", [128.0, 200.0, 250.0])
def test_de_of_white_gaussian_noise_matches_the_analytic_value(sfreq):
    sigma = 7.0
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, sigma, size=(16, int(sfreq * 600))).astype(np.float32)
    power = band_power(x, sfreq).mean(dim=(0, 1))  # average over 16 x 600 frames
    for j, (_, lo, hi) in enumerate(BANDS):
        variance = _expected_band_variance(lo, hi, sfreq, int(sfreq), sigma)
        assert float(power[j]) == pytest.approx(variance, rel=0.02)
        de = float(0.5 * torch.log(2 * math.pi * math.e * power[j]))
        assert de == pytest.approx(float(de_of_variance(variance)), abs=0.01)


def test_de_per_frame_is_half_log_of_power():
    x = torch.randn(2, 4, 512) * 5
    de = differential_entropy(x, 128.0)
    p = band_power(x, 128.0)
    assert de.shape == (2, 4, 4, 5)
    torch.testing.assert_close(de, 0.5 * torch.log(2 * math.pi * math.e * p))


def test_a_sinusoid_lands_in_its_band_only():
    sfreq = 200.0
    t = np.arange(int(sfreq * 4)) / sfreq
    x = (10 * np.sin(2 * np.pi * 10.0 * t))[None].astype(np.float32)  # alpha, 10 Hz
    p = band_power(x, sfreq)[0].mean(0)  # (bands,)
    alpha = [name for name, *_ in BANDS].index("alpha")
    assert float(p[alpha]) == pytest.approx(50.0, rel=0.02)  # variance of a 10-uV sine
    others = torch.cat([p[:alpha], p[alpha + 1 :]])
    assert float(others.max()) < 1e-3 * float(p[alpha])


def test_features_are_causal_newest_sample_counts_oldest_partial_frame_dropped():
    x = torch.randn(1, 2, 300)  # 2 frames of 128 + 44 leftover samples at 128 Hz
    base = band_power(x, 128.0)
    y = x.clone()
    y[..., :44] = 1e3  # the dropped oldest partial frame
    torch.testing.assert_close(band_power(y, 128.0), base)
    z = x.clone()
    z[..., -1] += 50.0  # the newest sample changes the last frame
    assert not torch.allclose(band_power(z, 128.0)[..., -1, :], base[..., -1, :])


def test_flat_channel_gives_finite_de():
    de = differential_entropy(np.zeros((1, 256), np.float32), 128.0)
    assert torch.isfinite(de).all()


def test_bad_bands_and_short_windows_are_refused_with_a_reason():
    with pytest.raises(ConfigError, match="Nyquist"):
        band_matrix(60.0, 60, [("gamma", 31.0, 50.0)])
    with pytest.raises(ConfigError, match="shorter than one"):
        band_power(np.zeros((2, 100), np.float32), 128.0)
    with pytest.raises(ConfigError, match="no frequency bin"):
        band_matrix(128.0, 128, [("narrow", 10.2, 10.4)])
