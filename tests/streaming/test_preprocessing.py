"""The preprocessing chain: config validation, offline == live, and each stage's effect."""

from __future__ import annotations

import json

import numpy as np
import pytest
from neurodeck.common.types import ChannelMappingError, ConfigError
from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor
from scipy import signal

from tests.streaming.test_channels import EEGBCI_NAMES

NAMES = ("C3..", "Cz..", "C4..", "Fp1.", "O1..")
NO_FILTER = PreprocessingConfig(bandpass=None)


def _sines(freqs_hz: list[float], sfreq: float, n_samples: int, amp_uv: float = 10.0):
    t = np.arange(n_samples) / sfreq
    return (amp_uv * np.sin(2 * np.pi * np.asarray(freqs_hz)[:, None] * t)).astype(np.float32)


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=-1))


def _chunked(pre: Preprocessor, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    pre.reset()
    cuts = np.sort(rng.integers(0, x.shape[1], size=40))
    return np.concatenate([pre.process(part) for part in np.split(x, cuts, axis=1)], axis=1)


# -- PreprocessingConfig --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"bandpass": (30.0, 8.0)}, "'bandpass'"),
        ({"bandpass": (0.0, 8.0)}, "'bandpass'"),
        ({"bandpass": (8.0,)}, "'bandpass'"),
        ({"filter_order": 0}, "'filter_order'"),
        ({"filter_order": 2.5}, "'filter_order'"),
        ({"notch_hz": -50.0}, "'notch_hz'"),
        ({"sfreq_out": 0}, "'sfreq_out'"),
        ({"clip_uv": float("nan")}, "'clip_uv'"),
        ({"reference": ""}, "'reference'"),
        ({"channel_names": ()}, "'channel_names'"),
        ({"channel_names": "C3"}, "'channel_names'"),
        ({"channel_names": ("C3", "c3..")}, "'channel_names'"),
        ({"channel_names": ("T3", "T7")}, "'channel_names'"),
        ({"channel_names": ("C3",), "reference": "average"}, "'reference'"),
        ({"sfreq_out": 50.0}, r"'bandpass' high edge must be below the output Nyquist"),
    ],
)
def test_bad_config_names_the_parameter(kwargs: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        PreprocessingConfig(**kwargs)


def test_config_dict_round_trip_through_json() -> None:
    config = PreprocessingConfig(
        channel_names=("C3", "Cz", "C4"),
        reference="AVERAGE",
        bandpass=(4, 40),
        notch_hz=50,
        sfreq_out=128,
        clip_uv=500,
    )
    assert config.reference == "average" and config.bandpass == (4.0, 40.0)
    data = json.loads(json.dumps(config.to_dict()))
    assert PreprocessingConfig.from_dict(data) == config
    assert PreprocessingConfig.from_dict({}) == PreprocessingConfig()


def test_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown keys \['bandpass_hz', 'order'\]"):
        PreprocessingConfig.from_dict({"bandpass_hz": [8, 30], "order": 4})
    with pytest.raises(ConfigError, match="'preprocessing' must be a mapping"):
        PreprocessingConfig.from_dict([("bandpass", None)])  # type: ignore[arg-type]


# -- Preprocessor ---------------------------------------------------------------------------------


def test_default_reproduces_the_scipy_reference(rng: np.random.Generator) -> None:
    sfreq = 160.0
    x = (rng.standard_normal((len(NAMES), 2000)) * 20).astype(np.float32)
    out = Preprocessor(PreprocessingConfig(), NAMES, sfreq).process_array(x)
    sos = signal.butter(4, [8, 30], btype="bandpass", fs=sfreq, output="sos")
    reference = signal.sosfilt(sos, x.astype(np.float64), axis=-1)
    np.testing.assert_array_equal(out, reference.astype(np.float32))
    assert out.dtype == np.float32 and out.flags.c_contiguous


def test_all_stages_chunked_equals_whole(rng: np.random.Generator) -> None:
    config = PreprocessingConfig(
        channel_names=("O1", "C4", "C3", "Cz"),
        reference="average",
        notch_hz=50.0,
        bandpass=(4.0, 40.0),
        sfreq_out=128.0,
        clip_uv=40.0,
    )
    x = rng.standard_normal((len(NAMES), 3200)) * 20e-6  # volts
    pre = Preprocessor(config, NAMES, 160.0, in_scale_to_uv=1e6)
    whole = pre.process_array(x)
    assert whole.shape == (4, 2560) and whole.dtype == np.float32 and whole.flags.c_contiguous
    assert pre.out_channel_names == ("O1", "C4", "C3", "Cz")
    assert pre.out_sfreq == 128.0 and pre.resample_delay_s > 0
    assert np.abs(whole).max() == pytest.approx(40.0)  # clipped
    np.testing.assert_allclose(_chunked(pre, x, rng), whole, atol=1e-4)


def test_process_array_resets_state(rng: np.random.Generator) -> None:
    x = rng.standard_normal((len(NAMES), 300)).astype(np.float32)
    pre = Preprocessor(PreprocessingConfig(notch_hz=50.0), NAMES, 250.0)
    first = pre.process_array(x)
    pre.process(x)
    np.testing.assert_array_equal(pre.process_array(x), first)


def test_channels_are_picked_by_name_and_scaled(rng: np.random.Generator) -> None:
    x = rng.standard_normal((64, 50)).astype(np.float32)
    config = PreprocessingConfig(channel_names=("Cz", "C3", "T3", "Iz"), bandpass=None)
    pre = Preprocessor(config, EEGBCI_NAMES, 160.0, in_scale_to_uv=2.0)
    out = pre.process(x)
    rows = [EEGBCI_NAMES.index(n) for n in ("Cz..", "C3..", "T7..", "Iz..")]
    np.testing.assert_allclose(out, 2.0 * x[rows], rtol=1e-6)
    assert pre.out_channel_names == ("Cz", "C3", "T3", "Iz")
    assert pre.n_in_channels == 64 and pre.n_out_channels == 4


def test_missing_model_channels_are_reported(rng: np.random.Generator) -> None:
    config = PreprocessingConfig(channel_names=("C3", "Cz", "CP5", "Oz"))
    with pytest.raises(ChannelMappingError, match=r"\['CP5', 'Oz'\]"):
        Preprocessor(config, NAMES, 160.0)


def test_average_reference_zeroes_the_channel_mean(rng: np.random.Generator) -> None:
    x = (rng.standard_normal((len(NAMES), 400)) * 30 + 100).astype(np.float32)
    for bandpass in (None, (8.0, 30.0)):
        config = PreprocessingConfig(reference="average", bandpass=bandpass)
        out = Preprocessor(config, NAMES, 160.0).process_array(x)
        assert np.abs(out.mean(axis=0)).max() < 1e-4
        assert np.abs(out).max() > 1.0


def test_named_reference_is_subtracted(rng: np.random.Generator) -> None:
    x = rng.standard_normal((len(NAMES), 100)).astype(np.float32)
    config = PreprocessingConfig(channel_names=("C3", "C4"), reference="fp1", bandpass=None)
    out = Preprocessor(config, NAMES, 160.0).process(x)
    np.testing.assert_allclose(out, x[[0, 2]] - x[3], atol=1e-6)
    with pytest.raises(ChannelMappingError, match="'reference' channel 'Pz'"):
        Preprocessor(PreprocessingConfig(reference="Pz"), NAMES, 160.0)


def test_passband_sine_passes_and_mains_is_notched() -> None:
    sfreq, n = 250.0, 2500
    x = _sines([15.0, 50.0, 15.0, 50.0, 50.0], sfreq, n)
    out = Preprocessor(PreprocessingConfig(notch_hz=50.0), NAMES, sfreq).process_array(x)
    settled = slice(n // 2, None)
    gain = _rms(out[:, settled]) / _rms(x[:, settled])
    assert gain[[0, 2]] == pytest.approx([1.0, 1.0], abs=0.03)
    assert gain[[1, 3, 4]].max() < 1e-3
    no_notch = Preprocessor(PreprocessingConfig(bandpass=None), NAMES, sfreq).process_array(x)
    assert _rms(no_notch[1, settled]) / _rms(x[1, settled]) == pytest.approx(1.0)


def test_notch_alone_attenuates_50_hz() -> None:
    sfreq, n = 250.0, 2500
    x = _sines([50.0, 20.0, 50.0, 20.0, 50.0], sfreq, n)
    config = PreprocessingConfig(bandpass=None, notch_hz=50.0)
    out = Preprocessor(config, NAMES, sfreq).process_array(x)
    gain = _rms(out[:, n // 2 :]) / _rms(x[:, n // 2 :])
    assert gain[[0, 2, 4]].max() < 0.01
    assert gain[[1, 3]] == pytest.approx([1.0, 1.0], abs=0.02)


def test_input_is_validated_and_never_modified(rng: np.random.Generator) -> None:
    pre = Preprocessor(PreprocessingConfig(reference="average"), NAMES, 160.0)
    with pytest.raises(ConfigError, match=r"n_channels=5.*\(4, 10\)"):
        pre.process(np.zeros((4, 10), np.float32))
    with pytest.raises(ConfigError, match="'x' must have shape"):
        pre.process(np.zeros(10, np.float32))
    with pytest.raises(ConfigError, match="real numbers"):
        pre.process(np.zeros((5, 10), np.complex64))
    x = rng.standard_normal((5, 64))
    kept = x.copy()
    out64 = pre.process_array(x)
    np.testing.assert_array_equal(x, kept)
    out16 = pre.process_array(x.astype(np.float16))
    assert out64.dtype == out16.dtype == np.float32
    assert pre.process(np.zeros((5, 0), np.float32)).shape == (5, 0)


def test_output_never_aliases_the_input(rng: np.random.Generator) -> None:
    x = rng.standard_normal((len(NAMES), 20)).astype(np.float32)
    out = Preprocessor(NO_FILTER, NAMES, 160.0).process(x)
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize(
    ("config", "sfreq", "match"),
    [
        (PreprocessingConfig(bandpass=(8.0, 90.0)), 160.0, r"'bandpass' high edge.*\(80.0 Hz\)"),
        (PreprocessingConfig(notch_hz=60.0), 100.0, r"'notch_hz' must be below Nyquist"),
    ],
)
def test_frequencies_are_checked_against_the_source_rate(
    config: PreprocessingConfig, sfreq: float, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        Preprocessor(config, NAMES, sfreq)


def test_average_reference_needs_two_channels() -> None:
    with pytest.raises(ConfigError, match="'reference'='average' needs at least 2 channels"):
        Preprocessor(PreprocessingConfig(reference="average"), ["Cz"], 160.0)
