"""``neurodeck decode`` with an affective checkpoint publishes on ``neurodeck-emotion``."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pylsl
import pytest
from neurodeck.app.cli import main
from neurodeck.common.types import AFFECTIVE
from neurodeck.streaming.lsl_io import meta_from_info, resolve_stream
from neurodeck.streaming.simulator import SimulationConfig, Simulator

from tests.app.affective import EMOTION_CLASSES, save_affective_checkpoint


def test_decode_help_names_the_outlet_of_each_family(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["decode", "--help"])
    text = "".join(capsys.readouterr().out.split())  # argparse wraps at spaces and hyphens
    assert "'neurodeck-emotion'foraffectivedecoders" in text
    assert "'neurodeck-predictions'formotorimagery" in text


@pytest.mark.lsl
def test_decode_publishes_the_emotion_outlet_and_prints_the_state(
    tmp_path, unique_id, capsys
) -> None:
    checkpoint = save_affective_checkpoint(tmp_path / "emotion.safetensors")
    sim = Simulator(
        SimulationConfig(n_channels=16, sfreq=160.0), name=unique_id, speed=2.0, source_id=unique_id
    )
    publisher = threading.Thread(target=sim.run_blocking, daemon=True)
    publisher.start()
    jsonl = tmp_path / "pred.jsonl"
    argv = ["decode", "--stream", unique_id, "--by-id", "--model", str(checkpoint),
            "--duration", "6", "--jsonl", str(jsonl), "--device", "cpu"]  # fmt: skip
    codes: list[int] = []
    decoder = threading.Thread(target=lambda: codes.append(main(argv)), daemon=True)
    decoder.start()
    samples: list[list[float]] = []
    try:
        info = resolve_stream(source_id=f"neurodeck-emotion-{unique_id}", timeout_s=10.0)
        inlet = pylsl.StreamInlet(info)
        full = inlet.info(timeout=5.0)
        deadline = time.monotonic() + 10.0
        while len(samples) < 3 and time.monotonic() < deadline:
            sample, _ = inlet.pull_sample(timeout=0.5)
            if sample is not None:
                samples.append(sample)
        decoder.join(20.0)
    finally:
        sim.stop()
        publisher.join(5)
        sim.close()
    assert codes == [0]
    assert info.name() == "neurodeck-emotion" and info.type() == "Predictions"
    assert meta_from_info(full).channel_names == EMOTION_CLASSES
    assert full.desc().child_value("family") == AFFECTIVE
    assert len(samples) == 3, "no probabilities arrived on the emotion outlet"
    np.testing.assert_allclose(np.sum(samples, axis=1), 1.0, atol=1e-5)
    out = capsys.readouterr().out
    assert "affective predictions on LSL stream 'neurodeck-emotion'" in out
    state = next(line for line in out.splitlines() if "| state " in line)
    assert any(f"state {name} " in state for name in EMOTION_CLASSES) and "valence" in state
    first = json.loads(jsonl.read_text().splitlines()[0])
    assert set(first["probabilities"]) == set(EMOTION_CLASSES)
