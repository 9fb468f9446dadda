"""Stream resolution and header parsing."""

from __future__ import annotations

import time
import uuid

import pylsl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neurodeck.common.types import AmbiguousStreamError, StreamNotFoundError
from neurodeck.streaming.lsl_io import (
    StreamSearch,
    make_stream_info,
    meta_from_info,
    resolve_stream,
    stream_predicate,
    unit_scale_to_uv,
    xpath_literal,
)

pytestmark = pytest.mark.lsl


def test_no_stream_in_time_lists_what_was_seen(unique_id) -> None:
    other = pylsl.StreamOutlet(
        make_stream_info(f"{unique_id}-other", "EEG", ["C3"], 100.0, f"{unique_id}-other")
    )
    t0 = time.monotonic()
    with pytest.raises(StreamNotFoundError) as err:
        resolve_stream(name=unique_id, timeout_s=0.5)
    assert time.monotonic() - t0 < 3.0
    text = str(err.value)
    assert f"name='{unique_id}'" in text and f"'{unique_id}-other'" in text
    assert "neurodeck replay" in text  # says what to do
    del other


def test_header_round_trip(unique_id) -> None:
    info = make_stream_info(
        unique_id,
        "EEG",
        ["C3..", "C4.."],
        160.0,
        unique_id,
        unit="microvolts",
        extra_desc={"replay_speed": "4"},
    )
    outlet = pylsl.StreamOutlet(info)
    inlet = pylsl.StreamInlet(resolve_stream(source_id=unique_id))
    meta = meta_from_info(inlet.info(timeout=5))
    assert meta.channel_names == ("C3..", "C4..") and meta.channel_units == ("microvolts",) * 2
    assert meta.sfreq == 160.0 and meta.replay_speed == 4.0
    assert meta.sample_period_s == pytest.approx(1 / 640)
    del outlet


def test_unit_scales() -> None:
    assert unit_scale_to_uv("microvolts") == 1.0
    assert unit_scale_to_uv("V") == 1e6
    assert unit_scale_to_uv("mV") == 1e3
    assert unit_scale_to_uv("furlongs") is None


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", "'plain'"),
        ("Tom's amp", '"Tom\'s amp"'),
        ('12" screen', "'12\" screen'"),
        ('it\'s "b"', "concat('it', \"'\", 's \"b\"')"),
        ("'\"'", 'concat("\'", \'"\', "\'")'),
        ("back\\slash", "'back\\slash'"),
    ],
)
def test_xpath_literal_quotes_any_value(value, literal) -> None:
    assert xpath_literal(value) == literal


def test_predicate_leaves_what_liblsl_cannot_carry_to_python() -> None:
    assert stream_predicate(name="a'b", stream_type="EEG") == "name=\"a'b\" and type='EEG'"
    assert stream_predicate(name="two\nlines", stream_type="EEG") == "type='EEG'"
    assert stream_predicate(name="two\nlines") is None
    assert stream_predicate() is None


#: Characters of generated stream names: the awkward ones often, any other now and then.
_NAME_CHARS = st.one_of(
    st.sampled_from("'\"\\ ]/[()=@é€ü\t\n\r😀"),
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
)


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.text(_NAME_CHARS, min_size=1, max_size=12), tag_first=st.booleans())
def test_any_name_finds_its_stream_and_only_it(unique_id, text, tag_first) -> None:
    """Quotes, apostrophes, backslashes, non-ASCII, control characters: found, never confused.

    A unique tag keeps the name apart from every other stream on the machine (liblsl cannot
    publish a name of blanks only); a decoy whose name only adds an apostrophe must not match.
    """
    tag = uuid.uuid4().hex[:8]
    name = f"{tag}{text}" if tag_first else f"{text}{tag}"
    source_id = f"{unique_id}-{tag}"
    outlet = pylsl.StreamOutlet(make_stream_info(name, "EEG", ["C3"], 100.0, source_id))
    decoy = pylsl.StreamOutlet(make_stream_info(f"{name}'", "EEG", ["C3"], 100.0, f"{tag}-d"))
    try:
        assert resolve_stream(name=name, timeout_s=5.0).source_id() == source_id
        found = resolve_stream(name=name, stream_type="EEG", source_id=source_id, timeout_s=5.0)
        assert found.source_id() == source_id
    finally:
        del outlet, decoy


def _outlet(name: str, source_id: str, n_channels: int, sfreq: float) -> pylsl.StreamOutlet:
    names = [f"Ch{i + 1}" for i in range(n_channels)]
    return pylsl.StreamOutlet(make_stream_info(name, "EEG", names, sfreq, source_id))


def test_two_streams_of_one_name_are_refused_with_the_candidates(unique_id) -> None:
    one = _outlet(unique_id, f"{unique_id}-a", 8, 250.0)
    two = _outlet(unique_id, f"{unique_id}-b", 32, 500.0)
    try:
        with pytest.raises(AmbiguousStreamError) as err:
            resolve_stream(name=unique_id, timeout_s=5.0)
        text = str(err.value)
        assert f"2 LSL streams match name='{unique_id}'" in text
        assert f"'{unique_id}' (EEG, 8 ch at 250 Hz) on host " in text
        assert f"source_id '{unique_id}-a'" in text and f"source_id '{unique_id}-b'" in text
        assert "(EEG, 32 ch at 500 Hz)" in text
        assert "--by-id --stream SOURCE_ID" in err.value.hint
        assert {c.source_id for c in err.value.candidates} == {f"{unique_id}-a", f"{unique_id}-b"}
        # the source_id chooses; so does a preferred source_id among the candidates
        assert resolve_stream(source_id=f"{unique_id}-b").channel_count() == 32
        chosen = resolve_stream(name=unique_id, prefer_source_id=f"{unique_id}-a")
        assert chosen.channel_count() == 8
    finally:
        del one, two


def test_two_streams_of_one_source_id_say_that_the_id_cannot_choose(unique_id) -> None:
    one = _outlet(unique_id, unique_id, 4, 100.0)
    two = _outlet(unique_id, unique_id, 4, 100.0)
    try:
        with pytest.raises(AmbiguousStreamError) as err:
            resolve_stream(name=unique_id, timeout_s=5.0)
        assert "share the source_id" in err.value.hint and "stop all but one" in err.value.hint
    finally:
        del one, two


def test_a_search_lists_every_stream_of_a_name(unique_id) -> None:
    outlets = [_outlet(unique_id, f"{unique_id}-{i}", 1, 100.0) for i in range(3)]
    try:
        assert len(StreamSearch(name=unique_id).wait(5.0)) == 3
    finally:
        del outlets
