"""Where the checkout and the EEG data are: one answer for every command."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming a folder that holds ``MNE-eegbci-data/...``.
DATA_ENV = "NEURODECK_DATA"


def repo_root() -> Path:
    """The folder holding neurodeck's package folders (the checkout, for an editable install)."""
    return Path(__file__).resolve().parents[1]


def data_roots(explicit: Path | None = None) -> list[Path]:
    """Data folders to try, in order: ``explicit``, ``$NEURODECK_DATA``, ``../shared/data``.

    The last is the folder beside the checkout, where the project's shared data lives.
    """
    roots = [Path(explicit)] if explicit else []
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]))
    roots.append(repo_root().parent / "shared" / "data")
    return roots


#: The EEGBCI subjects in ../shared/data (the others are kept aside for independent checks).
EEGBCI_SHARED_SUBJECTS = [*range(1, 15), *range(16, 20)]

#: The shipped networks (``models/pretrained``, installed as ``neurodeck/models/pretrained``).
PRETRAINED_DIR = repo_root() / "models" / "pretrained"


def pretrained_path(name: str) -> Path:
    """The shipped checkpoint ``name`` (``mi_shallow64``...) in :data:`PRETRAINED_DIR`."""
    return PRETRAINED_DIR / f"{name}.safetensors"
