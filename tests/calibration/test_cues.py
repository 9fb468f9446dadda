"""The cue player over real LSL on loopback: every marker in order with its scheduled timestamp,
aborts, pauses, and unscheduled markers (ratings, notes) on the same stream."""

from __future__ import annotations

import threading
import time

import pylsl
import pytest
from neurodeck.calibration.cues import CuePlayer, paradigm_from_info
from neurodeck.calibration.emotion import SamRating, load_stimuli, parse_rating
from neurodeck.calibration.paradigm import (
    CALIB_ABORT,
    CALIB_END,
    CALIB_PAUSE,
    CALIB_RESUME,
    CALIB_START,
    Paradigm,
)
from neurodeck.common.types import AFFECTIVE, ConfigError
from neurodeck.streaming.lsl_io import resolve_stream
from neurodeck.streaming.markers import MarkerReceiver

from tests.lsl_helpers import wait_until

#: 4 trials of 1.9 s at most after a 0.2 s lead-in: under 8 s of schedule, 0.16 s at speed 50.
QUICK = Paradigm(
    name="quick",
    trials_per_class=2,
    fixation_s=0.5,
    imagery_s=1.0,
    rest_s=(0.2, 0.4),
    lead_in_s=0.2,
    epoch_s=(0.0, 1.0),
)
SPEED = 50.0


def test_player_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match="'speed' must be <= 1000"):
        CuePlayer(QUICK, speed=5000.0)
    with pytest.raises(ConfigError, match="'paradigm' must be a Paradigm"):
        CuePlayer("mi-lr")  # type: ignore[arg-type]


@pytest.mark.lsl
def test_every_marker_arrives_in_order_with_its_scheduled_timestamp(unique_id: str) -> None:
    with CuePlayer(QUICK, seed=4, name=unique_id, speed=SPEED) as player:
        info = resolve_stream(name=unique_id, stream_type="Markers")
        assert info.source_id() == f"{unique_id}-quick"
        receiver = MarkerReceiver(info).start()
        try:
            header = pylsl.StreamInlet(info).info(timeout=5.0)
            assert header.channel_format() == pylsl.cf_string
            assert paradigm_from_info(header) == QUICK
            player.start(wait_for_consumers_s=5.0)
            assert player.join(timeout=5.0) and player.done and not player.aborted
            schedule = player.schedule
            assert wait_until(lambda: len(receiver.events()) >= len(schedule), 5.0)
            events = receiver.events()
        finally:
            receiver.stop()
    assert [e.label for e in events] == [c.marker for c in schedule]
    assert events[0].label == CALIB_START and events[-1].label == CALIB_END
    for event, cue in zip(events, schedule, strict=True):
        assert event.timestamp == pytest.approx(player.t0 + cue.t_s / SPEED, abs=2e-3)
        assert player.timestamp_of(cue) == player.t0 + cue.t_s / SPEED
    assert player.progress() == (QUICK.n_trials, QUICK.n_trials)


@pytest.mark.lsl
def test_stop_mid_run_pushes_calib_abort(unique_id: str) -> None:
    slow = Paradigm(name="slow", trials_per_class=2, lead_in_s=0.1, imagery_s=4.0)
    with CuePlayer(slow, name=unique_id, source_id=unique_id, speed=2.0) as player:
        receiver = MarkerReceiver(resolve_stream(source_id=unique_id)).start()
        try:
            player.start(wait_for_consumers_s=5.0)
            first_cue = slow.marker_classes.keys()
            assert wait_until(lambda: any(e.label in first_cue for e in receiver.events()), 5.0)
            player.stop()
            assert not player.is_running and player.aborted and not player.done
            assert player.progress() == (0, 4)
            assert wait_until(lambda: receiver.events()[-1].label == CALIB_ABORT, 5.0)
            labels = [e.label for e in receiver.events()]
        finally:
            receiver.stop()
    assert labels[:2] == [CALIB_START, "fixation"] and labels[-1] == CALIB_ABORT
    assert labels.count(CALIB_ABORT) == 1 and CALIB_END not in labels
    with pytest.raises(RuntimeError, match="already ran"):
        player.start()


