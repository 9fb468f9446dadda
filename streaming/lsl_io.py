"""Thin helpers over pylsl: stream headers with channel metadata, resolution with clear errors.

Import this module (not pylsl) from the rest of neurodeck; it makes sure the liblsl
configuration has been chosen first (``LSLAPICFG``; see :mod:`neurodeck.streaming.lsl_env`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pylsl
from neurodeck.common.types import StreamMeta, StreamNotFoundError

logger = logging.getLogger(__name__)

#: Unit strings understood by :func:`unit_scale_to_uv`, mapped to the factor that gives microvolts.
_UNIT_TO_UV = {
    "microvolts": 1.0,
    "microvolt": 1.0,
    "uv": 1.0,
    "µv": 1.0,
    "μv": 1.0,
    "millivolts": 1e3,
    "millivolt": 1e3,
    "mv": 1e3,
    "volts": 1e6,
    "volt": 1e6,
    "v": 1e6,
    "nanovolts": 1e-3,
    "nv": 1e-3,
}


def unit_scale_to_uv(unit: str) -> float | None:
    """Factor that converts values in ``unit`` to microvolts, or None when the unit is unknown."""
    return _UNIT_TO_UV.get(unit.strip().lower())


def local_clock() -> float:
    """The LSL clock (seconds), the time base of every neurodeck timestamp."""
    return pylsl.local_clock()


def make_stream_info(
    name: str,
    stream_type: str,
    channel_names: Sequence[str],
    sfreq: float,
    source_id: str,
    channel_format: str = "float32",
    unit: str = "microvolts",
    channel_type: str = "EEG",
    extra_desc: dict[str, str] | None = None,
) -> pylsl.StreamInfo:
    """Build a StreamInfo whose ``desc/channels`` carries labels, units and types (XDF convention).

    Parameters
    ----------
    name, stream_type, source_id : str
        LSL identity. Give a stable ``source_id`` so inlets can recover after a restart.
    channel_names : sequence of str
        One label per channel.
    sfreq : float
        Nominal rate in Hz (0 for irregular streams such as markers or predictions).
    channel_format : str
        pylsl channel format name (``float32``, ``string`` ...).
    unit, channel_type : str
        Per-channel unit and type written into the description.
    extra_desc : dict, optional
        Extra ``desc`` children (for example ``replay_speed``).
    """
    info = pylsl.StreamInfo(name, stream_type, len(channel_names), sfreq, channel_format, source_id)
    chans = info.desc().append_child("channels")
    for label in channel_names:
        ch = chans.append_child("channel")
        ch.append_child_value("label", str(label))
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", channel_type)
    info.desc().append_child_value("manufacturer", "neurodeck")
    for key, value in (extra_desc or {}).items():
        info.desc().append_child_value(key, str(value))
    return info


def meta_from_info(info: pylsl.StreamInfo) -> StreamMeta:
    """Read a full StreamInfo (from ``inlet.info()``) into a :class:`StreamMeta`.

    Missing channel labels are replaced by ``Ch1..ChN`` with a warning; the stream is still usable
    but cannot be mapped by name to a model.
    """
    n = info.channel_count()
    names: list[str] = []
    units: list[str] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(names) < n:
        names.append(ch.child_value("label").strip())
        units.append(ch.child_value("unit").strip())
        ch = ch.next_sibling("channel")
    generic = len(names) != n or not all(names)
    if generic:
        logger.warning(
            "Stream '%s' declares no channel labels (desc/channels/channel/label); "
            "using Ch1..Ch%d. "
            "A model cannot be mapped to unnamed channels: fix the driver's stream header or give "
            "the channel names explicitly.",
            info.name(),
            n,
        )
        names = [f"Ch{i + 1}" for i in range(n)]
        units = (units + [""] * n)[:n]
    speed_text = info.desc().child_value("replay_speed")
    try:
        speed = float(speed_text) if speed_text else 1.0
    except ValueError:
        speed = 1.0
    return StreamMeta(
        name=info.name(),
        stream_type=info.type(),
        source_id=info.source_id(),
        hostname=info.hostname(),
        channel_names=tuple(names),
        channel_units=tuple(units),
        sfreq=float(info.nominal_srate()),
        replay_speed=speed if speed > 0 else 1.0,
        generic_names=generic,
    )


def poll_resolver(
    resolver: pylsl.ContinuousResolver, timeout_s: float, first: bool = True, poll_s: float = 0.02
) -> list[pylsl.StreamInfo]:
    """Poll a continuous resolver until it finds a stream (``first``) or ``timeout_s`` passes.

    liblsl 1.18's one-shot ``resolve_bypred`` sometimes returns seconds after its timeout; a
    continuous resolver polled here keeps the deadline.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        found = resolver.results()
        if (found and first) or time.monotonic() >= deadline:
            return list(found)
        time.sleep(poll_s)


def resolve_stream(
    name: str | None = None,
    stream_type: str | None = None,
    source_id: str | None = None,
    timeout_s: float = 5.0,
) -> pylsl.StreamInfo:
    """Find exactly one stream by name, type and/or source_id.

    Raises
    ------
    StreamNotFoundError
        When nothing matches within ``timeout_s``, listing the streams that were seen.
    """
    clauses = [
        f"{key}='{value}'"
        for key, value in (("name", name), ("type", stream_type), ("source_id", source_id))
        if value
    ]
    if not clauses:
        raise StreamNotFoundError(
            "No stream query given.", "Pass a stream name, type or source_id."
        )
    found = poll_resolver(pylsl.ContinuousResolver(pred=" and ".join(clauses)), timeout_s)
    if found:
        return found[0]
    seen = poll_resolver(pylsl.ContinuousResolver(), min(1.0, timeout_s), first=False)
    listing = (
        ", ".join(f"'{s.name()}' ({s.type()}, {s.channel_count()} ch)" for s in seen) or "none"
    )
    raise StreamNotFoundError(
        f"No LSL stream with {' and '.join(clauses)} appeared within {timeout_s:g} s "
        f"(streams seen: {listing}).",
        "Check that the headset driver (or `neurodeck replay` / `neurodeck simulate`) is running "
        "on this machine or network, or run `neurodeck streams` to list what is visible.",
    )
