"""EEG channel names: canonical 10-20 / 10-10 / 10-05 spelling and mapping by name.

Models are input-agnostic and pick their channels by name, never by position. Labels differ
between devices and files (``'C3..'`` in EEGBCI, ``'EEG FP1-REF'`` in TUH, ``'FCZ'`` from some
amplifiers); :func:`normalize_channel_name` brings them to the spelling of MNE's 10-05 montage
(``'Fp1'``, ``'FCz'``, ``'AF3'``), and :func:`map_channels` finds the model's channels in a source.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence

import numpy as np
from neurodeck.common.types import ChannelMappingError
from neurodeck.models.electrodes import montage_positions
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

#: Old 10-20 temporal names and their 10-10 equivalents (same electrode sites).
CHANNEL_ALIASES: dict[str, str] = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

_PREFIX_RE = re.compile(r"^EEG[\s:_\-]*", re.IGNORECASE)
_SUFFIX_RE = re.compile(
    r"[\s_\-]+(?:REF|LE|RE|AR|AV|AVG|CAR|A1A2|M1M2|A1|A2|M1|M2)$", re.IGNORECASE
)
_SHOW_SOURCE_NAMES = 24  # longer source lists are shortened in error messages


@functools.cache
def _canonical_lookup() -> dict[str, str]:
    """Lowercase name -> canonical name, from MNE's 10-05 montage (built once, on first use)."""
    names = montage_positions()
    return {name.lower(): name for name in names}


def _lookup(core: str) -> str | None:
    """Canonical spelling of ``core`` (dots and spaces already removed), or None."""
    return _canonical_lookup().get(core.lower())


def normalize_channel_name(name: str) -> str:
    """Return the canonical 10-05 spelling of an EEG channel label.

    Case and dots are ignored; an ``'EEG'`` prefix, a reference suffix (``'-REF'``, ``'-LE'``,
    ``'-AVG'``, ``'-A1'``, ``'-M2'``...) and a trailing ``':'`` are removed when what remains is
    a 10-05 name. Canonical spelling is that of MNE's ``standard_1005`` montage, so ``'C3..'``
    becomes ``'C3'``, ``'Fc5.'`` ``'FC5'``, ``'EEG FP1-REF'`` ``'Fp1'``. Old names (``'T3'``)
    are kept; :func:`map_channels` treats them as aliases of the new ones.

    Parameters
    ----------
    name : str
        A channel label as a device or file spells it.

    Returns
    -------
    str
        The canonical name, or, for a label that is not in the montage (``'STI 014'``,
        ``'Fp1-F7'``), the label without surrounding whitespace and trailing dots.
    """
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a str; got {type(name).__name__}.")
    stripped = name.strip()
    core = stripped.replace(".", "").rstrip(":").strip()
    no_prefix = _PREFIX_RE.sub("", core)
    for candidate in (core, no_prefix, _SUFFIX_RE.sub("", core), _SUFFIX_RE.sub("", no_prefix)):
        canonical = _lookup(candidate.replace(" ", ""))
        if canonical is not None:
            return canonical
    return stripped.rstrip(".").rstrip() or stripped


def is_eeg_channel_name(name: str) -> bool:
    """True when ``name`` is a 10-20 / 10-10 / 10-05 position after normalisation.

    Parameters
    ----------
    name : str
        A channel label.

    Returns
    -------
    bool
        Whether :func:`normalize_channel_name` finds it in the 10-05 montage.
    """
    return _lookup(normalize_channel_name(name)) is not None


def _match_key(name: str) -> str:
    """Key under which two labels of the same electrode compare equal (aliases folded)."""
    canonical = normalize_channel_name(name)
    return CHANNEL_ALIASES.get(canonical, canonical).lower()


def _shorten(names: Sequence[str], limit: int = _SHOW_SOURCE_NAMES) -> str:
    """``"['a', 'b', ... (+n more)]"`` for error messages."""
    shown = [str(n) for n in names[:limit]]
    more = f", ... (+{len(names) - limit} more)" if len(names) > limit else ""
    return "[" + ", ".join(repr(n) for n in shown) + more + "]"


def _source_index(source_names: Sequence[str]) -> dict[str, list[int]]:
    """Match key -> positions in the source (several positions = ambiguous)."""
    index: dict[str, list[int]] = {}
    for position, name in enumerate(source_names):
        index.setdefault(_match_key(name), []).append(position)
    return index


def _check_targets(target_names: Sequence[str]) -> None:
    """Refuse duplicate target channels (after normalisation and aliasing)."""
    keys = [_match_key(name) for name in target_names]
    duplicates = sorted({n for n, k in zip(target_names, keys, strict=True) if keys.count(k) > 1})
    if duplicates:
        raise ChannelMappingError(
            f"'target_names' name the same electrode more than once: {duplicates}.",
            "List each channel once (T3/T4/T5/T6 are the same sites as T7/T8/P7/P8).",
        )


def map_channels(source_names: Sequence[str], target_names: Sequence[str]) -> NDArray[np.intp]:
    """Find each target channel in the source, by name.

    Names are compared after :func:`normalize_channel_name`, with T3/T4/T5/T6 equal to
    T7/T8/P7/P8. Duplicates in the source are allowed unless a target matches more than one.

    Parameters
    ----------
    source_names : sequence of str, length n_source
        Channel labels of the stream or file, in its order.
    target_names : sequence of str, length n_target
        Channels wanted (a model's channels, in the model's order).

    Returns
    -------
    ndarray of intp, shape (n_target,)
        ``source[index[i]]`` is ``target_names[i]``.

    Raises
    ------
    ChannelMappingError
        Listing every missing target channel and the source's channels; or when a target
        matches several source channels, or the targets repeat a channel.
    """
    _check_targets(target_names)
    index = _source_index(source_names)
    missing = [name for name in target_names if _match_key(name) not in index]
    if missing:
        raise ChannelMappingError(
            f"{len(missing)} of {len(target_names)} required channels are missing from the "
            f"source: {missing}. The source has {len(source_names)} channels: "
            f"{_shorten(list(source_names))}.",
            "The model needs these channels; use a checkpoint trained on your montage, or a "
            "stream/file that records them (names match ignoring case, dots, 'EEG ' prefixes and "
            "'-REF' suffixes; T3/T4/T5/T6 = T7/T8/P7/P8).",
        )
    ambiguous = {n: [source_names[i] for i in index[_match_key(n)]] for n in target_names}
    ambiguous = {n: found for n, found in ambiguous.items() if len(found) > 1}
    if ambiguous:
        raise ChannelMappingError(
            f"Target channels match several source channels: {ambiguous}.",
            "Rename or drop the duplicate channels in the source so that each name is unique.",
        )
    return np.array([index[_match_key(name)][0] for name in target_names], dtype=np.intp)
