"""Emotion calibration: rating markers, the user's stimuli folder, trials and ratings of an emotion
recording, and a recorded session with a rating on real LSL (loopback)."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from neurodeck.calibration.emotion import (
    STIMULUS_FIXATION_PROMPT,
    STIMULUS_PROMPTS,
    BlockRating,
    SamRating,
    block_ratings,
    format_rating,
    is_annotation,
    load_stimuli,
    parse_rating,
    parse_stimulus,
    self_assessment_report,
    stimulus_kind,
    stimulus_marker,
    trial_classes,
    trial_prompt,
    with_stimuli,
)
from neurodeck.calibration.paradigm import (
    PARADIGMS,
    SELF_ASSESSMENT,
    Paradigm,
    class_of_marker,
)
from neurodeck.calibration.trials import ContinuousEEG, build_trials
from neurodeck.common.types import AFFECTIVE, ConfigError, MarkerEvent
from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor

EMO = PARADIGMS["emotion-recall"]
CLASSES = ("negative", "neutral", "positive")


# -- rating markers ---------------------------------------------------------------------------
def test_rating_marker_format_and_parse() -> None:
    assert format_rating(7, 3) == "sam valence=7 arousal=3"
    assert parse_rating("sam valence=7 arousal=3") == SamRating(7, 3)
    for v, a in ((1, 9), (9, 1), (5, 5)):
        assert parse_rating(format_rating(v, a)) == SamRating(v, a)
    for label in ("SAM  arousal=3 valence=7", "sam: valence = 7, arousal=3", "sam valence=7.0 "
                  "arousal=3 block=2"):  # fmt: skip
        assert parse_rating(label) == SamRating(7, 3), label
    assert format_rating(np.int64(2), 8) == "sam valence=2 arousal=8"


@pytest.mark.parametrize(
    "label",
    ["cue_negative", "self_assessment", "rest", "", "sample valence=7 arousal=3",
     "sam valence=7", "sam valence=10 arousal=3", "sam valence=0 arousal=3",
     "sam valence=7.5 arousal=3", "sam valence=x arousal=3", "stimulus negative/a.png"],
)  # fmt: skip
def test_parse_rating_returns_none_for_other_markers(label: str) -> None:
    assert parse_rating(label) is None


@pytest.mark.parametrize(("valence", "arousal"), [(0, 5), (5, 10), (5.0, 5), (True, 5), ("7", 3)])
def test_out_of_range_ratings_are_refused(valence, arousal) -> None:
    with pytest.raises(ConfigError, match="must be an int from 1 to 9"):
        format_rating(valence, arousal)


def test_annotation_and_stimulus_markers() -> None:
    assert stimulus_marker("negative/storm at sea.jpg") == "stimulus negative/storm at sea.jpg"
    assert parse_stimulus("stimulus negative/storm at sea.jpg") == "negative/storm at sea.jpg"
    assert parse_stimulus("stimulus ") is None and parse_stimulus("stimulusx a.png") is None
    assert is_annotation("stimulus neutral/a.png") and is_annotation("sam valence=1 arousal=1")
    for label in ("fixation", "cue_negative", "rest", SELF_ASSESSMENT, "calib_end"):
        assert not is_annotation(label)
        assert class_of_marker("stimulus x") is None
    assert stimulus_kind("a/B.JPEG") == "image" and stimulus_kind("clip.MP4") == "video"
    assert stimulus_kind("notes.txt") is None


# -- stimuli folder ---------------------------------------------------------------------------
def _stimuli(root: Path, counts: dict[str, list[str]]) -> Path:
    for name, files in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            (root / name / file).write_bytes(b"x")
    return root


def test_stimuli_folder_is_read_per_class(tmp_path: Path) -> None:
    root = _stimuli(
        tmp_path / "stim",
        {"negative": ["b.jpg", "a.PNG", ".DS_Store", "Thumbs.db"], "neutral": ["clip.mp4"],
         "positive": ["sun.gif", "x.webm", "y.bmp"], "extra": ["notes.txt"]},
    )  # fmt: skip
    stimuli = load_stimuli(root, CLASSES)
    assert stimuli.root == root.resolve() and stimuli.class_names == CLASSES
    assert stimuli.of_class("negative") == ("negative/a.PNG", "negative/b.jpg")
    assert stimuli.of_class("neutral") == ("neutral/clip.mp4",)
    assert stimuli.path("neutral/clip.mp4") == root.resolve() / "neutral" / "clip.mp4"
    assert "negative 2, neutral 1, positive 3" in stimuli.describe()


@pytest.mark.parametrize(
    ("layout", "problem", "hint"),
    [
        (None, "does not exist", "one subfolder per class (negative/, neutral/, positive/)"),
        ({"negative": ["a.png"], "Positive": ["b.png"]}, "no subfolder for neutral, positive "
         "(subfolders found: Positive, negative)", "named exactly after the classes"),
        ({"negative": ["a.png"], "neutral": [], "positive": ["b.png"]}, "neutral is empty",
         "at least one picture or video"),
        ({"negative": ["a.png", "b.txt", "c.pdf"], "neutral": ["n.png"], "positive": ["p.png"]},
         "cannot show: b.txt, c.pdf", "png, jpg, jpeg, bmp, gif, mp4, webm, avi, mkv, mov"),
    ],
)  # fmt: skip
def test_bad_stimuli_folders_say_what_is_wrong_and_what_to_do(
    tmp_path: Path, layout, problem: str, hint: str
) -> None:
    root = tmp_path / "stim"
    if layout is not None:
        _stimuli(root, layout)
    with pytest.raises(ConfigError) as err:
        load_stimuli(root, CLASSES)
    assert problem in err.value.problem
    assert hint in err.value.hint


def test_nested_folders_and_a_file_instead_of_a_folder_are_refused(tmp_path: Path) -> None:
    root = _stimuli(tmp_path / "s", {"negative": ["a.png"], "neutral": ["b.png"], "positive": []})
    (root / "positive" / "more").mkdir()
    with pytest.raises(ConfigError, match="cannot show: more/"):
        load_stimuli(root, CLASSES)
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(ConfigError, match="is not a folder"):
        load_stimuli(tmp_path / "file.png", CLASSES)


def test_each_block_gets_a_stimulus_without_repetition_while_possible(tmp_path: Path) -> None:
    root = _stimuli(
        tmp_path / "stim",
        {"negative": ["n1.png", "n2.png"], "neutral": ["u1.png"], "positive": [f"p{i}.jpg" for i
         in range(5)]},
    )  # fmt: skip
    stimuli = load_stimuli(root, CLASSES)
    classes = ["negative"] * 5 + ["neutral"] * 2 + ["positive"] * 4
    assigned = stimuli.assign(classes, seed=3)
    assert assigned == stimuli.assign(classes, seed=3)  # seeded
    assert len({tuple(stimuli.assign(classes, seed=s)) for s in range(6)}) > 1
    negatives = assigned[:5]
    assert all(p.startswith("negative/") for p in negatives)
    assert sorted(negatives[:2]) == ["negative/n1.png", "negative/n2.png"]  # all before a repeat
    assert sorted(negatives[2:4]) == ["negative/n1.png", "negative/n2.png"]
    assert assigned[5:7] == ["neutral/u1.png"] * 2
    assert len(set(assigned[7:])) == 4 and all(p.startswith("positive/") for p in assigned[7:])
    with pytest.raises(ConfigError, match="no stimuli for class 'calm'"):
        stimuli.assign(["calm"])


def test_with_stimuli_puts_a_stimulus_marker_right_after_each_cue(tmp_path: Path) -> None:
    root = _stimuli(tmp_path / "s", {c: [f"{c[0]}{i}.png" for i in range(3)] for c in CLASSES})
    stimuli = load_stimuli(root, CLASSES)
    schedule = EMO.schedule(4)
    classes = trial_classes(schedule)
    assert Counter(classes) == dict.fromkeys(CLASSES, 2)
    cues = with_stimuli(schedule, stimuli.assign(classes, 4))
    assert len(cues) == len(schedule) + EMO.n_trials
    for index, cue in enumerate(cues):
        if class_of_marker(cue.marker) is not None:
            after = cues[index + 1]
            path = parse_stimulus(after.marker)
            assert path is not None and path.startswith(f"{cue.class_name}/")
            assert (after.t_s, after.trial) == (cue.t_s, cue.trial)


def test_prompts_for_recall_and_for_stimuli() -> None:
    assert trial_prompt(EMO, "negative") == EMO.prompt("negative")
    assert trial_prompt(EMO, None) == ""
    assert trial_prompt(EMO, "negative", "/x/negative/a.jpg") == STIMULUS_PROMPTS["image"]
    assert trial_prompt(EMO, "negative", "/x/negative/a.webm") == STIMULUS_PROMPTS["video"]
    assert "Watch" in STIMULUS_PROMPTS["video"] and "picture" in STIMULUS_PROMPTS["image"]
    assert "picture or a video" in STIMULUS_FIXATION_PROMPT


# -- an emotion recording -----------------------------------------------------------------------
def _emotion_recording(seed: int = 2, sfreq: float = 100.0) -> tuple[ContinuousEEG, list]:
    """Noise EEG under the markers of an emotion session: cues, stimuli, rating periods, and a
    rating 4 s into each rating period except the third block's."""
    t0 = 500.0
    schedule = with_stimuli(
        EMO.schedule(seed),
        [f"{c}/{c}{i}.png" for i, c in enumerate(trial_classes(EMO.schedule(seed)))],
    )
    markers = [MarkerEvent(t0 + c.t_s, c.marker) for c in schedule]
    ratings = [c for c in schedule if c.marker == SELF_ASSESSMENT]
    for block, cue in enumerate(ratings):
        if block != 2:
            markers.append(MarkerEvent(t0 + cue.t_s + 4.0, format_rating(1 + block, 9 - block)))
    markers.append(MarkerEvent(t0 + ratings[0].t_s + 1.0, "sam valence=x"))  # unreadable
    markers.sort(key=lambda m: m.timestamp)
    n = int((schedule[-1].t_s + 5.0) * sfreq)
    data = np.random.default_rng(seed).standard_normal((3, n)).astype(np.float32) * 10
    times = t0 + np.arange(n) / sfreq
    eeg = ContinuousEEG(
        data, times, sfreq, 1 / sfreq, ("Fz", "Cz", "Pz"), tuple(markers), "emotion-session"
    )
    return eeg, schedule


