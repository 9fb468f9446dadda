"""Choosing liblsl's configuration before pylsl loads: machine scope, or quiet defaults."""

from __future__ import annotations

import os
import subprocess
import sys

from neurodeck.streaming import lsl_env


def test_quiet_defaults_only_when_the_user_has_no_configuration(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("LSLAPICFG", raising=False)
    monkeypatch.setattr(lsl_env, "USER_CFG_PATHS", (tmp_path / "lsl_api.cfg",))
    monkeypatch.delitem(sys.modules, "pylsl", raising=False)
    assert lsl_env.quiet_default_config() == lsl_env.QUIET_CFG
    assert os.environ["LSLAPICFG"] == str(lsl_env.QUIET_CFG)

    monkeypatch.delenv("LSLAPICFG")
    (tmp_path / "lsl_api.cfg").write_text("[log]\nlevel = 0\n")
    assert lsl_env.quiet_default_config() is None  # the user's own file is kept
    assert "LSLAPICFG" not in os.environ

    monkeypatch.setenv("LSLAPICFG", "/somewhere/mine.cfg")
    assert lsl_env.quiet_default_config() is None
    assert os.environ["LSLAPICFG"] == "/somewhere/mine.cfg"


def _load_liblsl_config(env: dict[str, str], quiet: bool) -> str:
    """stderr of a process that makes liblsl load its configuration (no network traffic)."""
    code = (
        "from neurodeck.streaming.lsl_env import quiet_default_config\n"
        f"if {quiet}: quiet_default_config()\n"
        "import pylsl\n"
        "pylsl.StreamInfo('x', 'EEG', 1, 100.0, 'float32', 'y')\n"
    )
    run = [sys.executable, "-c", code]
    return subprocess.run(run, env=env, capture_output=True, text=True, timeout=60).stderr


def test_liblsl_prints_no_info_lines_with_the_quiet_defaults(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    env["HOME"] = str(tmp_path)  # no ~/lsl_api/lsl_api.cfg
    assert "INFO|" in _load_liblsl_config(env, quiet=False)  # what a user saw before
    assert "INFO|" not in _load_liblsl_config(env, quiet=True)


def test_commands_choose_the_quiet_defaults_unless_asked_for_liblsl_detail(monkeypatch) -> None:
    from neurodeck.app import cli

    chosen: list[int] = []
    monkeypatch.setattr(lsl_env, "quiet_default_config", lambda: chosen.append(1))
    monkeypatch.delenv("NEURODECK_LSL_SCOPE", raising=False)
    cli._setup(cli._parser().parse_args(["streams"]))
    assert chosen == [1]
    cli._setup(cli._parser().parse_args(["streams", "-vv"]))
    assert chosen == [1]  # -vv: liblsl's INFO lines stay
