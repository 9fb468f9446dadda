"""The core's stream list: one row per identity, in order; the search's status counts that list."""

from __future__ import annotations

from neurodeck.control.command_queue import CommandQueue
from neurodeck.control.core import listed, streams_found
from neurodeck.control.snapshot import StreamRow

A = StreamRow("amp", "EEG", 8, 250.0, "pc", "amp-2")
B = StreamRow("amp", "EEG", 8, 250.0, "pc", "amp-1")
M = StreamRow("amp-markers", "Markers", 1, 0.0, "pc", "amp-1-markers")


def test_the_list_has_one_row_per_identity_in_order() -> None:
    assert listed([M, A, B, A]) == (B, A, M)
    assert listed([]) == ()


def test_a_status_function_is_made_from_the_list_given_at_each_read() -> None:
    queue = CommandQueue("idle")
    try:
        queue.say(streams_found)
        assert queue.messages(listed([A, B, M]))[0] == "3 streams found (2 signal streams)."
        assert queue.messages(listed([M]))[0] == "1 stream found (0 signal streams)."
        assert queue.messages(listed([A]))[0] == "1 stream found (1 signal stream)."
        queue.error("Stream lost.", "Check the headset.")  # a later message replaces it
        assert queue.messages(())[0] == "Stream lost."
    finally:
        queue.close(1.0)


def test_streams_of_one_name_without_source_id_on_two_hosts_keep_two_keys() -> None:
    one = StreamRow("amp", "EEG", 8, 250.0, "lab-pc", "")
    two = StreamRow("amp", "EEG", 8, 250.0, "laptop", "")
    assert one.key == "amp @ lab-pc" and two.key == "amp @ laptop"
    assert A.key == "amp-2"  # a source_id is the key
    assert StreamRow("amp", "EEG", 8, 250.0, "", "").key == "amp"
