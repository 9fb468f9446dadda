"""The CLI as a user runs it: clear errors (exit 2, no traceback) and the decode loop end to end."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading

import numpy as np
import pytest
from neurodeck.app.cli import main

from tests.conftest import REPO


def _run_cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neurodeck", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_replay_of_missing_file_is_a_clear_error(tmp_path) -> None:
    res = _run_cli("replay", str(tmp_path / "nope.edf"), "--local")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "nope.edf" in res.stderr and "what to do" in res.stderr


def test_replay_of_non_eeg_file_is_a_clear_error(tmp_path, capsys) -> None:
    bogus = tmp_path / "notes.edf"
    bogus.write_text("this is not an EDF file\n" * 20)
    assert main(["replay", str(bogus), "--local"]) == 2
    err = capsys.readouterr().err
    assert "notes.edf" in err and "what to do:" in err and "Traceback" not in err


def test_replay_of_a_truncated_or_corrupt_xdf_is_a_clear_error(tmp_path) -> None:
    from tests.streaming.xdf_files import labrecorder_file

    raw = labrecorder_file(tmp_path / "whole.xdf").read_bytes()
    (tmp_path / "cut.xdf").write_bytes(raw[: len(raw) // 2])
    res = _run_cli("replay", str(tmp_path / "cut.xdf"), "--local")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "cut.xdf is truncated" in res.stderr and "what to do: Copy the file again" in res.stderr
    damaged = bytearray(raw)
    damaged[raw.index(b"<channel_count>") + 3] = ord("!")  # a stream header's XML
    (tmp_path / "damaged.xdf").write_bytes(bytes(damaged))
    res = _run_cli("replay", str(tmp_path / "damaged.xdf"), "--local")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "damaged.xdf is not a readable XDF file: the header of stream 1" in res.stderr


def test_xdf_with_several_eeg_streams_names_them_and_one_is_chosen(tmp_path, capsys) -> None:
    from neurodeck.streaming.xdf_write import write_xdf

    from tests.streaming.xdf_files import eeg_stream

    path = write_xdf(tmp_path / "two.xdf", [eeg_stream("amp A"), eeg_stream("amp B", seed=3)])
    assert main(["replay", str(path), "--local"]) == 2
    err = capsys.readouterr().err
    assert "holds 2 EEG streams: 'amp A' (EEG, 4 ch, float32, 250 Hz), 'amp B'" in err
    assert "--xdf-stream NAME" in err
    assert main(["replay", str(path), "--xdf-stream", "amp C", "--local"]) == 2
    assert "no stream named 'amp C'" in capsys.readouterr().err
    assert main(["replay", "x.edf", "--xdf-stream", "amp A"]) == 2
    assert "'--xdf-stream amp A' applies to .xdf files" in capsys.readouterr().err
    code = main([
        "replay", str(path), "--xdf-stream", "amp B", "--speed", "100", "--local",
        "--name", f"xdf-{tmp_path.name}",
    ])  # fmt: skip
    assert code == 0 and "replaying two.xdf" in capsys.readouterr().out


def test_decode_without_stream_times_out_with_advice(tmp_path, capsys, unique_id) -> None:
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"")
    code = main(["decode", "--stream", unique_id, "--model", str(model), "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert code == 2
    assert "m.safetensors" in err  # the empty checkpoint is refused before waiting for a stream


def test_bad_speed_is_refused(capsys) -> None:
    assert main(["replay", "x.edf", "--speed", "0"]) == 2
    assert "'--speed' must be > 0" in capsys.readouterr().err


@pytest.mark.lsl
@pytest.mark.slow
def test_calibrate_then_decode_a_replayed_run(tmp_path, data_root, unique_id, capsys) -> None:
    from neurodeck.streaming.recording_io import eegbci_run_files
    from neurodeck.streaming.replay import Replayer

    calib = eegbci_run_files(data_root, 1, [4, 8])
    model = tmp_path / "profile"
    argv = ["calibrate", "--recording", *map(str, calib), "--out", str(model), "--cv-folds", "0"]
    assert main([*argv, "--epochs", "1"]) == 0
    assert "30 trials" in capsys.readouterr().out

    test_run = eegbci_run_files(data_root, 1, [12])
    replayer = Replayer(test_run, name=unique_id, speed=10.0, source_id=unique_id)
    thread = threading.Thread(target=replayer.run_blocking, daemon=True)
    thread.start()
    jsonl, summary = tmp_path / "pred.jsonl", tmp_path / "summary.json"
    try:
        code = main(
            [
                "decode",
                "--stream",
                unique_id,
                "--model",
                str(model),
                "--decoder",
                "reference",
                "--markers",
                "auto",
                "--jsonl",
                str(jsonl),
                "--json",
                str(summary),
                "--duration",
                "6",
                "--outlet",
                f"{unique_id}-pred",
            ]
        )
    finally:
        replayer.stop()
        thread.join(5)
        replayer.close()
    assert code == 0
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert len(lines) > 50  # 6 s at x10 with a 0.25 s hop: about 220 windows
    first = lines[0]
    assert set(first["probabilities"]) == {"left", "right"}
    assert abs(sum(first["probabilities"].values()) - 1) < 1e-6
    assert all(x["e2e_ms"] >= x["transport_ms"] >= -1.0 for x in lines)
    assert any(x["true_label"] in ("left", "right", "T0") for x in lines)
    report = json.loads(summary.read_text())
    assert report["lost_samples"] == 0
    assert report["predictions"] == len(lines)
    np.testing.assert_array_equal(np.diff([x["end_index"] for x in lines]) % 40, 0)


def test_pretrain_with_a_missing_recipe_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["pretrain", "--recipe", str(tmp_path / "nope.toml")]) == 2
    assert "recipe file" in capsys.readouterr().err


def test_evaluate_with_an_unknown_encoder_lists_the_recipes(capsys, data_root) -> None:
    code = main(["evaluate", "--data", str(data_root), "--models", "--encoders", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and "no recipe named 'nope'" in err and "spp_eegnet" in err


def test_decode_refuses_a_self_supervised_encoder_without_head(tmp_path, capsys) -> None:
    from neurodeck.models.checkpoint import read_checkpoint_meta
    from neurodeck.offline_training.pipeline import Recipe, build_encoder, save_stage

    recipe = Recipe.from_toml(REPO / "configs" / "pretrain" / "spp_eegnet.toml")
    model = build_encoder(recipe, ["C3", "Cz", "C4"], 2)
    path = save_stage(model, recipe, tmp_path / "ssl.safetensors", "ssl", ("a", "b"), [1])
    assert read_checkpoint_meta(path).training["stage"] == "ssl"
    assert main(["decode", "--stream", "x", "--model", str(path), "--timeout", "0.2"]) == 2
    assert "self-supervised encoder" in capsys.readouterr().err


def test_config_is_offered_only_by_the_commands_that_read_it() -> None:
    """``--config`` (the settings tree) on decode, demo, loop and gui; nowhere else."""
    from neurodeck.app.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    takes = {
        name
        for name, p in sub.choices.items()
        if any("--config" in a.option_strings for a in p._actions)
    }
    assert takes == {"decode", "demo", "loop", "gui"}


def test_a_wrong_setting_is_refused_with_its_name(tmp_path) -> None:
    cfg = tmp_path / "settings.toml"
    cfg.write_text("[decode]\nhop_s = -1.0\n")
    res = _run_cli("demo", "--config", str(cfg), "--headless", "--local")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "decode.hop_s" in res.stderr


def _nan_checkpoint(path):
    """A real reference checkpoint whose weights hold NaN (a training that diverged)."""
    import torch
    from neurodeck.models.checkpoint import ModelMeta, save_checkpoint
    from neurodeck.models.tangent_space import TangentSpaceLR

    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    model = TangentSpaceLR.from_fitted(
        a @ a.T + 3 * np.eye(3), rng.standard_normal((2, 6)), rng.standard_normal(2), 2
    )
    with torch.no_grad():
        model.weight[1, 3] = float("nan")
    meta = ModelMeta(
        architecture="tangent_space_lr", config=model.config, channel_names=("C3", "Cz", "C4"),
        sfreq=160.0, window_s=2.0, class_names=("left", "right"),
    )  # fmt: skip
    return save_checkpoint(path, model, meta)


def test_decode_refuses_a_checkpoint_with_nan_weights_before_waiting(tmp_path) -> None:
    bad = _nan_checkpoint(tmp_path / "diverged.safetensors")
    res = _run_cli("decode", "--stream", "no-such-stream", "--model", str(bad), "--local")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "diverged.safetensors holds non-finite weights" in res.stderr
    assert "weight (1 NaN, 0 inf of 12 values)" in res.stderr
    assert "what to do:" in res.stderr and "calibrate again" in res.stderr


def test_decode_refuses_a_settings_file_of_the_wrong_type_before_waiting(
    tmp_path, capsys, unique_id
) -> None:
    cfg = tmp_path / "settings.toml"
    cfg.write_text("[decode]\nhop_s = true\n")  # a boolean where seconds are expected
    argv = ["decode", "--stream", unique_id, "--model", "nope", "--config", str(cfg)]
    assert main([*argv, "--timeout", "30"]) == 2
    err = capsys.readouterr().err
    assert "[decode]: 'decode.hop_s' must be a finite number > 0 s; got True" in err
    assert "what to do:" in err


def _write_recordings(folder):
    """EEG files without signal (flat, NaN, undefined header ranges) and one with a dead
    electrode; returns their paths by name."""
    import mne

    names = ["C3", "Cz", "C4"]
    info = mne.create_info(names, 100.0, "eeg")
    signal = np.random.default_rng(0).standard_normal((3, 300)) * 20e-6
    paths = {}
    flat = mne.io.RawArray(np.full((3, 300), 4e-6), info, verbose="error")
    paths["flat"] = folder / "flat.edf"
    mne.export.export_raw(paths["flat"], flat, verbose="error")
    paths["nan"] = folder / "nan_raw.fif"
    mne.io.RawArray(np.full((3, 300), np.nan), info, verbose="error").save(
        paths["nan"], verbose="error"
    )
    paths["good"] = folder / "good.edf"
    mne.export.export_raw(
        paths["good"], mne.io.RawArray(signal, info, verbose="error"), verbose="error"
    )
    content = bytearray(paths["good"].read_bytes())
    n_signals = int(content[252:256])
    physical_max = 256 + n_signals * (16 + 80 + 8 + 8)  # after label, transducer, unit, min
    for i in range(3):  # physical maximum = physical minimum for every EEG signal
        start = 256 + n_signals * (16 + 80 + 8) + 8 * i
        content[physical_max + 8 * i : physical_max + 8 * (i + 1)] = content[start : start + 8]
    paths["norange"] = folder / "norange.edf"
    paths["norange"].write_bytes(bytes(content))
    dead = signal.copy()
    dead[1] = 0.0  # Cz unplugged
    paths["dead"] = folder / "dead.edf"
    mne.export.export_raw(
        paths["dead"], mne.io.RawArray(dead, info, verbose="error"), verbose="error"
    )
    return paths


def test_replay_refuses_recordings_without_signal_naming_the_channels(tmp_path, capsys) -> None:
    paths = _write_recordings(tmp_path)
    expected = {
        "flat": "flat, one value throughout: C3, Cz, C4",
        "nan": "only NaN/inf: C3, Cz, C4",
        "norange": "its header gives every signal an undefined range: C3 (physical minimum",
    }
    for name, fragment in expected.items():
        assert main(["replay", str(paths[name]), "--local"]) == 2
        out, err = capsys.readouterr()
        assert fragment in err and "what to do:" in err and "Traceback" not in err
        assert "replaying" not in out  # no outlet was opened


@pytest.mark.lsl
def test_replay_of_a_recording_with_a_dead_electrode_warns_naming_it(tmp_path) -> None:
    dead = _write_recordings(tmp_path)["dead"]
    res = _run_cli("replay", str(dead), "--speed", "50", "--no-markers", "--local")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "1 of 3 channels carry no signal" in res.stderr
    assert "flat, one value throughout: Cz" in res.stderr and "replaying dead.edf" in res.stdout


def test_calibrate_refuses_recordings_without_signal(tmp_path, capsys) -> None:
    paths = _write_recordings(tmp_path)
    for name in ("flat", "nan", "norange"):
        out = tmp_path / f"profile-{name}"
        assert main(["calibrate", "--recording", str(paths[name]), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"neurodeck calibrate: error: {paths[name]}" in err and "what to do:" in err
        assert not (out / "profile.json").exists()
