"""``neurodeck bench``: the models it builds, its rows, and one short run on a real replay."""

from __future__ import annotations

import json

import numpy as np
import pytest
from neurodeck.app.bench_command import (
    DEFAULT_DURATION_S,
    _percentiles,
    _WindowCutter,
    build_bench_model,
    run_model_only,
)
from neurodeck.app.cli import _parser, main
from neurodeck.common.types import ConfigError

CHANNELS = tuple(f"{c}" for c in ("FC3", "FC1", "FCZ", "FC2", "FC4", "C3", "C1", "CZ", "C2", "C4"))


def test_bench_models_take_the_live_shape() -> None:
    eegnet = build_bench_model("eegnet", CHANNELS, 2.0)
    assert eegnet.sfreq == 160.0 and eegnet.channel_names == CHANNELS
    spp = build_bench_model("spp_eegnet", CHANNELS, 2.0)  # shipped, input-agnostic
    assert spp.channel_names == CHANNELS and spp.sfreq == 80.0
    row = run_model_only(eegnet, "cpu", repeats=20)
    assert row["n"] == 20 and 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert row["runner"] == "cpu fp32, 1 thread" and row["check"]["chosen"] == "fp32"
    with pytest.raises(ConfigError, match="Unknown bench model"):
        build_bench_model("resnet", CHANNELS, 2.0)
    with pytest.raises(ConfigError, match="trained on 2 s windows"):
        build_bench_model("spp_eegnet", CHANNELS, 4.0)


def test_window_cutter_and_percentiles() -> None:
    bm = build_bench_model("eegnet", CHANNELS, 2.0)
    cut = _WindowCutter(bm, CHANNELS, 160.0)
    raw = np.random.default_rng(0).standard_normal((len(CHANNELS), 480)).astype(np.float32)
    window = cut(raw)
    assert window.shape == (1, len(CHANNELS), 320) and window.dtype == np.float32
    assert cut(raw[:, :100]) is None  # not a whole window yet
    p = _percentiles([1.0, 2.0, 3.0, 100.0])
    assert p["n"] == 4 and p["p50_ms"] == 2.5 and p["max_ms"] == 100.0
    assert _percentiles([]) == {"n": 0}


def test_bench_row_length_and_the_marker_less_replay_options() -> None:
    args = _parser().parse_args(["bench", "--duration-s", "80", "--pipelines", "mne-lsl"])
    assert args.seconds == 80 and args.pipelines == ["mne-lsl"]  # 80 s: 300+ windows a row
    assert _parser().parse_args(["bench"]).seconds == DEFAULT_DURATION_S
    assert _parser().parse_args(["bench", "--seconds", "6"]).seconds == 6  # the old spelling
    assert _parser().parse_args(["replay", "a.edf", "--no-markers"]).markers is False
    assert _parser().parse_args(["replay", "a.edf"]).markers is True


@pytest.mark.lsl
@pytest.mark.slow
@pytest.mark.data
def test_bench_mne_lsl_row_connects(tmp_path, data_root) -> None:
    pytest.importorskip("mne_lsl")
    out = tmp_path / "bench.json"
    code = main(["bench", "--models", "eegnet", "--pipelines", "mne-lsl", "--device", "cpu",
                 "--duration-s", "8", "--data", str(data_root), "--json", str(out)])  # fmt: skip
    assert code == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["pipeline"] for r in rows] == ["model-only", "mne-lsl"]
    assert "error" not in rows[1] and rows[1]["n"] > 0, rows[1]


@pytest.mark.lsl
@pytest.mark.slow
@pytest.mark.data
def test_bench_runs_on_a_real_replay(tmp_path, data_root) -> None:
    out = tmp_path / "bench.json"
    code = main(["bench", "--models", "eegnet", "--pipelines", "neurodeck", "naive",
                 "--seconds", "6", "--data", str(data_root), "--json", str(out)])  # fmt: skip
    assert code == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["pipeline"] for r in rows] == ["model-only", "neurodeck", "naive"]
    live = rows[1]
    assert live["n"] > 0 and live["dropped"] == 0 and live["lost_samples"] == 0
    assert 0 < live["p50_ms"] < 200
    assert (tmp_path / "bench.png").stat().st_size > 5_000
