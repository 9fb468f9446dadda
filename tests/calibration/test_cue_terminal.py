"""The terminal display of cues: rendering and prompts tested without LSL, ratings typed on a
(pipe) terminal, and the display reading a cue player's stream over real LSL on loopback."""

from __future__ import annotations

import io
import os

import pylsl
import pytest
from neurodeck.calibration.cue_terminal import TerminalCueDisplay, render_cue
from neurodeck.calibration.cues import CuePlayer
from neurodeck.calibration.emotion import trial_classes
from neurodeck.streaming.lsl_io import resolve_stream

from tests.calibration.test_cues import EMO_QUICK, QUICK, SPEED
from tests.lsl_helpers import wait_until


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


# -- affective paradigms: prompts, stimuli, ratings ------------------------------------------------
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
