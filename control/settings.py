"""One settings tree for every command and the dashboard, read once from one TOML file.

Example ``~/.config/neurodeck/settings.toml`` (File > Save settings in the dashboard writes it)::

    [data]
    root = "/data/eeg"            # holds MNE-eegbci-data/...

    [acquisition]                 # the acquisition thread (streaming.acquisition)
    buffer_s = 30.0
    stall_s = 1.5

    [decode]                      # live decoding: `neurodeck decode`, the demo, the dashboard
    hop_s = 0.25
    device = "auto"
    deadline_s = 0.5

    [dashboard]                   # what the dashboard remembers between sessions
    scope_s = 10.0                # seconds shown by the scope
    scale_auto = true             # the scope scales each lane to its own amplitude
    scale_uv = 100.0              # microvolts per channel lane when scale_auto is false
    filter = true                 # the scope shows the display-filtered signal
    hidden_channels = ["EOG1"]
    notch_hz = 50.0               # mains notch of the filtered view; 0 for none
    paradigm = "mi-lr"            # calibration paradigm (mi-lr, mi-4 or a TOML file)
    cv_folds = 5
    affective_smoothing_s = 4.0   # time constant of the Emotion tab's smoothed state
    replay_speed = 1.0
    replay_loop = false
    last_profile = "runs/dashboard/profiles/S01"
    out_dir = "runs/dashboard"

The file is found from ``--config FILE``, else ``$NEURODECK_CONFIG``, else
``~/.config/neurodeck/settings.toml`` when it exists; otherwise the defaults apply. Every section
is optional. Unknown sections, unknown keys, values of the wrong type and out-of-range values are
refused with their names.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodeck.common.checks import (
    check_bool,
    check_int,
    check_number,
    check_positive,
    check_str,
    check_str_tuple,
    check_user_path,
)
from neurodeck.common.jsonio import write_text_atomic
from neurodeck.common.types import ConfigError
from neurodeck.control.affect import DEFAULT_AFFECTIVE_SMOOTHING_S
from neurodeck.streaming.settings import AcquisitionSettings

#: Trials recorded from a stream's own markers before fitting (EEGBCI runs 4 + 8 hold 30).
STREAM_TRIALS = 30

DEFAULT_CONFIG = Path.home() / ".config" / "neurodeck" / "settings.toml"
CONFIG_ENV = "NEURODECK_CONFIG"


@dataclass(frozen=True)
class DecodeSettings:
    """Live decoding settings (hop between windows, device, staleness deadline)."""

    hop_s: float = 0.25
    device: str = "auto"
    deadline_s: float = 0.5

    def __post_init__(self) -> None:
        check_positive("decode.hop_s", self.hop_s, unit="s")
        check_positive("decode.deadline_s", self.deadline_s, unit="s")
        check_str("decode.device", self.device)
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise ConfigError(
                f"'decode.device' must be auto, cpu or cuda[:N]; got {self.device!r}."
            )


@dataclass(frozen=True)
class DataSettings:
    """Where recordings live (``None``: ``$NEURODECK_DATA``, then ``../shared/data``)."""

    root: Path | None = None

    def __post_init__(self) -> None:
        if self.root is not None:
            if not isinstance(self.root, (str, os.PathLike)):
                raise ConfigError(
                    f"'data.root' must be a folder path (a string); got {self.root!r}."
                )
            object.__setattr__(self, "root", check_user_path("data.root", self.root))


@dataclass(frozen=True)
class DashboardSettings:
    """What the dashboard remembers between sessions (see the module docstring)."""

    scope_s: float = 10.0
    scale_auto: bool = True
    scale_uv: float = 100.0
    filter: bool = True
    hidden_channels: tuple[str, ...] = ()
    notch_hz: float = 50.0
    paradigm: str = "mi-lr"
    cv_folds: int = 5
    affective_smoothing_s: float = DEFAULT_AFFECTIVE_SMOOTHING_S
    replay_speed: float = 1.0
    replay_loop: bool = False
    last_profile: str = ""
    out_dir: str = "runs/dashboard"

    def __post_init__(self) -> None:
        # Types first (a TOML file can hold a string or a bool where a number belongs), each
        # refused with the setting's name; then the ranges.
        check_number("scope_s", self.scope_s, 0.5, 60, unit="s")
        check_positive("scale_uv", self.scale_uv, upper=1e5, unit="uV")
        check_number("notch_hz", self.notch_hz, 0, 1000, unit="Hz")
        if 0 < self.notch_hz < 1:
            raise ConfigError(f"'notch_hz' must be 0 (none) or 1 to 1000 Hz; got {self.notch_hz}.")
        check_int("cv_folds", self.cv_folds, 0, 20)
        if self.cv_folds == 1:
            raise ConfigError(f"'cv_folds' must be 0 (skip) or 2 to 20; got {self.cv_folds}.")
        check_number("affective_smoothing_s", self.affective_smoothing_s, 0.1, 120, unit="s")
        check_positive("replay_speed", self.replay_speed, upper=1000)
        check_bool("filter", self.filter)
        check_bool("scale_auto", self.scale_auto)
        check_bool("replay_loop", self.replay_loop)
        for name in ("paradigm", "last_profile", "out_dir"):
            check_str(name, getattr(self, name))
        hidden = check_str_tuple("hidden_channels", self.hidden_channels)
        object.__setattr__(self, "hidden_channels", hidden)

    def replace(self, **changes: Any) -> DashboardSettings:
        """A validated copy with ``changes``."""
        return dataclasses.replace(self, **changes)


#: The tree's sections, in file order.
SECTIONS: dict[str, type] = {
    "data": DataSettings,
    "acquisition": AcquisitionSettings,
    "decode": DecodeSettings,
    "dashboard": DashboardSettings,
}


@dataclass(frozen=True)
class Settings:
    """All user settings: one section per :data:`SECTIONS` entry, and the file they came from."""

    data: DataSettings = field(default_factory=DataSettings)
    acquisition: AcquisitionSettings = field(default_factory=AcquisitionSettings)
    decode: DecodeSettings = field(default_factory=DecodeSettings)
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)
    source: Path | None = None

    def replace(self, **changes: Any) -> Settings:
        """A copy with whole sections replaced (``dashboard=...``)."""
        return dataclasses.replace(self, **changes)


_FIX_HINT = "Fix that setting in the file, or delete the line to use its default."


def _section(cls: type, name: str, values: Any, path: Path) -> Any:
    """One section of the tree, each refusal naming the file, the section and the setting."""
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table of settings; got {values!r}.")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) in [{name}]: {', '.join(unknown)}.",
            f"Known settings: {', '.join(sorted(known))}.",
        )
    try:
        return cls(**values)
    except ConfigError as err:
        raise ConfigError(f"{path} [{name}]: {err.problem}", err.hint or _FIX_HINT) from None
    except (TypeError, ValueError, AttributeError) as exc:  # a check the section lacks
        raise ConfigError(f"{path} [{name}]: bad value ({exc}).", _FIX_HINT) from None


def config_path(path: Path | None = None) -> Path | None:
    """The settings file to read: ``path``, ``$NEURODECK_CONFIG``, or the default if it exists."""
    if path is not None:
        return Path(path)
    if CONFIG_ENV in os.environ:
        return Path(os.environ[CONFIG_ENV])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings tree (see the module docstring for where the file is looked up).

    Raises
    ------
    ConfigError
        When the file is missing (if named explicitly), unreadable or not valid TOML, or holds
        unknown sections, unknown keys, values of the wrong type (a string or a boolean where a
        number belongs ...) or out-of-range values; the message names the file, the section
        and the setting.
    """
    path = config_path(path)
    if path is None:
        return Settings()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"Settings file {path} does not exist.", "Give an existing TOML file with --config."
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Settings file {path} is not valid TOML ({exc}).",
            "Fix the file, or delete it to start from the defaults.",
        ) from None
    except OSError as exc:  # a folder, no permission ...
        raise ConfigError(
            f"Settings file {path} cannot be read ({exc.strerror or exc}).",
            "Give a readable TOML file with --config.",
        ) from None
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"Unknown section(s) in {path}: {', '.join(unknown)}.",
            f"Known sections: {', '.join(SECTIONS)}.",
        )
    parts = {key: _section(cls, key, raw.get(key, {}), path) for key, cls in SECTIONS.items()}
    return Settings(**parts, source=Path(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"Cannot save a non-finite setting ({value}).")
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"Cannot save setting value {value!r} as TOML.")


