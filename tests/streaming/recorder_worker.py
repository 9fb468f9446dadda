"""Subprocess for the SIGKILL test: record an EEG stream and a marker stream until killed.

Run as ``python -m tests.streaming.recorder_worker EEG_ID MARKER_ID OUT_DIR`` from the repository
root, with the test's environment (``LSLAPICFG`` keeps LSL on this machine).
"""

from __future__ import annotations

import sys
import time

from neurodeck.streaming.lsl_env import use_machine_scope

use_machine_scope()  # keeps the LSLAPICFG inherited from the test process

from neurodeck.streaming.lsl_io import resolve_stream  # noqa: E402
from neurodeck.streaming.recorder import SessionRecorder  # noqa: E402


def main(eeg_id: str, marker_id: str, out_dir: str) -> None:
    """Record until the process is killed (it never stops by itself)."""
    eeg = resolve_stream(source_id=eeg_id, timeout_s=10.0)
    markers = resolve_stream(source_id=marker_id, timeout_s=10.0)
    SessionRecorder(eeg, out_dir, [markers]).start()
    print("recording", flush=True)
    while True:
        time.sleep(1.0)


if __name__ == "__main__":
    main(*sys.argv[1:4])
