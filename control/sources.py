"""Sources the dashboard starts: a replay of recordings or the simulator, each a child process.

The child is the ``neurodeck replay`` / ``neurodeck simulate`` command itself, started by
:mod:`neurodeck.control.children`; its error message (bad file, unknown format) is read back from
its log and shown to the user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from neurodeck.common.types import ConfigError, RecordingError
from neurodeck.control.children import Child, child_log, replay_args, simulate_args, spawn
from neurodeck.control.snapshot import ReplayOptions, SourceView
from neurodeck.streaming.recording_io import (
    SUPPORTED_EXTENSIONS,
    check_recording,
    is_xdf_path,
    load_recording,
)


def is_replayable(path: Path) -> bool:
    """True when ``path`` looks like a recording ``neurodeck replay`` can read."""
    name = path.name.lower()
    return path.is_file() and any(name.endswith(s) for s in SUPPORTED_EXTENSIONS)


@dataclass
class ChildSource(Child):
    """A running ``neurodeck replay`` or ``neurodeck simulate`` child: what it publishes.

    Parameters
    ----------
    kind : str
        ``replay`` or ``simulator``, for messages.
    label : str
        What it publishes, in words.
    stream_name : str
        Name of its EEG stream (its markers are on ``<stream_name>-markers``).
    speed : float
    """

    kind: str = "replay"
    label: str = ""
    stream_name: str = ""
    speed: float = 1.0

    def failure(self) -> str | None:
        """The child's error message when it exited with an error, else None."""
        detail = super().failure()
        return None if detail is None else f"The {self.kind} stopped: {detail}"

    def view(self) -> SourceView:
        """What the dashboard shows about it."""
        return SourceView(
            self.kind, self.label, self.stream_name, self.speed, self.running, self.failure() or ""
        )


#: Files up to this size are read whole before a replay replaces the running source, so that a
#: recording without signal (flat, NaN) is refused while the old source still runs; larger ones
#: are checked from their header only (reading them would hold the command thread for seconds).
FULL_CHECK_BYTES = 200 * 2**20


#: Replay options of a plain replay: cut files and ambiguous XDF files are refused.
PLAIN_REPLAY = ReplayOptions()


def check_replay(paths: list[Path], speed: float, options: ReplayOptions = PLAIN_REPLAY) -> None:
    """Check a replay before anything is stopped for it: the speed, then each file's header.

    Raises
    ------
    RecordingError
        No file, or a file that is missing, of a format that cannot be replayed, or whose
        header cannot be read (corrupt, truncated, no samples).
    ConfigError
        The speed is out of range.
    """
    if not paths:
        raise RecordingError("No recording was given to replay.", "Open an EDF, BDF or FIF file.")
    if not 0 < speed <= 1000:
        raise ConfigError(f"Replay speed must be > 0 and <= 1000; got {speed}.")
    for path in paths:
        xdf_stream = options.xdf_stream if is_xdf_path(path) else None
        if path.is_file() and path.stat().st_size <= FULL_CHECK_BYTES:  # flat or NaN too
            load_recording(path, allow_truncated=options.allow_truncated, xdf_stream=xdf_stream)
        else:
            check_recording(path, options.allow_truncated, xdf_stream)


def start_replay(
    paths: list[Path],
    speed: float,
    loop: bool,
    log_dir: Path,
    options: ReplayOptions = PLAIN_REPLAY,
) -> ChildSource:
    """Replay ``paths`` on LSL in a child process (checked with :func:`check_replay` first).

    Raises
    ------
    RecordingError
        A file is missing, of a format that cannot be replayed, or unreadable.
    ConfigError
        The speed is out of range.
    """
    check_replay(paths, speed, options)
    name = f"neurodeck-replay-{uuid.uuid4().hex[:6]}"
    xdf_stream = options.xdf_stream if any(map(is_xdf_path, paths)) else None
    args = replay_args(
        [p.resolve() for p in paths],
        speed=speed,
        name=name,
        loop=loop,
        allow_truncated=options.allow_truncated,
        xdf_stream=xdf_stream,
    )
    child = spawn(args, log=child_log(name, log_dir))
    label = ", ".join(p.name for p in paths) + (" (loop)" if loop else "")
    return ChildSource(child.command, child.proc, child.log, "replay", label, name, speed)


def start_simulator(n_channels: int, sfreq: float, log_dir: Path, seed: int = 0) -> ChildSource:
    """Publish the built-in synthetic headset in a child process."""
    name = f"neurodeck-sim-{uuid.uuid4().hex[:6]}"
    args = simulate_args(name=name, channels=n_channels, sfreq=sfreq, seed=seed)
    child = spawn(args, log=child_log(name, log_dir))
    label = f"simulator, {n_channels} ch at {sfreq:g} Hz"
    return ChildSource(child.command, child.proc, child.log, "simulator", label, name, 1.0)
