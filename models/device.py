"""Torch device selection shared by the live path and the trainers."""

from __future__ import annotations

import torch
from neurodeck.common.types import ConfigError


def select_device(device: str = "auto") -> torch.device:
    """Resolve ``auto`` / ``cpu`` / ``cuda[:N]`` to a torch device.

    Raises
    ------
    ConfigError
        When CUDA is asked for but not available, or the name is not a device.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"'device' is '{device}' but CUDA is not available on this machine.",
            "Use --device cpu or --device auto.",
        )
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"'device' must be 'auto', 'cpu' or 'cuda[:N]'; got '{device}'.")
    return torch.device(device)
