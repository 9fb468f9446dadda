"""Damaged recordings of every format neurodeck reads, given to the real CLI.

For each format of :data:`~neurodeck.streaming.recording_io.SUPPORTED_EXTENSIONS` (EDF, BDF,
GDF 1.x and 2.x, FIF, FIF.gz, BrainVision, XDF) and for a session folder, a corrupt (garbage
bytes), a truncated (cut inside the data) and a poisoned version (all NaN, flat, or a header
range that cannot be scaled, where the format can hold it) go to ``neurodeck replay`` and
``neurodeck calibrate --recording`` (in-process, through :func:`neurodeck.app.cli.main`). Each
must end with exit code 2, a message naming the file and the problem, advice, no traceback, and
nothing written. The sound file each case is made from loads, so the damage is what is refused.

Run with ``-s`` to print the table: case, command, exit code, first line of the message.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from neurodeck.app.cli import main
from neurodeck.common.types import RecordingError
from neurodeck.streaming.recording_io import SUPPORTED_EXTENSIONS, load_recording

from tests.conftest import REPO
from tests.faults.fault_files import (
    GDF_HEADER_BYTES,
    N_SAMPLES,
    cut,
    cut_before_fif_buffer,
    damage_fif_channel_kind,
    garbage,
    signal_uv,
    write_brainvision,
    write_gdf,
    write_mne,
    write_session_folder,
    write_xdf_file,
)

SOUND = signal_uv()
NAN = np.full_like(SOUND, np.nan)
FLAT = np.full_like(SOUND, 4.0)


def _garbage_file(name: str, prefix: bytes = b"") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(prefix + garbage(3000))
        return path

    return make


def _cut(
    write: Callable[[Path], Path], keep: Callable[[int], int], data_file: str = ""
) -> Callable[[Path], Path]:
    """``write`` then keep ``keep(size)`` bytes of the file (or of its ``data_file`` beside)."""

    def make(folder: Path) -> Path:
        path = write(folder)
        cut(path.with_name(data_file) if data_file else path, keep)
        return path

    return make


def _edf_range_text(path: Path, fields: tuple[str, ...], text: bytes) -> Path:
    """Overwrite range fields of every EDF/BDF data signal (8 bytes each) with ``text``."""
    content = bytearray(path.read_bytes())
    n = int(content[252:256])
    for field in fields:
        offset = {"physical minimum": 104, "physical maximum": 112}[field]
        for i in range(n - 1):  # the last signal holds the annotations
            at = 256 + n * offset + 8 * i
            content[at : at + 8] = text.ljust(8)
    path.write_bytes(bytes(content))
    return path


def _mne(name: str, data: np.ndarray = SOUND) -> Callable[[Path], Path]:
    return lambda folder: write_mne(folder / name, data)


def _edf_header(name: str, text: bytes, *fields: str) -> Callable[[Path], Path]:
    return lambda folder: _edf_range_text(write_mne(folder / name, SOUND), fields, text)


def _gdf(name: str, version: str, data: np.ndarray = SOUND, **kw) -> Callable[[Path], Path]:
    return lambda folder: write_gdf(folder / name, data, version, **kw)


def _vhdr(name: str, data: np.ndarray = SOUND) -> Callable[[Path], Path]:
    return lambda folder: write_brainvision(folder / name, data)


def _xdf(name: str, data: np.ndarray = SOUND) -> Callable[[Path], Path]:
    return lambda folder: write_xdf_file(folder / name, data)


def _half(size: int) -> int:
    return size // 2


#: case -> (how to make the file from a folder, fragments the message must hold)
FILE_CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "edf corrupt": (_garbage_file("x.edf"), ("Could not read", "Bad EDF file")),
    "edf truncated": (
        _cut(_mne("x.edf"), lambda n: n - 700),
        ("shorter than its header declares", "holds only 2.0 s"),
    ),
    "edf truncated in its first record": (
        _cut(_mne("x.edf"), lambda n: n // 2),
        ("is truncated", "not one complete data record of the 4"),
    ),
    "edf NaN header range": (
        _edf_header("x.edf", b"nan?", "physical maximum"),
        ("holds text where numbers belong", "'C3' physical maximum 'nan?'"),
    ),
    "edf physical min = max": (
        _edf_header("x.edf", b"-3200", "physical minimum", "physical maximum"),
        ("every signal an undefined range", "C3 (physical minimum = maximum = -3200)"),
    ),
    "edf flat": (_mne("x.edf", FLAT), ("flat, one value throughout: C3, Cz, C4",)),
    "bdf corrupt": (_garbage_file("x.bdf"), ("Could not read", "Bad BDF file")),
    "bdf truncated": (_cut(_mne("x.bdf"), _half), ("shorter than its header declares",)),
    "bdf physical min = max": (
        _edf_header("x.bdf", b"3200", "physical minimum", "physical maximum"),
        ("every signal an undefined range", "C3 (physical minimum = maximum = 3200)"),
    ),
    "bdf flat": (_mne("x.bdf", FLAT), ("flat, one value throughout",)),
    "gdf corrupt": (_garbage_file("x.gdf"), ("not a readable GDF file", "not a GDF version")),
    "gdf1 corrupt after its version": (
        _garbage_file("x.gdf", b"GDF 1.25"),
        ("not a readable GDF file", "signals"),
    ),
    "gdf2 corrupt after its version": (
        _garbage_file("x.gdf", b"GDF 2.20"),
        ("not a readable GDF file", "header length"),
    ),
    "gdf1 truncated": (
        _cut(_gdf("x.gdf", "1.25"), lambda n: GDF_HEADER_BYTES + 700),
        ("shorter than its header declares", "4 records (4.0 s) declared", "only 1 complete"),
    ),
    "gdf2 truncated": (
        _cut(_gdf("x.gdf", "2.20"), _half),
        ("shorter than its header declares", "4 records (4.0 s) declared"),
    ),
    "gdf1 physical min = max": (
        _gdf("x.gdf", "1.25", physical=(50.0, 50.0)),
        ("every signal an undefined range", "C3 (physical minimum = maximum = 50)"),
    ),
    "gdf2 digital min = max": (
        _gdf("x.gdf", "2.20", digital=(0.0, 0.0)),
        ("every signal an undefined range", "C3 (digital minimum = maximum = 0)"),
    ),
    "gdf2 NaN physical max": (
        _gdf("x.gdf", "2.20", physical=(-3200.0, float("nan"))),
        ("every signal an undefined range", "C3 (physical maximum nan)"),
    ),
    "gdf2 NaN samples": (
        _gdf("x.gdf", "2.20", NAN, float_samples=True),
        ("holds no EEG signal", "only NaN/inf: C3, Cz, C4"),
    ),
    "gdf1 flat": (_gdf("x.gdf", "1.25", FLAT), ("flat, one value throughout",)),
    "fif corrupt": (_garbage_file("x_raw.fif"), ("Could not read", "file id tag")),
    "fif corrupt channel description": (
        lambda folder: damage_fif_channel_kind(write_mne(folder / "x_raw.fif", SOUND)),
        ("channel descriptions are damaged", "51714"),
    ),
    "fif truncated in a tag": (_cut(_mne("x_raw.fif"), _half), ("is truncated", "needs")),
    "fif truncated between buffers": (
        # before the third data buffer: mne alone reads this as a 2 s recording, silently
        lambda folder: cut_before_fif_buffer(write_mne(folder / "x_raw.fif", SOUND), 2),
        ("is truncated", "blocks are not closed"),
    ),
    "fif NaN": (_mne("x_raw.fif", NAN), ("only NaN/inf: C3, Cz, C4",)),
    "fif flat": (_mne("x_raw.fif", FLAT), ("flat, one value throughout",)),
    "fif.gz truncated": (_cut(_mne("x_raw.fif.gz"), _half), ("is truncated", "gzip")),
    "vhdr corrupt": (_garbage_file("x.vhdr"), ("Could not read",)),
    "vhdr truncated": (
        _cut(_vhdr("x.vhdr"), lambda n: n - 5, data_file="x.eeg"),
        ("is truncated", "x.eeg ends inside a sample", "399 whole samples"),
    ),
    "vhdr NaN": (_vhdr("x.vhdr", NAN), ("only NaN/inf: C3, Cz, C4",)),
    "xdf corrupt": (_garbage_file("x.xdf"), ("not a readable XDF file", "magic code")),
    "xdf truncated": (_cut(_xdf("x.xdf"), _half), ("is truncated", "needs")),
    "xdf NaN": (_xdf("x.xdf", NAN), ("holds no EEG signal", "only NaN/inf: C3, Cz, C4")),
    "xdf flat": (_xdf("x.xdf", FLAT), ("flat, one value throughout",)),
}

#: The sound file each case is made from (same writer, no damage).
SOUND_FILES: dict[str, Callable[[Path], Path]] = {
    "edf": _mne("x.edf"),
    "bdf": _mne("x.bdf"),
    "gdf1": _gdf("x.gdf", "1.25"),
    "gdf2": _gdf("x.gdf", "2.20"),
    "gdf2 float": _gdf("x.gdf", "2.20", float_samples=True),
    "fif": _mne("x_raw.fif"),
    "fif.gz": _mne("x_raw.fif.gz"),
    "vhdr": _vhdr("x.vhdr"),
    "xdf": _xdf("x.xdf"),
}


def _session_garbage_header(folder: Path) -> Path:
    session = write_session_folder(folder / "session", SOUND)
    (session / "header.json").write_bytes(garbage(500))
    return session


def _session_cut(folder: Path) -> Path:
    """Both sample files cut before their first whole sample."""
    session = write_session_folder(folder / "session", SOUND)
    cut(session / "eeg.f32", lambda n: 7)
    cut(session / "eeg_times.f64", lambda n: 5)
    return session


def _session_no_times(folder: Path) -> Path:
    session = write_session_folder(folder / "session", SOUND)
    (session / "eeg_times.f64").unlink()
    return session


SESSION_CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "session corrupt header": (_session_garbage_header, ("header.json is corrupt",)),
    "session truncated before a sample": (
        _session_cut,
        ("holds no complete sample", "eeg.f32 holds 7 bytes (a sample takes 12)"),
    ),
    "session without timestamps": (_session_no_times, ("has no timestamps file",)),
    "session NaN": (
        lambda folder: write_session_folder(folder / "session", NAN),
        ("holds no EEG signal", "only NaN/inf: C3, Cz, C4"),
    ),
    "session flat": (
        lambda folder: write_session_folder(folder / "session", FLAT),
        ("holds no EEG signal", "flat, one value throughout: C3, Cz, C4"),
    ),
}


def _cli(capsys, caplog, *argv: str) -> tuple[int, str]:
    """Exit code and stderr of ``neurodeck ARGV``; fails on any traceback (raised or logged)."""
    capsys.readouterr()
    caplog.clear()
    code = main(list(argv))  # an uncaught exception fails the test here
    captured = capsys.readouterr()
    for text in (captured.out, captured.err, caplog.text):
        assert "Traceback" not in text, text
    return code, captured.err


def _check_refused(code: int, err: str, path: Path, fragments: tuple[str, ...]) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert lines and lines[0].startswith("neurodeck "), err
    assert str(path) in lines[0], err
    for fragment in fragments:
        assert fragment in err, err
    assert "  what to do: " in err, err
    problem = lines[lines.index(next(x for x in lines if x.startswith("neurodeck "))) + 1]
    assert problem.startswith("  what to do: "), f"the problem takes one line: {err}"
    return lines[0]


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_a_damaged_file_is_refused_by_replay_and_calibrate(
    case: str, tmp_path: Path, capsys, caplog
) -> None:
    make, fragments = FILE_CASES[case]
    path = make(tmp_path)
    before = sorted(tmp_path.iterdir())
    code, err = _cli(capsys, caplog, "replay", str(path), "--local")
    first = _check_refused(code, err, path, fragments)
    assert "replaying" not in capsys.readouterr().out
    out = tmp_path / "profile"
    code, err = _cli(capsys, caplog, "calibrate", "--recording", str(path), "--out", str(out))
    _check_refused(code, err, path, fragments)
    assert sorted(tmp_path.iterdir()) == before  # no profile folder, no leftover
    print(f"\nFAULT | {case} | replay, calibrate --recording | {code} | {first}")


@pytest.mark.parametrize("case", list(SESSION_CASES))
def test_a_damaged_session_folder_is_refused_by_calibrate(
    case: str, tmp_path: Path, capsys, caplog
) -> None:
    make, fragments = SESSION_CASES[case]
    folder = make(tmp_path)
    out = tmp_path / "profile"
    code, err = _cli(capsys, caplog, "calibrate", "--recording", str(folder), "--out", str(out))
    first = _check_refused(code, err, folder, fragments)
    assert not out.exists()
    print(f"\nFAULT | {case} | calibrate --recording | {code} | {first}")


@pytest.mark.parametrize("kind", list(SOUND_FILES))
def test_the_sound_files_the_cases_come_from_load(kind: str, tmp_path: Path) -> None:
    recording = load_recording(SOUND_FILES[kind](tmp_path))
    assert recording.channel_names == ("C3", "Cz", "C4") and recording.n_samples == N_SAMPLES
    atol = 0.06 if kind.startswith(("edf", "gdf")) and kind != "gdf2 float" else 1e-4
    np.testing.assert_allclose(recording.data, SOUND, atol=atol)


def test_every_supported_ending_has_its_fault_cases() -> None:
    covered = {case.split()[0].rstrip("12") for case in FILE_CASES}
    assert {e.lstrip(".") for e in SUPPORTED_EXTENSIONS} <= covered


@pytest.mark.parametrize(
    ("case", "n_samples"),
    [
        ("edf truncated", 200),
        ("fif truncated between buffers", 200),
        ("vhdr truncated", 399),
        ("xdf truncated", None),
    ],
)
def test_allow_truncated_reads_what_a_cut_file_holds(case: str, n_samples, tmp_path) -> None:
    path = FILE_CASES[case][0](tmp_path)
    recording = load_recording(path, allow_truncated=True)
    if n_samples is not None:
        assert recording.n_samples == n_samples
    atol = 0.06 if path.suffix == ".edf" else 1e-4
    np.testing.assert_allclose(recording.data, SOUND[:, : recording.n_samples], atol=atol)


def test_a_truncated_gdf_is_refused_even_when_truncation_is_allowed(tmp_path) -> None:
    path = FILE_CASES["gdf2 truncated"][0](tmp_path)
    with pytest.raises(RecordingError, match="shorter than its header declares") as err:
        load_recording(path, allow_truncated=True)
    assert "cannot read an incomplete GDF file" in err.value.hint


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["gdf 1.25", "gdf 2.20", "fif"]),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=6),
)
def test_damaged_bytes_are_refused_or_read_never_crash(tmp_path, kind, flips) -> None:
    """Bytes of a GDF header or anywhere in a FIF file changed: a RecordingError with advice,
    or a usable recording. (EDF headers: tests/streaming/test_recording_io.py; XDF:
    tests/streaming/test_xdf.py.)"""
    if kind == "fif":
        path = write_mne(tmp_path / "x_raw.fif", SOUND)
        span = path.stat().st_size
    else:
        path, span = write_gdf(tmp_path / "x.gdf", SOUND, kind[4:]), GDF_HEADER_BYTES
    content = bytearray(path.read_bytes())
    for at, value in flips:
        content[int(at * span)] = value
    path.write_bytes(bytes(content))
    try:
        recording = load_recording(path)
    except RecordingError as err:
        assert err.hint
        return
    assert recording.data.dtype == np.float32 and recording.n_samples > 0


def test_a_corrupt_gdf_header_ends_the_real_process_with_a_message(tmp_path) -> None:
    """The header that made mne allocate without end (before the GDF header was inspected)."""
    path = _garbage_file("x.gdf", b"GDF 1.25")(tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "neurodeck", "replay", str(path), "--local"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "is not a readable GDF file" in res.stderr


@pytest.mark.parametrize("ending", [".fif", ".edf", ".xdf"])
@pytest.mark.parametrize("case", list(SESSION_CASES))
def test_export_refuses_a_damaged_session_and_keeps_what_was_recorded(
    case: str, ending: str, tmp_path: Path, capsys, caplog
) -> None:
    """A damaged folder: exit 2, nothing written. NaN or flat samples were recorded as they
    came: export keeps them (the recording is the user's data, not a model input)."""
    make, fragments = SESSION_CASES[case]
    folder = make(tmp_path)
    out = tmp_path / f"export{ending}"
    code, err = _cli(capsys, caplog, "export", str(folder), str(out))
    if case in ("session NaN", "session flat"):
        assert code == 0, err
        assert out.exists()
        if case == "session NaN" and ending == ".edf":  # said, never silent
            assert "EDF cannot store NaN/inf: 1200 such values are written as 0" in caplog.text
        print(f"\nFAULT | {case} | export {ending} | {code} | exported as recorded")
        return
    first = _check_refused(code, err, folder, fragments)
    assert not out.exists() and not list(tmp_path.glob(".export*"))
    print(f"\nFAULT | {case} | export {ending} | {code} | {first}")
