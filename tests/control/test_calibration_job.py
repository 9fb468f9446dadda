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
