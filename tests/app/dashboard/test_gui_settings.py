"""Dashboard settings: TOML round trip and clear refusals."""

from __future__ import annotations

import pytest
from neurodeck.app.dashboard.gui_settings import (
    GuiSettings,
    dumps_gui_settings,
    load_gui_settings,
    save_gui_settings,
)
from neurodeck.common.types import ConfigError


def test_settings_round_trip_through_toml(tmp_path) -> None:
    settings = GuiSettings(
        scope_s=5.0,
        scale_uv=20.0,
        filter=False,
        hidden_channels=("EOG 1", 'odd "name"'),
        notch_hz=60.0,
        paradigm="mi-4",
        cv_folds=3,
        replay_speed=2.5,
        replay_loop=True,
        last_profile="C:\\profiles\\S01",
    )
    path = save_gui_settings(settings, tmp_path / "sub" / "dash.toml")
    assert load_gui_settings(path) == settings
    assert "[dashboard]" in dumps_gui_settings(settings)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[dashboard]\nscope_s = 500.0\n", "scope_s"),
        ("[dashboard]\ncolour = 'red'\n", "unknown entries: colour"),
        ("[dashbord]\n", "unknown entries: dashbord"),
        ("[dashboard\n", "not valid TOML"),
        ("[dashboard]\ncv_folds = 1\n", "cv_folds"),
        ("[dashboard]\nnotch_hz = -5.0\n", "notch_hz"),
    ],
)
def test_bad_settings_files_are_refused_with_the_reason(tmp_path, text, match) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_gui_settings(path)


def test_a_missing_named_file_is_an_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_gui_settings(tmp_path / "nope.toml")
