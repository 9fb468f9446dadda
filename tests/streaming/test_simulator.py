"""The synthetic headset: plausible signal, motor-imagery ERD on cue, and its LSL streams."""

from __future__ import annotations

import time

import numpy as np
import pylsl
import pytest
from neurodeck.common.types import ConfigError
from neurodeck.streaming.lsl_io import meta_from_info, resolve_stream
from neurodeck.streaming.simulator import (
    REST_LABEL,
    STANDARD_MONTAGES,
    SimulationConfig,
    Simulator,
    SyntheticEEG,
)
from scipy import signal

SFREQ = 250.0


@pytest.fixture(scope="module")
def long_run() -> tuple[SimulationConfig, np.ndarray, tuple[tuple[int, str], ...]]:
    """Four simulated minutes (16 channels, seed 7), generated without LSL."""
    config = SimulationConfig(n_channels=16, sfreq=SFREQ, seed=7)
    block = SyntheticEEG(config).generate(int(240 * SFREQ))
    return config, block.data, block.markers


def _band_power(data: np.ndarray, low: float, high: float) -> np.ndarray:
    """Mean power per channel in a band, shape (n_channels,)."""
    freqs, psd = signal.welch(data, fs=SFREQ, nperseg=256, axis=-1)
    return psd[..., (freqs >= low) & (freqs <= high)].mean(axis=-1)


@pytest.mark.parametrize("n_channels", sorted(STANDARD_MONTAGES))
def test_montages_have_motor_channels(n_channels: int) -> None:
    names = STANDARD_MONTAGES[n_channels]
    assert len(names) == n_channels == len(set(names))
    assert {"C3", "Cz", "C4"} <= set(names)
    block = SyntheticEEG(SimulationConfig(n_channels=n_channels)).generate(50)
    assert block.data.shape == (n_channels, 50) and block.data.dtype == np.float32


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_channels", 12),
        ("sfreq", 50.0),
        ("sfreq", -1.0),
        ("classes", ("left", "jump")),
        ("classes", ()),
        ("rest_s", (3.0, 1.0)),
        ("erd_depth", 1.0),
        ("alpha_uv", -1.0),
    ],
)
def test_config_validation(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        SimulationConfig(**{field: value})


def test_output_is_seeded_and_independent_of_chunking() -> None:
    whole = SyntheticEEG(SimulationConfig(seed=3)).generate(3000)
    gen = SyntheticEEG(SimulationConfig(seed=3))
    parts = [gen.generate(n) for n in (1, 7, 992, 2000)]
    np.testing.assert_array_equal(np.concatenate([p.data for p in parts], axis=1), whole.data)
    assert tuple(m for p in parts for m in p.markers) == whole.markers
    other = SyntheticEEG(SimulationConfig(seed=4)).generate(3000)
    assert not np.allclose(other.data, whole.data)


def test_cue_schedule_is_balanced(long_run) -> None:
    config, _, markers = long_run
    labels = [label for _, label in markers]
    cues = [label for label in labels if label != REST_LABEL]
    assert abs(cues.count("left") - cues.count("right")) <= 1 and len(cues) >= 30
    assert labels[::2] == cues and set(labels[1::2]) == {REST_LABEL}  # cue, rest, cue, rest ...
    index = np.array([i for i, _ in markers])
    np.testing.assert_array_equal(
        index[1::2] - index[::2][: len(index[1::2])], round(config.imagery_s * SFREQ)
    )
    assert index[0] == round(config.lead_in_s * SFREQ)


def test_spectrum_is_plausible(long_run) -> None:
    config, data, _ = long_run
    names = config.channel_names
    rms = data.std(axis=1)
    assert np.all((rms > 5) & (rms < 50))  # microvolts
    low, high = _band_power(data, 1, 3), _band_power(data, 35, 45)
    assert np.all(low > 5 * high)  # 1/f background
    alpha = _band_power(data, 8, 12)
    assert alpha[names.index("Oz")] > 2 * alpha[names.index("Fz")]  # posterior alpha


def test_mu_erd_is_contralateral(long_run) -> None:
    config, data, markers = long_run
    c3, c4 = config.channel_names.index("C3"), config.channel_names.index("C4")
    mu = {"left": [], "right": []}
    for index, label in markers:
        start, stop = index + int(0.5 * SFREQ), index + int(config.imagery_s * SFREQ)
        if label in mu and stop <= data.shape[1]:
            mu[label].append(_band_power(data[[c3, c4], start:stop], 8, 12))
    left, right = np.mean(mu["left"], axis=0), np.mean(mu["right"], axis=0)
    assert right[0] < 0.75 * left[0]  # right-hand imagery: mu down over C3
    assert left[1] < 0.75 * right[1]  # left-hand imagery: mu down over C4


@pytest.mark.lsl
def test_simulator_streams_eeg_and_markers(unique_id: str) -> None:
    config = SimulationConfig(
        n_channels=16, sfreq=SFREQ, seed=1, lead_in_s=0.2, imagery_s=0.5, rest_s=(0.3, 0.4)
    )
    with Simulator(config, name=unique_id, source_id=unique_id, speed=20.0, duration_s=4.0) as sim:
        eeg = pylsl.StreamInlet(resolve_stream(source_id=unique_id))
        marks = pylsl.StreamInlet(resolve_stream(source_id=sim.marker_source_id))
        eeg.open_stream(timeout=5.0)
        marks.open_stream(timeout=5.0)
        meta = meta_from_info(eeg.info(timeout=5.0))
        assert {"C3", "C4"} <= set(meta.channel_names) and meta.replay_speed == 20.0
        sim.start()
        stamps: list[float] = []
        labels: list[str] = []
        label_times: list[float] = []
        deadline = time.monotonic() + 10.0
        while (len(stamps) < 1000 or sim.is_running) and time.monotonic() < deadline:
            _, ts = eeg.pull_chunk(timeout=0.05)
            stamps.extend(ts)
            chunk, mts = marks.pull_chunk(timeout=0.0)
            labels.extend(m[0] for m in chunk)
            label_times.extend(mts)
        sim.join(timeout=5.0)
    assert len(stamps) == 1000 == sim.n_pushed
    np.testing.assert_allclose(np.diff(stamps), 1.0 / (SFREQ * 20.0), atol=1e-9)
    assert {"left", "right", REST_LABEL} <= set(labels)
    assert len(labels) == sim.n_markers_pushed
    sample_of = np.searchsorted(stamps, label_times)  # each marker sits exactly on a sample
    np.testing.assert_allclose(np.asarray(stamps)[sample_of], label_times, atol=1e-9)
