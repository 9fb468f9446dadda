"""LabRecorder-style XDF files for tests, written with neurodeck's XDF writer.

An EEG stream's channel 0 holds the running sample index (in the stream's unit), so a reader that
drops, repeats or reorders samples is caught. Clock offsets let a stream's timestamps sit on its
own host's clock: the file stores ``true_time - offset`` and the reader must add the offset back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from neurodeck.calibration.trials import ContinuousEEG
from neurodeck.streaming.xdf_write import XdfChannel, XdfStream, write_xdf

SFREQ = 250.0
NAMES = ("C3", "Cz", "C4", "Pz")
T0 = 5000.0
#: Factor from microvolts to each unit the tests write.
PER_UV = {"microvolts": 1.0, "volts": 1e-6, "millivolts": 1e-3}


def eeg_uv(n_samples: int, n_channels: int = len(NAMES), seed: int = 0) -> np.ndarray:
    """(n_channels, n_samples) float32 microvolts; channel 0 is the sample index."""
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((n_channels, n_samples)) * 20).astype(np.float32)
    data[0] = np.arange(n_samples)
    return data


def eeg_stream(
    name: str = "ActiChamp",
    n_samples: int = 1000,
    names: Sequence[str] = NAMES,
    sfreq: float = SFREQ,
    t0: float = T0,
    unit: str = "microvolts",
    offset_s: float = 0.0,
    seed: int = 0,
    stream_type: str = "EEG",
    channel_types: Sequence[str] | None = None,
) -> XdfStream:
    """A regular float32 stream whose true sample times are ``t0 + i / sfreq``."""
    values = eeg_uv(n_samples, len(names), seed)
    data = (values.astype(np.float64) * PER_UV.get(unit, 1.0)).astype(np.float32)
    true = t0 + np.arange(n_samples) / sfreq
    types = channel_types or ["EEG"] * len(names)
    return XdfStream(
        name=name,
        stream_type=stream_type,
        timestamps=true - offset_s,
        data=data,
        nominal_srate=sfreq,
        channels=tuple(XdfChannel(n, unit, t) for n, t in zip(names, types, strict=True)),
        source_id=f"{name}-sid",
        hostname="amp-host",
        clock_offsets=((true[0], offset_s), (true[-1], offset_s)),
    )


def marker_stream(
    name: str,
    true_times: Sequence[float],
    labels: Sequence[str],
    offset_s: float = 0.0,
    t_span: tuple[float, float] = (T0, T0 + 10.0),
) -> XdfStream:
    """A string marker stream whose markers truly happened at ``true_times``."""
    return XdfStream(
        name=name,
        stream_type="Markers",
        timestamps=np.asarray(true_times, dtype=np.float64) - offset_s,
        labels=tuple(labels),
        channels=(XdfChannel("marker", "", "Markers"),),
        source_id=f"{name}-sid",
        hostname="stim-pc",
        clock_offsets=((t_span[0], offset_s), (t_span[1], offset_s)),
    )


def accelerometer_stream(n_samples: int = 100, t0: float = T0) -> XdfStream:
    """A regular non-EEG stream (type ``Accelerometer``, unit g)."""
    rng = np.random.default_rng(7)
    return XdfStream(
        name="Motion",
        stream_type="Accelerometer",
        timestamps=t0 + np.arange(n_samples) / 50.0,
        data=rng.standard_normal((3, n_samples)).astype(np.float32),
        nominal_srate=50.0,
        channels=tuple(XdfChannel(axis, "g", "ACC") for axis in ("X", "Y", "Z")),
        source_id="motion-sid",
    )


#: Labels and sample positions (index + fraction of a period) of the markers of
#: :func:`labrecorder_file`.
MARKERS = (("T1", 100.3), ("T0", 250.5), ("T2", 612.5), ("pause ü", 999.0))


def labrecorder_file(
    path: Path, n_samples: int = 1000, eeg_offset_s: float = 0.25, marker_offset_s: float = -1.5
) -> Path:
    """EEG + markers (from another host, its own clock) + an accelerometer, like LabRecorder.

    A marker at sample position ``p`` lands on sample ``ceil(p)`` (the first at or after it).
    """
    true = [T0 + position / SFREQ for _, position in MARKERS]
    span = (T0, T0 + n_samples / SFREQ)
    streams = [
        marker_stream("Cues", true, [label for label, _ in MARKERS], marker_offset_s, span),
        eeg_stream(n_samples=n_samples, offset_s=eeg_offset_s),
        accelerometer_stream(),
    ]
    return write_xdf(path, streams)


def continuous_to_xdf(path: Path, eeg: ContinuousEEG, name: str = "sim-eeg") -> Path:
    """A ContinuousEEG (for example a simulated calibration) as an XDF file with its markers."""
    stream = XdfStream(
        name=name,
        stream_type="EEG",
        timestamps=eeg.timestamps,
        data=eeg.data,
        nominal_srate=eeg.sfreq,
        channels=tuple(XdfChannel(n, "microvolts", "EEG") for n in eeg.channel_names),
    )
    markers = marker_stream(
        f"{name}-markers",
        [m.timestamp for m in eeg.markers],
        [m.label for m in eeg.markers],
        t_span=(float(eeg.timestamps[0]), float(eeg.timestamps[-1])),
    )
    return write_xdf(path, [stream, markers])


#: The second amplifier of :func:`labrecorder_two_amps_file`.
RIGHT_AMP_NAMES = ("O1", "Oz", "O2")


def labrecorder_two_amps_file(path: Path, n_samples: int = 500) -> Path:
    """Two EEG amplifiers and a marker stream, each on its own host's clock, as LabRecorder
    records them: 'Left amp' (offset 0.25 s), 'Right amp' (-0.4 s, channels
    :data:`RIGHT_AMP_NAMES`), 'Cues' (-1.5 s, :data:`MARKERS`), and an accelerometer.

    Both amplifiers truly sample at ``T0 + i / SFREQ``; channel 0 holds the sample index.
    """
    true = [T0 + position / SFREQ for _, position in MARKERS]
    span = (T0, T0 + n_samples / SFREQ)
    streams = [
        eeg_stream("Left amp", n_samples=n_samples, offset_s=0.25, seed=1),
        marker_stream("Cues", true, [label for label, _ in MARKERS], -1.5, span),
        eeg_stream("Right amp", n_samples, RIGHT_AMP_NAMES, offset_s=-0.4, seed=2),
        accelerometer_stream(),
    ]
    return write_xdf(path, streams)
