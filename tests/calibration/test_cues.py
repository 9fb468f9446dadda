"""Cues over real LSL on loopback: every marker in order with its scheduled timestamp, aborts,
and the terminal display (rendering tested without LSL)."""

from __future__ import annotations

import io
import os
import threading
import time

import pylsl
import pytest
from neurodeck.calibration.cues import CuePlayer, TerminalCueDisplay, paradigm_from_info, render_cue
from neurodeck.calibration.emotion import SamRating, load_stimuli, parse_rating, trial_classes
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


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_render_cue_lines() -> None:
    assert render_cue("calib_start", 0, 40) == "calibration started: 40 trials"
    assert render_cue("fixation", 3, 40) == "[ 3/40]  +   fixation: look at the cross, keep still"
    assert render_cue("cue_left", 3, 40) == (
        "[ 3/40]  <<  LEFT HAND  (imagine squeezing your left hand)"
    )
    assert render_cue("cue_right", 12, 120).startswith("[ 12/120]  >>  RIGHT HAND")
    assert (
        render_cue("cue_feet", 1, 8) == "[ 1/8]  vv  BOTH FEET  (imagine pressing both feet down)"
    )
    assert render_cue("cue_rest", 1, 8).startswith("[ 1/8]  ..  REST  (relax")
    assert render_cue("cue_grasp", 2, None).startswith("[ 2/?]  **  GRASP")
    assert render_cue("rest", 3, 40) == "[ 3/40]  -   rest: relax, blink"
    assert render_cue("calib_end", 40, 40) == "calibration finished"
    assert render_cue("calib_abort", 7, 40) == "calibration aborted"
    for label in ("T1", "cue_", "", "calib_start_x"):
        assert render_cue(label, 1, 40) is None


def test_display_counts_trials_and_colours_only_on_a_tty() -> None:
    plain = io.StringIO()
    display = TerminalCueDisplay(pylsl.StreamInfo("x", "Markers"), plain, n_trials=2)
    assert display.colour is False
    for label in ("calib_start", "fixation", "cue_left", "T0", "rest", "fixation", "calib_abort"):
        display.show(label)
    assert plain.getvalue().splitlines() == [
        "calibration started: 2 trials",
        "[ 1/2]  +   fixation: look at the cross, keep still",
        "[ 1/2]  <<  LEFT HAND  (imagine squeezing your left hand)",
        "[ 1/2]  -   rest: relax, blink",
        "[ 2/2]  +   fixation: look at the cross, keep still",
        "calibration aborted",
    ]
    assert display.finished and display.trial == 2 and "\x1b[" not in plain.getvalue()
    tty = _TTY()
    TerminalCueDisplay(pylsl.StreamInfo("x", "Markers"), tty, n_trials=2).show("cue_right")
    assert "\x1b[1m" in tty.getvalue() and "RIGHT HAND" in tty.getvalue()


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


@pytest.mark.lsl
def test_terminal_display_prints_the_stream(unique_id: str) -> None:
    out = io.StringIO()
    with CuePlayer(QUICK, seed=1, name=unique_id, speed=SPEED) as player:
        info = resolve_stream(name=unique_id, stream_type="Markers")
        with TerminalCueDisplay(info, out).start() as display:
            assert display.n_trials == 4  # read from the stream header
            player.start(wait_for_consumers_s=5.0)
            assert display.wait(timeout=5.0)
    lines = out.getvalue().splitlines()
    expected: list[str] = []
    trial = 0
    for cue in player.schedule:
        trial += cue.marker == "fixation"
        line = render_cue(cue.marker, trial, 4)
        assert line is not None
        expected.append(line)
    assert lines == expected
    assert lines[0] == "calibration started: 4 trials" and lines[-1] == "calibration finished"
    assert sum(line.endswith("fixation: look at the cross, keep still") for line in lines) == 4


# -- affective paradigms: ratings, stimuli, prompts ------------------------------------------------
EMO_QUICK = Paradigm(
    name="emo-quick", family=AFFECTIVE, class_names=("negative", "neutral", "positive"),
    trials_per_class=1, fixation_s=0.5, imagery_s=1.0, rest_s=(0.5, 0.5), lead_in_s=0.2,
    epoch_s=(0.0, 1.0), max_run=1, self_assessment=True,
)  # fmt: skip


