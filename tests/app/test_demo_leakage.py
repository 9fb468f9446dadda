"""The demo never decodes a subject its network was trained on."""

from __future__ import annotations

from neurodeck.app.cli import _parser as build_parser
from neurodeck.app.replay_loop import leakage_note
from neurodeck.calibration.defaults import DEFAULT_ANY_MONTAGE_ENCODER, DEFAULT_ENCODER
from neurodeck.models.checkpoint import read_checkpoint_meta


def test_the_demo_subject_is_not_in_the_training_set_of_the_demo_network() -> None:
    args = build_parser().parse_args(["demo"])
    network = args.model or DEFAULT_ENCODER  # what calibrate_by_replay loads
    for path in (network, DEFAULT_ANY_MONTAGE_ENCODER):
        training = read_checkpoint_meta(path).training
        assert training["subjects"], f"{path} does not record its training subjects"
        assert args.subject not in training["subjects"], f"{path} has seen the demo subject"
        assert leakage_note(training, args.subject) is None


def test_loop_says_when_a_subject_was_in_the_training_set() -> None:
    note = leakage_note({"subjects": [2, 3, 4]}, 3)
    assert note is not None and "optimistic" in note and "subject 3" in note
    assert leakage_note({"subjects": [2, 3, 4]}, 1) is None
