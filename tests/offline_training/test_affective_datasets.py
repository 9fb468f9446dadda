"""SEED / SEED-IV / DEAP loaders on small generated files with the datasets' own layouts."""

from __future__ import annotations

import builtins
import logging
import os
import pickle
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import neurodeck.offline_training.affective_datasets as ad
import numpy as np
import pytest
import scipy.io
from neurodeck.common.types import ConfigError, RecordingError
from neurodeck.offline_training.affective_datasets import (
    DEAP_CHANNELS,
    SEED_CHANNELS,
    SEED_IV_SESSION_LABELS,
    AffectiveTrial,
    detect_layout,
    load_affective,
    load_deap,
    load_seed,
    load_seed_iv,
)

SEED_LABELS = [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]
SEED_NAMES = {-1: "negative", 0: "neutral", 1: "positive"}
#: subject -> dates of its files, deliberately not in session order
SEED_FILES = {"1": ["20131107", "20131027", "20131030"], "2": ["20140419", "20140404"]}
DEAP_BASELINE = 384  # 3 s at 128 Hz
DEAP_SAMPLES = DEAP_BASELINE + 16


def trial_array(marker: float, n_samples: int, scale: float = 1.0) -> np.ndarray:
    """(62, n_samples): row 0 holds ``marker``, row c holds ``marker + c`` (times ``scale``)."""
    rows = marker + np.arange(len(SEED_CHANNELS), dtype=np.float64)[:, None]
    return np.repeat(rows, n_samples, axis=1) * scale


def write_session_file(path: Path, marker: int, n_trials: int, prefix: str = "djc") -> Path:
    """A SEED-style file: trial k is ``trial_array(marker + k, 10 + k)``, written in reverse."""
    variables = {
        f"{prefix}_eeg{k}": trial_array(marker + k, 10 + k) for k in range(n_trials, 0, -1)
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, variables)
    return path


@pytest.fixture
def seed_root(tmp_path: Path) -> Path:
    """SEED/Preprocessed_EEG with label.mat, a readme and five session files."""
    folder = tmp_path / "SEED" / "Preprocessed_EEG"
    folder.mkdir(parents=True)
    scipy.io.savemat(folder / "label.mat", {"label": np.array([SEED_LABELS])})
    (folder / "readme.txt").write_text("not a session file")
    for subject, dates in SEED_FILES.items():
        for date in dates:
            write_session_file(folder / f"{subject}_{date}.mat", 1000 * int(date[-2:]), 15)
    return tmp_path / "SEED"


@pytest.fixture
def seed_iv_root(tmp_path: Path) -> Path:
    """SEED_IV/eeg_raw_data/<1|2|3>/<subject>_<date>.mat for subjects 1 and 2."""
    root = tmp_path / "SEED_IV"
    for session in ("1", "2", "3"):
        for subject in ("2", "1"):
            path = root / "eeg_raw_data" / session / f"{subject}_2015091{session}.mat"
            write_session_file(path, 1000 * int(subject) + 100 * int(session), 24, prefix="cz")
    return root


