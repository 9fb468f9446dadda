"""Core test fixtures: the real core on loopback LSL, and a small EEGBCI profile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from neurodeck.control.core import DashboardCore
from neurodeck.control.settings import CoreSettings
from neurodeck.control.snapshot import CoreSnapshot
from neurodeck.streaming.simulator import SimulationConfig, Simulator


def wait_for(
    core: DashboardCore, check: Callable[[CoreSnapshot], object], timeout_s: float = 20.0
) -> CoreSnapshot:
    """Poll snapshots until ``check(snap)`` is truthy; fail with the last snapshot's state."""
    deadline = time.monotonic() + timeout_s
    snap = core.snapshot()
    while time.monotonic() < deadline:
        snap = core.snapshot()
        if check(snap):
            return snap
        time.sleep(0.05)
    pytest.fail(
        f"condition not met in {timeout_s} s: connection={snap.connection} status={snap.status!r} "
        f"errors={snap.errors} calibration={snap.calibration.phase} {snap.calibration.message!r}"
    )


@pytest.fixture
def make_core(tmp_path: Path) -> Iterator[Callable[..., DashboardCore]]:
    """Build real cores writing under ``tmp_path``; all are closed after the test."""
    cores: list[DashboardCore] = []

    def make(**settings) -> DashboardCore:
        core = DashboardCore(CoreSettings(out_dir=tmp_path / "dash", **settings), resolve_s=0.5)
        cores.append(core)
        return core

    yield make
    for core in cores:
        core.close()


@pytest.fixture(scope="session")
def eegbci_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A subject profile of EEGBCI subject 1, fitted on runs 4 and 8 (skips without the data)."""
    from tests.conftest import has_eegbci

    if not has_eegbci():
        pytest.skip("shared EEG data not found (set NEURODECK_DATA)")
    from neurodeck.app.cli import main
    from neurodeck.streaming.recording_io import eegbci_run_files

    from tests.calibration.synthetic import save_tiny_encoder
    from tests.conftest import SHARED_DATA

    root = tmp_path_factory.mktemp("profile")
    runs = eegbci_run_files(SHARED_DATA, 1, [4, 8])
    encoder = save_tiny_encoder(root / "enc.safetensors")
    out = root / "S001"
    code = main(["calibrate", "--recording", *map(str, runs), "--out", str(out),
                 "--model", str(encoder), "--cv-folds", "0", "--epochs", "1"])  # fmt: skip
    assert code == 0
    return out


@pytest.fixture
def simulator(unique_id: str, request) -> Iterator[Simulator]:
    """An in-process simulated headset (parametrise with ``(n_channels, speed)``)."""
    n_channels, speed = getattr(request, "param", (16, 1.0))
    sim = Simulator(
        SimulationConfig(n_channels=n_channels, sfreq=160.0), name=unique_id, speed=speed
    )
    thread = threading.Thread(target=sim.run_blocking, daemon=True)
    thread.start()
    yield sim
    sim.stop()
    thread.join(5)
    sim.close()