@pytest.mark.lsl
def test_pause_holds_between_trials_and_resume_shifts_the_rest(unique_id: str) -> None:
    para = Paradigm(name="pause", trials_per_class=2, lead_in_s=0.2, imagery_s=2.0)
    speed = 4.0
    with CuePlayer(para, name=unique_id, source_id=unique_id, speed=speed) as player:
        receiver = MarkerReceiver(resolve_stream(source_id=unique_id)).start()
        try:
            player.start(wait_for_consumers_s=5.0)
            cues = set(para.marker_classes)
            assert wait_until(lambda: any(e.label in cues for e in receiver.events()), 5.0)
            player.pause()  # mid-imagery: the trial must finish first
            assert wait_until(lambda: player.paused, 5.0)
            time.sleep(0.6)
            n_held = len(receiver.events())
            time.sleep(0.4)
            assert len(receiver.events()) == n_held  # nothing pushed while held
            player.resume()
            assert player.join(timeout=10.0) and player.done
            assert wait_until(lambda: receiver.events()[-1].label == CALIB_END, 5.0)
            events = receiver.events()
        finally:
            receiver.stop()
    labels = [e.label for e in events]
    i_pause, i_resume = labels.index(CALIB_PAUSE), labels.index(CALIB_RESUME)
    assert labels[i_pause - 1] == "rest" and i_resume == i_pause + 1  # the trial was not cut
    assert labels[i_resume + 1] == "fixation"
    held = events[i_resume].timestamp - events[i_pause].timestamp
    assert held >= 0.9
    assert events[i_resume + 1].timestamp >= events[i_resume].timestamp + 0.5 / speed - 1e-3
    # every later marker moved by the same shift; the trials keep their schedule
    later = [c for c in player.schedule if c.marker != CALIB_START][i_pause - 1 :]
    for event, cue in zip(events[i_resume + 1 :], later, strict=True):
        assert event.label == cue.marker
        assert event.timestamp == pytest.approx(player.timestamp_of(cue), abs=2e-3)
    assert [lab for lab in labels if lab not in (CALIB_PAUSE, CALIB_RESUME)] == [
        c.marker for c in player.schedule
    ]


# -- affective paradigms: ratings, stimuli ---------------------------------------------------------
EMO_QUICK = Paradigm(
    name="emo-quick", family=AFFECTIVE, class_names=("negative", "neutral", "positive"),
    trials_per_class=1, fixation_s=0.5, imagery_s=1.0, rest_s=(0.5, 0.5), lead_in_s=0.2,
    epoch_s=(0.0, 1.0), max_run=1, self_assessment=True,
)  # fmt: skip


@pytest.mark.lsl
def test_pushed_ratings_and_stimuli_arrive_on_the_cue_stream(unique_id: str, tmp_path) -> None:
    for name in EMO_QUICK.class_names:
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.png").write_bytes(b"x")
    stimuli = load_stimuli(tmp_path, EMO_QUICK.class_names)
    speed = 5.0
    with CuePlayer(EMO_QUICK, seed=2, name=unique_id, speed=speed, stimuli=stimuli) as player:
        info = resolve_stream(name=unique_id, stream_type="Markers")
        receiver = MarkerReceiver(info).start()
        try:
            header = pylsl.StreamInlet(info).info(timeout=5.0)
            assert header.desc().child_value("stimuli_root") == str(stimuli.root)
            with pytest.raises(ConfigError, match="'valence' must be an int from 1 to 9"):
                player.rate(0, 5)
            player.start(wait_for_consumers_s=5.0)
            rating_open = lambda: any(e.label == "self_assessment" for e in receiver.events())  # noqa: E731
            assert wait_until(rating_open, 5.0)
            stamps = []
            threads = [
                threading.Thread(target=lambda v=v: stamps.append(player.rate(v, 10 - v)))
                for v in (2, 3, 4)
            ]  # from other threads, while the schedule plays
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert player.push_marker("note: the person sneezed") is not None
            assert player.join(timeout=5.0) and player.done
            expected = len(player.schedule) + 4
            assert wait_until(lambda: len(receiver.events()) >= expected, 5.0)
            events = receiver.events()
        finally:
            receiver.stop()
    assert player.push_marker("too late") is None  # closed: lost, with a warning
    labels = [e.label for e in events]
    ratings = [parse_rating(lab) for lab in labels if parse_rating(lab) is not None]
    assert sorted(ratings, key=lambda r: r.valence) == [
        SamRating(2, 8), SamRating(3, 7), SamRating(4, 6)
    ]  # fmt: skip
    assert "note: the person sneezed" in labels
    scheduled = [lab for lab in labels if parse_rating(lab) is None and not lab.startswith("note")]
    assert scheduled == [c.marker for c in player.schedule]  # the schedule is intact
    for event in events:
        if parse_rating(event.label):
            assert min(stamps) - 1e-3 <= event.timestamp <= max(stamps) + 1e-3
    stim = [lab for lab in labels if lab.startswith("stimulus ")]
    assert len(stim) == 3
    for index, label in enumerate(labels):
        if label.startswith("cue_"):
            assert labels[index + 1] == f"stimulus {label[4:]}/{label[4:]}.png"
    assert player.n_pushed == len(player.schedule) + 4
