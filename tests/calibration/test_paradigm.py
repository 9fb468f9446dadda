"""Paradigms: balanced shuffled schedules, exact timings, presets within their family's budget
(5 minutes for motor imagery), the emotion-recall preset, validation, TOML round trips."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from neurodeck.calibration.paradigm import (
    CALIB_END,
    CALIB_START,
    DEFAULT_RECALL_PROMPTS,
    FIXATION,
    MAX_PRESET_DURATION_S,
    MAX_PRESET_DURATION_S_BY_FAMILY,
    PARADIGMS,
    REST,
    SELF_ASSESSMENT,
    Cue,
    Paradigm,
    balanced_order,
    class_of_marker,
    cue_marker,
    load_paradigm,
)
from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY, ConfigError


def _trials(cues: list[Cue]) -> list[list[Cue]]:
    """The trial markers grouped by trial (fixation, cue, rest[, self_assessment])."""
    return [list(group) for _, group in itertools.groupby(cues[1:-1], key=lambda c: c.trial)]


def _longest_run(classes: list[str]) -> int:
    return max(len(list(group)) for _, group in itertools.groupby(classes))


def test_markers_and_classes() -> None:
    assert cue_marker("left") == "cue_left"
    assert class_of_marker("cue_feet") == "feet"
    assert class_of_marker("cue_rest") == "rest"
    for label in ("rest", "fixation", "calib_start", "calib_end", "calib_abort", "cue_", "T1"):
        assert class_of_marker(label) is None
    assert PARADIGMS["mi-4"].marker_classes == {
        "cue_left": "left",
        "cue_right": "right",
        "cue_feet": "feet",
        "cue_rest": "rest",
    }
    with pytest.raises(ConfigError, match="class names"):
        cue_marker("Left Hand")


@pytest.mark.parametrize("preset", sorted(PARADIGMS))
def test_presets_fit_in_their_familys_budget(preset: str) -> None:
    paradigm = PARADIGMS[preset]
    assert paradigm.name == preset
    assert paradigm.max_duration_s <= MAX_PRESET_DURATION_S_BY_FAMILY[paradigm.family]
    if paradigm.family == MOTOR_IMAGERY:
        assert paradigm.max_duration_s <= MAX_PRESET_DURATION_S == 300.0
    assert paradigm.n_trials == paradigm.n_classes * paradigm.trials_per_class
    for seed in range(5):
        assert paradigm.schedule(seed)[-1].t_s <= paradigm.max_duration_s


def test_default_preset_values() -> None:
    lr, four = PARADIGMS["mi-lr"], PARADIGMS["mi-4"]
    assert load_paradigm() is lr and Paradigm() == lr
    assert lr.class_names == ("left", "right") and lr.trials_per_class == 20
    assert four.class_names == ("left", "right", "feet", "rest") and four.trials_per_class == 10
    assert lr.imagery_s == 4.0 and lr.epoch_s == (0.5, 4.0)
    assert lr.max_duration_s == pytest.approx(3.0 + 40 * (1.5 + 4.0 + 1.75))
    assert lr.mean_duration_s == pytest.approx(3.0 + 40 * 7.0)


@pytest.mark.parametrize("preset", sorted(PARADIGMS))
def test_schedule_is_balanced_and_respects_max_run(preset: str) -> None:
    paradigm = PARADIGMS[preset]
    for seed in range(20):
        classes = [trial[1].class_name for trial in _trials(paradigm.schedule(seed))]
        assert Counter(classes) == dict.fromkeys(paradigm.class_names, paradigm.trials_per_class)
        assert _longest_run(classes) <= paradigm.max_run


def test_schedule_is_deterministic_and_seeds_differ() -> None:
    paradigm = PARADIGMS["mi-lr"]
    assert paradigm.schedule(7) == paradigm.schedule(7)
    orders = {tuple(c.marker for c in paradigm.schedule(seed)) for seed in range(5)}
    assert len(orders) == 5
    assert paradigm.schedule(1)[-1].t_s != paradigm.schedule(2)[-1].t_s  # breaks differ too


def test_schedule_order_and_timings() -> None:
    paradigm = Paradigm(
        name="t", trials_per_class=3, fixation_s=1.0, imagery_s=2.0, rest_s=(0.5, 1.5)
    )
    assert paradigm.epoch_s == (0.5, 2.0)  # default epoch: 0.5 s after the cue to imagery end
    cues = paradigm.schedule(3)
    assert len(cues) == 3 * paradigm.n_trials + 2
    assert cues[0] == Cue(0.0, CALIB_START, -1, None)
    assert cues[-1].marker == CALIB_END and cues[-1].trial == -1
    assert all(b.t_s >= a.t_s for a, b in itertools.pairwise(cues))
    t = paradigm.lead_in_s
    for index, (fixation, cue, rest) in enumerate(_trials(cues)):
        assert (fixation.marker, cue.marker, rest.marker) == (
            FIXATION,
            cue_marker(cue.class_name),
            REST,
        )
        assert fixation.trial == cue.trial == rest.trial == index
        assert fixation.class_name == cue.class_name == rest.class_name
        assert fixation.t_s == pytest.approx(t)
        assert cue.t_s == pytest.approx(t + 1.0) and rest.t_s == pytest.approx(t + 3.0)
        following = cues[3 * index + 4]  # next fixation, or calib_end
        assert 0.5 <= following.t_s - rest.t_s < 1.5
        t = following.t_s


def test_fixed_break_and_zero_lead_in() -> None:
    paradigm = Paradigm(trials_per_class=2, rest_s=(2.0, 2.0), lead_in_s=0.0)
    cues = paradigm.schedule(0)
    assert cues[1].t_s == 0.0 and cues[1].marker == FIXATION
    assert cues[-1].t_s == pytest.approx(paradigm.max_duration_s)


@pytest.mark.parametrize(("n_classes", "per_class", "max_run"), [(2, 6, 1), (3, 5, 1), (4, 5, 2)])
def test_tight_run_limits_are_met(n_classes: int, per_class: int, max_run: int) -> None:
    for seed in range(30):
        order = balanced_order(n_classes, per_class, max_run, np.random.default_rng(seed))
        assert Counter(order) == dict.fromkeys(range(n_classes), per_class)
        assert _longest_run(order) <= max_run
    alternating = balanced_order(2, 6, 1, np.random.default_rng(0))
    assert alternating in ([0, 1] * 6, [1, 0] * 6)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"class_names": ("left",)}, "at least two distinct"),
        ({"class_names": ("left", "left")}, "at least two distinct"),
        ({"class_names": "left,right"}, "sequence of names"),
        ({"class_names": ("left", "Right Hand")}, "class names must be lower case"),
        ({"trials_per_class": 0}, "'trials_per_class' must be an int >= 1; got 0"),
        ({"trials_per_class": 2.5}, "'trials_per_class' must be an int"),
        ({"max_run": 0}, "'max_run' must be an int >= 1"),
        ({"fixation_s": 0.0}, "'fixation_s' must be a finite number > 0"),
        ({"imagery_s": float("nan")}, "'imagery_s' must be a finite number > 0"),
        ({"lead_in_s": -1.0}, "'lead_in_s' must be a finite number >= 0"),
        ({"rest_s": (2.0, 1.0)}, "'rest_s' must satisfy 0 <= min <= max"),
        ({"rest_s": (1.0,)}, "'rest_s' must be a pair"),
        ({"epoch_s": (0.5, 4.5)}, r"'epoch_s' must satisfy .* <= imagery_s \(4\)"),
        ({"epoch_s": (-2.0, 1.0)}, r"-fixation_s \(-1.5\) <= tmin"),
        ({"epoch_s": (2.0, 1.0)}, "tmin < tmax"),
        ({"name": ""}, "'name' must be a non-empty string"),
    ],
)
def test_invalid_values_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Paradigm(**changes)


def test_bad_seed_is_refused() -> None:
    with pytest.raises(ConfigError, match="'seed' must be an int >= 0"):
        Paradigm().schedule(-1)


def test_dict_and_toml_round_trip(tmp_path: Path) -> None:
    paradigm = Paradigm(
        name="custom",
        class_names=("left", "feet", "tongue"),
        trials_per_class=4,
        fixation_s=2.0,
        rest_s=(1.0, 3.0),
        lead_in_s=0.0,
        epoch_s=(-0.5, 3.5),
        max_run=2,
    )
    assert Paradigm.from_dict(paradigm.to_dict()) == paradigm
    path = tmp_path / "custom.toml"
    path.write_text(paradigm.to_toml())
    assert Paradigm.from_toml(path) == paradigm
    assert load_paradigm(str(path)) == paradigm
    assert Paradigm.from_toml(path).schedule(5) == paradigm.schedule(5)


def test_toml_with_base_and_default_name(tmp_path: Path) -> None:
    path = tmp_path / "long4.toml"
    path.write_text('base = "mi-4"\nname = "mi-4-long"\ntrials_per_class = 20\n')
    paradigm = load_paradigm(path)
    assert paradigm.name == "mi-4-long" and paradigm.n_trials == 80
    assert paradigm.class_names == PARADIGMS["mi-4"].class_names
    plain = tmp_path / "quick.toml"
    plain.write_text("trials_per_class = 5\nrest_s = [1, 2]\n")
    assert load_paradigm(plain) == Paradigm(name="quick", trials_per_class=5, rest_s=(1.0, 2.0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trials = 5\n", "Unknown paradigm setting(s): trials"),
        ('base = "mi-9"\n', "Unknown base paradigm 'mi-9'"),
        ("imagery_s = -1\n", "'imagery_s' must be a finite number > 0"),
        ("rest_s = [1.0\n", "not valid TOML"),
    ],
)
def test_bad_toml_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_paradigm(path)
    assert message in str(err.value)


def test_unknown_paradigm_lists_presets(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Unknown paradigm 'mi-xx'.*mi-lr, mi-4"):
        load_paradigm("mi-xx")
    with pytest.raises(ConfigError, match="does not exist"):
        load_paradigm(str(tmp_path / "absent.toml"))


# -- emotion recall ---------------------------------------------------------------------------
def test_emotion_recall_preset_values() -> None:
    emo = load_paradigm("emotion-recall")
    assert emo is PARADIGMS["emotion-recall"] and emo.family == AFFECTIVE
    assert emo.class_names == ("negative", "neutral", "positive") and emo.trials_per_class == 2
    assert (emo.fixation_s, emo.imagery_s, emo.rest_s) == (10.0, 60.0, (25.0, 35.0))
    assert emo.epoch_s == (5.0, 60.0) and emo.max_run == 1 and emo.self_assessment
    assert emo.prompt_map == DEFAULT_RECALL_PROMPTS
    assert "sad, angry or afraid" in emo.prompt("negative")
    # about 10 minutes: 6 blocks of 10 + 60 + 25..35 s after a 5 s lead-in
    assert emo.mean_duration_s == pytest.approx(5.0 + 6 * 100.0)
    assert emo.max_duration_s == pytest.approx(5.0 + 6 * 105.0)
    assert 9 * 60 <= emo.mean_duration_s <= 11 * 60
    assert PARADIGMS["mi-lr"].family == MOTOR_IMAGERY and PARADIGMS["mi-lr"].prompts == ()
    assert not PARADIGMS["mi-lr"].self_assessment


@pytest.mark.parametrize("seed", range(10))
def test_emotion_schedule_has_a_rating_period_after_every_block(seed: int) -> None:
    emo = PARADIGMS["emotion-recall"]
    cues = emo.schedule(seed)
    assert len(cues) == 4 * emo.n_trials + 2
    assert cues[0].marker == CALIB_START and cues[-1].marker == CALIB_END
    assert cues[1].t_s == pytest.approx(emo.lead_in_s)
    blocks = _trials(cues)
    classes = [block[1].class_name for block in blocks]
    assert Counter(classes) == {"negative": 2, "neutral": 2, "positive": 2}
    assert _longest_run(classes) == 1  # never two blocks of one class in a row
    for index, (fixation, cue, rest, rating) in enumerate(blocks):
        assert [c.marker for c in (fixation, cue, rest, rating)] == [
            FIXATION,
            cue_marker(cue.class_name),
            REST,
            SELF_ASSESSMENT,
        ]
        assert fixation.trial == rating.trial == index
        assert cue.t_s - fixation.t_s == pytest.approx(10.0)
        assert rest.t_s - cue.t_s == pytest.approx(60.0)
        assert rating.t_s == rest.t_s  # the rating period opens when the block ends
        following = cues[4 * index + 5]  # next fixation, or calib_end
        assert 25.0 <= following.t_s - rating.t_s < 35.0
    assert class_of_marker(SELF_ASSESSMENT) is None


def test_affective_toml_round_trip_with_family_and_prompts(tmp_path: Path) -> None:
    emo = PARADIGMS["emotion-recall"]
    path = tmp_path / "emo.toml"
    path.write_text(emo.to_toml(), encoding="utf-8")
    assert "[prompts]" in path.read_text() and 'family = "affective"' in path.read_text()
    assert Paradigm.from_toml(path) == emo
    assert Paradigm.from_dict(emo.to_dict()) == emo
    custom = Paradigm(
        name="calm-stress",
        family=AFFECTIVE,
        class_names=("calm", "stress"),
        trials_per_class=3,
        imagery_s=30.0,
        prompts={"stress": 'Recall a deadline you nearly missed: "the" rush, the noise. Ünïcode.'},
        self_assessment=True,
    )
    assert custom.prompt("calm").startswith("Recall a time you felt calm.")  # generic default
    path.write_text(custom.to_toml(), encoding="utf-8")
    assert load_paradigm(path) == custom


def test_toml_prompts_override_the_base_class_by_class(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'base = "emotion-recall"\nname = "mine"\ntrials_per_class = 3\n\n[prompts]\n'
        'positive = """Recall your best holiday.\n  Relive it."""\n',
        encoding="utf-8",
    )
    mine = load_paradigm(path)
    assert mine.family == AFFECTIVE and mine.n_trials == 9 and mine.self_assessment
    assert mine.prompt("positive") == "Recall your best holiday. Relive it."
    assert mine.prompt("negative") == DEFAULT_RECALL_PROMPTS["negative"]
    two = Paradigm.from_dict({"base": "emotion-recall", "class_names": ["calm", "tense"]})
    assert [name for name, _ in two.prompts] == ["calm", "tense"]  # base prompts dropped


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"family": "emotion"}, "'family' must be one of motor_imagery, affective"),
        ({"prompts": {"feet": "x"}}, "'prompts' names 'feet', which is not a class"),
        ({"prompts": {"left": "  "}}, "The prompt of 'left' must be a non-empty text"),
        ({"prompts": "recall"}, "'prompts' must be a table of class = text"),
        ({"self_assessment": "yes"}, "'self_assessment' must be true or false"),
    ],
)
def test_invalid_affective_values_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Paradigm(**changes)