def deap_arrays(subject: int, n_channels: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """``data`` (40, n_channels, 400): -50 in the baseline, then 20 + trial + subject / 100 +
    channel / 1000; ``labels`` (40, 4) with a few chosen valence / arousal pairs."""
    data = np.full((40, n_channels, DEAP_SAMPLES), -50.0)
    trial = np.arange(40, dtype=np.float64)[:, None, None]
    channel = np.arange(n_channels, dtype=np.float64)[None, :, None]
    data[:, :, DEAP_BASELINE:] = 20.0 + trial + subject / 100 + channel / 1000
    labels = np.tile([3.0, 3.0, 4.0, 6.0], (40, 1))  # valence, arousal, dominance, liking
    labels[0, :2] = [5.0, 5.0]  # a tie counts as low
    labels[1, :2] = [5.01, 2.0]
    labels[2, :2] = [1.0, 9.0]
    labels[3, :2] = [9.0, 7.5]
    return data, labels


def _py2_str(raw: bytes) -> bytes:
    """A Python 2 ``str`` in a pickle (SHORT_BINSTRING / BINSTRING)."""
    if len(raw) < 256:
        return b"U" + bytes([len(raw)]) + raw
    return b"T" + struct.pack("<I", len(raw)) + raw


def py2_pickle(arrays: dict[str, np.ndarray]) -> bytes:
    """A dict of float64 arrays pickled as Python 2 + numpy 1.x did (how DEAP's .dat files are)."""
    out = b"\x80\x02}("  # protocol 2, empty dict, mark
    for key, value in arrays.items():
        value = np.ascontiguousarray(value, dtype="<f8")
        shape = b"(" + b"".join(b"J" + struct.pack("<i", n) for n in value.shape) + b"t"
        dtype = (
            b"cnumpy\ndtype\n" + _py2_str(b"f8") + b"K\x00K\x01\x87R(K\x03" + _py2_str(b"<")
            + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        )  # fmt: skip
        out += _py2_str(key.encode()) + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        out += b"K\x00\x85" + _py2_str(b"b") + b"\x87R"
        out += b"(K\x01" + shape + dtype + b"\x89" + _py2_str(value.tobytes()) + b"tb"
    return out + b"u."


def write_deap(
    root: Path, subject: int, fmt: str = "dat", protocol: int | None = None, **arrays: Any
) -> Path:
    """``data_preprocessed_python/sNN.dat`` or ``data_preprocessed_matlab/sNN.mat``.

    ``.dat`` files are Python 2 pickles like the originals, or Python 3 ones of ``protocol``.
    """
    data, labels = deap_arrays(subject)
    content = {"data": arrays.get("data", data), "labels": arrays.get("labels", labels)}
    if fmt == "dat":
        path = root / "data_preprocessed_python" / f"s{subject:02d}.dat"
        path.parent.mkdir(parents=True, exist_ok=True)
        if protocol is None:
            path.write_bytes(py2_pickle(content))
        else:
            path.write_bytes(pickle.dumps(content, protocol=protocol))
    else:
        path = root / "data_preprocessed_matlab" / f"s{subject:02d}.mat"
        path.parent.mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(path, content)
    return path


# --------------------------------------------------------------------------- SEED


def test_seed_trials_shapes_labels_and_sessions_in_date_order(seed_root: Path) -> None:
    trials = load_seed(seed_root)
    assert len(trials) == (3 + 2) * 15
    assert [(t.subject, t.session) for t in trials[::15]] == [
        ("1", "1"),
        ("1", "2"),
        ("1", "3"),
        ("2", "1"),
        ("2", "2"),
    ]
    first_session = trials[:15]
    assert [t.trial for t in first_session] == list(range(15))
    assert [t.label for t in first_session] == [SEED_NAMES[v] for v in SEED_LABELS]
    for t in trials:
        assert t.sfreq == 200.0 and t.channel_names == SEED_CHANNELS and t.ratings == {}
        assert t.data.dtype == np.float32 and t.data.flags.c_contiguous
        assert t.data.shape == (62, 10 + t.trial + 1)
    # session 1 of subject 1 is the file of 2013-10-27 (marker 27000), trial k its variable k+1
    np.testing.assert_array_equal(first_session[4].data, trial_array(27000 + 5, 15))
    assert trials[15].data[0, 0] == 30000 + 1 and trials[30].data[0, 0] == 7000 + 1
    assert trials[45].data[0, 0] == 4000 + 1  # subject 2, session 1: 2014-04-04
    # the Preprocessed_EEG folder itself works the same way
    again = load_seed(seed_root / "Preprocessed_EEG", subjects=1, sessions=[1])
    np.testing.assert_array_equal(again[4].data, first_session[4].data)


def test_seed_filters_before_reading_files(seed_root: Path) -> None:
    folder = seed_root / "Preprocessed_EEG"
    (folder / "2_20140404.mat").write_bytes(b"garbage, never opened")
    trials = load_seed(seed_root, subjects=["1"], sessions="2")
    assert len(trials) == 15 and {(t.subject, t.session) for t in trials} == {("1", "2")}
    with pytest.raises(RecordingError, match=r"No subject 7 .*found: 1, 2"):
        load_seed(seed_root, subjects=[7])
    with pytest.raises(RecordingError, match="No session 4"):
        load_seed(seed_root, subjects="1", sessions=4)
    with pytest.raises(RecordingError, match=r"2_20140404\.mat"):
        load_seed(seed_root, subjects="2")


def _fewer_trials(folder: Path) -> None:
    write_session_file(folder / "1_20131027.mat", 0, 14)


def _wrong_shape(folder: Path) -> None:
    variables = {f"djc_eeg{k}": np.ones((61, 10)) for k in range(1, 16)}
    scipy.io.savemat(folder / "1_20131027.mat", variables)


def _nan_trial(folder: Path) -> None:
    variables = {f"djc_eeg{k}": np.ones((62, 10)) for k in range(1, 16)}
    variables["djc_eeg3"][5, 2] = np.nan
    scipy.io.savemat(folder / "1_20131027.mat", variables)


def _feature_file(folder: Path) -> None:
    scipy.io.savemat(folder / "1_20131027.mat", {"de_LDS1": np.ones((62, 4, 5))})


def _no_label_file(folder: Path) -> None:
    (folder / "label.mat").unlink()


def _bad_labels(folder: Path) -> None:
    scipy.io.savemat(folder / "label.mat", {"label": np.array([[1, 0, 2]])})


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_fewer_trials, r"1_20131027\.mat holds 14 EEG trial variables.*expected 15"),
        (_wrong_shape, r"1_20131027\.mat variable djc_eeg1 has shape \(61, 10\)"),
        (_nan_trial, r"1_20131027\.mat variable djc_eeg3 holds NaN"),
        (_feature_file, r"de_LDS1"),
        (_no_label_file, r"label\.mat is missing"),
        (_bad_labels, r"label\.mat variable label holds \[1, 0, 2\]"),
    ],
)
def test_seed_bad_files_name_the_file(seed_root: Path, damage: Any, message: str) -> None:
    folder = seed_root / "Preprocessed_EEG"
    damage(folder)
    with pytest.raises(RecordingError, match=message) as info:
        load_seed(seed_root, subjects=1, sessions=1)
    assert info.value.hint