def test_trials_are_cut_at_the_cues_of_an_emotion_recording() -> None:
    eeg, schedule = _emotion_recording()
    pre = PreprocessingConfig(bandpass=(1.0, 40.0), channel_names=("Fz", "Cz", "Pz"))
    trials = build_trials(
        [eeg], EMO.marker_classes, EMO.class_names, EMO.epoch_s, pre, min_trials_per_class=2
    )
    cues = [m for m in eeg.markers if class_of_marker(m.label) is not None]
    assert trials.n_trials == EMO.n_trials == len(cues) == 6
    assert trials.X.shape == (6, 3, 5500) and trials.dropped == ()
    assert trials.counts() == dict.fromkeys(CLASSES, 2)
    assert [CLASSES[i] for i in trials.y] == trial_classes(schedule)
    np.testing.assert_array_equal(trials.onsets, [m.timestamp for m in cues])
    full = Preprocessor(pre, eeg.channel_names, eeg.sfreq).process_array(eeg.data)
    at = int(np.searchsorted(eeg.timestamps, cues[3].timestamp))
    np.testing.assert_allclose(trials.X[3], full[:, at + 500 : at + 6000], rtol=1e-5, atol=1e-4)


def test_ratings_are_paired_with_their_blocks() -> None:
    eeg, schedule = _emotion_recording()
    blocks = block_ratings(eeg.markers)
    classes = trial_classes(schedule)
    assert [b.class_name for b in blocks] == classes
    assert [b.block for b in blocks] == list(range(6))
    assert [(b.valence, b.arousal) for b in blocks] == [
        (1, 9), (2, 8), (None, None), (4, 6), (5, 5), (6, 4)
    ]  # fmt: skip
    assert blocks[0].stimulus == f"{classes[0]}/{classes[0]}0.png"
    assert not blocks[2].rated and blocks[3].rated
    # a second rating of a block replaces the first; a rating before any rating period is ignored
    extra = [MarkerEvent(0.0, "sam valence=9 arousal=9"), *eeg.markers]
    late = max(m.timestamp for m in eeg.markers if m.label == SELF_ASSESSMENT) + 8.0
    extra.append(MarkerEvent(late, format_rating(3, 3)))
    assert block_ratings(extra)[-1] == BlockRating(
        5, classes[5], blocks[5].onset, 3, 3, blocks[5].stimulus
    )
    assert block_ratings(extra)[0] == blocks[0]


