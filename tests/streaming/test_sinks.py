"""Prediction sinks: the LSL outlet other programs read, and the JSONL log."""

from __future__ import annotations

import json

import numpy as np
import pylsl
import pytest
from neurodeck.common.types import Prediction
from neurodeck.streaming.lsl_io import meta_from_info, resolve_stream
from neurodeck.streaming.sinks import JSONLSink, LSLPredictionOutlet


def _prediction(t_last: float) -> Prediction:
    return Prediction(
        (0.25, 0.75), ("left", "right"), t_last, t_last + 0.001, t_last + 0.003, 320, 7, "right"
    )


@pytest.mark.lsl
def test_outlet_publishes_probabilities_at_window_time(unique_id) -> None:
    outlet = LSLPredictionOutlet(("left", "right"), unique_id, unique_id)
    inlet = pylsl.StreamInlet(resolve_stream(source_id=unique_id, stream_type="Predictions"))
    meta = meta_from_info(inlet.info(timeout=5))
    assert meta.channel_names == ("left", "right") and meta.stream_type == "Predictions"
    inlet.open_stream(timeout=5)
    t_last = pylsl.local_clock() - 0.5
    outlet(_prediction(t_last))
    sample, stamp = inlet.pull_sample(timeout=5.0)
    assert sample is not None, "no prediction arrived within 5 s"
    np.testing.assert_allclose(sample, [0.25, 0.75], rtol=1e-6)
    assert stamp == pytest.approx(t_last, abs=1e-6)
    outlet.close()


def test_jsonl_lines_carry_latency_fields(tmp_path) -> None:
    sink = JSONLSink(tmp_path / "logs" / "p.jsonl")
    sink(_prediction(100.0))
    sink(_prediction(100.25))
    sink.close()
    rows = [json.loads(x) for x in (tmp_path / "logs" / "p.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    assert rows[0]["probabilities"] == {"left": 0.25, "right": 0.75}
    assert rows[0]["label"] == "right" and rows[0]["true_label"] == "right"
    assert rows[0]["transport_ms"] == pytest.approx(1.0)
    assert rows[0]["compute_ms"] == pytest.approx(2.0)
    assert rows[0]["e2e_ms"] == pytest.approx(3.0)


@pytest.mark.lsl
def test_an_affective_outlet_says_its_family_in_the_desc(unique_id) -> None:
    from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY
    from neurodeck.streaming.sinks import default_outlet_name

    assert default_outlet_name(AFFECTIVE) == "neurodeck-emotion"
    assert default_outlet_name(MOTOR_IMAGERY) == "neurodeck-predictions"
    classes = ("negative", "neutral", "positive")
    outlet = LSLPredictionOutlet(classes, unique_id, unique_id, family=AFFECTIVE)
    plain = LSLPredictionOutlet(("left", "right"), f"{unique_id}-mi", f"{unique_id}-mi")
    try:
        info = pylsl.StreamInlet(resolve_stream(source_id=unique_id)).info(timeout=5)
        assert info.type() == "Predictions" and info.desc().child_value("family") == AFFECTIVE
        assert meta_from_info(info).channel_names == classes
        mi = pylsl.StreamInlet(resolve_stream(source_id=f"{unique_id}-mi")).info(timeout=5)
        assert mi.desc().child_value("family") == ""  # no family given: none written
    finally:
        outlet.close()
        plain.close()
