"""Command-line options that several commands share (no command lives here)."""

from __future__ import annotations

import argparse
from pathlib import Path


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
