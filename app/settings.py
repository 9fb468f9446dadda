"""User settings: frozen dataclasses, validated on construction, loadable from TOML.

Example ``neurodeck.toml``::

    [data]
    root = "/data/eeg"            # holds MNE-eegbci-data/...

    [acquisition]
    buffer_s = 30.0
    stall_s = 1.5

    [decode]
    hop_s = 0.25
    device = "auto"
    deadline_s = 0.5

The file is found from ``--config FILE``, else ``$NEURODECK_CONFIG``, else
``~/.config/neurodeck/settings.toml`` when it exists; otherwise the defaults apply.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodeck.common.checks import check_positive
from neurodeck.common.types import ConfigError
from neurodeck.streaming.acquisition import AcquisitionSettings

DEFAULT_CONFIG = Path.home() / ".config" / "neurodeck" / "settings.toml"


@dataclass(frozen=True)
class DecodeSettings:
    """Live decoding settings (hop between windows, device, staleness deadline)."""

    hop_s: float = 0.25
    device: str = "auto"
    deadline_s: float = 0.5

    def __post_init__(self) -> None:
        check_positive("decode.hop_s", self.hop_s, unit="s")
        check_positive("decode.deadline_s", self.deadline_s, unit="s")
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise ConfigError(
                f"'decode.device' must be auto, cpu or cuda[:N]; got {self.device!r}."
            )


@dataclass(frozen=True)
class DataSettings:
    """Where recordings live (``None``: ``$NEURODECK_DATA``, then ``../shared/data``)."""

    root: Path | None = None


@dataclass(frozen=True)
class Settings:
    """All user settings."""

    data: DataSettings = field(default_factory=DataSettings)
    acquisition: AcquisitionSettings = field(default_factory=AcquisitionSettings)
    decode: DecodeSettings = field(default_factory=DecodeSettings)
    source: Path | None = None


def _section(cls: type, name: str, values: Any) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table of settings; got {values!r}.")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) in [{name}]: {', '.join(unknown)}.",
            f"Known settings: {', '.join(sorted(known))}.",
        )
    if cls is DataSettings and values.get("root") is not None:
        values = {**values, "root": Path(values["root"]).expanduser()}
    return cls(**values)


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from TOML (see the module docstring for where the file is looked up).

    Raises
    ------
    ConfigError
        When the file is missing (if named explicitly), is not valid TOML, or holds unknown
        sections, unknown keys or out-of-range values.
    """
    explicit = path or (
        Path(os.environ["NEURODECK_CONFIG"]) if "NEURODECK_CONFIG" in os.environ else None
    )
    path = explicit or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    if path is None:
        return Settings()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"Settings file {path} does not exist.", "Give an existing TOML file with --config."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Settings file {path} is not valid TOML ({exc}).") from None
    sections = {"data": DataSettings, "acquisition": AcquisitionSettings, "decode": DecodeSettings}
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise ConfigError(
            f"Unknown section(s) in {path}: {', '.join(unknown)}.",
            f"Known sections: {', '.join(sections)}.",
        )
    try:
        parts = {key: _section(cls, key, raw.get(key, {})) for key, cls in sections.items()}
    except TypeError as exc:
        raise ConfigError(f"Bad value in {path}: {exc}.") from None
    return Settings(**parts, source=Path(path))