def test_seed_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="does not exist"):
        load_seed(tmp_path / "nowhere")
    (tmp_path / "Preprocessed_EEG").mkdir()
    with pytest.raises(RecordingError, match="No SEED session files"):
        load_seed(tmp_path)
    with pytest.raises(ConfigError):
        load_seed(tmp_path, subjects=[])


def test_microvolts_are_kept_and_volts_are_converted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "Preprocessed_EEG"
    folder.mkdir()
    scipy.io.savemat(folder / "label.mat", {"label": np.array([SEED_LABELS])})
    variables = {f"djc_eeg{k}": trial_array(k, 10, scale=1e-6) for k in range(1, 16)}
    variables["djc_eeg1"] = trial_array(1, 10)  # this one already in microvolts
    scipy.io.savemat(folder / "1_20131027.mat", variables)
    with caplog.at_level(logging.WARNING, logger=ad.__name__):
        trials = load_seed(folder)
    np.testing.assert_array_equal(trials[0].data, trial_array(1, 10).astype(np.float32))
    np.testing.assert_allclose(trials[1].data, trial_array(2, 10), rtol=1e-6)
    assert "djc_eeg2" in caplog.text and "volts" in caplog.text
    assert "djc_eeg1:" not in caplog.text


def test_matlab_v73_files_explain_what_to_do(
    seed_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = seed_root / "Preprocessed_EEG"
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 ."
    (folder / "1_20131027.mat").write_bytes(
        header.ljust(116) + bytes(8) + b"\x00\x02IM" + b"\x89HDF\r\n\x1a\n" + bytes(64)
    )
    with pytest.raises(RecordingError, match=r"1_20131027\.mat is a MATLAB v7\.3") as info:
        load_seed(seed_root, subjects=1, sessions=1)
    assert "-v7" in info.value.hint and "h5py" in info.value.hint

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("Please use HDF reader for matlab v7.3 files, e.g. h5py")

    monkeypatch.setattr(scipy.io, "loadmat", refuse)  # scipy's own check, whatever the header
    with pytest.raises(RecordingError, match=r"label\.mat is a MATLAB v7\.3"):
        load_seed(seed_root, subjects=2, sessions=1)


# --------------------------------------------------------------------------- SEED-IV


def test_seed_iv_label_table_matches_the_readme() -> None:
    assert SEED_IV_SESSION_LABELS["1"][:6] == (1, 2, 3, 0, 2, 0)
    assert SEED_IV_SESSION_LABELS["2"][-6:] == (0, 3, 0, 1, 3, 1)
    assert SEED_IV_SESSION_LABELS["3"][10:14] == (1, 0, 2, 3)
    for codes in SEED_IV_SESSION_LABELS.values():  # 24 trials, 6 per emotion
        assert Counter(codes) == {0: 6, 1: 6, 2: 6, 3: 6}


def test_seed_iv_trials_labels_sessions_and_filters(seed_iv_root: Path) -> None:
    trials = load_seed_iv(seed_iv_root)
    assert len(trials) == 2 * 3 * 24
    assert [(t.subject, t.session) for t in trials[::24]] == [
        (s, n) for s in ("1", "2") for n in ("1", "2", "3")
    ]
    names = ("neutral", "sad", "fear", "happy")
    for block in range(6):
        chunk = trials[24 * block : 24 * (block + 1)]
        session = chunk[0].session
        assert [t.label for t in chunk] == [names[c] for c in SEED_IV_SESSION_LABELS[session]]
        assert [t.trial for t in chunk] == list(range(24))
    t = trials[24 + 5]  # subject 1, session 2, trial 5 = variable cz_eeg6
    assert t.sfreq == 200.0 and t.channel_names == SEED_CHANNELS
    np.testing.assert_array_equal(t.data, trial_array(1000 + 200 + 6, 16))
    picked = load_seed_iv(seed_iv_root / "eeg_raw_data", subjects=2, sessions=["3"], sfreq=1000)
    assert len(picked) == 24 and {(p.subject, p.session, p.sfreq) for p in picked} == {
        ("2", "3", 1000.0)
    }
    with pytest.raises(RecordingError, match="No subject 3"):
        load_seed_iv(seed_iv_root, subjects=3)
    with pytest.raises(RecordingError, match="No session 4"):
        load_seed_iv(seed_iv_root, sessions=4)
    with pytest.raises(ConfigError, match="sfreq"):
        load_seed_iv(seed_iv_root, sfreq=0)


def test_seed_iv_errors_and_implausible_rate(
    seed_iv_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=ad.__name__):
        load_seed_iv(seed_iv_root, subjects=1, sessions=1, sfreq=0.01)
    assert "sfreq=1000" in caplog.text
    session = seed_iv_root / "eeg_raw_data" / "2"
    write_session_file(session / "1_20150101.mat", 0, 24)
    with pytest.raises(RecordingError, match="two files of subject 1"):
        load_seed_iv(seed_iv_root, sessions=2)
    write_session_file(seed_iv_root / "eeg_raw_data" / "3" / "1_20150913.mat", 0, 15)
    with pytest.raises(RecordingError, match=r"1_20150913\.mat holds 15 .*expected 24"):
        load_seed_iv(seed_iv_root, subjects=1, sessions=3)


# --------------------------------------------------------------------------- DEAP


@pytest.fixture
def deap_root(tmp_path: Path) -> Path:
    """DEAP/data_preprocessed_python with s01.dat and s02.dat, pickled as Python 2 did."""
    root = tmp_path / "DEAP"
    write_deap(root, 1)
    write_deap(root, 2)
    return root


def test_deap_trials_ratings_and_baseline(deap_root: Path) -> None:
    trials = load_deap(deap_root)
    assert len(trials) == 80 and [t.subject for t in trials[::40]] == ["s01", "s02"]
    t = trials[40 + 7]
    assert (t.subject, t.session, t.trial, t.sfreq) == ("s02", "1", 7, 128.0)
    assert t.channel_names == DEAP_CHANNELS and t.data.shape == (32, 16)
    assert t.data.dtype == np.float32 and t.data.flags.c_contiguous
    expected = 20.0 + 7 + 0.02 + np.arange(32)[:, None] / 1000  # baseline (-50) dropped
    np.testing.assert_allclose(t.data, np.repeat(expected, 16, axis=1), rtol=1e-6)
    assert t.ratings == {"valence": 3.0, "arousal": 3.0, "dominance": 4.0, "liking": 6.0}
    kept = load_deap(deap_root / "data_preprocessed_python", subjects="s01", keep_baseline=True)
    assert len(kept) == 40 and kept[0].data.shape == (32, DEAP_SAMPLES)
    assert kept[0].data[0, 0] == -50.0


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("valence", ["low_valence", "high_valence", "low_valence", "high_valence"]),
        ("arousal", ["low_arousal", "low_arousal", "high_arousal", "high_arousal"]),
        ("quadrant", ["lvla", "hvla", "lvha", "hvha"]),
    ],
)
def test_deap_labels_use_strictly_greater_than_threshold(
    deap_root: Path, label: str, expected: list[str]
) -> None:
    trials = load_deap(deap_root, subjects=[1], label=label)  # type: ignore[arg-type]
    assert [t.label for t in trials[:4]] == expected
    assert load_deap(deap_root, subjects=1, threshold=4.99)[0].label == "high_valence"


