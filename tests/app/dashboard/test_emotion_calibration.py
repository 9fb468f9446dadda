"""Affective calibration in the dashboard: the panel's stimuli folder and ratings; the job's view;
``core.rate``. The cue screen's prompt, picture and video fallback are in test_cue_screen_view,
the self-assessment panel in test_rating_view."""

from __future__ import annotations

from pathlib import Path

import pylsl
import pytest
from neurodeck.calibration.emotion import STIMULUS_FIXATION_PROMPT, STIMULUS_PROMPTS, SamRating
from neurodeck.calibration.paradigm import PARADIGMS
from neurodeck.common.types import MarkerEvent
from neurodeck.control.snapshot import CoreSnapshot

from tests.app.dashboard.fakes import emotion_calibration

pytestmark = pytest.mark.gui

EMO = PARADIGMS["emotion-recall"]


def test_the_panel_sends_ratings_to_the_core_and_counts_them(panel, core) -> None:
    snap = CoreSnapshot(
        t=1.0,
        connection="connected",
        calibration=emotion_calibration("self_assessment", rating_open=True, trial=2, n_trials=6,
                         ratings=((0, 3, 7),)),
    )  # fmt: skip
    panel.render(snap)
    sam = panel.cue_display.sam_panel
    assert not sam.isHidden()
    sam.sliders["valence"].setValue(7)
    sam.sliders["arousal"].setValue(3)
    sam.submit_button.click()
    assert core.called("rate") == [((7, 3), {})]
    assert "rated 1" in panel.session_bar.format()


def test_the_stimuli_folder_goes_with_an_affective_paradigm_only(panel, core, tmp_path) -> None:
    panel.render(CoreSnapshot(t=1.0, connection="connected"))
    panel.paradigm_combo.setCurrentText("mi-lr")
    panel.render(CoreSnapshot(t=1.1, connection="connected"))
    assert not panel.stimuli_button.isEnabled()
    panel.paradigm_combo.setCurrentText("emotion-recall")
    panel.render(CoreSnapshot(t=1.2, connection="connected"))
    assert panel.stimuli_button.isEnabled()
    panel.start_button.click()
    panel.set_stimuli_folder(tmp_path)
    assert panel.stimuli_button.text() == f"Stimuli: {tmp_path.name}"
    panel.start_button.click()
    panel.paradigm_combo.setCurrentText("mi-4")
    panel.start_button.click()
    assert core.called("start_calibration") == [
        (("emotion-recall",), {}),
        (("emotion-recall",), {"stimuli": tmp_path}),
        (("mi-4",), {}),
    ]
    panel.set_stimuli_folder(None)
    assert panel.stimuli_button.text() == "Stimuli: recall"


# -- the job's view and the core's rate command -------------------------------------------------
class _Cues:
    def __init__(self, events: list[MarkerEvent]) -> None:
        self._events = events

    def events(self) -> list[MarkerEvent]:
        return list(self._events)


def _job(tmp_path: Path, stimuli=None):
    from neurodeck.control.calibration_job import CalibrationJob

    info = pylsl.StreamInfo("eeg", "EEG", 4, 100.0, "float32", "job-test")
    job = CalibrationJob(info, EMO, tmp_path / "out", seed=3, stimuli=stimuli)
    job._phase = "cues"
    return job


def test_the_job_view_carries_prompt_stimulus_and_rating_state(tmp_path: Path) -> None:
    from neurodeck.calibration.emotion import load_stimuli, trial_classes

    job = _job(tmp_path)
    first = trial_classes(EMO.schedule(3))[0]
    events = [MarkerEvent(1.0, "calib_start"), MarkerEvent(2.0, "fixation")]
    job._cues = _Cues(events)
    view = job.view()
    assert (view.cue, view.trial, view.prompt) == ("fixation", 1, EMO.prompt(first))
    events.append(MarkerEvent(3.0, f"cue_{first}"))
    view = job.view()
    assert (view.cue, view.prompt, view.stimulus) == (f"cue_{first}", EMO.prompt(first), None)
    events += [MarkerEvent(4.0, "rest"), MarkerEvent(4.0, "self_assessment")]
    view = job.view()
    assert (view.cue, view.rating_open, view.prompt) == ("self_assessment", True, "")
    assert view.cue_duration_s == pytest.approx(30.0)
    events.append(MarkerEvent(5.0, "sam valence=6 arousal=4"))
    view = job.view()
    assert view.cue == "self_assessment" and not view.rating_open  # the rating is no cue
    assert view.ratings == ((0, 6, 4),)

    for name in EMO.class_names:
        (tmp_path / "stim" / name).mkdir(parents=True)
        (tmp_path / "stim" / name / "a.png").write_bytes(b"x")
    stimuli = load_stimuli(tmp_path / "stim", EMO.class_names)
    job = _job(tmp_path, stimuli)
    events = [MarkerEvent(1.0, "calib_start"), MarkerEvent(2.0, "fixation")]
    job._cues = _Cues(events)
    assert job.view().prompt == STIMULUS_FIXATION_PROMPT
    events.append(MarkerEvent(3.0, f"cue_{first}"))
    assert job.view().stimulus is None  # its stimulus marker has not arrived yet
    events.append(MarkerEvent(3.0, f"stimulus {first}/a.png"))
    view = job.view()
    assert view.cue == f"cue_{first}"
    assert view.stimulus == str(stimuli.root / first / "a.png")
    assert view.prompt == STIMULUS_PROMPTS["image"]


def test_stimuli_need_an_affective_paradigm(tmp_path: Path) -> None:
    from neurodeck.common.types import ConfigError
    from neurodeck.control.calibration_job import load_job_stimuli

    assert load_job_stimuli(None, PARADIGMS["mi-lr"]) is None
    with pytest.raises(ConfigError, match="Stimuli need an affective paradigm; 'mi-lr'"):
        load_job_stimuli(tmp_path, PARADIGMS["mi-lr"])
    with pytest.raises(ConfigError, match="not the stream's markers"):
        load_job_stimuli(tmp_path, EMO, from_markers=True)
    with pytest.raises(ConfigError, match="no subfolder for negative, neutral, positive"):
        load_job_stimuli(tmp_path, EMO)


def test_core_rate_goes_to_the_running_job(make_core, tmp_path: Path) -> None:
    core = make_core()
    core.rate(5, 5)
    assert any("no block to rate" in e for e in core.snapshot().errors)
    job = _job(tmp_path)  # never started: stands in for a running calibration
    core._job = job
    try:
        core.rate(7, 3)
        assert job.control.take_ratings() == [SamRating(7, 3)]
        core.rate(0, 3)
        assert any("'valence' must be an int from 1 to 9" in e for e in core.snapshot().errors)
        assert job.control.take_ratings() == []
    finally:
        core._job = None
