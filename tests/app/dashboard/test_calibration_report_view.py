"""The calibration panel's report: summary, scores per decoder, confusion matrix, "Use"."""

from __future__ import annotations

import pytest
from neurodeck.control.snapshot import CalibrationView, CoreSnapshot

pytestmark = pytest.mark.gui


def _report() -> dict:
    """A calibration report as ``calibrate_recordings`` writes it (two of its candidates)."""
    return {
        "trials": {"left": 16, "right": 14},
        "candidates": ["finetuned", "reference"],
        "scores": {
            "finetuned": {
                "cv_accuracy": 0.5333333333333333,
                "cv_std": 0.1699673171197595,
                "per_class_recall": {"left": 0.4375, "right": 0.6428571428571429},
                "confusion": [[7, 9], [5, 9]],
            },
            "reference": {
                "cv_accuracy": 0.7,
                "cv_std": 0.08164965809277264,
                "per_class_recall": {"left": 0.6875, "right": 0.7142857142857143},
                "confusion": [[11, 5], [4, 10]],
            },
        },
        "decoder": "reference",
        "decoder_reason": "highest cross-validated trial accuracy (0.70) of 2 candidates",
        "timings": {"ready_s": 11.44, "total_s": 33.35},
        "chance": 0.5333,
    }


def _snap(phase: str = "idle", connection: str = "connected", **cal) -> CoreSnapshot:
    values = dict(phase=phase, paradigm="mi-lr", class_names=("left", "right"))
    values.update(cal)
    return CoreSnapshot(t=5.0, connection=connection, calibration=CalibrationView(**values))


def test_report_when_done(panel, core) -> None:
    report = _report()
    panel.render(_snap("done", report=report, profile_path="runs/demo/profile"))
    assert not panel.report_box.isHidden()
    assert panel.fit_box.isHidden()
    rows = panel.table_texts(panel.scores_table)
    by_decoder = {row[0]: row for row in rows}
    assert set(by_decoder) == {"finetuned", "reference (used)"}
    assert by_decoder["reference (used)"][1] == "70.0 % ± 8.2"
    assert by_decoder["finetuned"][1] == "53.3 % ± 17.0"
    assert by_decoder["reference (used)"][2] == "+16.7 pts"
    summary = panel.report_summary.text()
    assert "reference" in summary and "53.3 %" in summary and "11.4 s" in summary
    assert "Why: highest cross-validated trial accuracy (0.70)" in summary
    assert panel.table_texts(panel.confusion_table) == [
        ["11", "5"],
        ["4", "10"],
    ]
    header = panel.confusion_table.verticalHeaderItem(1)
    assert header is not None and header.text() == "right"
    panel.use_button.click()
    assert core.called("use_profile") == [((), {})]


def test_report_of_another_decoder_and_a_bad_report(panel) -> None:
    report = _report()
    report = {**report, "decoder": "finetuned"}
    panel.render(_snap("done", report=report))
    assert panel.table_texts(panel.confusion_table) == [
        ["7", "9"],
        ["5", "9"],
    ]
    panel.render(_snap("done", report={"scores": {"x": {"cv_accuracy": "oops"}}}))
    assert "could not be read" in panel.report_summary.text()
