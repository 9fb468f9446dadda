"""The dashboard core decodes with an affective checkpoint: slow smoothing, valence, its outlet."""

from __future__ import annotations

import numpy as np
import pylsl
import pytest
from neurodeck.common.types import AFFECTIVE
from neurodeck.streaming.lsl_io import meta_from_info, resolve_stream

from tests.app.affective import EMOTION_CLASSES, save_affective_checkpoint
from tests.control.conftest import wait_for

pytestmark = pytest.mark.lsl


@pytest.mark.parametrize("simulator", [(16, 2.0)], indirect=True)
def test_an_affective_model_decodes_with_its_own_smoothing_and_outlet(
    make_core, simulator, unique_id, tmp_path
) -> None:
    checkpoint = save_affective_checkpoint(tmp_path / "emotion.safetensors")
    core = make_core(affective_smoothing_s=6.0)
    core.connect(unique_id)
    wait_for(core, lambda s: s.signal is not None)
    core.load_model(checkpoint)
    snap = wait_for(core, lambda s: s.decoding is not None and len(s.decoding.times) >= 6, 30.0)
    dec = snap.decoding
    assert dec.family == AFFECTIVE and dec.class_names == EMOTION_CLASSES
    assert dec.smoothing_s == 6.0  # the affective setting, not motor imagery's 1 s
    assert dec.smoothed_history.shape == dec.probabilities.shape
    np.testing.assert_allclose(dec.smoothed, dec.smoothed_history[-1])
    np.testing.assert_allclose(dec.smoothed.sum(), 1.0)
    assert -1.0 <= dec.valence <= 1.0
    assert dec.valence == pytest.approx(dec.smoothed[2] - dec.smoothed[0])
    assert dec.arousal is None and dec.workload is None and dec.feedback is None
    assert "neurodeck-emotion" in snap.status
    key = snap.stream.key
    info = resolve_stream(source_id=f"neurodeck-emotion-{key}", timeout_s=5.0)
    assert info.name() == "neurodeck-emotion" and info.type() == "Predictions"
    full = pylsl.StreamInlet(info).info(timeout=5.0)
    assert meta_from_info(full).channel_names == EMOTION_CLASSES
    assert full.desc().child_value("family") == AFFECTIVE