def test_deap_subject_filter(deap_root: Path) -> None:
    for subject in (2, "2", "02", "s2", "S02", ["s02"]):
        assert {t.subject for t in load_deap(deap_root, subjects=subject)} == {"s02"}
    with pytest.raises(RecordingError, match=r"No subject s05 .*found: s01, s02"):
        load_deap(deap_root, subjects=5)


def test_deap_prefers_mat_files_and_never_opens_their_pickles(deap_root: Path) -> None:
    data, labels = deap_arrays(1)
    write_deap(deap_root, 1, fmt="mat", data=data + 1000.0, labels=labels)
    marker = deap_root / "ran"
    write_deap(deap_root, 1, fmt="dat", protocol=2, data=_Evil(f"touch {marker}"), labels=labels)
    trials = load_deap(deap_root, subjects=1)
    assert not marker.exists()
    assert trials[0].data[0, 0] == pytest.approx(1020.01)
    matlab_only = load_deap(deap_root / "data_preprocessed_matlab")
    assert len(matlab_only) == 40 and matlab_only[0].subject == "s01"


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_deap_reads_python3_pickles(tmp_path: Path, protocol: int) -> None:
    write_deap(tmp_path, 3, protocol=protocol)  # 2: bytes via _codecs.encode, 5: _frombuffer
    trials = load_deap(tmp_path)
    assert len(trials) == 40 and trials[0].data[0, 0] == pytest.approx(20.03)


