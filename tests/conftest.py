"""Test set-up: machine-scope LSL, offscreen Qt, seeded RNG, shared-data location."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from neurodeck.streaming.lsl_env import use_machine_scope

use_machine_scope(force=True)  # before anything imports pylsl
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NEURODECK_DATA", REPO.parent / "shared" / "data"))
EEGBCI_ROOT = SHARED_DATA


def has_eegbci() -> bool:
    """True when the shared EEGBCI files are present."""
    return (SHARED_DATA / "MNE-eegbci-data" / "files" / "eegmmidb").is_dir()


requires_data = pytest.mark.skipif(
    not has_eegbci(), reason=f"shared EEG data not found at {SHARED_DATA} (set NEURODECK_DATA)"
)


@pytest.fixture
def rng() -> np.random.Generator:
    """Seeded random generator."""
    return np.random.default_rng(1234)


@pytest.fixture
def unique_id() -> str:
    """A unique LSL source_id / name suffix for one test."""
    return f"ndtest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def data_root() -> Path:
    """Root of the shared data (skips the test when absent)."""
    if not has_eegbci():
        pytest.skip(f"shared EEG data not found at {SHARED_DATA} (set NEURODECK_DATA)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _torch_one_thread_seeded():
    """One torch thread and a fixed seed in every test.

    Tiny test models gain nothing from threads and stall on a busy 2-core CI machine; a fixed
    seed makes every model test reproducible.
    """
    import torch

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(n_threads)
