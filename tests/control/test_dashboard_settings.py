"""The dashboard's section of the settings tree: TOML round trip and clear refusals."""

from __future__ import annotations

import pytest
from neurodeck.common.types import ConfigError
from neurodeck.control.settings import (
    DashboardSettings,
    DecodeSettings,
    Settings,
    dumps_settings,
    load_settings,
    save_settings,
)


def test_settings_round_trip_through_toml(tmp_path) -> None:
    dashboard = DashboardSettings(
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
    settings = Settings(dashboard=dashboard, decode=DecodeSettings(hop_s=0.5))
    path = save_settings(settings, tmp_path / "sub" / "settings.toml")
    loaded = load_settings(path)
    assert loaded.dashboard == dashboard
    assert loaded.decode == settings.decode  # the other sections survive a dashboard save
    assert loaded == settings.replace(source=path)
    assert "[dashboard]" in dumps_settings(settings)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[dashboard]\nscope_s = 500.0\n", "scope_s"),
        ("[dashboard]\ncolour = 'red'\n", r"Unknown setting\(s\) in \[dashboard\]: colour"),
        ("[dashbord]\n", r"Unknown section\(s\) in .*: dashbord"),
        ("[dashboard\n", "not valid TOML"),
        ("[dashboard]\ncv_folds = 1\n", "cv_folds"),
        ("[dashboard]\nnotch_hz = -5.0\n", "notch_hz"),
    ],
)
def test_bad_settings_files_are_refused_with_the_reason(tmp_path, text, match) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_settings(path)


def test_a_missing_named_file_is_an_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
