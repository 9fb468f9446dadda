"""``neurodeck calibrate`` and ``neurodeck loop`` as a user runs them, on real LSL streams."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from neurodeck.app.cli import main
from neurodeck.calibration.defaults import DEFAULT_ENCODER
from neurodeck.calibration.profile import load_profile
from neurodeck.streaming.recorded_session import load_session

from tests.calibration.synthetic import save_tiny_encoder


@pytest.mark.lsl
@pytest.mark.slow
def test_calibrate_with_cues_on_a_live_stream(tmp_path, unique_id, capsys) -> None:
    """Cues go out on LSL, the terminal shows them, EEG + cues are recorded, a profile is fit."""
    from neurodeck.streaming.simulator import SimulationConfig, Simulator

    paradigm = tmp_path / "short.toml"
    paradigm.write_text('base = "mi-lr"\ntrials_per_class = 6\n')
    sim = Simulator(SimulationConfig(n_channels=8, sfreq=160.0), name=unique_id, speed=20.0)
    thread = threading.Thread(target=sim.run_blocking, daemon=True)
    thread.start()
    out = tmp_path / "profile"
    try:
        code = main([
            "calibrate", "--stream", unique_id, "--out", str(out), "--paradigm", str(paradigm),
            "--model", str(save_tiny_encoder(tmp_path / "enc.safetensors")), "--cv-folds", "2",
            "--epochs", "2", "--cue-speed", "20", "--json", str(tmp_path / "report.json"),
        ])  # fmt: skip
    finally:
        sim.stop()
        thread.join(5)
        sim.close()
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "LEFT HAND" in printed and "RIGHT HAND" in printed and "[12/12]" in printed
    session = load_session(out / "recording")
    assert session.complete and session.meta.name == unique_id
    cues = [m.label for m in session.markers if m.label.startswith("cue_")]
    assert sorted(cues) == ["cue_left"] * 6 + ["cue_right"] * 6
    assert session.markers[0].label == "calib_start"
    profile = load_profile(out)
    assert profile.marker_classes == {"cue_left": "left", "cue_right": "right"}
    assert (out / "paradigm.json").is_file()
    report = json.loads((tmp_path / "report.json").read_text())
    assert sum(report["trials"].values()) == 12 and report["cv"]["folds"] == 2
    # the session is reusable: calibrating from the recording gives the same trials
    again = tmp_path / "again"
    assert main(["calibrate", "--recording", str(out / "recording"), "--out", str(again),
                 "--model", str(tmp_path / "enc.safetensors"), "--cv-folds", "0",
                 "--epochs", "1", "--augment", "mirror", "scale", "noise"]) == 0  # fmt: skip
    assert load_profile(again).info["trials"] == report["trials"]


@pytest.mark.lsl
@pytest.mark.slow
@pytest.mark.data
def test_the_whole_loop_for_one_subject(tmp_path, data_root, capsys) -> None:
    """Replay runs 4+8 -> calibrate from their markers -> replay run 12 -> decode -> score."""
    summary_path = tmp_path / "loop.json"
    code = main([
        "loop", "--subject", "1", "--data", str(data_root), "--speed", "10",
        "--calib-speed", "40", "--cv-folds", "2", "--epochs", "2", "--out", str(tmp_path),
        "--json", str(summary_path),
    ])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    summary = json.loads(summary_path.read_text())
    calibration, online = summary["calibration"], summary["online"]
    assert calibration["trials"] == {"left": 16, "right": 14}  # all 30 cues of runs 4 and 8
    assert calibration["timings"]["ready_s"] < 30.0
    score = online["online_score"]
    assert score["n_trials"] == 15 and score["n_windows"] > 100
    assert 0.0 <= score["window_accuracy"] <= 1.0
    session = load_session(tmp_path / "S001" / "profile" / "recording")
    assert session.n_samples >= 2 * 20000 - 20 and session.complete  # see streaming.recorder
    assert "online accuracy on run 12" in printed


def test_calibrate_errors_are_clear(tmp_path, capsys) -> None:
    assert main(["calibrate", "--recording", str(tmp_path / "nope.edf"), "--out",
                 str(tmp_path / "p")]) == 2  # fmt: skip
    assert "what to do" in capsys.readouterr().err
    assert main(["calibrate", "--recording", str(tmp_path), "--out", str(tmp_path / "p"),
                 "--classes", "T1left"]) == 2  # fmt: skip
    assert "MARKER=CLASS" in capsys.readouterr().err


def test_calibrate_on_a_file_without_cues_says_which_markers_it_found(tmp_path, capsys) -> None:
    import mne

    info = mne.create_info(["C3", "Cz", "C4"], 160.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((3, 3200)) * 1e-5, info)
    raw.set_annotations(mne.Annotations([1.0, 5.0], [0.0, 0.0], ["blink", "blink"]))
    path = tmp_path / "nocues_raw.fif"
    raw.save(path)
    code = main(["calibrate", "--recording", str(path), "--out", str(tmp_path / "p"), "--model",
                 str(save_tiny_encoder(tmp_path / "enc.safetensors"))])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "blink" in err and "--classes" in err
    assert not (tmp_path / "p").exists()  # a failed calibration leaves no empty profile folder


def test_stimuli_are_checked_before_anything_is_recorded(tmp_path, capsys) -> None:
    encoder = str(save_tiny_encoder(tmp_path / "enc.safetensors"))
    base = ["calibrate", "--out", str(tmp_path / "p"), "--model", encoder]
    stream = ["--stream", "no-such-stream", "--timeout", "0.1"]
    assert main([*base, *stream, "--stimuli", str(tmp_path)]) == 2
    assert "'--stimuli' needs an affective paradigm; 'mi-lr'" in capsys.readouterr().err
    missing = str(tmp_path / "missing")
    assert main([*base, *stream, "--paradigm", "emotion-recall", "--stimuli", missing]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "negative/, neutral/, positive/" in err
    assert main([*base, "--recording", str(tmp_path), "--stimuli", str(tmp_path)]) == 2
    assert "needs a calibration that plays its own cues" in capsys.readouterr().err


def test_augment_reaches_the_fine_tuning_settings_and_is_refused_for_affect() -> None:
    from neurodeck.calibration.calibrate import load_base_encoder
    from neurodeck.calibration.defaults import calibration_settings
    from neurodeck.common.types import AFFECTIVE, ConfigError

    base = load_base_encoder(DEFAULT_ENCODER)
    s = calibration_settings(5, None, augment=["mirror", "noise"]).for_base(base)
    assert s.adapt.augment == ("mirror", "noise")
    # without the option: the network's recipe (mi_shallow64 fine-tunes with all three)
    assert calibration_settings(5, None).for_base(base).adapt.augment == (
        "mirror", "scale", "noise"
    )  # fmt: skip
    assert calibration_settings(5, 7).for_base(base).adapt.train.epochs == 7
    with pytest.raises(ConfigError, match="motor-imagery"):
        calibration_settings(5, None, family=AFFECTIVE, augment=["scale"])


def test_the_default_network_follows_the_montage() -> None:
    from neurodeck.calibration.defaults import DEFAULT_ANY_MONTAGE_ENCODER, default_mi_encoder
    from neurodeck.common.montages import montage
    from neurodeck.models.checkpoint import read_checkpoint_meta

    eegbci = [f"{c}." for c in read_checkpoint_meta(DEFAULT_ENCODER).channel_names]  # EDF dots
    assert default_mi_encoder(eegbci) == DEFAULT_ENCODER
    assert default_mi_encoder(["AUX1", *eegbci]) == DEFAULT_ENCODER
    assert default_mi_encoder(montage("19")) == DEFAULT_ANY_MONTAGE_ENCODER
    assert default_mi_encoder(eegbci[:-1]) == DEFAULT_ANY_MONTAGE_ENCODER  # one missing


def test_calibrate_from_an_xdf_recording(tmp_path, capsys) -> None:
    """A LabRecorder-style file with two EEG streams: refused, then calibrated on the one named."""
    import dataclasses

    from neurodeck.common.types import MarkerEvent
    from neurodeck.streaming.xdf_write import write_xdf

    from tests.calibration.synthetic import simulated_session
    from tests.streaming.xdf_files import continuous_to_xdf, eeg_stream

    eeg = simulated_session(seconds=120.0, n_channels=8, t0=2000.0)
    cues = tuple(
        MarkerEvent(m.timestamp, f"cue_{m.label}" if m.label in ("left", "right") else m.label)
        for m in eeg.markers
    )
    eeg = dataclasses.replace(eeg, markers=cues)
    one = continuous_to_xdf(tmp_path / "one.xdf", eeg, name="Headset")
    encoder = str(save_tiny_encoder(tmp_path / "enc.safetensors"))
    argv = ["calibrate", "--model", encoder, "--cv-folds", "0", "--epochs", "1"]
    assert main([*argv, "--recording", str(one), "--out", str(tmp_path / "p1")]) == 0
    n_cues = sum(m.label in ("cue_left", "cue_right") for m in cues)
    trials = load_profile(tmp_path / "p1").info["trials"]
    assert sum(trials.values()) == n_cues and set(trials) == {"left", "right"}
    capsys.readouterr()

    streams = [*_xdf_streams(one), eeg_stream("Glasses", n_samples=100, t0=2000.0)]
    two = write_xdf(tmp_path / "two.xdf", streams)
    assert main([*argv, "--recording", str(two), "--out", str(tmp_path / "p2")]) == 2
    err = capsys.readouterr().err
    assert "2 EEG streams: 'Headset'" in err and "'Glasses'" in err and "--xdf-stream" in err
    chosen = ["--recording", str(two), "--xdf-stream", "Headset", "--out", str(tmp_path / "p2")]
    assert main([*argv, *chosen]) == 0
    assert load_profile(tmp_path / "p2").info["trials"] == trials


def _xdf_streams(path):
    """The streams of an XDF file as writer input (numeric or string, with their headers)."""
    import pyxdf
    from neurodeck.streaming.xdf_write import XdfChannel, XdfStream

    out = []
    for s in pyxdf.load_xdf(path, dejitter_timestamps=False)[0]:
        info = s["info"]
        name, kind = info["name"][0], info["type"][0]
        if info["channel_format"][0] == "string":
            labels = tuple(row[0] for row in s["time_series"])
            out.append(XdfStream(name, kind, s["time_stamps"], labels=labels))
            continue
        channels = info["desc"][0]["channels"][0]["channel"]
        out.append(
            XdfStream(
                name, kind, s["time_stamps"], data=np.ascontiguousarray(s["time_series"].T),
                nominal_srate=float(info["nominal_srate"][0]),
                channels=tuple(XdfChannel(c["label"][0], c["unit"][0], "EEG") for c in channels),
            )
        )  # fmt: skip
    return out