class _PipeTTY:
    """A stdin stand-in that says it is a terminal and reads from a pipe (select works on it)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.read_fd

    def type(self, text: str) -> None:
        os.write(self.write_fd, text.encode())

    def close(self) -> None:
        os.close(self.read_fd)
        os.close(self.write_fd)


def test_render_the_affective_markers() -> None:
    assert render_cue("self_assessment", 2, 6) == (
        "[ 2/6]  ?   rate how you felt: valence and arousal, 1-9"
    )
    assert render_cue("sam valence=7 arousal=3", 2, 6) == (
        "[ 2/6]      rating saved: valence 7, arousal 3"
    )
    assert render_cue("stimulus negative/a.png", 2, 6) == "[ 2/6]      stimulus: negative/a.png"
    assert render_cue("cue_positive", 1, 6) == (
        "[ 1/6]  ++  POSITIVE  (relive the memory until the tone)"
    )


def _display(out, **kwargs) -> TerminalCueDisplay:
    kwargs.setdefault("paradigm", EMO_QUICK)
    kwargs.setdefault("seed", 0)
    kwargs.setdefault("n_trials", 3)
    return TerminalCueDisplay(pylsl.StreamInfo("x", "Markers"), out, **kwargs)


def test_terminal_shows_the_recall_prompt_at_fixation_and_cue() -> None:
    out = io.StringIO()
    display = _display(out)
    first = trial_classes(EMO_QUICK.schedule(0))[0]
    display.show("calib_start")
    display.show("fixation")
    display.show(f"cue_{first}")
    text = out.getvalue()
    prompt_start = " ".join(EMO_QUICK.prompt(first).split()[:6])
    assert text.count(prompt_start) == 2  # before and during the block
    assert "close your eyes and relive it until the tone" in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_terminal_with_stimuli_shows_the_instruction_and_the_file(tmp_path) -> None:
    out = io.StringIO()
    display = _display(out)
    display.stimuli_root = tmp_path
    display.show("fixation")
    display.show("cue_negative")
    display.show("stimulus negative/storm.jpg")
    text = out.getvalue()
    assert "a picture or a video" in text and "look at the stimulus" in text
    assert "Look at the picture and let yourself feel it." in text
    assert f"cannot show: {tmp_path / 'negative' / 'storm.jpg'})" in text


def test_without_a_terminal_ratings_are_skipped() -> None:
    out = io.StringIO()
    got: list[tuple[int, int]] = []
    display = _display(out, on_rating=lambda v, a: got.append((v, a)), input_stream=io.StringIO())
    display.show("self_assessment")
    display.show("self_assessment")
    assert out.getvalue().count("ratings skipped: the input is not a terminal") == 1
    assert got == []


def test_ratings_typed_on_a_terminal_reach_on_rating() -> None:
    tty = _PipeTTY()
    out = io.StringIO()
    got: list[tuple[int, int]] = []
    display = _display(
        out, on_rating=lambda v, a: got.append((v, a)), input_stream=tty, rating_timeout_s=5.0
    )
    try:
        asked = lambda n: wait_until(lambda: out.getvalue().count("valence: 1") == n, 5.0)  # noqa: E731
        tty.type("stale\n")  # typed before the rating period: discarded
        display.show("self_assessment")
        assert asked(1)
        tty.type("12\n7\n3\n")  # 12 is refused and asked again
        assert wait_until(lambda: got == [(7, 3)], 5.0)
        assert "please type a whole number from 1 to 9" in out.getvalue()
        assert "valence: 1 unhappy .. 9 happy" in out.getvalue()
        assert "arousal: 1 calm .. 9 excited" in out.getvalue()
        display._rating_thread.join(2.0)
        # Enter skips the block; a timeout too
        display.show("self_assessment")
        assert asked(3)
        tty.type("\n")
        assert wait_until(lambda: out.getvalue().count("no rating for this block") == 1, 5.0)
        display._rating_thread.join(2.0)
        display.rating_timeout_s = 0.2
        display.show("self_assessment")
        assert wait_until(lambda: out.getvalue().count("no rating for this block") == 2, 5.0)
        assert got == [(7, 3)]
    finally:
        display.stop()
        tty.close()


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
