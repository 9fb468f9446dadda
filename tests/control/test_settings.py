"""Settings from TOML: defaults, values, and precise errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from neurodeck.common.types import ConfigError
from neurodeck.control.settings import SECTIONS, Settings, load_settings


def test_defaults_without_a_file(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("NEURODECK_CONFIG", raising=False)
    monkeypatch.setattr("neurodeck.control.settings.DEFAULT_CONFIG", tmp_path / "absent.toml")
    assert load_settings() == Settings()


def test_values_are_read_and_validated(tmp_path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[data]\nroot = "~/eeg"\n[acquisition]\nstall_s = 1.0\n[decode]\nhop_s = 0.5\n')
    s = load_settings(cfg)
    assert s.data.root == Path("~/eeg").expanduser()
    assert s.acquisition.stall_s == 1.0 and s.decode.hop_s == 0.5 and s.source == cfg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[decode]\nhop = 1\n", "Unknown setting(s) in [decode]: hop"),
        ("[decoder]\n", "Unknown section(s)"),
        ("[acquisition]\nstall_s = 5.0\n", "'stall_s' must be <= 2.0"),
        ("[decode\n", "not valid TOML"),
        ('[data]\nroot = "~0"\n', "'data.root' starts with an unknown user's home folder"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, text, message) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert message in str(err.value)


def test_missing_explicit_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


# -- every field of the tree, with values of the wrong type (generated) -------------------------

#: The kind of value each field annotation takes; a new field of another type must be added here.
_KINDS = {
    "float": "number",
    "int": "integer",
    "bool": "boolean",
    "str": "string",
    "tuple[str, ...]": "strings",
    "Path | None": "path",
}
FIELDS = [
    (section, f.name, _KINDS.get(str(f.type), str(f.type)))
    for section, cls in SECTIONS.items()
    for f in dataclasses.fields(cls)
]

_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
_dates = st.one_of(st.dates(), st.times(), st.datetimes())
_non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
_finite = st.floats(allow_nan=False, allow_infinity=False)
_ints = st.integers(-(2**63), 2**63 - 1)
_scalars = st.one_of(st.booleans(), _ints, _finite, _text, _dates)
_lists = st.lists(_scalars, max_size=3)
_tables = st.dictionaries(_keys, _scalars, max_size=2)
_not_a_list = st.one_of(st.booleans(), _ints, _finite, _text, _dates, _tables)

#: Values that no field of a kind may take (TOML can hold each of them).
WRONG = {
    "number": st.one_of(st.booleans(), _non_finite, _text, _dates, _lists, _tables),
    "integer": st.one_of(st.booleans(), _finite, _non_finite, _text, _dates, _lists, _tables),
    "boolean": st.one_of(_ints, _finite, _text, _dates, _lists, _tables),
    "string": st.one_of(st.booleans(), _ints, _finite, _dates, _lists, _tables),
    "strings": st.one_of(
        _not_a_list,
        st.lists(st.one_of(st.booleans(), _ints, _finite, _dates), min_size=1, max_size=3),
    ),
    "path": st.one_of(st.booleans(), _ints, _finite, _dates, _lists, _tables),
}
#: Values of the right type: accepted, or refused for their range with the field's name.
RIGHT = {
    "number": st.one_of(_finite, _ints),
    "integer": _ints,
    "boolean": st.booleans(),
    "string": _text,
    "strings": st.lists(_text, max_size=3),
    "path": _text,
}


def _toml(value: object) -> str:
    """``value`` as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _write(folder: Path, section: str, key: str, value: object) -> Path:
    path = folder / "settings.toml"
    text = f"[{section}]\n{key} = {_toml(value)}\n"
    path.write_text(text, encoding="utf-8")
    parsed = tomllib.loads(text)[section][key]  # the file holds the value meant
    assert parsed == value or (isinstance(value, float) and math.isnan(value))
    return path


def test_every_field_of_the_tree_has_a_known_kind() -> None:
    unknown = [(s, name, kind) for s, name, kind in FIELDS if kind not in WRONG]
    assert not unknown, f"add the type of these settings to _KINDS: {unknown}"
    assert {s for s, _, _ in FIELDS} == {"data", "acquisition", "decode", "dashboard"}


@settings(max_examples=250, deadline=None)
@given(field=st.sampled_from(FIELDS), data=st.data())
def test_a_value_of_the_wrong_type_is_refused_with_its_key(tmp_path_factory, field, data):
    section, key, kind = field
    value = data.draw(WRONG[kind], label="value")
    path = _write(tmp_path_factory.mktemp("cfg"), section, key, value)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    message = str(err.value)
    assert f"[{section}]" in message and key in message and str(path) in message
    assert err.value.hint


@settings(max_examples=150, deadline=None)
@given(field=st.sampled_from(FIELDS), data=st.data())
def test_a_value_of_the_right_type_is_accepted_or_refused_with_its_key(
    tmp_path_factory, field, data
):
    section, key, kind = field
    value = data.draw(RIGHT[kind], label="value")
    path = _write(tmp_path_factory.mktemp("cfg"), section, key, value)
    try:
        loaded = load_settings(path)
    except ConfigError as err:
        assert f"[{section}]" in str(err) and key in str(err)
    else:
        assert getattr(getattr(loaded, section), key) is not None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[decode]\nhop_s = true\n", "decode.hop_s"),  # True is not 1 second
        ("[decode]\ndeadline_s = false\n", "decode.deadline_s"),
        ("[decode]\ndevice = 0\n", "decode.device"),
        ("[acquisition]\nstall_s = true\n", "stall_s"),
        ("[acquisition]\nsettle_s = nan\n", "settle_s"),
        ("[acquisition]\ngap_tolerance = inf\n", "gap_tolerance"),
        ("[acquisition]\nmax_chunk = 1.5\n", "max_chunk"),
        ("[dashboard]\nscope_s = '10'\n", "scope_s"),
        ("[dashboard]\nhidden_channels = 'EOG'\n", "hidden_channels"),
        ("[dashboard]\nfilter = 1\n", "filter"),
        ("[data]\nroot = 3\n", "data.root"),
    ],
)
def test_typical_wrong_types_are_refused(tmp_path, text, key) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_settings(cfg)


def test_an_unreadable_settings_path_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path)  # a folder
