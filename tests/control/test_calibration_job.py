"""Progress of the fitting child process, read from its lines."""

from __future__ import annotations

from neurodeck.control.calibration_job import fit_fraction


def test_fit_fraction_follows_the_calibrate_progress_lines() -> None:
    lines = [  # the lines calibrate_recordings prints, in their order
        ("recording done (paradigm finished): x", None),
        ("  cutting trials", 0.05),
        ("  30 trials {'left': 15, 'right': 15}", 0.05),
        ("  model ready (zeroshot+reference) 0.5 s after the recording", 0.15),
        ("  fine-tuning shallow_convnet", 0.2),
        ("  cross-validating zeroshot, finetuned, reference", 0.45),
        ("  cross-validation fold 1/5", 0.45),
        ("  cross-validation fold 5/5", 0.45 + 0.55 * 4 / 5),
        ("| decoder | CV accuracy |", 0.45 + 0.55 * 4 / 5),
        ("  cutting trials", 0.45 + 0.55 * 4 / 5),  # never backwards
    ]
    fraction = None
    for line, expected in lines:
        fraction = fit_fraction(line, fraction)
        assert fraction == expected, line


def test_the_fit_later_advice_is_given_only_when_the_fitting_would_accept_it(tmp_path) -> None:
    from pathlib import Path

    from neurodeck.control.calibration_job import complete_trials, stopped_message

    trial = ["fixation", "cue_left", "rest", "fixation", "cue_right", "rest"]
    # the last cue, cut by the abort, does not count
    assert complete_trials(trial * 5 + ["fixation", "cue_left", "calib_abort"]) == {
        "left": 5,
        "right": 5,
    }
    assert complete_trials(["T1", "T0"]) == {}  # raw stream markers go through _as_cue first
    rec, out = Path("/data/p/recording"), Path("/data/p")
    enough = stopped_message("aborted", rec, out, complete_trials(trial * 5), ("left", "right"), 5)
    assert f"fit it later with: neurodeck calibrate --recording {rec} --out {out}" in enough
    few = stopped_message("aborted", rec, out, complete_trials(trial * 4), ("left", "right"), 5)
    assert "neurodeck calibrate" not in few and f"kept in {rec}" in few
    assert "left 4, right 4" in few and "at least 5 trials per class" in few
    one_class = stopped_message("ended", rec, out, {"left": 9}, ("left",), 5)
    assert "neurodeck calibrate" not in one_class and "at least two classes" in one_class
