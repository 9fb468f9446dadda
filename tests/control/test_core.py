"""The dashboard core on loopback LSL: connect, scope data, spectra, replay, decode, calibrate."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest
from neurodeck.control.settings import DecodeSettings

from tests.conftest import REPO
from tests.control.conftest import wait_for

pytestmark = pytest.mark.lsl


def _connect(core, name: str):
    core.refresh_streams()
    snap = wait_for(core, lambda s: any(r.name == name for r in s.streams))
    row = next(r for r in snap.streams if r.name == name)
    core.connect(row.key)
    return wait_for(core, lambda s: s.signal is not None and s.signal.raw.shape[1] > 160)


def test_connect_shows_signal_spectrum_and_health(make_core, simulator, unique_id) -> None:
    core = make_core()
    snap = _connect(core, unique_id)
    sig = snap.signal
    assert snap.connection == "connected" and snap.stream.name == unique_id
    assert sig.channel_names == simulator.meta.channel_names and sig.sfreq == 160.0
    assert sig.raw.shape == sig.filtered.shape and sig.raw.shape[0] == 16
    assert sig.raw.dtype == np.float32 and np.isfinite(sig.raw).all()
    assert 1.0 < float(sig.raw.std()) < 500.0  # microvolts, not volts
    assert "band-pass" in sig.filter_label and "50 Hz notch" in sig.filter_label
    # the filtered view removes the offset the raw one keeps: its mean is near zero
    assert abs(float(sig.filtered[:, -80:].mean())) < abs(float(sig.raw.mean())) + 1.0
    snap = wait_for(core, lambda s: s.spectrum is not None and s.health.rate_hz > 0, 10.0)
    assert len(snap.spectrum.quality) == 16 and snap.spectrum.band_names[2] == "alpha"
    assert snap.spectrum.scalp_maps, "16 standard channels have positions"
    later = wait_for(core, lambda s: s.signal.n_written > sig.n_written + 160)
    assert later.health.state == "streaming" and later.health.lost_samples == 0
    assert later.health.rate_hz == pytest.approx(160.0, rel=0.25)
    assert later.signal.t_end > sig.t_end
    core.disconnect()
    snap = wait_for(core, lambda s: s.connection == "disconnected")
    assert snap.signal is None and snap.health is None and "disconnected" in snap.status


def test_a_marker_stream_is_refused_with_a_reason(make_core, simulator, unique_id) -> None:
    core = make_core()
    core.refresh_streams()
    snap = wait_for(core, lambda s: any(r.name == f"{unique_id}-markers" for r in s.streams))
    marker = next(r for r in snap.streams if r.name == f"{unique_id}-markers")
    core.connect(marker.key)
    snap = wait_for(core, lambda s: s.errors)
    assert "marker stream" in snap.errors[-1] and "EEG stream" in snap.errors[-1]
    assert snap.connection == "disconnected"
    core.dismiss_errors()
    assert core.snapshot().errors == ()


def test_bad_recordings_say_what_is_wrong(make_core, tmp_path: Path) -> None:
    core = make_core()
    text = tmp_path / "notes.txt"
    text.write_text("not EEG")
    core.replay([text])
    snap = wait_for(core, lambda s: s.errors)
    assert "Unsupported recording format" in snap.errors[-1] and ".edf" in snap.errors[-1]
    broken = tmp_path / "broken.edf"
    broken.write_bytes(b"0" * 300)
    core.replay([broken])
    snap = wait_for(core, lambda s: len(s.errors) >= 2, 30.0)
    assert "Could not read" in snap.errors[-1] and "broken.edf" in snap.errors[-1]
    assert snap.connection == "disconnected"
    core.load_model(tmp_path)
    snap = wait_for(core, lambda s: len(s.errors) >= 3)
    assert "No stream is connected" in snap.errors[-1]


@pytest.mark.slow
@pytest.mark.data
def test_replay_decodes_live_with_true_cues_and_an_outlet(make_core, eegbci_profile) -> None:
    from neurodeck.streaming.lsl_io import resolve_stream
    from neurodeck.streaming.recording_io import eegbci_run_files

    from tests.conftest import SHARED_DATA

    core = make_core(decode=DecodeSettings(hop_s=0.5))  # as settings.toml's [decode] says
    run12 = eegbci_run_files(SHARED_DATA, 1, [12])
    core.replay(run12, speed=4.0)
    snap = wait_for(core, lambda s: s.signal is not None, 30.0)
    assert snap.source.kind == "replay" and snap.source.running and snap.stream.sfreq == 160
    core.load_model(eegbci_profile, decoder="reference")
    snap = wait_for(core, lambda s: s.decoding is not None and len(s.decoding.times) >= 12, 30.0)
    dec = snap.decoding
    assert dec.class_names == ("left", "right") and "reference" in dec.decoder
    np.testing.assert_allclose(dec.probabilities.sum(1), 1.0, atol=1e-5)
    assert np.all(np.diff(dec.times) > 0) and dec.smoothed.sum() == pytest.approx(1.0)
    assert dec.feedback == pytest.approx(dec.smoothed[1] - dec.smoothed[0])
    # the [decode] hop: one window per 0.5 s of signal, 0.125 s apart at x4 (default: 0.0625)
    assert np.median(np.diff(dec.times)) == pytest.approx(0.125, abs=0.02)
    snap = wait_for(core, lambda s: len(s.decoding.cues) >= 2, 30.0)
    assert {c.label for c in snap.decoding.cues} <= {"left", "right"}
    assert all(c.t_end - c.t_start == pytest.approx(1.0) for c in snap.decoding.cues)  # 4 s / x4
    health = snap.health
    assert health.decoding and health.predictions > 0 and health.lost_samples == 0
    assert health.e2e_p99_ms is not None and health.device == "cpu"
    assert health.runner == "cpu fp32, 1 thread"  # precision, graphs, threads
    out = resolve_stream(name="neurodeck-predictions", timeout_s=5.0)
    assert out.channel_count() == 2 and out.type() == "Predictions"
    core.stop_decoding()
    snap = wait_for(core, lambda s: s.decoding is None)
    assert snap.signal is not None  # still connected
    core.stop_source()
    wait_for(core, lambda s: s.source is None and s.connection == "disconnected")


SHORT = 'base = "mi-lr"\ntrials_per_class = 6\n'


@pytest.mark.slow
@pytest.mark.parametrize("simulator", [(8, 20.0)], indirect=True)
def test_calibration_from_the_dashboard(make_core, simulator, unique_id, tmp_path) -> None:
    from neurodeck.calibration.profile import load_profile
    from neurodeck.streaming.recorded_session import load_session

    from tests.calibration.synthetic import save_tiny_encoder

    paradigm = tmp_path / "short.toml"
    paradigm.write_text(SHORT)
    encoder = save_tiny_encoder(tmp_path / "enc.safetensors")
    core = make_core(cue_speed=20.0, cv_folds=2, encoder=encoder)
    _connect(core, unique_id)
    out = tmp_path / "profile"
    core.start_calibration(str(paradigm), out)
    seen: set[str] = set()

    def cues_seen(s) -> bool:
        if s.calibration.cue:
            seen.add(s.calibration.cue)
        return s.calibration.phase in ("fitting", "done", "failed")

    snap = wait_for(core, cues_seen, 60.0)
    assert {"fixation", "cue_left", "cue_right", "rest"} <= seen
    assert snap.calibration.n_trials == 12 and snap.calibration.paradigm == "mi-lr"
    snap = wait_for(core, lambda s: s.calibration.phase in ("done", "failed"), 120.0)
    cal = snap.calibration
    assert cal.phase == "done", cal.message
    assert cal.trial == 12 and cal.fit_fraction == 1.0 and cal.fit_lines
    assert sum(cal.report["trials"].values()) == 12 and cal.report["cv"]["folds"] == 2
    assert cal.profile_path == str(out) and load_profile(out).class_names == ("left", "right")
    session = load_session(out / "recording")
    assert session.complete and session.markers[-1].label == "calib_end"
    core.use_profile()
    snap = wait_for(core, lambda s: s.decoding is not None and len(s.decoding.times) > 3, 30.0)
    assert snap.decoding.class_names == ("left", "right")


@pytest.mark.slow
@pytest.mark.parametrize("simulator", [(8, 5.0)], indirect=True)
def test_aborting_a_calibration_keeps_the_recording(make_core, simulator, unique_id, tmp_path):
    from neurodeck.streaming.recorded_session import load_session

    paradigm = tmp_path / "short.toml"
    paradigm.write_text(SHORT)
    core = make_core(cue_speed=5.0)
    _connect(core, unique_id)
    core.start_calibration(str(paradigm), tmp_path / "p")
    wait_for(core, lambda s: s.calibration.cue is not None and s.calibration.cue.startswith("cue_"))
    core.pause_calibration()
    snap = wait_for(core, lambda s: s.calibration.phase == "paused")
    core.abort_calibration()
    snap = wait_for(core, lambda s: s.calibration.phase == "aborted")
    # a few trials only: kept, and what a fit needs (not a command the fitting would refuse)
    assert "kept" in snap.calibration.message and "at least 5 trials" in snap.calibration.message
    session = load_session(snap.calibration.recording_path)
    labels = [m.label for m in session.markers]
    assert labels[0] == "calib_start" and "calib_abort" in labels
    assert session.n_samples > 0
    # a second calibration can start after an abort
    core.start_calibration(str(paradigm), tmp_path / "p2")
    wait_for(core, lambda s: s.calibration.phase == "cues")
    core.abort_calibration()
    wait_for(core, lambda s: s.calibration.phase == "aborted")


def test_a_stalled_stream_shows_as_a_status_not_a_freeze(make_core, unique_id) -> None:
    from tests.lsl_helpers import IndexedOutlet

    names = ["Fz", "C3", "Cz", "C4", "Pz", "O1", "Oz", "O2"]
    outlet = IndexedOutlet(unique_id, 8, 250.0, 500, channel_names=names).start()
    try:
        core = make_core()
        _connect(core, unique_id)
        outlet.stop()  # the headset goes quiet; its outlet stays
        t0 = time.monotonic()
        snap = wait_for(core, lambda s: s.connection == "stalled", 10.0)
        assert time.monotonic() - t0 < 5.0
        assert snap.health.state == "stalled" and "No samples" in snap.health.message
        assert "re-attaches" in snap.health.message
        assert snap.health.rate_hz == 0.0
        assert snap.signal is not None  # what was received stays on screen
    finally:
        outlet.close()


@pytest.mark.slow
@pytest.mark.data
def test_calibration_on_a_replays_own_markers(make_core, tmp_path, data_root) -> None:
    """EEGBCI runs 4+8 replayed at x10: trials from their T1/T2 markers, fitted, then decoded."""
    from neurodeck.control.snapshot import FROM_MARKERS
    from neurodeck.streaming.recording_io import eegbci_run_files

    from tests.calibration.synthetic import save_tiny_encoder

    encoder = save_tiny_encoder(tmp_path / "enc.safetensors")
    core = make_core(cv_folds=0, encoder=encoder, stream_trials=12)
    core.replay(eegbci_run_files(data_root, 1, [4, 8]), speed=10.0)
    wait_for(core, lambda s: s.signal is not None, 30.0)
    core.start_calibration(FROM_MARKERS, tmp_path / "p")
    snap = wait_for(core, lambda s: s.calibration.cue in ("cue_left", "cue_right"), 30.0)
    assert snap.calibration.paradigm == FROM_MARKERS and snap.calibration.n_trials == 12
    snap = wait_for(core, lambda s: s.calibration.phase in ("done", "failed", "aborted"), 120.0)
    cal = snap.calibration
    assert cal.phase == "done", cal.message
    assert set(cal.report["trials"]) == {"left", "right"}
    assert sum(cal.report["trials"].values()) >= 11  # 12 cues; an edge trial may be dropped
    core.use_profile()
    wait_for(core, lambda s: s.decoding is not None and s.decoding.class_names == ("left", "right"))


def test_marker_calibration_needs_a_marker_stream(make_core, unique_id) -> None:
    from neurodeck.control.snapshot import FROM_MARKERS

    from tests.lsl_helpers import IndexedOutlet

    outlet = IndexedOutlet(unique_id, 4, 250.0, 5000, channel_names=["C3", "Cz", "C4", "Pz"])
    outlet.start()
    try:
        core = make_core()
        _connect(core, unique_id)
        core.start_calibration(FROM_MARKERS)
        snap = wait_for(core, lambda s: s.errors)
        assert "no marker stream" in snap.errors[-1] and "Choose a paradigm" in snap.errors[-1]
        assert snap.calibration.phase == "idle"
    finally:
        outlet.close()


def test_the_health_dock_shows_why_a_stream_that_came_back_was_refused() -> None:
    """A source back with another layout: its message, not the generic 'no samples' one."""
    from types import SimpleNamespace

    from neurodeck.common.types import StreamMeta
    from neurodeck.control.connection import Connection
    from neurodeck.streaming.acquisition import AcquisitionStatus

    meta = StreamMeta("amp", "EEG", "amp-1", "lab-pc", ("C3", "Cz", "C4"), ("uV",) * 3, 200.0)
    refused = (
        "Stream 'amp' (source_id 'amp-1') came back with another layout: 5 ch at 200 Hz "
        "instead of 3 ch at 200 Hz; not re-attached. Reconnect to use it"
    )
    counters = dict(n_samples=200, lost_samples=0, n_gaps=0, overruns=0, n_nonfinite=0,
                    n_stalls=1, cpu_s=0.1, wall_s=5.0, clock_offset_s=0.0)  # fmt: skip
    conn = SimpleNamespace(meta=meta)
    status = AcquisitionStatus("stalled", 0.0, **counters, message=refused, layout_refused=True)
    health = Connection.health(conn, status, None, 1.5)
    assert health.message == refused and health.rate_hz == 0.0 and health.state == "stalled"
    silent = AcquisitionStatus("stalled", 0.0, **counters, message="")
    assert "No samples" in Connection.health(conn, silent, None, 1.5).message


@pytest.mark.slow
def test_calibration_starts_on_a_stream_that_came_back(make_core, unique_id, tmp_path) -> None:
    """A headset that drops out and returns (same source, same layout): calibration records.

    The core re-attached to the new instance; the calibration must open that one, not the
    instance of the first connection (which liblsl reports as lost).
    """
    from neurodeck.streaming.recorded_session import load_session

    from tests.lsl_helpers import IndexedOutlet

    names = ["C3", "Cz", "C4", "Pz"]
    first = IndexedOutlet(unique_id, 4, 250.0, 10**6, channel_names=names).start()
    second = None
    try:
        core = make_core(cue_speed=20.0)
        _connect(core, unique_id)
        first.close()  # the headset drops out...
        wait_for(core, lambda s: s.connection in ("stalled", "lost"), 10.0)
        second = IndexedOutlet(unique_id, 4, 250.0, 10**6, channel_names=names).start()
        n0 = core.snapshot().signal.n_written  # ...and comes back: re-attached, samples again
        wait_for(core, lambda s: s.connection == "connected" and s.signal.n_written > n0 + 250)
        paradigm = tmp_path / "short.toml"
        paradigm.write_text(SHORT)
        core.start_calibration(str(paradigm), tmp_path / "p")
        snap = wait_for(core, lambda s: s.calibration.phase in ("cues", "failed"), 15.0)
        assert snap.calibration.phase == "cues", snap.calibration.message
        core.abort_calibration()
        snap = wait_for(core, lambda s: s.calibration.phase in ("aborted", "failed"), 15.0)
        assert snap.calibration.phase == "aborted", snap.calibration.message
        assert load_session(snap.calibration.recording_path).n_samples > 0
    finally:
        for outlet in (first, second):
            if outlet is not None and hasattr(outlet, "outlet"):
                outlet.close()


# -- the status line and the messages say the current state (issue 18, item 9) ---------------
@pytest.fixture
def connected(make_core, unique_id, tmp_path):
    """``(core, outlet)``: a real core connected to a 4-channel outlet (cue speed x5)."""
    from tests.lsl_helpers import IndexedOutlet

    names = ["C3", "Cz", "C4", "Pz"]
    outlet = IndexedOutlet(unique_id, 4, 250.0, 10**6, channel_names=names).start()
    try:
        core = make_core(cue_speed=5.0)
        _connect(core, unique_id)
        (tmp_path / "short.toml").write_text(SHORT)
        yield core, outlet
    finally:
        outlet.close()


def test_the_status_line_leaves_recording_into_when_the_calibration_ends(
    connected, tmp_path, monkeypatch
) -> None:
    import neurodeck.calibration.live as live

    core, outlet = connected
    core.start_calibration(str(tmp_path / "short.toml"), tmp_path / "p")
    snap = wait_for(core, lambda s: s.calibration.phase == "cues")
    assert "recording into" in snap.status
    core.abort_calibration()  # aborted: the status says so
    snap = wait_for(core, lambda s: s.calibration.phase == "aborted")
    assert "recording into" not in snap.status and "aborted" in snap.status
    monkeypatch.setattr(live, "FIRST_SAMPLE_TIMEOUT_S", 0.3)
    outlet.pause()  # failed: the stream sends nothing
    core.start_calibration(str(tmp_path / "short.toml"), tmp_path / "p2")
    snap = wait_for(core, lambda s: s.calibration.phase == "failed", 15.0)
    assert "recording into" not in snap.status
    outlet.resume()  # the stall ends: the failure is what the status line says
    snap = wait_for(core, lambda s: s.connection == "connected", 10.0)
    assert snap.status.startswith("calibration failed") and "sends no samples" in snap.status


def test_the_status_line_says_how_long_a_stream_has_been_stalled(connected) -> None:
    core, outlet = connected
    assert core.snapshot().status.startswith("connected to")
    outlet.pause()
    snap = wait_for(core, lambda s: s.connection == "stalled", 10.0)
    assert "connected" not in snap.status and "stalled" in snap.status
    assert re.search(r"no samples for \d+ s", snap.status), snap.status
    outlet.resume()
    snap = wait_for(core, lambda s: s.connection == "connected", 10.0)
    assert snap.status.startswith("connected to")


def test_paths_are_shown_absolute(connected, tmp_path, monkeypatch) -> None:
    core, _ = connected
    monkeypatch.chdir(tmp_path)
    core.start_calibration("short.toml", Path("rel") / "p")  # both relative to the start folder
    snap = wait_for(core, lambda s: s.calibration.phase == "cues")
    recording = tmp_path / "rel" / "p" / "recording"
    assert f"recording into {recording}" in snap.status
    core.abort_calibration()
    snap = wait_for(core, lambda s: s.calibration.phase == "aborted")
    assert snap.calibration.recording_path == str(recording)
    assert str(recording) in snap.calibration.message


def test_an_abort_with_too_few_trials_says_what_is_needed(connected, tmp_path, capfd) -> None:
    """No "fit it later" advice that the fitting would refuse: what is missing instead.

    And no liblsl "ERR|" line in the terminal: the cue view's inlet closes before the cues do.
    """
    core, _ = connected
    core.start_calibration(str(tmp_path / "short.toml"), tmp_path / "p")
    wait_for(core, lambda s: s.calibration.phase == "cues")
    core.abort_calibration()
    snap = wait_for(core, lambda s: s.calibration.phase == "aborted")
    message = snap.calibration.message
    assert "fit it later" not in message and "neurodeck calibrate" not in message
    assert "kept in" in message and "at least 5 trials per class" in message
    time.sleep(0.7)  # liblsl's receiver thread logs within half a second
    assert "ERR|" not in capfd.readouterr().err


CLOSE_SCRIPT = """
import sys, time
from pathlib import Path
from neurodeck.control.core import DashboardCore
from neurodeck.control.settings import CoreSettings
core = DashboardCore(CoreSettings(out_dir=Path(sys.argv[1])), resolve_s=0.5)
core.simulate(8, 250.0)
deadline = time.monotonic() + 60
while core.snapshot().signal is None and time.monotonic() < deadline:
    time.sleep(0.05)
assert core.snapshot().signal is not None, core.snapshot().errors
time.sleep(0.5)
core.close()
print("closed", flush=True)
"""


@pytest.mark.slow
def test_a_normal_close_prints_no_liblsl_errors(tmp_path) -> None:
    """Closing the dashboard with its simulator running: no "ERR|" line of liblsl in stderr.

    The child must be stopped while the inlets are closed in order, not killed underneath them
    (a child started on the command thread is sent SIGTERM when that thread ends).
    """
    import os
    import subprocess
    import sys

    env = {**os.environ, "LSLAPICFG": str(REPO / "streaming" / "lsl_machine.cfg")}
    proc = subprocess.run(
        [sys.executable, "-c", CLOSE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0 and "closed" in proc.stdout, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "ERR|" in line]
    assert errors == []
