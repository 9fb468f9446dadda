"""Faults of a live source, driven by real processes on loopback: stall, kill, restart.

One run, about 50 s: ``neurodeck record`` and an in-process decoder follow a source process
that is stopped for 10 s (SIGSTOP, SIGCONT), killed, and started again 10 s later with the same
source_id. The recording must hold every sample the two sources sent, with the gap marked; the
decoder must emit nothing stale and account for every window.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from neurodeck.models.tangent_space import TangentSpaceLR
from neurodeck.streaming.lsl_io import resolve_stream
from neurodeck.streaming.preprocessing import PreprocessingConfig
from neurodeck.streaming.recorded_session import load_session, to_recording
from neurodeck.streaming.session import DecoderSpec, DecodeSession

from tests.conftest import REPO
from tests.lsl_helpers import wait_until

pytestmark = [pytest.mark.lsl, pytest.mark.slow]

RATE = 200.0
DEADLINE_S = 0.5
SECOND_START = 1_000_000  # index of the restarted source's first sample


def _source(name: str, start: int, n: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.source_process", name, str(start), str(n), str(RATE)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _spec() -> DecoderSpec:
    rng = np.random.default_rng(0)
    model = TangentSpaceLR.from_fitted(np.eye(3), rng.standard_normal((1, 6)), np.zeros(1), 2)
    return DecoderSpec(
        model=model,
        channel_names=("Ch1", "Ch2", "Ch3"),
        sfreq=RATE,
        window_s=1.0,
        class_names=("left", "right"),
        preprocessing=PreprocessingConfig(bandpass=(8.0, 30.0)).to_dict(),
    )


def test_stall_kill_and_restart_lose_no_sample_and_decode_nothing_stale(
    tmp_path: Path, unique_id: str
) -> None:
    first = _source(unique_id, 0, 1_000_000)
    recorder = subprocess.Popen(
        [sys.executable, "-m", "neurodeck", "record", "--stream", unique_id, "--markers", "NONE",
         "--out", str(tmp_path / "s"), "--duration", "42", "--json", str(tmp_path / "r.json"),
         "--local"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    second = None
    got = []
    session = None
    try:
        assert first.stdout.readline().strip() == "publishing"  # the recorder is its consumer
        session = DecodeSession(
            resolve_stream(source_id=unique_id, timeout_s=10.0),
            _spec(),
            hop_s=0.25,
            device="cpu",
            sinks=[got.append],
            deadline_s=DEADLINE_S,
        ).start()
        time.sleep(3.0)
        os.kill(first.pid, signal.SIGSTOP)  # a 10 s stall
        time.sleep(10.0)
        os.kill(first.pid, signal.SIGCONT)
        time.sleep(3.0)
        os.kill(first.pid, signal.SIGKILL)  # a 10 s loss
        first.wait(10)
        time.sleep(10.0)
        second = _source(unique_id, SECOND_START, int(5 * RATE))  # restarted, same source_id
        assert second.stdout.readline().strip() == "publishing"
        assert wait_until(lambda: bool(got) and got[-1].end_index > 0, 10.0)
        assert recorder.wait(40) == 0, recorder.stderr.read()
    finally:
        for proc in (first, second, recorder):
            if proc is not None and proc.poll() is None:
                proc.kill()
        if session is not None:
            session.stop()
    report = json.loads((tmp_path / "r.json").read_text())
    rec = load_session(tmp_path / "s")
    index = rec.data[0].astype(np.int64)
    before = index[index < SECOND_START]
    after = index[index >= SECOND_START]
    # every sample the first source sent until it was killed, and all of the second's, in order
    np.testing.assert_array_equal(before, np.arange(len(before)))
    np.testing.assert_array_equal(after, SECOND_START + np.arange(int(5 * RATE)))
    assert len(before) >= 14 * RATE  # 3 s + the 10 s stall's backlog + 3 s, roughly
    assert report["reattached"] == 1 and report["n_gaps"] == 1
    assert [a for a in to_recording(rec).annotations if a[2] == "BAD_ACQ_SKIP"]
    worker = session.snapshot().worker
    late = [p for p in got if p.t_out - p.t_last > DEADLINE_S + 0.25]
    assert not late, f"{len(late)} predictions decoded late"
    assert worker.dropped_stale >= 1
    assert worker.n_predictions + worker.dropped + worker.n_faults == worker.n_windows
    print(
        f"\nrecorded {len(before)} + {len(after)} samples, gaps {report['n_gaps']}; decoder: "
        f"{worker.n_windows} windows = {worker.n_predictions} predictions + "
        f"{worker.dropped_skipped} skipped + {worker.dropped_stale} stale + "
        f"{worker.dropped_invalid} invalid + {worker.n_faults} faults"
    )
