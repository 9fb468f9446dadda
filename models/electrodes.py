"""Fixed, versioned table of electrode names that indexes the spatial embeddings of transformers.

Transformer encoders (:mod:`neurodeck.models.labram`) learn one spatial embedding per electrode and
look it up by the channel's *name*, so that a model pretrained on one montage can run on another.
The row of an electrode is its position in :data:`ELECTRODE_TABLE`; since those rows are stored in
checkpoints, the table is a committed literal that only ever grows at its end (a new
:data:`ELECTRODE_TABLE_VERSION`), never reorders.

Version 1 holds the 339 names of the 10-05 system as MNE's ``standard_1005`` montage spells
them (upper-cased, in the montage's order; mastoids M1/M2 and ear lobes A1/A2 included), without
the old 10-20 names T3/T4/T5/T6 (aliases of the T7/T8/P7/P8 rows, the same sites), followed by
T1/T2 (anterior temporal sites used in clinical recordings such as TUH), 341 rows in all.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Sequence

import numpy as np
from neurodeck.common.types import ChannelMappingError
from numpy.typing import NDArray

#: Version of :data:`ELECTRODE_TABLE`; a later version may only append names.
ELECTRODE_TABLE_VERSION = 1

# Generated once from mne.channels.make_standard_montage("standard_1005").ch_names (MNE 1.13),
# upper-cased, T3/T5/T4/T6 removed, T1/T2 appended. Never reorder: rows index trained weights.
# fmt: off
ELECTRODE_TABLE: tuple[str, ...] = (
    "FP1", "FPZ", "FP2", "AF9", "AF7", "AF5", "AF3", "AF1", "AFZ", "AF2", "AF4", "AF6", "AF8",
    "AF10", "F9", "F7", "F5", "F3", "F1", "FZ", "F2", "F4", "F6", "F8", "F10", "FT9", "FT7",
    "FC5", "FC3", "FC1", "FCZ", "FC2", "FC4", "FC6", "FT8", "FT10", "T9", "T7", "C5", "C3", "C1",
    "CZ", "C2", "C4", "C6", "T8", "T10", "TP9", "TP7", "CP5", "CP3", "CP1", "CPZ", "CP2", "CP4",
    "CP6", "TP8", "TP10", "P9", "P7", "P5", "P3", "P1", "PZ", "P2", "P4", "P6", "P8", "P10",
    "PO9", "PO7", "PO5", "PO3", "PO1", "POZ", "PO2", "PO4", "PO6", "PO8", "PO10", "O1", "OZ",
    "O2", "I1", "IZ", "I2", "AFP9H", "AFP7H", "AFP5H", "AFP3H", "AFP1H", "AFP2H", "AFP4H",
    "AFP6H", "AFP8H", "AFP10H", "AFF9H", "AFF7H", "AFF5H", "AFF3H", "AFF1H", "AFF2H", "AFF4H",
    "AFF6H", "AFF8H", "AFF10H", "FFT9H", "FFT7H", "FFC5H", "FFC3H", "FFC1H", "FFC2H", "FFC4H",
    "FFC6H", "FFT8H", "FFT10H", "FTT9H", "FTT7H", "FCC5H", "FCC3H", "FCC1H", "FCC2H", "FCC4H",
    "FCC6H", "FTT8H", "FTT10H", "TTP9H", "TTP7H", "CCP5H", "CCP3H", "CCP1H", "CCP2H", "CCP4H",
    "CCP6H", "TTP8H", "TTP10H", "TPP9H", "TPP7H", "CPP5H", "CPP3H", "CPP1H", "CPP2H", "CPP4H",
    "CPP6H", "TPP8H", "TPP10H", "PPO9H", "PPO7H", "PPO5H", "PPO3H", "PPO1H", "PPO2H", "PPO4H",
    "PPO6H", "PPO8H", "PPO10H", "POO9H", "POO7H", "POO5H", "POO3H", "POO1H", "POO2H", "POO4H",
    "POO6H", "POO8H", "POO10H", "OI1H", "OI2H", "FP1H", "FP2H", "AF9H", "AF7H", "AF5H", "AF3H",
    "AF1H", "AF2H", "AF4H", "AF6H", "AF8H", "AF10H", "F9H", "F7H", "F5H", "F3H", "F1H", "F2H",
    "F4H", "F6H", "F8H", "F10H", "FT9H", "FT7H", "FC5H", "FC3H", "FC1H", "FC2H", "FC4H", "FC6H",
    "FT8H", "FT10H", "T9H", "T7H", "C5H", "C3H", "C1H", "C2H", "C4H", "C6H", "T8H", "T10H",
    "TP9H", "TP7H", "CP5H", "CP3H", "CP1H", "CP2H", "CP4H", "CP6H", "TP8H", "TP10H", "P9H", "P7H",
    "P5H", "P3H", "P1H", "P2H", "P4H", "P6H", "P8H", "P10H", "PO9H", "PO7H", "PO5H", "PO3H",
    "PO1H", "PO2H", "PO4H", "PO6H", "PO8H", "PO10H", "O1H", "O2H", "I1H", "I2H", "AFP9", "AFP7",
    "AFP5", "AFP3", "AFP1", "AFPZ", "AFP2", "AFP4", "AFP6", "AFP8", "AFP10", "AFF9", "AFF7",
    "AFF5", "AFF3", "AFF1", "AFFZ", "AFF2", "AFF4", "AFF6", "AFF8", "AFF10", "FFT9", "FFT7",
    "FFC5", "FFC3", "FFC1", "FFCZ", "FFC2", "FFC4", "FFC6", "FFT8", "FFT10", "FTT9", "FTT7",
    "FCC5", "FCC3", "FCC1", "FCCZ", "FCC2", "FCC4", "FCC6", "FTT8", "FTT10", "TTP9", "TTP7",
    "CCP5", "CCP3", "CCP1", "CCPZ", "CCP2", "CCP4", "CCP6", "TTP8", "TTP10", "TPP9", "TPP7",
    "CPP5", "CPP3", "CPP1", "CPPZ", "CPP2", "CPP4", "CPP6", "TPP8", "TPP10", "PPO9", "PPO7",
    "PPO5", "PPO3", "PPO1", "PPOZ", "PPO2", "PPO4", "PPO6", "PPO8", "PPO10", "POO9", "POO7",
    "POO5", "POO3", "POO1", "POOZ", "POO2", "POO4", "POO6", "POO8", "POO10", "OI1", "OIZ", "OI2",
    "M1", "M2", "A1", "A2", "T1", "T2",
)
# fmt: on

#: Old 10-20 names and the rows (10-10 names of the same sites) they share.
ELECTRODE_ALIASES: dict[str, str] = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

_PREFIX_RE = re.compile(r"^EEG[\s:_\-]*")
_SUFFIX_RE = re.compile(r"[\s_\-]+(?:REF|LE|RE|AR|AV|AVG|CAR)$")
_SHOW_UNKNOWN = 24  # longer lists of unknown names are shortened in error messages


@functools.cache
def _row_of() -> dict[str, int]:
    """Upper-case name (aliases included) -> row in :data:`ELECTRODE_TABLE`."""
    rows = {name: row for row, name in enumerate(ELECTRODE_TABLE)}
    rows.update({old: rows[new] for old, new in ELECTRODE_ALIASES.items()})
    return rows


def electrode_row(name: str) -> int | None:
    """Row of one channel label in :data:`ELECTRODE_TABLE`, or None when it is not an electrode.

    Case, surrounding whitespace, dots (EEGBCI's ``'C3..'``, ``'Fc5.'``) and a trailing ``':'``
    are ignored; an ``'EEG'`` prefix and a reference suffix (``'-REF'``, ``'-LE'``, ``'-AVG'``)
    are dropped when what remains is an electrode (``'EEG FP1-REF'`` -> ``FP1``).

    Parameters
    ----------
    name : str
        A channel label.

    Returns
    -------
    int or None
        0-based row, or None for an unknown label.
    """
    core = str(name).replace(".", "").strip().rstrip(":").strip().upper()
    no_prefix = _PREFIX_RE.sub("", core)
    rows = _row_of()
    for candidate in (core, no_prefix, _SUFFIX_RE.sub("", core), _SUFFIX_RE.sub("", no_prefix)):
        row = rows.get(candidate.replace(" ", ""))
        if row is not None:
            return row
    return None


_SPELLING_RE = re.compile(r"([A-Z]+?)(\d+|Z)?(H)?")


def electrode_name(name: str) -> str:
    """The 10-05 spelling of a channel label, for display (no MNE needed).

    The label is cleaned as :func:`electrode_row` does (dots, case, ``'EEG '`` prefixes,
    ``'-REF'`` suffixes) and spelled as MNE's ``standard_1005`` montage spells it: ``'Fc5.'`` ->
    ``'FC5'``, ``'Cz..'`` -> ``'Cz'``, ``'Afz.'`` -> ``'AFz'``, ``'EEG FP1-REF'`` -> ``'Fp1'``. Old
    names (``'T3'``) stay as they are; a label that names no electrode loses its surrounding
    whitespace and trailing dots (``'STI 014.'`` -> ``'STI 014'``).

    Parameters
    ----------
    name : str
        A channel label.

    Returns
    -------
    str
    """
    label = str(name).strip()
    row = electrode_row(label)
    if row is None:
        return label.rstrip(".").rstrip() or label
    core = label.replace(".", "").strip().upper()
    upper = core if core in ELECTRODE_ALIASES else ELECTRODE_TABLE[row]
    match = _SPELLING_RE.fullmatch(upper)
    if match is None:  # every table name matches; kept for safety
        return upper
    letters, number, half = (group or "" for group in match.groups())
    if letters in ("FP", "AFP"):  # Fp1, AFp3h: the p of "pole" is lower case
        letters = letters[:-1] + "p"
    return letters + number.lower() + half.lower()


def electrode_indices(names: Sequence[str]) -> list[int]:
    """Rows of channel labels in :data:`ELECTRODE_TABLE`.

    Parameters
    ----------
    names : sequence of str, length n_channels
        Channel labels, matched as :func:`electrode_row` describes (T3/T4/T5/T6 share the rows
        of T7/T8/P7/P8).

    Returns
    -------
    list of int, length n_channels
        0-based rows, in the order of ``names``.

    Raises
    ------
    ChannelMappingError
        Listing every label that names no electrode of the table.

    Examples
    --------
    >>> electrode_indices(["Fp1", "C3..", "t3"]) == electrode_indices(["FP1", "C3", "T7"])
    True
    """
    if isinstance(names, str):
        raise ChannelMappingError(f"'names' must be a sequence of channel names; got {names!r}.")
    rows = [electrode_row(name) for name in names]
    unknown = [name for name, row in zip(names, rows, strict=True) if row is None]
    if unknown:
        shown = ", ".join(repr(str(n)) for n in unknown[:_SHOW_UNKNOWN])
        more = (
            f", ... (+{len(unknown) - _SHOW_UNKNOWN} more)" if len(unknown) > _SHOW_UNKNOWN else ""
        )
        raise ChannelMappingError(
            f"{len(unknown)} of {len(names)} channels name no 10-05 electrode: [{shown}{more}].",
            "Spatial embeddings are looked up by electrode name; drop non-EEG and bipolar "
            "channels and rename the others to 10-20 / 10-10 / 10-05 names ('C3', 'Fp1', "
            "'FCz'; case, dots, 'EEG ' prefixes and '-REF' suffixes are ignored).",
        )
    return [int(row) for row in rows if row is not None]


@functools.cache
def montage_positions() -> dict[str, NDArray[np.float64]]:
    """3-D head positions (metres) of the 10-05 electrodes, keyed by the montage's spelling.

    MNE's ``colin27_1005`` montage (called ``standard_1005`` before MNE 1.13: the same names and
    positions), built once on first use; ``mne`` is imported only then (it costs about a second).

    Returns
    -------
    dict
        Name as MNE spells it (``"Fp1"``, ``"FCz"``) -> position, shape (3,).
    """
    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # 'standard_1005' renamed in mne 1.13
        kind = "colin27_1005"
        if kind not in mne.channels.get_builtin_montages():
            kind = "standard_1005"
        positions = mne.channels.make_standard_montage(kind).get_positions()["ch_pos"]
    return {name: np.asarray(pos, dtype=np.float64) for name, pos in positions.items()}
