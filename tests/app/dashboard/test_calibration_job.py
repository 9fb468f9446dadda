"""Progress of the fitting child process, read from its lines."""

from __future__ import annotations

from app.dashboard.calibration_job import fit_fraction


def test_fit_fraction_follows_the_calibrate_progress_lines() -> None:
    lines = [
        ("recording done (paradigm finished): x", None),
        ("  cutting trials", 0.05),
        ("  30 trials {'left': 15, 'right': 15}; fine-tuning SPPEEGNet", 0.15),
        ("  model ready 12.0 s after the recording; cross-validating", 0.45),
        ("  cross-validation fold 1/5", 0.45),
        ("  cross-validation fold 5/5", 0.45 + 0.55 * 4 / 5),
        ("| decoder | CV accuracy |", 0.45 + 0.55 * 4 / 5),
    ]
    fraction = None
    for line, expected in lines:
        fraction = fit_fraction(line, fraction)
        assert fraction == expected, line
