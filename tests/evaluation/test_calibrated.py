"""The evaluation of calibrated profiles: each held-out subject calibrated as a user would be."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.evaluation.test_classical import _simulated_run


def test_a_held_out_subject_is_scored_on_what_calibration_builds(tmp_path: Path) -> None:
    """``neurodeck evaluate`` calibrates as ``neurodeck calibrate`` and decodes the profile."""
    from neurodeck.calibration.fitting import CalibrationSettings
    from neurodeck.evaluation.calibrated import score_subject
    from neurodeck.evaluation.classical import evaluate_subject

    from tests.calibration.test_candidates import FAST, _untrained_network

    calib = [_simulated_run(tmp_path / f"c{i}_raw.fif", seed=i, seconds=90) for i in (1, 2)]
    test = [_simulated_run(tmp_path / "t_raw.fif", seed=3, seconds=90)]
    settings = replace(FAST, cv_folds=0)
    assert isinstance(settings, CalibrationSettings)
    res = score_subject(_untrained_network(), calib, test, tmp_path / "S001", settings)
    assert res["n_test_trials"] >= 8 and res["decoder"] == "zeroshot+finetuned+reference"
    assert res["chosen"] == {k: res["candidates"][res["decoder"]][k]
                             for k in ("window_acc", "trial_acc")}  # fmt: skip
    assert (tmp_path / "S001" / "profile.json").is_file()
    # the reference inside the profile scores what the classical evaluation scores
    classical = evaluate_subject(calib, test, ["ts_lr"])["ts_lr"]
    reference = res["candidates"]["reference"]
    assert reference["window_acc"] == pytest.approx(classical["window_acc"], abs=1e-3)
    assert reference["trial_acc"] == pytest.approx(classical["trial_acc"], abs=1e-3)
    assert classical["window_acc"] > 0.65  # the simulated imagery is easy for the reference
