"""The online evaluation protocol: generated recordings and the yardstick's figures."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from offline_training.evaluation import (
    Protocol,
    RunData,
    evaluate,
    evaluate_subject,
    online_windows,
)
from streaming.simulator import SimulationConfig, SyntheticEEG


def _simulated_run(path, seed: int, seconds: float = 150.0):
    gen = SyntheticEEG(SimulationConfig(n_channels=16, sfreq=160.0, seed=seed))
    block = gen.generate(int(seconds * 160))
    info = mne.create_info(list(gen.channel_names), 160.0, "eeg")
    raw = mne.io.RawArray(block.data.astype(np.float64) * 1e-6, info, verbose="error")
    codes = {"left": "T1", "right": "T2", "rest": "T0"}
    onsets = [idx / 160.0 for idx, _ in block.markers]
    raw.set_annotations(mne.Annotations(onsets, 0.0, [codes[m] for _, m in block.markers]))
    raw.save(path, verbose="error")
    return path


def test_window_ends_follow_the_protocol() -> None:
    data = np.arange(10 * 160, dtype=np.float32)[None, :].repeat(2, 0)
    trials = online_windows(RunData(data, 160.0, [(2.0, "right")]), Protocol())
    windows, label = trials[0]
    assert label == 1 and windows.shape == (13, 2, 320)  # ends at cue + 1.0, 1.25, ..., 4.0 s
    assert windows[0, 0, -1] == 3.0 * 160 - 1 and windows[-1, 0, -1] == 6.0 * 160 - 1


def test_protocol_on_generated_recordings(tmp_path) -> None:
    calib = [_simulated_run(tmp_path / f"c{i}_raw.fif", seed=i) for i in (1, 2)]
    test = [_simulated_run(tmp_path / "t_raw.fif", seed=3)]
    res = evaluate_subject(calib, test, ["csp_lda", "ts_lr"])
    assert res["n_test_trials"] >= 15
    assert res["ts_lr"]["window_acc"] > 0.65  # chance is 0.5 over about 200 windows
    assert res["csp_lda"]["window_acc"] > 0.65


def test_reproduces_the_yardstick_on_subject_1(data_root) -> None:
    # ../shared/tools/mi_reference.py prints these figures for subject 1
    res = evaluate(data_root, [1])["per_subject"][1]
    assert res["csp_lda"] == {"window_acc": 0.564, "trial_acc": 0.667}
    assert res["ts_lr"] == {"window_acc": 0.738, "trial_acc": 0.733}


def test_unknown_model_is_named(data_root) -> None:
    from common.types import ConfigError

    with pytest.raises(ConfigError, match="Unknown classifier 'labram'"):
        evaluate(data_root, [1], classifiers=["labram"])
