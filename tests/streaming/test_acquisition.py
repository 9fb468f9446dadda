"""Acquisition over real LSL on loopback: nothing lost, duplicated or reordered; stalls; NaN."""

from __future__ import annotations

import time

import numpy as np
import pytest
from neurodeck.streaming.acquisition import Acquisition
from neurodeck.streaming.lsl_io import resolve_stream
from neurodeck.streaming.settings import AcquisitionSettings

from tests.lsl_helpers import IndexedOutlet, wait_until

pytestmark = pytest.mark.lsl


def _drain_and_check(acq: Acquisition, outlet: IndexedOutlet, timeout_s: float) -> int:
    """Read every new sample from the raw ring as it arrives; check ch0 is 0, 1, 2, ..."""
    checked = 0
    deadline = time.monotonic() + timeout_s
    while checked < outlet.n_samples and time.monotonic() < deadline:
        end = acq.raw.n_written
        if end > checked:
            got = acq.raw.read(end, end - checked)
            assert got is not None, "reader fell behind the ring buffer"
            np.testing.assert_array_equal(got[0][0], np.arange(checked, end, dtype=np.float32))
            assert np.all(np.diff(got[1]) > 0), "timestamps not increasing"
            checked = end
        time.sleep(0.05)
    return checked


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n_channels", "sfreq", "seconds", "speed"),
    [(64, 160.0, 60.0, 20.0), (256, 2048.0, 10.0, 2.0)],
    ids=["64ch-160Hz-60s", "256ch-2048Hz-10s"],
)
def test_every_sample_arrives_once_in_order(unique_id, n_channels, sfreq, seconds, speed) -> None:
    n = int(seconds * sfreq)
    outlet = IndexedOutlet(unique_id, n_channels, sfreq, n, speed=speed, chunk_n=32)
    acq = Acquisition(
        resolve_stream(source_id=unique_id, timeout_s=5.0), AcquisitionSettings(buffer_s=30.0)
    ).start()
    outlet.start()
    try:
        checked = _drain_and_check(acq, outlet, timeout_s=seconds / speed + 20)
        status = acq.status()
    finally:
        acq.stop()
        outlet.close()
    assert checked == n
    assert status.lost_samples == 0 and status.n_gaps == 0 and status.overruns == 0


def test_stream_metadata_and_generic_names(unique_id, caplog) -> None:
    outlet = IndexedOutlet(unique_id, 4, 100.0, 10, labels=False)
    try:
        acq = Acquisition(resolve_stream(source_id=unique_id, timeout_s=5.0))
        assert acq.meta.generic_names
        assert acq.meta.channel_names == ("Ch1", "Ch2", "Ch3", "Ch4")
        assert "declares no channel labels" in caplog.text
        acq.stop()
    finally:
        outlet.close()


def test_stall_is_detected_and_stream_reattaches(unique_id) -> None:
    sfreq = 200.0
    first = IndexedOutlet(unique_id, 3, sfreq, 200, source_id=unique_id).start()
    acq = Acquisition(
        resolve_stream(source_id=unique_id, timeout_s=5.0), AcquisitionSettings(stall_s=1.0)
    ).start()
    try:
        assert wait_until(first.done, 5.0)
        assert wait_until(lambda: acq.raw.n_written >= 200, 5.0)
        first.close()
        t_gone = time.monotonic()
        assert wait_until(lambda: acq.status().state == "stalled", 3.0)
        assert time.monotonic() - t_gone < 2.0, "stall must be reported within 2 s"
        second = IndexedOutlet(unique_id, 3, sfreq, 1000, source_id=unique_id, start_index=200)
        second.start()
        try:
            # samples pushed before the inlet re-attached are never delivered (LSL semantics)
            assert wait_until(lambda: acq.raw.n_written >= 400, 8.0), "inlet did not re-attach"
            status = acq.status()
            assert status.state == "streaming"
            assert status.n_stalls == 1 and status.n_gaps == 1 and status.lost_samples > 0
            before = acq.raw.read(200, 200)[0][0]
            after = acq.raw.read(400, 200)[0][0]
            np.testing.assert_array_equal(before, np.arange(200))
            np.testing.assert_array_equal(np.diff(after), 1)  # contiguous after the gap
            assert after[0] >= 200
        finally:
            second.close()
    finally:
        acq.stop()


