"""Causal SOS filters and the streaming resampler: chunking never changes the output."""

from __future__ import annotations

import numpy as np
import pytest
from neurodeck.common.types import ConfigError
from neurodeck.streaming.filters import (
    CausalSOSFilter,
    StreamingResampler,
    bandpass_sos,
    notch_sos,
)
from scipy import signal


def _random_chunks(n_samples: int, rng: np.random.Generator, max_len: int = 50) -> list[slice]:
    """Consecutive slices of random length (0 included) covering ``range(n_samples)``."""
    slices, start = [], 0
    while start < n_samples:
        stop = min(n_samples, start + int(rng.integers(0, max_len)))
        slices.append(slice(start, stop))
        start = stop
    return slices


def _in_chunks(process, x: np.ndarray, rng: np.random.Generator, max_len: int = 50) -> np.ndarray:
    return np.concatenate([process(x[:, s]) for s in _random_chunks(x.shape[1], rng, max_len)], 1)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


# -- CausalSOSFilter ------------------------------------------------------------------------------


def test_bandpass_equals_scipy_sosfilt_from_rest(rng: np.random.Generator) -> None:
    x = (rng.standard_normal((3, 800)) * 20).astype(np.float32)
    filt = CausalSOSFilter.bandpass(8.0, 30.0, 160.0, n_channels=3)
    sos = signal.butter(4, [8, 30], btype="bandpass", fs=160.0, output="sos")
    np.testing.assert_array_equal(filt.sos, sos)
    y = filt.process(x)
    assert y.dtype == np.float32 and y.flags.c_contiguous and y.shape == x.shape
    np.testing.assert_array_equal(y, signal.sosfilt(sos, x.astype(np.float64)).astype(np.float32))


@pytest.mark.parametrize(
    "make",
    [
        lambda: CausalSOSFilter.bandpass(1.0, 40.0, 250.0, n_channels=4, order=6),
        lambda: CausalSOSFilter.notch(50.0, 250.0, n_channels=4, harmonics=True),
    ],
)
def test_chunked_equals_whole(make, rng: np.random.Generator) -> None:
    x = (rng.standard_normal((4, 1500)) * 50).astype(np.float32)
    whole = make().process(x)
    chunked = _in_chunks(make().process, x, rng)
    np.testing.assert_array_equal(chunked, whole)


def test_reset_returns_to_rest(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 300)).astype(np.float32)
    filt = CausalSOSFilter.bandpass(8.0, 30.0, 160.0, n_channels=2)
    first = filt.process(x)
    assert not np.array_equal(filt.process(x), first)  # state carried over
    filt.reset()
    np.testing.assert_array_equal(filt.process(x), first)