def dumps_settings(settings: Settings) -> str:
    """The TOML text of the whole tree (a setting that is None is left out: its default)."""
    blocks = []
    for name in SECTIONS:
        section = getattr(settings, name)
        lines = [f"[{name}]"]
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if value is not None:
                lines.append(f"{f.name} = {_toml_value(value)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the tree as TOML (atomically: a crash leaves the old file or the new one)."""
    path = Path(path or settings.source or DEFAULT_CONFIG)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomic(path, dumps_settings(settings))


@dataclass(frozen=True)
class CoreSettings:
    """Settings of the core (the dashboard's TOML file fills them).

    Parameters
    ----------
    scope_s : float
        Seconds of signal kept for the scope (the longest span it can show).
    display_band : (float, float)
        Band-pass of the scope's filtered view, Hz (the upper edge is lowered below Nyquist).
    notch_hz : float or None
        Mains notch of the filtered view (50 or 60), None for none.
    analysis_s : float
        Seconds of signal behind the spectra and flags.
    analysis_period_s : float
        How often they are recomputed.
    history_s : float
        Span of the prediction timeline.
    smoothing_s : float
        Time constant of the probability bars and the cursor (motor imagery).
    affective_smoothing_s : float
        Time constant of the smoothed state of affective decoders (a mood changes over seconds).
    cv_folds : int
        Cross-validation folds after a dashboard calibration.
    cue_speed : float
        Schedule compression of dashboard calibrations (1 for a person).
    stream_trials : int
        Cues recorded when calibrating on the stream's own markers.
    out_dir : Path
        Where profiles, recordings and child logs go.
    encoder : Path or None
        Pretrained encoder that calibrations fine-tune (None: the shipped default).
    acquisition : AcquisitionSettings
    decode : DecodeSettings
        Hop, device and deadline of live decoding: the same as ``neurodeck decode`` reads.
    """

    scope_s: float = 20.0
    display_band: tuple[float, float] = (1.0, 40.0)
    notch_hz: float | None = 50.0
    analysis_s: float = 4.0
    analysis_period_s: float = 0.5
    history_s: float = 30.0
    smoothing_s: float = 1.0
    affective_smoothing_s: float = DEFAULT_AFFECTIVE_SMOOTHING_S
    cv_folds: int = 5
    cue_speed: float = 1.0
    stream_trials: int = STREAM_TRIALS
    out_dir: Path = Path("runs/dashboard")
    encoder: Path | None = None
    acquisition: AcquisitionSettings = field(default_factory=AcquisitionSettings)
    decode: DecodeSettings = field(default_factory=DecodeSettings)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> CoreSettings:
        """The core's settings from the user's settings tree (``overrides`` win)."""
        dash = settings.dashboard
        values: dict[str, Any] = {
            "notch_hz": dash.notch_hz or None,
            "cv_folds": dash.cv_folds,
            "out_dir": check_user_path("dashboard.out_dir", dash.out_dir).resolve(),
            "affective_smoothing_s": dash.affective_smoothing_s,
            "acquisition": settings.acquisition,
            "decode": settings.decode,
        }
        return cls(**{**values, **overrides})
