"""Stream resolution and header parsing."""

from __future__ import annotations

import time

import pylsl
import pytest
from neurodeck.common.types import StreamNotFoundError
from neurodeck.streaming.lsl_io import (
    make_stream_info,
    meta_from_info,
    resolve_stream,
    unit_scale_to_uv,
)

pytestmark = pytest.mark.lsl


def test_no_stream_in_time_lists_what_was_seen(unique_id) -> None:
    other = pylsl.StreamOutlet(
        make_stream_info(f"{unique_id}-other", "EEG", ["C3"], 100.0, f"{unique_id}-other")
    )
    t0 = time.monotonic()
    with pytest.raises(StreamNotFoundError) as err:
        resolve_stream(name=unique_id, timeout_s=0.5)
    assert time.monotonic() - t0 < 3.0
    text = str(err.value)
    assert f"name='{unique_id}'" in text and f"'{unique_id}-other'" in text
    assert "neurodeck replay" in text  # says what to do
    del other


def test_header_round_trip(unique_id) -> None:
    info = make_stream_info(
        unique_id,
        "EEG",
        ["C3..", "C4.."],
        160.0,
        unique_id,
        unit="microvolts",
        extra_desc={"replay_speed": "4"},
    )
    outlet = pylsl.StreamOutlet(info)
    inlet = pylsl.StreamInlet(resolve_stream(source_id=unique_id))
    meta = meta_from_info(inlet.info(timeout=5))
    assert meta.channel_names == ("C3..", "C4..") and meta.channel_units == ("microvolts",) * 2
    assert meta.sfreq == 160.0 and meta.replay_speed == 4.0
    assert meta.sample_period_s == pytest.approx(1 / 640)
    del outlet


def test_unit_scales() -> None:
    assert unit_scale_to_uv("microvolts") == 1.0
    assert unit_scale_to_uv("V") == 1e6
    assert unit_scale_to_uv("mV") == 1e3
    assert unit_scale_to_uv("furlongs") is None