@pytest.mark.parametrize("fmt", ["double64", "int16", "int32"])
def test_non_float32_streams_arrive_as_float32(unique_id, fmt) -> None:
    import pylsl

    info = pylsl.StreamInfo(unique_id, "EEG", 3, 100.0, fmt, unique_id)
    outlet = pylsl.StreamOutlet(info)
    acq = Acquisition(resolve_stream(source_id=unique_id, timeout_s=5.0)).start()
    try:
        values = np.arange(60, dtype=np.float64).reshape(20, 3)
        assert wait_until(outlet.have_consumers, 5.0)
        outlet.push_chunk(values)
        assert wait_until(lambda: acq.raw.n_written >= 20, 5.0), f"{fmt} samples never arrived"
        data = acq.raw.read(20, 20)[0]
    finally:
        acq.stop()
        del outlet
    assert data.dtype == np.float32
    np.testing.assert_array_equal(data, values.T)


def test_string_stream_is_refused(unique_id) -> None:
    import pylsl
    from neurodeck.common.types import ConfigError

    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(unique_id, "EEG", 1, 100.0, "string", unique_id))
    try:
        with pytest.raises(ConfigError, match="carries strings"):
            Acquisition(resolve_stream(source_id=unique_id, timeout_s=5.0))
    finally:
        del outlet


def test_a_source_back_with_another_layout_is_refused_then_the_same_layout_re_attaches(
    unique_id,
) -> None:
    """Closed and re-created with the same source_id: 5 channels refused, 3 channels taken."""
    sfreq = 200.0
    first = IndexedOutlet(unique_id, 3, sfreq, 200, source_id=unique_id).start()
    acq = Acquisition(
        resolve_stream(source_id=unique_id, timeout_s=5.0), AcquisitionSettings(stall_s=1.0)
    ).start()
    try:
        assert wait_until(first.done, 5.0)
        assert wait_until(lambda: acq.raw.n_written >= 200, 5.0)
        assert wait_until(lambda: acq.status().rate_hz > 0, 2.0)
        first.close()
        assert wait_until(lambda: acq.status().state == "stalled", 3.0)
        wider = IndexedOutlet(unique_id, 5, sfreq, 100_000, source_id=unique_id, start_index=200)
        wider.start()
        try:
            assert wait_until(lambda: acq.status().layout_refused, 8.0), "not refused"
            time.sleep(0.5)  # it is not taken later either
            status = acq.status()
            assert status.state == "stalled" and status.layout_refused
            assert status.rate_hz == 0.0, "the rate before the stall is not the rate now"
            assert acq.raw.n_written == 200, "samples of another layout were taken"
            assert (
                f"Stream '{unique_id}' (source_id '{unique_id}') came back with another layout: "
                "5 ch at 200 Hz instead of 3 ch at 200 Hz; not re-attached. Reconnect to use it"
            ) in status.message
        finally:
            wider.close()
        same = IndexedOutlet(unique_id, 3, sfreq, 100_000, source_id=unique_id, start_index=400)
        same.start()
        try:
            assert wait_until(lambda: acq.raw.n_written >= 400, 8.0), "did not re-attach"
            status = acq.status()
            assert status.state == "streaming" and not status.layout_refused
            assert "is back after" in status.message
            after = acq.raw.read(acq.raw.n_written, 100)[0][0]
            np.testing.assert_array_equal(np.diff(after), 1)
            assert after[0] >= 400
        finally:
            same.close()
    finally:
        acq.stop()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"sfreq": 100.0}, "3 ch at 100 Hz instead of 3 ch at 200 Hz"),
        ({"replay_speed": 4.0}, ""),  # how fast a replay goes is not its layout
        (
            {"channel_names": ("C3", "Cz", "Pz")},
            "3 ch at 200 Hz named C3, Cz, Pz instead of 3 ch at 200 Hz named C3, Cz, C4",
        ),
        (
            {"channel_units": ("volts",) * 3},
            "3 ch at 200 Hz in volts instead of 3 ch at 200 Hz in microvolts",
        ),
        ({"channel_names": ("Ch1", "Ch2", "Ch3"), "generic_names": True}, ""),  # unnamed: count
        ({"channel_units": ("", "", "")}, ""),  # undeclared units are not compared
        ({"hostname": "other-pc"}, ""),  # where it runs is not its layout
    ],
)
def test_layout_change_says_what_differs(change, expected) -> None:
    from dataclasses import replace

    import pylsl
    from neurodeck.common.types import StreamMeta
    from neurodeck.streaming.acquisition import layout_change

    old = StreamMeta(
        "amp", "EEG", "amp-1", "lab-pc", ("C3", "Cz", "C4"), ("microvolts",) * 3, 200.0
    )
    fmt = pylsl.cf_float32
    assert layout_change(old, fmt, replace(old, **change), fmt) == expected
    assert layout_change(old, fmt, old, pylsl.cf_int16) == (
        "3 ch at 200 Hz as int16 instead of 3 ch at 200 Hz as float32"
    )