def test_notch_removes_mains_and_passes_other_frequencies() -> None:
    sfreq, n = 250.0, 2500
    t = np.arange(n) / sfreq
    x = np.vstack([np.sin(2 * np.pi * 50 * t), np.sin(2 * np.pi * 20 * t)]).astype(np.float32)
    y = CausalSOSFilter.notch(50.0, sfreq, n_channels=2).process(x)
    settled = slice(n // 2, None)
    assert _rms(y[0, settled]) < 0.01 * _rms(x[0, settled])
    assert _rms(y[1, settled]) == pytest.approx(_rms(x[1, settled]), rel=0.02)


def test_notch_harmonics_cover_every_multiple_below_nyquist() -> None:
    assert notch_sos(50.0, 500.0, harmonics=True).shape == (4, 6)  # 50, 100, 150, 200 Hz
    assert notch_sos(50.0, 500.0).shape == (1, 6)
    t = np.arange(5000) / 500.0
    x = np.sin(2 * np.pi * 150 * t)[None].astype(np.float32)
    y = CausalSOSFilter.notch(50.0, 500.0, n_channels=1, harmonics=True).process(x)
    assert _rms(y[0, 2500:]) < 0.01


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((8.0, 90.0, 160.0), r"'bandpass' high edge must be below Nyquist \(80.0 Hz\); got 90.0"),
        ((30.0, 8.0, 160.0), "'bandpass' low edge must be below the high edge"),
        ((0.0, 8.0, 160.0), "'bandpass' low edge must be a finite frequency > 0"),
        ((8.0, 30.0, -1.0), "'sfreq'"),
    ],
)
def test_bad_bandpass_is_refused(args: tuple[float, float, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        bandpass_sos(*args)


def test_bad_notch_and_shape_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"'freq_hz' must be below Nyquist \(50.0 Hz\)"):
        notch_sos(60.0, 100.0)
    with pytest.raises(ConfigError, match="'sos' must have shape"):
        CausalSOSFilter(np.ones((2, 5)), n_channels=1)
    with pytest.raises(ConfigError, match="'n_channels'"):
        CausalSOSFilter.bandpass(8.0, 30.0, 160.0, n_channels=0)
    filt = CausalSOSFilter.bandpass(8.0, 30.0, 160.0, n_channels=3)
    with pytest.raises(ConfigError, match=r"n_channels=3.*\(4, 10\)"):
        filt.process(np.zeros((4, 10), np.float32))


# -- StreamingResampler ---------------------------------------------------------------------------

RATES = [(160.0, 128.0), (2048.0, 250.0), (500.0, 200.0), (128.0, 160.0)]


@pytest.mark.parametrize(("sfreq_in", "sfreq_out"), RATES)
def test_resampler_equals_causal_upfirdn(
    sfreq_in: float, sfreq_out: float, rng: np.random.Generator
) -> None:
    x = rng.standard_normal((3, 3000))
    resampler = StreamingResampler(sfreq_in, sfreq_out, n_channels=3)
    assert resampler.sfreq_out == sfreq_out
    y = resampler.process(x)
    n_out = int(np.ceil(3000 * sfreq_out / sfreq_in))
    assert y.shape == (3, n_out) and y.dtype == np.float32 and y.flags.c_contiguous
    up, down = resampler.up, resampler.down
    expected = signal.upfirdn(resampler.taps, x, up, down, axis=-1)[:, :n_out]
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("sfreq_in", "sfreq_out"), RATES)
@pytest.mark.parametrize("max_len", [3, 40, 900])
def test_resampler_chunked_equals_whole(
    sfreq_in: float, sfreq_out: float, max_len: int, rng: np.random.Generator
) -> None:
    x = rng.standard_normal((2, 4000)) * 30
    whole = StreamingResampler(sfreq_in, sfreq_out, n_channels=2).process(x)
    resampler = StreamingResampler(sfreq_in, sfreq_out, n_channels=2)
    total_in, total_out = 0, 0
    for chunk in _random_chunks(x.shape[1], rng, max_len):
        out = resampler.process(x[:, chunk])
        total_in += chunk.stop - chunk.start
        total_out += out.shape[1]
        assert total_out == resampler.output_length(total_in)  # ceil(N * up / down), always
        np.testing.assert_allclose(out, whole[:, total_out - out.shape[1] : total_out], atol=1e-4)
    assert total_out == whole.shape[1]


@pytest.mark.parametrize(("sfreq_in", "sfreq_out"), RATES)
def test_resampled_sine_keeps_amplitude_and_reported_delay(sfreq_in: float, sfreq_out: float):
    freq = 6.0
    x = np.sin(2 * np.pi * freq * np.arange(int(4 * sfreq_in)) / sfreq_in)[None]
    resampler = StreamingResampler(sfreq_in, sfreq_out, n_channels=1)
    y = resampler.process(x)[0]
    t_out = np.arange(y.size) / resampler.sfreq_out
    expected = np.sin(2 * np.pi * freq * (t_out - resampler.group_delay_s))
    settled = t_out > 2 * resampler.group_delay_s + 0.1
    np.testing.assert_allclose(y[settled], expected[settled], atol=0.01)
    assert resampler.group_delay_samples == pytest.approx(
        resampler.group_delay_s * resampler.sfreq_out
    )


def test_resampler_reset_and_identity(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 500)).astype(np.float32)
    resampler = StreamingResampler(500.0, 200.0, n_channels=2)
    first = resampler.process(x)
    resampler.reset()
    np.testing.assert_array_equal(resampler.process(x), first)
    identity = StreamingResampler(250.0, 250.0, n_channels=2)
    assert identity.is_identity and identity.group_delay_s == 0.0
    assert identity.process(x) is x


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sfreq_in": 0.0}, "'sfreq_in'"),
        ({"sfreq_out": -5.0}, "'sfreq_out'"),
        ({"n_channels": 0}, "'n_channels'"),
        ({"zeros": 0}, "'zeros'"),
        ({"sfreq_out": 0.01}, "cannot be represented"),
    ],
)
def test_bad_resampler_settings_are_refused(kwargs: dict, match: str) -> None:
    settings = {"sfreq_in": 160.0, "sfreq_out": 128.0, "n_channels": 2} | kwargs
    with pytest.raises(ConfigError, match=match):
        StreamingResampler(**settings)


def test_resampler_refuses_wrong_channel_count() -> None:
    with pytest.raises(ConfigError, match=r"n_channels=2.*\(3, 7\)"):
        StreamingResampler(160.0, 128.0, n_channels=2).process(np.zeros((3, 7)))
