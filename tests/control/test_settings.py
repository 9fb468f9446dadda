"""Settings from TOML: defaults, values, and precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from neurodeck.common.types import ConfigError
from neurodeck.control.settings import Settings, load_settings


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
