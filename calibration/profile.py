"""Subject profiles: the folder a calibration writes and ``decode`` and the dashboard load.

Layout (format ``neurodeck-profile``, version 1)::

    PROFILE/
      profile.json            index: decoder in use, checkpoints, classes, timings, provenance
      finetuned.safetensors   the shipped encoder fine-tuned to this person
      reference.safetensors   the tangent-space reference fitted on the same trials
      report.json             cross-validated accuracy, per class, confusion matrices, split
      report.png              the same as figures
      report.md               the same as text
      paradigm.json           the cue paradigm (absent when trials came from a file's markers)
      preprocessing.json      each decoder's preprocessing chain
      recording/              the calibration recording, when it was recorded into the profile

``profile.json["decoder"]`` names the checkpoint that decoding uses: the decoder with the higher
cross-validated accuracy (or the fine-tuned encoder when cross-validation was skipped). Every
checkpoint carries its own channels, rate, window and preprocessing, so a profile decodes on any
stream that has those channels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodeck.common.jsonio import write_json_atomic
from neurodeck.common.types import CheckpointError

PROFILE_FORMAT = "neurodeck-profile"
PROFILE_VERSION = 1
PROFILE_FILE = "profile.json"


@dataclass(frozen=True)
class SubjectProfile:
    """A calibrated person's decoders and their provenance.

    Parameters
    ----------
    path : Path
        The profile folder.
    decoder : str
        Name of the checkpoint decoding uses (a key of ``checkpoints``).
    checkpoints : dict
        Decoder name -> file name inside the folder.
    class_names : tuple of str
    marker_classes : dict
        Marker label -> class name of the calibration cues.
    info : dict
        Everything else in ``profile.json`` (timings, trials, sources, created).
    """

    path: Path
    decoder: str
    checkpoints: Mapping[str, str]
    class_names: tuple[str, ...]
    marker_classes: Mapping[str, str] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    def checkpoint(self, name: str | None = None) -> Path:
        """Path of a decoder's checkpoint (default: the one in use).

        Raises
        ------
        CheckpointError
            If the profile has no such decoder, or its file is missing.
        """
        name = name or self.decoder
        if name not in self.checkpoints:
            raise CheckpointError(
                f"Profile {self.path} has no decoder '{name}' (it has {sorted(self.checkpoints)}).",
                f"Choose one of {sorted(self.checkpoints)}.",
            )
        path = self.path / self.checkpoints[name]
        if not path.is_file():
            raise CheckpointError(
                f"Profile {self.path} lists {path.name} but the file is missing.",
                "Calibrate again (neurodeck calibrate --recording PROFILE/recording reuses the "
                "recording).",
            )
        return path


def is_profile(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a folder with a ``profile.json``."""
    return (Path(path) / PROFILE_FILE).is_file()


def profile_folder_of(path: str | os.PathLike[str]) -> Path:
    """The profile folder when ``path`` is a profile's ``profile.json``, else ``path`` itself.

    A file dialog chooses files: picking a profile's index file stands for its folder.
    """
    path = Path(path)
    if path.name == PROFILE_FILE and path.is_file():
        return path.parent
    return path


def write_profile(
    path: Path,
    decoder: str,
    checkpoints: Mapping[str, str],
    class_names: tuple[str, ...],
    marker_classes: Mapping[str, str],
    info: Mapping[str, Any],
) -> SubjectProfile:
    """Write ``profile.json`` (last, so a folder with one is complete) and return the profile."""
    if decoder not in checkpoints:
        raise ValueError(f"decoder {decoder!r} is not among {sorted(checkpoints)}")
    payload = {
        "format": PROFILE_FORMAT,
        "version": PROFILE_VERSION,
        "decoder": decoder,
        "checkpoints": dict(checkpoints),
        "class_names": list(class_names),
        "marker_classes": dict(marker_classes),
        **dict(info),
    }
    write_json_atomic(path / PROFILE_FILE, payload)
    return load_profile(path)


def load_profile(path: str | os.PathLike[str]) -> SubjectProfile:
    """Read a profile folder.

    Raises
    ------
    CheckpointError
        If the folder has no readable ``profile.json`` of this format and version.
    """
    path = Path(path).expanduser()
    index = path / PROFILE_FILE
    if not index.is_file():
        raise CheckpointError(
            f"{path} is not a subject profile (no {PROFILE_FILE}).",
            "Give the folder `neurodeck calibrate --out` wrote, or a .safetensors checkpoint.",
        )
    try:
        data = json.loads(index.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"{index} cannot be read: {exc}.", "Calibrate again to rewrite the profile."
        ) from exc
    if data.get("format") != PROFILE_FORMAT or data.get("version") != PROFILE_VERSION:
        raise CheckpointError(
            f"{index} is format {data.get('format')!r} version {data.get('version')!r}; this "
            f"neurodeck reads {PROFILE_FORMAT!r} version {PROFILE_VERSION}.",
            "Calibrate again with this version of neurodeck.",
        )
    known = {"format", "version", "decoder", "checkpoints", "class_names", "marker_classes"}
    try:
        return SubjectProfile(
            path=path,
            decoder=str(data["decoder"]),
            checkpoints={str(k): str(v) for k, v in data["checkpoints"].items()},
            class_names=tuple(data["class_names"]),
            marker_classes=dict(data.get("marker_classes", {})),
            info={k: v for k, v in data.items() if k not in known},
        )
    except (KeyError, AttributeError, TypeError) as exc:
        raise CheckpointError(
            f"{index} lacks a field: {exc}.", "Calibrate again to rewrite the profile."
        ) from exc