def test_self_assessment_report() -> None:
    eeg, schedule = _emotion_recording()
    report = self_assessment_report([eeg])
    assert report is not None
    assert report["n_blocks"] == 6 and report["n_rated"] == 5
    assert report["blocks"][0] == {
        "source": "emotion-session", "block": 0, "class": trial_classes(schedule)[0],
        "valence": 1, "arousal": 9, "stimulus": blocks_stimulus(schedule, 0),
    }  # fmt: skip
    per_class = report["per_class"]
    assert set(per_class) == set(CLASSES)
    assert sum(c["n_rated"] for c in per_class.values()) == 5
    assert report["scales"]["valence"] == "1 unhappy .. 9 happy"
    motor = ContinuousEEG(
        eeg.data, eeg.timestamps, eeg.sfreq, eeg.sample_period_s, eeg.channel_names,
        tuple(m for m in eeg.markers if m.label != SELF_ASSESSMENT), "mi",
    )  # fmt: skip
    assert self_assessment_report([motor]) is None


def blocks_stimulus(schedule: list, block: int) -> str:
    return next(
        parse_stimulus(c.marker)
        for c in schedule
        if c.trial == block and parse_stimulus(c.marker) is not None
    )


# -- a live session on loopback LSL ---------------------------------------------------------------
#: 3 blocks of 2.5 s of schedule after a 0.2 s lead-in: 3.85 s at speed 2.
QUICK_EMO = Paradigm(
    name="emo-quick", family=AFFECTIVE, class_names=CLASSES, trials_per_class=1, fixation_s=0.5,
    imagery_s=1.0, rest_s=(1.0, 1.0), lead_in_s=0.2, epoch_s=(0.0, 1.0), max_run=1,
    self_assessment=True,
)  # fmt: skip


