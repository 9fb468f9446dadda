"""Dashboard settings: a frozen dataclass, validated on construction, saved and loaded as TOML.

Example ``~/.config/neurodeck/dashboard.toml`` (written by File > Save settings)::

    [dashboard]
    scope_s = 10.0            # seconds shown by the scope
    scale_uv = 100.0          # microvolts per channel lane
    filter = true             # scope shows the display-filtered signal
    hidden_channels = ["EOG1"]
    notch_hz = 50.0           # mains notch of the filtered view; 0 for none
    paradigm = "mi-lr"        # calibration paradigm (mi-lr, mi-4 or a TOML file)
    cv_folds = 5
    affective_smoothing_s = 4.0  # time constant of the Emotion tab's smoothed state
    replay_speed = 1.0
    replay_loop = false
    last_profile = "runs/dashboard/profiles/S01"
    out_dir = "runs/dashboard"

Unknown keys and out-of-range values are refused with a message naming them.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurodeck.common.jsonio import write_text_atomic
from neurodeck.common.types import ConfigError

DEFAULT_PATH = Path.home() / ".config" / "neurodeck" / "dashboard.toml"
SECTION = "dashboard"


@dataclass(frozen=True)
class GuiSettings:
    """What the dashboard remembers between sessions (see the module docstring)."""

    scope_s: float = 10.0
    scale_uv: float = 100.0
    filter: bool = True
    hidden_channels: tuple[str, ...] = ()
    notch_hz: float = 50.0
    paradigm: str = "mi-lr"
    cv_folds: int = 5
    affective_smoothing_s: float = 4.0
    replay_speed: float = 1.0
    replay_loop: bool = False
    last_profile: str = ""
    out_dir: str = "runs/dashboard"

    def __post_init__(self) -> None:
        if not 0.5 <= self.scope_s <= 60:
            raise ConfigError(f"'scope_s' must be 0.5 to 60 s; got {self.scope_s}.")
        if not 0 < self.scale_uv <= 1e5:
            raise ConfigError(f"'scale_uv' must be > 0 and <= 1e5 uV; got {self.scale_uv}.")
        if not (self.notch_hz == 0 or 1 <= self.notch_hz <= 1000):
            raise ConfigError(f"'notch_hz' must be 0 (none) or 1 to 1000 Hz; got {self.notch_hz}.")
        if not 0 <= self.cv_folds <= 20 or self.cv_folds == 1:
            raise ConfigError(f"'cv_folds' must be 0 (skip) or 2 to 20; got {self.cv_folds}.")
        if not 0.1 <= self.affective_smoothing_s <= 120:
            raise ConfigError(
                f"'affective_smoothing_s' must be 0.1 to 120 s; got {self.affective_smoothing_s}."
            )
        if not 0 < self.replay_speed <= 1000:
            raise ConfigError(f"'replay_speed' must be > 0 and <= 1000; got {self.replay_speed}.")
        object.__setattr__(self, "hidden_channels", tuple(map(str, self.hidden_channels)))

    def replace(self, **changes: Any) -> GuiSettings:
        """A validated copy with ``changes``."""
        return dataclasses.replace(self, **changes)


def load_gui_settings(path: Path | None = None) -> GuiSettings:
    """Read settings (default :data:`DEFAULT_PATH` when it exists, else the defaults).

    Raises
    ------
    ConfigError
        The file named does not exist, is not TOML, or holds unknown keys or bad values.
    """
    if path is None:
        if not DEFAULT_PATH.is_file():
            return GuiSettings()
        path = DEFAULT_PATH
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Settings file {path} does not exist.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Settings file {path} is not valid TOML ({exc}).",
            "Fix the file or delete it to start from the defaults.",
        ) from None
    values = raw.get(SECTION, {})
    extra = sorted(set(raw) - {SECTION})
    known = {f.name: f for f in dataclasses.fields(GuiSettings)}
    unknown = sorted(set(values) - set(known))
    if extra or unknown or not isinstance(values, dict):
        raise ConfigError(
            f"Settings file {path} has unknown entries: {', '.join(extra + unknown)}.",
            f"Known: [{SECTION}] with {', '.join(known)}.",
        )
    try:
        return GuiSettings(**values)
    except TypeError as exc:
        raise ConfigError(f"Bad value in {path}: {exc}.") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"Cannot save a non-finite setting ({value}).")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"Cannot save setting value {value!r} as TOML.")


def dumps_gui_settings(settings: GuiSettings) -> str:
    """The TOML text of ``settings``."""
    lines = [f"[{SECTION}]"]
    for f in dataclasses.fields(settings):
        lines.append(f"{f.name} = {_toml_value(getattr(settings, f.name))}")
    return "\n".join(lines) + "\n"


def save_gui_settings(settings: GuiSettings, path: Path | None = None) -> Path:
    """Write ``settings`` as TOML (atomically: a crash leaves the old file or the new one)."""
    path = Path(path or DEFAULT_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, dumps_gui_settings(settings))
