"""The electrode table is fixed (rows index trained weights) and names map case-insensitively."""

from __future__ import annotations

import hashlib
import warnings

import pytest
from neurodeck.common.types import ChannelMappingError
from neurodeck.models.electrodes import (
    ELECTRODE_ALIASES,
    ELECTRODE_TABLE,
    ELECTRODE_TABLE_VERSION,
    electrode_indices,
    electrode_row,
)

# sha256 of "\n".join(ELECTRODE_TABLE) for version 1. If this fails, the table was reordered or
# edited: restore it (trained spatial embeddings depend on the rows) and only append new names.
TABLE_V1_SHA256 = "69786c8ba1a6af616f32c5a02b65c63e920a5010c0db93059ffada15aba4a8b5"


def test_table_is_frozen() -> None:
    assert ELECTRODE_TABLE_VERSION == 1
    assert len(ELECTRODE_TABLE) == 341
    digest = hashlib.sha256("\n".join(ELECTRODE_TABLE).encode()).hexdigest()
    assert digest == TABLE_V1_SHA256
    assert len(set(ELECTRODE_TABLE)) == len(ELECTRODE_TABLE)
    assert ELECTRODE_TABLE[:3] == ("FP1", "FPZ", "FP2")


def test_table_covers_mne_standard_1005() -> None:
    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        names = mne.channels.make_standard_montage("standard_1005").ch_names
    for name in names:
        assert electrode_row(name) is not None, name
    assert set(ELECTRODE_TABLE) - {n.upper() for n in names} == {"T1", "T2"}


def test_names_match_ignoring_case_dots_and_decorations() -> None:
    expected = electrode_indices(["FC5", "C3", "FCZ", "FP1", "CZ"])
    assert electrode_indices(["Fc5.", "C3..", "Fcz.", "EEG FP1-REF", "cz"]) == expected
    assert electrode_indices(["FC5"]) == [ELECTRODE_TABLE.index("FC5")]


def test_old_names_share_rows_and_reference_sites_have_their_own() -> None:
    for old, new in ELECTRODE_ALIASES.items():
        assert electrode_indices([old.lower()]) == electrode_indices([new])
    rows = electrode_indices(["A1", "A2", "M1", "M2", "T1", "T2"])
    assert len(set(rows)) == 6


def test_unknown_names_are_listed() -> None:
    with pytest.raises(ChannelMappingError) as info:
        electrode_indices(["C3", "STI 014", "Fp1-F7", "Cz"])
    message = str(info.value)
    assert "'STI 014'" in message and "'Fp1-F7'" in message and "2 of 4" in message
    assert "rename" in info.value.hint
    with pytest.raises(ChannelMappingError):
        electrode_indices("C3")
