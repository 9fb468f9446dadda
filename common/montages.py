"""Named channel subsets: the montages of common headsets, drawn from the 10-10 system.

One table for the whole application: channel-subset training draws from it
(:mod:`neurodeck.offline_training.channel_subsets`), ``neurodeck evaluate --channels NAME`` scores
decoders on it, and tests use it. Every montage here is a subset of the 64 EEGBCI electrodes, so it
can be cut from the shared recordings. Names are canonical (``FC3``, ``Cz``); look-ups by name are
case-insensitive elsewhere.
"""

from __future__ import annotations

from neurodeck.common.types import ConfigError

#: Name -> electrodes, in a fixed order.
MONTAGES: dict[str, tuple[str, ...]] = {
    # 8 electrodes over the sensorimotor cortex, a small motor-imagery cap (the 8 channels of
    # ../shared/tools/mi_reference.py --channels).
    "sensorimotor8": ("FC3", "FC4", "C3", "Cz", "C4", "CP3", "CP4", "Pz"),
    # OpenBCI Cyton + Daisy's default 16-channel layout.
    "openbci16": (
        "Fp1",
        "Fp2",
        "F7",
        "F3",
        "F4",
        "F8",
        "T7",
        "C3",
        "C4",
        "T8",
        "P7",
        "P3",
        "P4",
        "P8",
        "O1",
        "O2",
    ),
    # The 19 electrodes of the international 10-20 system.
    "10-20": (
        "Fp1",
        "Fp2",
        "F7",
        "F3",
        "Fz",
        "F4",
        "F8",
        "T7",
        "C3",
        "Cz",
        "C4",
        "T8",
        "P7",
        "P3",
        "Pz",
        "P4",
        "P8",
        "O1",
        "O2",
    ),
    # BioSemi's 32-channel layout.
    "biosemi32": (
        "Fp1",
        "AF3",
        "F7",
        "F3",
        "FC1",
        "FC5",
        "T7",
        "C3",
        "CP1",
        "CP5",
        "P7",
        "P3",
        "Pz",
        "PO3",
        "O1",
        "Oz",
        "O2",
        "PO4",
        "P4",
        "P8",
        "CP6",
        "CP2",
        "C4",
        "T8",
        "FC6",
        "FC2",
        "F4",
        "F8",
        "AF4",
        "Fp2",
        "Fz",
        "Cz",
    ),
}

#: Short aliases accepted on the command line: the channel count names the montage.
ALIASES = {"8": "sensorimotor8", "16": "openbci16", "19": "10-20", "32": "biosemi32"}


def montage(name: str) -> tuple[str, ...]:
    """The electrodes of a named montage (a name of :data:`MONTAGES` or an alias).

    Raises
    ------
    ConfigError
        Listing the known names.
    """
    key = ALIASES.get(str(name), str(name))
    if key not in MONTAGES:
        known = sorted(MONTAGES) + sorted(ALIASES)
        raise ConfigError(f"unknown montage {name!r}; known: {known}.")
    return MONTAGES[key]