@pytest.mark.lsl
def test_a_rating_from_the_control_is_recorded_with_its_block(tmp_path: Path, unique_id) -> None:
    """record_paradigm on a loopback EEG stream: the control's rating lands in the recording."""
    import io

    from neurodeck.calibration.live import CalibrationControl, record_paradigm
    from neurodeck.calibration.trials import load_calibration_source
    from neurodeck.streaming.lsl_io import resolve_stream
    from neurodeck.streaming.markers import MarkerReceiver

    from tests.lsl_helpers import IndexedOutlet, wait_until

    eeg = IndexedOutlet(unique_id, 4, 100.0, n_samples=1500).start()
    control = CalibrationControl()
    rated = threading.Event()
    receivers: list[MarkerReceiver] = []

    def rate_first_block(info) -> None:
        receiver = MarkerReceiver(info).start()
        receivers.append(receiver)

        def watch() -> None:
            if wait_until(lambda: any(e.label == SELF_ASSESSMENT for e in receiver.events()), 10):
                control.rate(8, 2)
                rated.set()

        threading.Thread(target=watch, daemon=True).start()

    try:
        info = resolve_stream(name=unique_id, source_id=unique_id, timeout_s=5.0)
        text = io.StringIO()
        recorded = record_paradigm(
            info, tmp_path / "rec", QUICK_EMO, seed=1, speed=2.0,
            cue_stream=f"{unique_id}-cues", display=text, control=control,
            on_cue_stream=rate_first_block,
        )  # fmt: skip
    finally:
        for receiver in receivers:
            receiver.stop()
        eeg.close()
    assert recorded.complete and rated.is_set()
    session = load_calibration_source(recorded.path)
    blocks = block_ratings(session.markers)
    assert [b.class_name for b in blocks] == trial_classes(QUICK_EMO.schedule(1))
    assert (blocks[0].valence, blocks[0].arousal) == (8, 2)
    assert not blocks[1].rated and not blocks[2].rated
    assert "ratings skipped: the input is not a terminal" in text.getvalue()
    assert "rate how you felt" in text.getvalue()
    assert QUICK_EMO.prompt(blocks[0].class_name)[:40] in text.getvalue()
