"""Thin helpers over pylsl: stream headers with channel metadata, resolution with clear errors.

Streams are looked up by identity with :class:`StreamSearch` and :func:`resolve_stream`: any name
works (queries are quoted for liblsl and every answer is checked again in Python), and a name that
several streams share is refused with the list of them (:func:`pick_stream`).

Import this module (not pylsl) from the rest of neurodeck; it makes sure the liblsl
configuration has been chosen first (``LSLAPICFG``; see :mod:`neurodeck.streaming.lsl_env`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pylsl
from neurodeck.common.types import (
    AmbiguousStreamError,
    StreamCandidate,
    StreamMeta,
    StreamNotFoundError,
)

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


def xpath_literal(value: str) -> str:
    """An XPath 1.0 string literal that equals ``value`` exactly, whatever quotes it holds.

    XPath 1.0 has no escape character: a value without apostrophes is quoted with them, one
    without double quotes with those, and one holding both kinds is built with ``concat()``
    (``it's a "b"`` becomes ``concat('it', "'", 's a "b"')``).

    Examples
    --------
    >>> print(xpath_literal("Tom's amp"))
    "Tom's amp"
    >>> print(xpath_literal('12" screen'))
    '12" screen'
    """
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    parts: list[str] = []
    for i, piece in enumerate(value.split("'")):
        if i:
            parts.append('"\'"')
        if piece:
            parts.append(f"'{piece}'")
    return f"concat({', '.join(parts)})"


def _wire_safe(value: str) -> bool:
    """True when ``value`` can travel in a liblsl query: its discovery protocol is line-based."""
    return all(ord(c) >= 32 and c != "\x7f" for c in value)


#: Seconds a search keeps listening after its first match, for the other answers to the same
#: discovery query.
SETTLE_S = 0.03
#: Seconds after its start by which a search has heard every stream that matches. liblsl sends
#: each discovery query by multicast, then by unicast to every port of the known peers after
#: ``MulticastMinRTT`` (0.5 s by default); with ``ResolveScope = machine`` the first reaches only
#: one outlet of the machine, the second reaches them all.
FULL_DISCOVERY_S = 0.75


def _query(name: str | None, stream_type: str | None, source_id: str | None) -> dict[str, str]:
    """The given (non-empty) fields of a query, keyed by their LSL header names."""
    fields = (("name", name), ("type", stream_type), ("source_id", source_id))
    return {field: value for field, value in fields if value}


def stream_predicate(
    name: str | None = None, stream_type: str | None = None, source_id: str | None = None
) -> str | None:
    """A liblsl predicate (XPath 1.0) for the given identity, safe for any value.

    Values are quoted by :func:`xpath_literal`; a value with control characters (which liblsl's
    line-based discovery cannot carry) is left out, to be checked in Python.

    Parameters
    ----------
    name, stream_type, source_id : str, optional
        The identity (empty or None: any).

    Returns
    -------
    str or None
        For example ``name="Tom's amp" and type='EEG'``; None when no field is left: resolve
        every stream and filter.
    """
    clauses = [
        f"{field}={xpath_literal(value)}"
        for field, value in _query(name, stream_type, source_id).items()
        if _wire_safe(value)
    ]
    return " and ".join(clauses) or None


def _lines(value: str) -> str:
    """``value`` with line feeds for its carriage returns, as an LSL header carries it."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _candidate(info: pylsl.StreamInfo) -> StreamCandidate:
    return StreamCandidate(
        name=info.name(),
        stream_type=info.type(),
        hostname=info.hostname(),
        source_id=info.source_id(),
        n_channels=info.channel_count(),
        sfreq=float(info.nominal_srate()),
    )


class StreamSearch:
    """Listen, from now on, for the LSL streams with a given name, type and/or source_id.

    A continuous resolver does the listening (in liblsl's threads) with a predicate built by
    :func:`stream_predicate`; every answer is checked again in Python for exact equality, so any
    name (quotes, apostrophes, backslashes, non-ASCII, control characters) is found, and only it.
    A search with no field lists every stream.

    Parameters
    ----------
    name, stream_type, source_id : str, optional
        The identity to match (empty or None: any).
    forget_after_s : float
        A stream that stops answering is dropped from the results after this long.
    full_discovery : bool, optional
        :meth:`wait` returns no sooner than :data:`FULL_DISCOVERY_S` after the start, so that
        every matching stream is heard, not only the first. Default: when no source_id is given
        (a source_id names one stream; a name or type may be shared).
    """

    def __init__(
        self,
        name: str | None = None,
        stream_type: str | None = None,
        source_id: str | None = None,
        forget_after_s: float = 5.0,
        full_discovery: bool | None = None,
    ) -> None:
        #: The fields searched for, keyed ``name``, ``type``, ``source_id`` (the given ones).
        self.query = _query(name, stream_type, source_id)
        self.full_discovery = not source_id if full_discovery is None else full_discovery
        self.started = time.monotonic()
        pred = stream_predicate(name, stream_type, source_id)
        self._resolver = (
            pylsl.ContinuousResolver(pred=pred, forget_after=forget_after_s)
            if pred
            else pylsl.ContinuousResolver(forget_after=forget_after_s)
        )

    def describe(self) -> str:
        """The query in words, for messages: ``name='EEG amp' and type='EEG'``."""
        return " and ".join(f"{field}={value!r}" for field, value in self.query.items()) or "any"

    def matches(self, info: pylsl.StreamInfo) -> bool:
        r"""True when ``info`` has exactly the searched identity (line ends aside, see below).

        liblsl's XML header turns a carriage return into a line feed, so ``a\rb`` and
        ``a\r\nb`` are published as ``a\nb``; both sides are compared with line feeds.
        """
        have = {"name": info.name(), "type": info.type(), "source_id": info.source_id()}
        return all(_lines(have[field]) == _lines(value) for field, value in self.query.items())

    def results(self) -> list[pylsl.StreamInfo]:
        """The matching streams heard so far (one per stream instance), without waiting."""
        seen: dict[str, pylsl.StreamInfo] = {}
        for info in self._resolver.results():
            if self.matches(info):
                seen.setdefault(info.uid(), info)
        return list(seen.values())

    def wait(
        self, timeout_s: float, first: bool = True, poll_s: float = 0.01
    ) -> list[pylsl.StreamInfo]:
        """Poll until a match is heard (``first``) or ``timeout_s`` passes; return the matches.

        After the first match the search listens :data:`SETTLE_S` longer, and with
        ``full_discovery`` until :data:`FULL_DISCOVERY_S` after its start, so that the other
        streams of the same identity are in the list too.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.results()
            if found and first:
                until = time.monotonic() + SETTLE_S
                if self.full_discovery:
                    until = max(until, self.started + FULL_DISCOVERY_S)
                time.sleep(max(0.0, until - time.monotonic()))
                return self.results()
            if time.monotonic() >= deadline:
                return found
            time.sleep(poll_s)


#: How to choose between streams of one name, when the caller gives no advice of its own.
CHOOSE_BY_ID_HINT = (
    "Choose one by its source_id: `neurodeck decode`, `record` and `calibrate` take "
    "`--by-id --stream SOURCE_ID`; `neurodeck gui --stream` takes a source_id too. Or stop the "
    "streams you do not want."
)


def by_id_hint(command: str) -> str:
    """How to choose one of several streams of one name in ``neurodeck <command>``."""
    return (
        f"Choose one by its source_id: neurodeck {command} --by-id --stream SOURCE_ID ... "
        "(`neurodeck streams` lists them), or stop the streams you do not want."
    )


def pick_stream(
    found: Sequence[pylsl.StreamInfo],
    description: str,
    prefer_source_id: str | None = None,
    hint: str | None = None,
) -> pylsl.StreamInfo:
    """The one stream of ``found`` (not empty); refuse to guess between several.

    Parameters
    ----------
    found : sequence of pylsl.StreamInfo
        The streams that matched a query (at least one).
    description : str
        The query in words, for the error message.
    prefer_source_id : str, optional
        Among several, take the one stream with this source_id (for example the marker stream
        ``<source_id>-markers`` of a chosen EEG stream) when exactly one has it.
    hint : str, optional
        How the user chooses, in the caller's terms (default :data:`CHOOSE_BY_ID_HINT`).

    Raises
    ------
    AmbiguousStreamError
        Several streams match: the message lists them (name, type, channels, rate, host,
        source_id) and says how to choose.
    """
    if len(found) == 1:
        return found[0]
    if prefer_source_id:
        preferred = [info for info in found if info.source_id() == prefer_source_id]
        if len(preferred) == 1:
            return preferred[0]
    candidates = tuple(sorted(map(_candidate, found), key=lambda c: (c.hostname, c.source_id)))
    listing = "".join(f"\n    {c.describe()}" for c in candidates)
    same_id = len({c.source_id for c in candidates}) == 1
    if same_id:
        hint = (
            f"They also share the source_id {candidates[0].source_id!r}, so it cannot tell them "
            "apart: stop all but one of them, or give one of them its own source_id (for "
            "`neurodeck replay`: --source-id)."
        )
    raise AmbiguousStreamError(
        f"{len(candidates)} LSL streams match {description}; neurodeck will not guess which one "
        f"to use:{listing}",
        hint or CHOOSE_BY_ID_HINT,
        candidates,
    )


def resolve_stream(
    name: str | None = None,
    stream_type: str | None = None,
    source_id: str | None = None,
    timeout_s: float = 5.0,
    prefer_source_id: str | None = None,
    hint: str | None = None,
) -> pylsl.StreamInfo:
    """Find exactly one stream by name, type and/or source_id.

    Any value is safe (quotes, apostrophes, backslashes, non-ASCII; see :class:`StreamSearch`).

    Parameters
    ----------
    name, stream_type, source_id : str, optional
        The identity to find; at least one.
    timeout_s : float
        How long to wait for a first match.
    prefer_source_id, hint : str, optional
        Passed to :func:`pick_stream` when several streams match.

    Raises
    ------
    StreamNotFoundError
        When nothing matches within ``timeout_s``, listing the streams that were seen.
    AmbiguousStreamError
        When several streams match (and ``prefer_source_id`` picks none of them).
    """
    search = StreamSearch(name, stream_type, source_id)
    if not search.query:
        raise StreamNotFoundError(
            "No stream query given.", "Pass a stream name, type or source_id."
        )
    found = search.wait(timeout_s)
    if found:
        return pick_stream(found, search.describe(), prefer_source_id, hint)
    seen = StreamSearch().wait(min(1.0, timeout_s), first=False)
    listing = (
        ", ".join(f"{s.name()!r} ({s.type()}, {s.channel_count()} ch)" for s in seen) or "none"
    )
    raise StreamNotFoundError(
        f"No LSL stream with {search.describe()} appeared within {timeout_s:g} s "
        f"(streams seen: {listing}).",
        "Check that the headset driver (or `neurodeck replay` / `neurodeck simulate`) is running "
        "on this machine or network, or run `neurodeck streams` to list what is visible.",
    )
