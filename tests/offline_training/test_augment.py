"""Seeded augmentations: reproducibility, shapes, and that each one does what it says."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.signal
import torch
from neurodeck.common.types import ConfigError
from neurodeck.offline_training import augment as aug
from torch import Tensor

SFREQ = 160.0
N_TIMES = 320


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _windows(batch: int = 3, n_channels: int = 4, dtype: torch.dtype = torch.float32) -> Tensor:
    torch.manual_seed(123)
    return (torch.randn(batch, n_channels, N_TIMES) * 20.0).to(dtype)


AugFn = Callable[[Tensor, torch.Generator], Tensor]

# Length-preserving augmentations.
SAME_LENGTH: dict[str, AugFn] = {
    "time_shift": lambda x, g: aug.time_shift(x, SFREQ, g),
    "amplitude_scale": aug.amplitude_scale,
    "dc_shift": aug.dc_shift,
    "zero_mask": aug.zero_mask,
    "gaussian_noise": aug.gaussian_noise,
    "band_stop": lambda x, g: aug.band_stop(x, SFREQ, g),
    "seqclr_view1": lambda x, g: aug.seqclr_views(x, SFREQ, g)[0],
    "seqclr_view2": lambda x, g: aug.seqclr_views(x, SFREQ, g)[1],
    "spp_add_noise": aug.spp_add_noise,
    "spp_pool": aug.spp_pool,
    "spp_quantize": aug.spp_quantize,
}
CHANGES_LENGTH: dict[str, AugFn] = {
    "spp_resample": lambda x, g: aug.spp_resample(x, SFREQ, g),
    "spp_clip": aug.spp_clip,
    "recombine_subset": lambda x, g: aug.recombine_channels(x, 3, g),
}
ALL = {**SAME_LENGTH, **CHANGES_LENGTH}


@pytest.mark.parametrize("name", sorted(ALL))
def test_same_seed_same_output_different_seed_different(name: str) -> None:
    x = _windows()
    first = ALL[name](x, _gen(7))
    again = ALL[name](x, _gen(7))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    others = [ALL[name](x, _gen(seed)) for seed in (8, 9, 10)]
    assert any(o.shape != first.shape or not torch.equal(o, first) for o in others)


@pytest.mark.parametrize("name", sorted(SAME_LENGTH))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_keeps_shape_and_dtype_and_changes_signal(name: str, dtype: torch.dtype) -> None:
    x = _windows(dtype=dtype)
    before = x.clone()
    out = SAME_LENGTH[name](x, _gen(3))
    assert out.shape == x.shape and out.dtype == dtype
    torch.testing.assert_close(x, before, rtol=0, atol=0)  # the input is not modified
    changed = (out - x).abs().amax(dim=2) > 1e-6  # (batch, chans)
    assert changed.all(), f"{name} left {int((~changed).sum())} series unchanged"


def test_every_series_gets_its_own_draw() -> None:
    x = _windows()
    delta = aug.dc_shift(x, _gen()) - x
    offsets = delta[..., 0]
    torch.testing.assert_close(delta, offsets[..., None].expand_as(delta))  # constant per series
    assert offsets.unique().numel() == offsets.numel()
    assert offsets.abs().max() <= 10.0
    scale = aug.amplitude_scale(x, _gen())[..., 0] / x[..., 0]
    assert ((scale >= 0.5) & (scale <= 2.0)).all() and scale.unique().numel() == scale.numel()


def test_time_shift_is_a_small_shift() -> None:
    x = _windows(1, 1)
    out = aug.time_shift(x, SFREQ, _gen(1))
    max_shift = round(N_TIMES / 80)
    middle = out[0, 0, max_shift:-max_shift]
    matches = [
        s
        for s in range(-max_shift, max_shift + 1)
        if s != 0 and torch.equal(middle, x[0, 0, max_shift - s : N_TIMES - max_shift - s])
    ]
    assert len(matches) == 1


def test_zero_mask_sets_one_short_run_to_zero() -> None:
    x = _windows() + 100.0  # no natural zeros
    out = aug.zero_mask(x, _gen(2))
    max_len = round(0.0375 * N_TIMES)
    for series in out.reshape(-1, N_TIMES):
        zeros = torch.nonzero(series == 0).flatten()
        assert 1 <= zeros.numel() <= max_len
        assert zeros[-1] - zeros[0] + 1 == zeros.numel()  # contiguous


def _amplitude_at(signal: np.ndarray, freq_hz: float) -> float:
    """Amplitude of ``freq_hz`` in the middle half of a signal (least-squares sine fit)."""
    t = np.arange(signal.size) / SFREQ
    middle = slice(signal.size // 4, 3 * signal.size // 4)
    basis = np.stack([np.sin(2 * np.pi * freq_hz * t), np.cos(2 * np.pi * freq_hz * t)], 1)
    coef, *_ = np.linalg.lstsq(basis[middle], signal[middle], rcond=None)
    return float(np.hypot(*coef))


@pytest.mark.parametrize("centre_hz", [20.0, 47.3])
def test_band_stop_removes_its_centre_and_keeps_other_bands(centre_hz: float) -> None:
    t = torch.arange(N_TIMES, dtype=torch.float64) / SFREQ
    stop = torch.sin(2 * math.pi * centre_hz * t)
    keep = torch.sin(2 * math.pi * 8.0 * t + 0.3)
    x = (10 * stop + 10 * keep).reshape(1, 1, N_TIMES)
    out = aug.band_stop(x, SFREQ, _gen(), centre_range_hz=(centre_hz, centre_hz))[0, 0].numpy()
    assert _amplitude_at(out, centre_hz) < 0.01 * 10  # > 40 dB down
    assert _amplitude_at(out, 8.0) == pytest.approx(10.0, rel=0.01)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(N_TIMES)))
    freqs = np.fft.rfftfreq(N_TIMES, 1 / SFREQ)
    assert spectrum[np.argmin(np.abs(freqs - centre_hz))] < 0.01 * spectrum.max()


def test_band_stop_gain_matches_scipy_butterworth_filtfilt() -> None:
    sos = scipy.signal.butter(5, [27.5, 32.5], "bandstop", fs=SFREQ, output="sos")
    freqs, response = scipy.signal.sosfreqz(sos, worN=np.linspace(0, SFREQ / 2, 401), fs=SFREQ)
    ours = aug.bandstop_gain(torch.from_numpy(freqs), torch.tensor([30.0]), 5.0, SFREQ, 5)
    np.testing.assert_allclose(ours[0].numpy(), np.abs(response) ** 2, atol=1e-10)


def test_band_stop_rejects_a_rate_too_low_for_its_range() -> None:
    with pytest.raises(ConfigError, match="stop band inside"):
        aug.band_stop(_windows(), 40.0, _gen())


def test_recombine_channels_all_pairs() -> None:
    x = _windows(2, 4)
    out = aug.recombine_channels(x)
    assert out.shape == (2, 16, N_TIMES)  # C**2 series
    torch.testing.assert_close(out[:, :4], x)
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    for p, (i, j) in enumerate(pairs):
        torch.testing.assert_close(out[:, 4 + p], x[:, i] - x[:, j])


def test_recombine_channels_random_subset() -> None:
    x = _windows(2, 5)
    out = aug.recombine_channels(x, max_pairs=6, gen=_gen(4))
    pairs = aug.recombination_pairs(5, 6, _gen(4))
    assert out.shape == (2, 5 + 6, N_TIMES) and pairs.shape == (6, 2)
    assert len({tuple(p) for p in pairs.tolist()}) == 6 and (pairs[:, 0] != pairs[:, 1]).all()
    for p, (i, j) in enumerate(pairs.tolist()):
        torch.testing.assert_close(out[:, 5 + p], x[:, i] - x[:, j])
    assert aug.recombine_channels(x, max_pairs=100, gen=_gen()).shape[1] == 25
    assert aug.recombine_channels(x, max_pairs=0).shape[1] == 5
    with pytest.raises(ConfigError, match="'gen' is required"):
        aug.recombine_channels(x, max_pairs=3)
    with pytest.raises(ConfigError, match="'max_pairs' must be None or an integer >= 0"):
        aug.recombine_channels(x, max_pairs=-1, gen=_gen())


def test_seqclr_augment_applies_distinct_augmentations_per_series() -> None:
    x = _windows()
    # Two affine augmentations: every series must become a * x + b with its own a and b.
    out = aug.seqclr_augment(x, SFREQ, _gen(), augmentations=("amplitude_scale", "dc_shift"))
    for src, dst in zip(x.reshape(-1, N_TIMES), out.reshape(-1, N_TIMES), strict=True):
        a, b = np.polyfit(src.double().numpy(), dst.double().numpy(), 1)
        np.testing.assert_allclose(dst.numpy(), a * src.numpy() + b, atol=1e-3)
        assert 0.5 <= a <= 2.0 and abs(b) > 1e-6
    with pytest.raises(ConfigError, match="'n_per_series' must be in"):
        aug.seqclr_augment(x, SFREQ, _gen(), augmentations=("dc_shift",), n_per_series=2)
    with pytest.raises(ConfigError, match="distinct names"):
        aug.seqclr_augment(x, SFREQ, _gen(), augmentations=("flip",))


def test_seqclr_views_differ() -> None:
    x = _windows()
    view1, view2 = aug.seqclr_views(x, SFREQ, _gen())
    assert view1.shape == view2.shape == x.shape
    assert ((view1 - view2).abs().amax(dim=2) > 1e-6).all()


@pytest.mark.parametrize("levels", [2, 7, 30])
def test_quantize_has_at_most_levels_values_per_series(levels: int) -> None:
    x = _windows()
    x[0, 0] = 3.0  # a flat channel stays unchanged
    out = aug.spp_quantize(x, _gen(), levels=(levels,))
    for b in range(x.shape[0]):
        for c in range(x.shape[1]):
            assert out[b, c].unique().numel() <= levels
    assert torch.equal(out[0, 0], x[0, 0])
    assert ((out >= x.amin(2, keepdim=True)) & (out <= x.amax(2, keepdim=True))).all()
    assert (out - x).abs().max() <= ((x.amax(2) - x.amin(2)) / levels / 2).max() + 1e-4


def test_spp_add_noise_follows_peak_to_peak() -> None:
    x = _windows(1, 2)
    x[0, 1] *= 100.0
    noise = aug.spp_add_noise(x, _gen(), scales=(0.1,)) - x
    ratio = noise.std(dim=2) / (x.amax(2) - x.amin(2))
    torch.testing.assert_close(ratio, torch.full_like(ratio, 0.1), rtol=0.15, atol=0)


def test_spp_resample_lengths_and_matches_scipy() -> None:
    x = _windows(dtype=torch.float64)
    lengths = {aug.spp_resample(x, SFREQ, _gen(seed)).shape[-1] for seed in range(30)}
    assert lengths == {round(N_TIMES * r / SFREQ) for r in (256, 200, 160, 128, 100)}
    for n_out in (200, 201, 512, 513):
        np.testing.assert_allclose(
            aug.fft_resample(x, n_out).numpy(), scipy.signal.resample(x.numpy(), n_out, axis=-1)
        )


def test_spp_clip_keeps_exactly_n_contiguous_samples() -> None:
    x = _windows()
    allowed = {round(f * N_TIMES) for f in aug.SPP_CLIP_FRACTIONS}
    for seed in range(5):
        out = aug.spp_clip(x, _gen(seed))
        n = out.shape[-1]
        assert n in allowed and out.shape[:2] == x.shape[:2]
        for b in range(x.shape[0]):
            starts = [s for s in range(N_TIMES - n + 1) if torch.equal(x[b, :, s : s + n], out[b])]
            assert len(starts) == 1


@pytest.mark.parametrize("size", [2, 3, 5])
def test_spp_pool_is_piecewise_constant(size: int) -> None:
    x = _windows(1, 2)
    out = aug.spp_pool(x, _gen(), sizes=(size,))
    runs = torch.split(out[0], size, dim=1)
    sources = torch.split(x[0], size, dim=1)
    for run, src in zip(runs, sources, strict=True):
        torch.testing.assert_close(run, src.mean(dim=1, keepdim=True).expand_as(run))


def test_spp_augment_picks_among_all_options() -> None:
    x = _windows(2, 2)
    sfreq = 250.0  # TUH's rate, not among the resampling targets (160 Hz would be the identity)
    outputs = [aug.spp_augment(x, sfreq, _gen(seed), include_identity=True) for seed in range(40)]
    assert any(o.shape == x.shape and torch.equal(o, x) for o in outputs)  # identity
    assert len({o.shape[-1] for o in outputs}) > 3  # resample and clip change the length
    without = [aug.spp_augment(x, sfreq, _gen(seed)) for seed in range(40)]
    assert not any(o.shape == x.shape and torch.equal(o, x) for o in without)


def test_pad_collate_pads_bottom_and_right() -> None:
    a, b = torch.ones(2, 5), torch.full((3, 4), 2.0)
    batch = aug.pad_collate([a, b])
    assert batch.shape == (2, 3, 5) and batch.dtype == a.dtype
    torch.testing.assert_close(batch[0, :2, :5], a)
    torch.testing.assert_close(batch[1, :3, :4], b)
    assert batch[0, 2:].abs().sum() == 0 and batch[1, :, 4:].abs().sum() == 0
    with pytest.raises(ConfigError, match="non-empty sequence"):
        aug.pad_collate([])
    with pytest.raises(ConfigError, match=r"'windows\[1\]' must be a \(channels, times\) tensor"):
        aug.pad_collate([a, torch.ones(1, 2, 3)])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: aug.dc_shift(torch.ones(4, 10), _gen()), "shape \\(batch, channels, times\\)"),
        (lambda: aug.dc_shift(torch.ones(1, 1, 10, dtype=torch.int64), _gen()), "float tensor"),
        (lambda: aug.amplitude_scale(torch.ones(1, 1, 10), 0), "'gen' must be a torch.Generator"),
        (lambda: aug.amplitude_scale(torch.ones(1, 1, 10), _gen(), 2.0, 1.0), "low <= high"),
        (lambda: aug.spp_pool(torch.ones(1, 1, 10), _gen(), sizes=(2.5,)), "must hold integers"),
        (lambda: aug.spp_clip(torch.ones(1, 1, 10), _gen(), fractions=(1.5,)), "in \\(0, 1\\]"),
        (lambda: aug.time_shift(torch.ones(1, 1, 10), -1.0, _gen()), "'sfreq' must be"),
    ],
)
def test_invalid_arguments_raise_config_error(call: Callable[[], Tensor], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()
