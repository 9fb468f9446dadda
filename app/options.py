"""Command-line options that several commands share (no command lives here)."""

from __future__ import annotations

import argparse
from pathlib import Path

from neurodeck.common.types import ConfigError


def add_config_option(p: argparse.ArgumentParser) -> None:
    """``--config``: the settings tree (:mod:`neurodeck.control.settings`) a command reads."""
    p.add_argument(
        "--config",
        type=Path,
        help="settings TOML (default: $NEURODECK_CONFIG, else ~/.config/neurodeck/settings.toml "
        "when it exists)",
    )


def add_data_option(p: argparse.ArgumentParser) -> None:
    """``--data``: the folder that holds ``MNE-eegbci-data``."""
    p.add_argument(
        "--data", type=Path, help="data root (default: $NEURODECK_DATA or ../shared/data)"
    )


def add_choice_options(p: argparse.ArgumentParser) -> None:
    """``--choose`` (calibrate, loop, demo)."""
    p.add_argument(
        "--choose",
        default="default",
        metavar="RULE",
        help="which decoder the profile uses: default (the rule measured best: "
        "benchmarks/results/evaluate-calibrated.md), cv (highest cross-validated accuracy on the "
        "calibration), or always:NAME with NAME zeroshot, finetuned, reference or an ensemble "
        "such as zeroshot+finetuned+reference",
    )


def add_loop_options(p: argparse.ArgumentParser, speed: float) -> None:
    """Options shared by ``loop`` and ``demo``: replay speeds and the calibration's fitting."""
    p.add_argument("--speed", type=float, default=speed, help=f"test replay speed ({speed:g})")
    p.add_argument(
        "--calib-speed", type=float, default=10.0, help="calibration replay speed (default 10)"
    )
    p.add_argument(
        "--model",
        type=Path,
        help="network to calibrate (default: mi_shallow64, the shipped 64-channel EEGBCI model)",
    )
    p.add_argument("--cv-folds", type=int, default=5, help="cross-validation folds (0 skips)")
    p.add_argument("--epochs", type=int, help="fine-tuning epochs (default: the network's recipe)")
    add_choice_options(p)
    p.add_argument("--device", help="fine-tuning device: auto, cpu, cuda[:N]")
    add_config_option(p)


def add_xdf_stream_option(p: argparse.ArgumentParser) -> None:
    """``--xdf-stream``: which signal stream of an XDF file to read (replay, calibrate)."""
    p.add_argument(
        "--xdf-stream",
        metavar="NAME",
        help="for .xdf files: the name of the EEG stream to read (needed when a file holds "
        "several; the error lists them). The markers of every marker stream in the file come "
        "with it",
    )


def check_xdf_stream_option(name: str | None, paths: list[Path] | None) -> None:
    """Refuse ``--xdf-stream`` when none of ``paths`` is an XDF file.

    Raises
    ------
    ConfigError
        ``--xdf-stream`` is given without an ``.xdf`` file.
    """
    if name is None:
        return
    if not any(str(p).lower().endswith(".xdf") for p in paths or ()):
        raise ConfigError(
            f"'--xdf-stream {name}' applies to .xdf files, and none was given.",
            "Drop --xdf-stream, or give the XDF recording it should pick the stream from.",
        )
