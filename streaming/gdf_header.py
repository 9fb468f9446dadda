"""Inspect a GDF file's header before mne reads it: structure, length and signal ranges.

GDF (versions 1.x and 2.x, as mne reads them) starts with a 256-byte fixed header: the version
(``GDF 1.25``, ``GDF 2.20``), the header length, the number of data records (int64 at byte 236),
the record duration (two uint32 at 244: numerator, denominator) and the number of signals (at 252:
uint32 in 1.x, uint16 in 2.x). Then 256 bytes per signal, each field stored for every signal in
turn: label (16 bytes), ..., physical minimum and maximum (float64), digital minimum and maximum
(int64 in 1.x, float64 in 2.x), samples per record (int32) and sample type (int32 GDF type code).
The same offsets hold in both versions. Data records follow the header; the event table follows
the data.

mne trusts these fields: a corrupt header can make it allocate gigabytes or hang, a file cut short
fails inside numpy, and a signal whose physical or digital minimum equals its maximum is scaled by
0 or 1/0. :func:`inspect_gdf` reads only the header (and the file size) and turns each of these
into a :class:`~neurodeck.common.types.RecordingError`, returning every signal's range for the
caller to check.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from neurodeck.common.types import RecordingError

#: Bytes per sample of each GDF type code that mne reads (int8 ... uint64, float32, float64).
GDF_TYPE_BYTES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 8, 8: 8, 16: 4, 17: 8}
#: More signals than any EEG amplifier has: a header that declares them is corrupt.
MAX_SIGNALS = 65_535
_CORRUPT_HINT = (
    "The file is damaged or not a GDF file: copy it again from its source, or export the "
    "recording again from the acquisition software (check that it opens in another viewer, e.g. "
    "EDFbrowser or sigviewer)."
)
_TRUNCATED_HINT = (
    "Copy the file again from its source, or export the recording again from the acquisition "
    "software (neurodeck cannot read an incomplete GDF file; --allow-truncated applies to EDF, "
    "BDF and XDF files)."
)


@dataclass(frozen=True)
class GdfHeader:
    """What :func:`inspect_gdf` read from a GDF header.

    Parameters
    ----------
    version : str
        For example ``'2.20'``.
    labels : tuple of str
        One per signal, in file order.
    ranges : tuple of dict
        Per signal: ``physical minimum``, ``physical maximum``, ``digital minimum``, ``digital
        maximum`` as floats (as stored; maybe not finite).
    n_records : int
        Data records the header declares.
    record_s : float
        Duration of one record in seconds.
    """

    version: str
    labels: tuple[str, ...]
    ranges: tuple[dict[str, float], ...]
    n_records: int
    record_s: float


def _corrupt(path: Path, what: str) -> RecordingError:
    return RecordingError(f"{path} is not a readable GDF file: {what}.", _CORRUPT_HINT)


def inspect_gdf(path: Path) -> GdfHeader:
    """Check a GDF file's header against itself and the file size; return the signal ranges.

    Parameters
    ----------
    path : Path
        A ``.gdf`` file.

    Returns
    -------
    header : GdfHeader

    Raises
    ------
    RecordingError
        Corrupt (no ``GDF x.yy`` version, a header length or signal count that do not fit, a
        sample type mne cannot read, negative samples per record, a zero record duration) or
        truncated (fewer bytes than the declared records need, or an unknown number of records:
        a recording that was not stopped properly). The message says which field and its value.
    """
    size = path.stat().st_size
    with open(path, "rb") as file:
        fixed = file.read(256)
        if len(fixed) < 256:
            raise _corrupt(path, f"it holds {len(fixed)} bytes, fewer than a GDF header (256)")
        version = fixed[4:8].decode("latin-1")
        try:
            number = float(version)
        except ValueError:
            number = float("nan")
        if fixed[:4] != b"GDF " or not 1.0 <= number < 3.0:
            raise _corrupt(
                path, f"it starts with {fixed[:8]!r}, not a GDF version such as b'GDF 2.20'"
            )
        v1 = number < 1.9
        if v1:
            (header_bytes,) = struct.unpack_from("<q", fixed, 184)
            (n_signals,) = struct.unpack_from("<I", fixed, 252)
        else:
            header_bytes = struct.unpack_from("<H", fixed, 184)[0] * 256
            (n_signals,) = struct.unpack_from("<H", fixed, 252)
        (n_records,) = struct.unpack_from("<q", fixed, 236)
        numerator, denominator = struct.unpack_from("<II", fixed, 244)
        if not 1 <= n_signals <= MAX_SIGNALS:
            raise _corrupt(path, f"its header declares {n_signals} signals")
        if header_bytes != 256 * (1 + n_signals) or header_bytes > size:
            raise _corrupt(
                path,
                f"its header declares a header length of {header_bytes} bytes for {n_signals} "
                f"signals (expected {256 * (1 + n_signals)}; the file holds {size} bytes)",
            )
        body = file.read(256 * n_signals)
    ns = n_signals

    def field(offset: int, fmt: str) -> np.ndarray:
        return np.frombuffer(body, dtype=np.dtype(fmt), count=ns, offset=offset * ns)

    labels = tuple(
        body[16 * i : 16 * (i + 1)].split(b"\x00")[0].decode("latin-1").strip() for i in range(ns)
    )
    digital = "<i8" if v1 else "<f8"
    columns = {
        "physical minimum": field(104, "<f8"),
        "physical maximum": field(112, "<f8"),
        "digital minimum": field(120, digital),
        "digital maximum": field(128, digital),
    }
    ranges = tuple({name: float(values[i]) for name, values in columns.items()} for i in range(ns))
    samples, types = field(216, "<i4"), field(220, "<i4")
    unknown = sorted({int(t) for t in types if int(t) not in GDF_TYPE_BYTES})
    if unknown:
        raise _corrupt(path, f"sample type code(s) {unknown} (readable: int8 to float64)")
    if (samples < 0).any():
        raise _corrupt(path, f"negative samples per record ({int(samples.min())})")
    if denominator == 0 or numerator == 0:
        raise _corrupt(path, f"a record duration of {numerator}/{denominator} s")
    sizes = [GDF_TYPE_BYTES[int(t)] for t in types]
    record_bytes = int(sum(int(n) * b for n, b in zip(samples, sizes, strict=True)))
    record_s = numerator / denominator
    complete = (size - header_bytes) // record_bytes if record_bytes else 0
    if n_records < 0:
        raise RecordingError(
            f"{path} does not say how many data records it holds ({n_records}: a recording "
            f"that was not stopped properly); it holds {complete * record_s:.1f} s of complete "
            "records.",
            _TRUNCATED_HINT,
        )
    if n_records > complete:
        raise RecordingError(
            f"{path} is shorter than its header declares: {n_records} records "
            f"({n_records * record_s:.1f} s) declared, but it holds only {complete} complete "
            f"records ({complete * record_s:.1f} s): a truncated copy, or a recording that was "
            "not stopped properly.",
            _TRUNCATED_HINT,
        )
    return GdfHeader(f"{number:.2f}", labels, ranges, int(n_records), record_s)
