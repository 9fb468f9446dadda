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


def test_replay_of_non_eeg_file_is_a_clear_error(tmp_path) -> None:
    bogus = tmp_path / "notes.edf"
    bogus.write_text("this is not an EDF file\n" * 20)
    res = _run_cli("replay", str(bogus), "--local")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "notes.edf" in res.stderr


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