class _Evil:
    """Unpickling this would run a shell command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (self.command,))


class _EvilExec(_Evil):
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (builtins.exec, (f"import os; os.system({self.command!r})",))


@pytest.mark.parametrize("payload", [_Evil, _EvilExec])
def test_deap_refuses_pickles_that_want_more_than_numpy(tmp_path: Path, payload: type) -> None:
    marker = tmp_path / "ran"
    _, labels = deap_arrays(1)
    write_deap(tmp_path / "DEAP", 1, protocol=2, data=payload(f"touch {marker}"), labels=labels)
    with pytest.raises(RecordingError, match=r"s01\.dat asks to load .* refused") as info:
        load_deap(tmp_path / "DEAP")
    assert "data_preprocessed_matlab" in info.value.hint
    assert not marker.exists()


def _deap_damage(name: str) -> dict[str, Any]:
    data, labels = deap_arrays(1)
    if name == "channels":
        return {"data": data[:, :30]}
    if name == "labels":
        return {"labels": labels[:39]}
    if name == "nan":
        data[4, 3, 390] = np.nan
        return {"data": data}
    if name == "ratings":
        labels[2, 1] = 0.0
        return {"labels": labels}
    return {"data": data[:, :, :DEAP_BASELINE]}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("channels", r"s01\.dat has 'data' of shape \(40, 30, 400\)"),
        ("labels", r"'labels' of shape \(39, 4\)"),
        ("nan", r"s01\.dat 'data' trial 4 holds NaN"),
        ("ratings", r"trial 2 has ratings .* outside 1-9"),
        ("short", r"trials have 384 samples"),
    ],
)
def test_deap_bad_files_name_the_file(tmp_path: Path, damage: str, message: str) -> None:
    write_deap(tmp_path, 1, **_deap_damage(damage))
    with pytest.raises(RecordingError, match=message):
        load_deap(tmp_path)


def test_deap_unreadable_files_and_bad_arguments(tmp_path: Path) -> None:
    path = write_deap(tmp_path, 1)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(RecordingError, match=r"Cannot read .*s01\.dat as a DEAP pickle"):
        load_deap(tmp_path)
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(RecordingError, match="does not hold DEAP's 'data' and 'labels'"):
        load_deap(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match="No DEAP files"):
        load_deap(tmp_path / "empty")
    with pytest.raises(ConfigError, match="'label'"):
        load_deap(tmp_path, label="happiness")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'threshold'"):
        load_deap(tmp_path, threshold=float("nan"))


# --------------------------------------------------------------------------- detection


def test_detect_layout_from_names_only(tmp_path: Path) -> None:
    seed = tmp_path / "seed" / "Preprocessed_EEG"
    seed.mkdir(parents=True)
    (seed / "label.mat").write_bytes(b"not opened")
    (seed / "1_20131027.mat").write_bytes(b"not opened")
    seed_iv = tmp_path / "seed_iv" / "eeg_raw_data" / "2"
    seed_iv.mkdir(parents=True)
    (seed_iv / "1_20150920.mat").write_bytes(b"not opened")
    deap = tmp_path / "deap" / "data_preprocessed_matlab"
    deap.mkdir(parents=True)
    (deap / "s01.mat").write_bytes(b"not opened")
    assert detect_layout(tmp_path / "seed") == detect_layout(seed) == "seed"
    assert detect_layout(tmp_path / "seed_iv") == "seed-iv"
    assert detect_layout(seed_iv.parent) == "seed-iv"
    assert detect_layout(tmp_path / "deap") == detect_layout(deap) == "deap"
    with pytest.raises(RecordingError, match=r"none of the supported .*Expected SEED:"):
        detect_layout(seed_iv)  # a session folder alone is no dataset
    with pytest.raises(RecordingError, match="does not exist"):
        detect_layout(tmp_path / "missing")
    (tmp_path / "seed" / "data_preprocessed_python").mkdir()
    with pytest.raises(RecordingError, match=r"more than one dataset \(seed, deap\)"):
        detect_layout(tmp_path / "seed")


def test_load_affective_dispatches_and_checks_keywords(seed_iv_root: Path, deap_root: Path) -> None:
    trials = load_affective(seed_iv_root, subjects=1, sessions=1)
    assert len(trials) == 24 and trials[0].label == "sad"
    deap = load_affective(deap_root, subjects="s01", label="quadrant")
    assert deap[3].label == "hvha"
    with pytest.raises(ConfigError, match=r"seed-iv, whose loader takes no 'label'"):
        load_affective(seed_iv_root, label="valence")


def test_affective_trial_checks_its_data() -> None:
    good = np.zeros((2, 5), np.float32)
    trial = AffectiveTrial(good, 100.0, ("C3", "C4"), "neutral", "1", "1", 0)
    assert trial.duration_s == 0.05 and trial.ratings == {}
    with pytest.raises(ConfigError):
        AffectiveTrial(good.astype(np.float64), 100.0, ("C3", "C4"), "x", "1", "1", 0)
    with pytest.raises(ConfigError):
        AffectiveTrial(good, 100.0, ("C3",), "x", "1", "1", 0)
