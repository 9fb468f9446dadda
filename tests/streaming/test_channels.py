"""Channel-name normalisation and mapping by name."""

from __future__ import annotations

import numpy as np
import pytest
from neurodeck.common.types import ChannelMappingError
from neurodeck.streaming.channels import is_eeg_channel_name, map_channels, normalize_channel_name

# The 64 labels of PhysioNet's EEG Motor Movement/Imagery data set (EEGBCI), in file order.
EEGBCI_NAMES = (
    "Fc5.", "Fc3.", "Fc1.", "Fcz.", "Fc2.", "Fc4.", "Fc6.", "C5..", "C3..", "C1..", "Cz..",
    "C2..", "C4..", "C6..", "Cp5.", "Cp3.", "Cp1.", "Cpz.", "Cp2.", "Cp4.", "Cp6.", "Fp1.",
    "Fpz.", "Fp2.", "Af7.", "Af3.", "Afz.", "Af4.", "Af8.", "F7..", "F5..", "F3..", "F1..",
    "Fz..", "F2..", "F4..", "F6..", "F8..", "Ft7.", "Ft8.", "T7..", "T8..", "T9..", "T10.",
    "Tp7.", "Tp8.", "P7..", "P5..", "P3..", "P1..", "Pz..", "P2..", "P4..", "P6..", "P8..",
    "Po7.", "Po3.", "Poz.", "Po4.", "Po8.", "O1..", "Oz..", "O2..", "Iz..",
)  # fmt: skip


def test_all_eegbci_labels_are_10_05_names() -> None:
    normalized = [normalize_channel_name(name) for name in EEGBCI_NAMES]
    assert len(set(normalized)) == 64
    assert all(is_eeg_channel_name(name) for name in normalized)
    assert all(is_eeg_channel_name(name) for name in EEGBCI_NAMES)


@pytest.mark.parametrize(
    ("label", "canonical"),
    [
        ("C3..", "C3"),
        ("Fc5.", "FC5"),
        ("Fpz.", "Fpz"),
        ("Af3.", "AF3"),
        ("Iz..", "Iz"),
        ("T9..", "T9"),
        ("T10.", "T10"),
        ("Cpz.", "CPz"),
        ("FCZ", "FCz"),
        ("fp1", "Fp1"),
        ("EEG FP1-REF", "Fp1"),
        ("EEG T3-LE", "T3"),
        ("EEG:Cz", "Cz"),
        ("C4-M1", "C4"),
        ("Oz:", "Oz"),
        (" poz ", "POz"),
    ],
)
def test_normalize_channel_name(label: str, canonical: str) -> None:
    assert normalize_channel_name(label) == canonical


@pytest.mark.parametrize(
    ("label", "kept"),
    [("  STI 014 ", "STI 014"), ("Fp1-F7", "Fp1-F7"), ("EEG Fpz-Cz", "EEG Fpz-Cz"), ("x..", "x")],
)
def test_names_outside_the_montage_are_only_stripped(label: str, kept: str) -> None:
    assert normalize_channel_name(label) == kept
    assert not is_eeg_channel_name(label)


def test_map_channels_finds_targets_in_eegbci_order() -> None:
    index = map_channels(EEGBCI_NAMES, ["Cz", "C3", "C4", "FCz", "Iz"])
    assert index.dtype == np.intp
    assert [EEGBCI_NAMES[i] for i in index] == ["Cz..", "C3..", "C4..", "Fcz.", "Iz.."]


@pytest.mark.parametrize(
    ("source", "target"), [("T3", "T7"), ("T7", "T3"), ("T4", "T8"), ("T5", "P7"), ("P8", "T6")]
)
def test_old_temporal_names_are_aliases(source: str, target: str) -> None:
    assert map_channels(["Cz", source, "Pz"], [target]).tolist() == [1]


def test_missing_channels_are_all_listed_with_a_hint() -> None:
    with pytest.raises(ChannelMappingError) as info:
        map_channels(["C3", "Cz", "C4"], ["C3", "Oz", "Fp1", "C4", "PO8"])
    message = str(info.value)
    for name in ("'Oz'", "'Fp1'", "'PO8'"):
        assert name in message
    assert "3 of 5" in message
    assert "'Cz'" in message  # what the source has
    assert "checkpoint trained on your montage" in info.value.hint


def test_long_source_list_is_shortened_in_the_message() -> None:
    source = [f"Ch{i}" for i in range(300)]
    with pytest.raises(ChannelMappingError) as info:
        map_channels(source, ["C3"])
    message = str(info.value)
    assert "(+276 more)" in message
    assert "Ch299" not in message
    assert len(message) < 1200


def test_target_matching_two_source_channels_is_refused() -> None:
    with pytest.raises(ChannelMappingError, match="several source channels"):
        map_channels(["C3..", "c3", "Cz"], ["Cz", "C3"])
    with pytest.raises(ChannelMappingError, match="several source channels"):
        map_channels(["T3", "T7"], ["T7"])


def test_unrequested_source_duplicates_are_harmless() -> None:
    assert map_channels(["AUX", "AUX", "C3"], ["C3"]).tolist() == [2]


def test_repeated_targets_are_refused() -> None:
    with pytest.raises(ChannelMappingError, match="more than once"):
        map_channels(["C3", "T7"], ["T7", "T3"])
