"""Sound, corrupt, truncated and poisoned recordings of every format neurodeck reads.

Each writer makes a small (3 channels, 4 s at 100 Hz) recording; :func:`damaged` derives the
faulty versions from a sound file's bytes. GDF and BrainVision have no writer in mne, so they are
written here from their specifications (GDF 1.25 and 2.20: a 256-byte fixed header, 256 bytes per
channel, records of samples, then the event table; BrainVision: a text header, a marker file and
float32 samples).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

NAMES = ("C3", "Cz", "C4")
SFREQ = 100.0
N_SAMPLES = 400
#: Where the GDF writers put the data: bytes of the header, samples per record.
GDF_HEADER_BYTES = 256 * (1 + len(NAMES))


def signal_uv(seed: int = 0) -> np.ndarray:
    """(n_channels, n_samples) float64 microvolts of noise."""
    return np.random.default_rng(seed).standard_normal((len(NAMES), N_SAMPLES)) * 20.0


def write_mne(path: Path, data_uv: np.ndarray) -> Path:
    """EDF, BDF or FIF (by the ending) through mne, with one annotation."""
    import mne

    info = mne.create_info(list(NAMES), SFREQ, "eeg")
    raw = mne.io.RawArray(data_uv * 1e-6, info, verbose="error")
    raw.set_annotations(mne.Annotations([1.0], [0.0], ["T1"]))
    if path.suffix == ".fif" or path.name.endswith(".fif.gz"):
        raw.save(path, overwrite=True, verbose="error")
    else:
        mne.export.export_raw(path, raw, overwrite=True, verbose="error")
    return path


def write_gdf(
    path: Path,
    data_uv: np.ndarray,
    version: str = "2.20",
    physical: tuple[float, float] = (-3200.0, 3200.0),
    digital: tuple[float, float] = (-32768.0, 32767.0),
    float_samples: bool = False,
) -> Path:
    """A GDF file: one record per second, int16 samples scaled to ``physical`` (microvolts), or
    float32 microvolts (``float_samples``, GDF type 16: NaN can be stored; the digital range is
    then the physical one, so that readers scale by 1)."""
    n = len(NAMES)
    if float_samples:
        digital = physical
    rate = int(SFREQ)
    n_records = data_uv.shape[1] // rate
    gdf_type, item = (16, "<f4") if float_samples else (3, "<i2")
    if float_samples:
        values = data_uv.astype(np.float32)
    else:
        (p0, p1), (d0, d1) = physical, digital
        scale = (d1 - d0) / (p1 - p0) if p1 != p0 else 0.0
        with np.errstate(invalid="ignore"):  # a NaN range: the samples do not matter
            digits = np.round((data_uv - p0) * scale + d0)
        values = np.clip(np.nan_to_num(digits), -32768, 32767).astype(np.int16)
    fixed = bytearray(256)
    fixed[0:8] = f"GDF {version}"[:8].encode()
    variable = bytearray()
    labels = b"".join(name.encode().ljust(16) for name in NAMES)
    if version.startswith("1"):
        fixed[8:88] = b"X X".ljust(80)
        fixed[168:184] = b"2024010112000000"
        struct.pack_into("<q", fixed, 184, GDF_HEADER_BYTES)
        struct.pack_into("<q", fixed, 236, n_records)
        struct.pack_into("<II", fixed, 244, 1, 1)
        struct.pack_into("<I", fixed, 252, n)
        variable += labels + b" " * 80 * n + b"uV".ljust(8) * n
        variable += struct.pack(f"<{n}d", *[physical[0]] * n)
        variable += struct.pack(f"<{n}d", *[physical[1]] * n)
        variable += struct.pack(f"<{n}q", *[int(digital[0])] * n)
        variable += struct.pack(f"<{n}q", *[int(digital[1])] * n)
        variable += b" " * 80 * n
        variable += struct.pack(f"<{n}i", *[rate] * n) + struct.pack(f"<{n}i", *[gdf_type] * n)
        variable += bytes(32 * n)
    else:
        fixed[8:74] = b"X X".ljust(66)
        struct.pack_into("<H", fixed, 184, GDF_HEADER_BYTES // 256)
        struct.pack_into("<q", fixed, 236, n_records)
        struct.pack_into("<II", fixed, 244, 1, 1)
        struct.pack_into("<H", fixed, 252, n)
        variable += labels + bytes(80 * n) + bytes(6 * n)
        variable += struct.pack(f"<{n}H", *[4275] * n)  # microvolts
        variable += struct.pack(f"<{n}d", *[physical[0]] * n)
        variable += struct.pack(f"<{n}d", *[physical[1]] * n)
        variable += struct.pack(f"<{n}d", *[digital[0]] * n)
        variable += struct.pack(f"<{n}d", *[digital[1]] * n)
        variable += bytes(68 * n) + bytes(12 * n)  # obsolete; low-, high-pass, notch
        variable += struct.pack(f"<{n}i", *[rate] * n) + struct.pack(f"<{n}i", *[gdf_type] * n)
        variable += bytes(12 * n) + bytes(20 * n)  # electrode positions; impedances
    assert len(fixed) + len(variable) == GDF_HEADER_BYTES
    records = b"".join(
        np.ascontiguousarray(values[:, r * rate : (r + 1) * rate], item).tobytes()
        for r in range(n_records)
    )
    events = bytes([1]) + (rate).to_bytes(3, "little") + struct.pack("<I", 0)
    if not version.startswith("1"):  # 2.x: number of events (3 bytes), then the rate (float32)
        events = bytes([1]) + (0).to_bytes(3, "little") + struct.pack("<f", SFREQ)
    path.write_bytes(bytes(fixed) + bytes(variable) + records + events)
    return path


def write_brainvision(path: Path, data_uv: np.ndarray) -> Path:
    """A BrainVision recording (``.vhdr`` + ``.vmrk`` + float32 ``.eeg``, multiplexed)."""
    stem = path.stem
    channels = "".join(f"Ch{i + 1}={name},,1,µV\n" for i, name in enumerate(NAMES))
    path.write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\n"
        f"Codepage=UTF-8\nDataFile={stem}.eeg\nMarkerFile={stem}.vmrk\nDataFormat=BINARY\n"
        f"DataOrientation=MULTIPLEXED\nNumberOfChannels={len(NAMES)}\n"
        f"SamplingInterval={1e6 / SFREQ:g}\n\n[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
        f"[Channel Infos]\n{channels}",
        encoding="utf-8",
    )
    path.with_suffix(".vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
        f"DataFile={stem}.eeg\n\n[Marker Infos]\nMk1=Stimulus,T1,{int(SFREQ) + 1},1,0\n",
        encoding="utf-8",
    )
    path.with_suffix(".eeg").write_bytes(np.ascontiguousarray(data_uv.T, "<f4").tobytes())
    return path


def write_xdf_file(path: Path, data_uv: np.ndarray) -> Path:
    """An XDF file with one EEG stream (float32 microvolts) and a marker stream."""
    from neurodeck.streaming.xdf_write import XdfChannel, XdfStream, write_xdf

    stamps = 1000.0 + np.arange(data_uv.shape[1]) / SFREQ
    eeg = XdfStream(
        name="amp",
        stream_type="EEG",
        timestamps=stamps,
        data=data_uv.astype(np.float32),
        nominal_srate=SFREQ,
        channels=tuple(XdfChannel(name, "microvolts", "EEG") for name in NAMES),
    )
    markers = XdfStream(
        name="cues",
        stream_type="Markers",
        timestamps=stamps[[100]],
        labels=("T1",),
        channels=(XdfChannel("marker", "", "Markers"),),
    )
    return write_xdf(path, [eeg, markers])


def write_session_folder(folder: Path, data_uv: np.ndarray) -> Path:
    """A session folder as ``neurodeck record`` leaves it (closed), with one marker."""
    from neurodeck.common.types import StreamMeta
    from neurodeck.streaming.recorded_session import (
        CLOSED_FILE,
        EEG_FILE,
        HEADER_FILE,
        MARKERS_FILE,
        TIMES_FILE,
        session_header,
    )

    folder.mkdir(parents=True, exist_ok=True)
    meta = StreamMeta("amp", "EEG", "amp-sid", "host", NAMES, ("microvolts",) * 3, SFREQ)
    stamps = 1000.0 + np.arange(data_uv.shape[1]) / SFREQ
    (folder / HEADER_FILE).write_text(json.dumps(session_header(meta, ["cues"])), "utf-8")
    (folder / EEG_FILE).write_bytes(np.ascontiguousarray(data_uv.T, "<f4").tobytes())
    (folder / TIMES_FILE).write_bytes(stamps.astype("<f8").tobytes())
    marker = {"t": float(stamps[100]), "label": "T1", "stream": "cues"}
    (folder / MARKERS_FILE).write_text(json.dumps(marker) + "\n", "utf-8")
    (folder / CLOSED_FILE).write_text(json.dumps({"n_samples": data_uv.shape[1]}), "utf-8")
    return folder


def garbage(n_bytes: int, seed: int = 1) -> bytes:
    """Random bytes (not a header of any format)."""
    return np.random.default_rng(seed).integers(0, 256, n_bytes, dtype=np.uint8).tobytes()


def cut(path: Path, keep: Callable[[int], int]) -> Path:
    """Keep the first ``keep(size)`` bytes of ``path``."""
    content = path.read_bytes()
    path.write_bytes(content[: keep(len(content))])
    return path


def cut_before_fif_buffer(path: Path, index: int) -> Path:
    """Cut a FIF file just before its data buffer number ``index`` (0-based): whole tags only."""
    content = path.read_bytes()
    position, buffers = 0, 0
    while position + 16 <= len(content):
        kind, _type, size, _next = struct.unpack_from(">iiii", content, position)
        if kind == 300:  # FIFF_DATA_BUFFER
            if buffers == index:
                path.write_bytes(content[:position])
                return path
            buffers += 1
        position += 16 + size
    raise ValueError(f"{path} has no data buffer {index}")


def damage_fif_channel_kind(path: Path) -> Path:
    """Give the first channel of a FIF file an unknown kind code (its FIFF_CH_INFO tag)."""
    content = bytearray(path.read_bytes())
    position = 0
    while position + 16 <= len(content):
        kind, _type, size, _next = struct.unpack_from(">iiii", content, position)
        if kind == 203:  # FIFF_CH_INFO: scanno, logno, kind, ...
            struct.pack_into(">i", content, position + 16 + 8, 51714)
            path.write_bytes(bytes(content))
            return path
        position += 16 + size
    raise ValueError(f"{path} has no channel info")
