"""Sources the dashboard starts: a replay of recordings or the simulator, each a child process.

A child process keeps the publisher's pacing independent of the dashboard's GIL, exactly as a
headset driver would be, and a crash of either side cannot take the other down. The child is the
``neurodeck replay`` / ``neurodeck simulate`` command itself; its error message (bad file,
unknown format) is read back from its log and shown to the user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from neurodeck.app.dashboard.snapshot import SourceView
from neurodeck.common.types import ConfigError, RecordingError
from neurodeck.streaming.recording_io import SUPPORTED_EXTENSIONS, check_recording_path


def repo_root() -> Path:
    """The checkout holding the ``app`` package (the child's working directory)."""
    return Path(__file__).resolve().parents[2]


def is_replayable(path: Path) -> bool:
    """True when ``path`` looks like a recording ``neurodeck replay`` can read."""
    name = path.name.lower()
    return path.is_file() and any(name.endswith(s) for s in SUPPORTED_EXTENSIONS)


@dataclass
class ChildSource:
    """A running ``neurodeck replay`` or ``neurodeck simulate`` child process.

    Parameters
    ----------
    kind : str
        ``replay`` or ``simulator``.
    label : str
        What it publishes, in words.
    stream_name : str
        Name of its EEG stream (its markers are on ``<stream_name>-markers``).
    speed : float
    proc : subprocess.Popen
    log : Path
        Its stderr.
    """

    kind: str
    label: str
    stream_name: str
    speed: float
    proc: subprocess.Popen
    log: Path

    @property
    def running(self) -> bool:
        """True while the child lives."""
        return self.proc.poll() is None

    def failure(self) -> str | None:
        """The child's error message when it exited with an error, else None."""
        code = self.proc.poll()
        if code is None or code == 0 or code < 0:
            return None
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.is_file() else ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "ERR|" not in ln]
        detail = " ".join(lines[-3:]) or f"exit code {code}"
        return f"The {self.kind} stopped: {detail}"

    def view(self) -> SourceView:
        """What the dashboard shows about it."""
        return SourceView(
            self.kind, self.label, self.stream_name, self.speed, self.running, self.failure() or ""
        )

    def stop(self, timeout_s: float = 3.0) -> None:
        """Terminate the child (idempotent)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "neurodeck", *args],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        stdin=subprocess.DEVNULL,
        cwd=repo_root(),
        # the child ends itself when this process dies (app.cli.die_with_parent)
        env={**os.environ, "NEURODECK_PARENT_PID": str(os.getpid())},
    )


def start_replay(paths: list[Path], speed: float, loop: bool, log_dir: Path) -> ChildSource:
    """Replay ``paths`` on LSL in a child process (checked here first, with clear errors).

    Raises
    ------
    RecordingError
        A file is missing or of a format that cannot be replayed.
    ConfigError
        The speed is out of range.
    """
    if not paths:
        raise RecordingError("No recording was given to replay.", "Open an EDF, BDF or FIF file.")
    if not 0 < speed <= 1000:
        raise ConfigError(f"Replay speed must be > 0 and <= 1000; got {speed}.")
    for path in paths:
        check_recording_path(path)
    name = f"neurodeck-replay-{uuid.uuid4().hex[:6]}"
    args = ["replay", *map(str, paths), "--speed", f"{speed:g}", "--name", name]
    args += ["--source-id", f"{name}-eeg", "--wait-for-consumer", "30"]
    if loop:
        args.append("--loop")
    label = ", ".join(p.name for p in paths) + (" (loop)" if loop else "")
    return ChildSource(
        "replay", label, name, speed, _spawn(args, log_dir / f"{name}.log"), log_dir / f"{name}.log"
    )


def start_simulator(n_channels: int, sfreq: float, log_dir: Path, seed: int = 0) -> ChildSource:
    """Publish the built-in synthetic headset in a child process."""
    if not 1 <= n_channels <= 256:
        raise ConfigError(f"Simulator channels must be 1 to 256; got {n_channels}.")
    name = f"neurodeck-sim-{uuid.uuid4().hex[:6]}"
    args = ["simulate", "--name", name, "--channels", str(n_channels), "--sfreq", f"{sfreq:g}"]
    args += ["--seed", str(seed), "--wait-for-consumer", "30"]
    log = log_dir / f"{name}.log"
    label = f"simulator, {n_channels} ch at {sfreq:g} Hz"
    return ChildSource("simulator", label, name, 1.0, _spawn(args, log), log)
