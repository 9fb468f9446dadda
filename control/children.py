"""The one launcher of neurodeck child processes (replay, simulate, calibrate, bench jobs).

A child is ``python -m neurodeck COMMAND ...`` (or another neurodeck module) started with one
contract, whoever starts it (the dashboard, the demo, ``loop``, ``bench``, the benchmarks):

- **it dies with its parent.** The parent passes its pid in ``NEURODECK_PARENT_PID``; the child
  calls :func:`die_with_parent` first thing, which asks the kernel (Linux) for SIGTERM when the
  parent goes, so a looping replay is never left publishing on its own;
- **its stderr is kept** in a log file (or, with ``pipe_output``, merged into the stdout the
  parent reads), so that :meth:`Child.failure` can say why it stopped;
- it inherits the parent's working directory and environment: relative paths in its arguments
  mean what they mean to the parent.

Child processes keep a publisher's pacing independent of the parent's GIL, exactly as a headset
driver would be, and a crash of either side cannot take the other down.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from neurodeck.common.types import ConfigError

PARENT_PID_ENV = "NEURODECK_PARENT_PID"
#: Exit status of a child whose parent died before it could ask to die with it.
EXIT_ORPHANED = 130
#: Seconds a publishing child waits for its first consumer before publishing anyway.
WAIT_FOR_CONSUMER_S = 30.0


def check_speed(speed: float) -> None:
    """Refuse a replay or simulation speed factor outside (0, 1000].

    Raises
    ------
    ConfigError
        Naming the option and the value.
    """
    if not 0 < speed <= 1000:
        raise ConfigError(f"'--speed' must be > 0 and <= 1000; got {speed}.")


@dataclass
class Child:
    """A running neurodeck child process.

    Parameters
    ----------
    command : str
        What it runs, in words (``replay``, ``calibrate``...), for messages.
    proc : subprocess.Popen
    log : Path or None
        The file holding its stderr; None when its output is piped to the parent.
    """

    command: str
    proc: subprocess.Popen
    log: Path | None

    @property
    def running(self) -> bool:
        """True while the child lives."""
        return self.proc.poll() is None

    def failure(self) -> str | None:
        """Why the child stopped, from the last lines of its log; None unless it failed.

        A child ended by a signal (our own :meth:`stop`) or exiting 0 did not fail.
        """
        code = self.proc.poll()
        if code is None or code <= 0:
            return None
        text = ""
        if self.log is not None and self.log.is_file():
            text = self.log.read_text(encoding="utf-8", errors="replace")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "ERR|" not in ln]
        return " ".join(lines[-3:]) or f"exit code {code}"

    def wait(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for the child to end by itself, else stop it; its exit code."""
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            return self.proc.returncode

    def stop(self, timeout_s: float = 3.0) -> None:
        """Terminate the child, then kill it if it lingers (idempotent)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)


def child_log(name: str, folder: Path | None = None) -> Path:
    """A fresh log file path for child ``name`` (in ``folder``, else the temporary folder)."""
    folder = folder or Path(tempfile.gettempdir()) / "neurodeck-children"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.log"


def spawn(
    args: Sequence[str],
    *,
    log: Path | None = None,
    pipe_output: bool = False,
    single_thread: bool = False,
    module: str = "neurodeck",
    command: str | None = None,
) -> Child:
    """Start ``python -m MODULE ARGS`` under the child contract (see the module docstring).

    Parameters
    ----------
    args : sequence of str
        The command line after ``python -m MODULE``.
    log : Path, optional
        Where its stderr goes (default: a fresh file from :func:`child_log`). Ignored with
        ``pipe_output``.
    pipe_output : bool
        Merge stderr into stdout and hand it to the parent as text lines (``child.proc.stdout``).
    single_thread : bool
        One BLAS/OpenMP thread, so that a fitting child leaves the parent's cores alone.
    module : str
        The module to run (a bench job runs ``neurodeck.app.bench_command``).
    command : str, optional
        Its name in messages (default: the first argument).
    """
    args = [str(a) for a in args]
    env = {**os.environ, PARENT_PID_ENV: str(os.getpid())}
    if single_thread:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-m", module, *args]
    name = command or (args[0] if args else module)
    if pipe_output:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=env,
        )
        return Child(name, proc, None)
    log = log or child_log(f"{name}-{uuid.uuid4().hex[:8]}")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as stderr:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL, env=env
        )
    return Child(name, proc, log)


def replay_args(
    paths: Sequence[Path],
    *,
    speed: float,
    name: str,
    source_id: str | None = None,
    loop: bool = False,
    chunk_s: float | None = None,
    markers: bool = True,
    allow_truncated: bool = False,
    xdf_stream: str | None = None,
) -> list[str]:
    """The ``neurodeck replay`` command line that publishes ``paths`` as stream ``name``."""
    check_speed(speed)
    args = ["replay", *map(str, paths), "--speed", f"{speed:g}", "--name", name]
    args += ["--source-id", source_id or f"{name}-eeg"]
    args += ["--wait-for-consumer", f"{WAIT_FOR_CONSUMER_S:g}"]
    if loop:
        args.append("--loop")
    if chunk_s is not None:
        args += ["--chunk-s", f"{chunk_s:g}"]
    if not markers:
        args.append("--no-markers")
    if allow_truncated:
        args.append("--allow-truncated")
    if xdf_stream is not None:
        args += ["--xdf-stream", xdf_stream]
    return args


def simulate_args(
    *,
    name: str,
    channels: int,
    sfreq: float | None = None,
    speed: float = 1.0,
    duration_s: float | None = None,
    seed: int = 0,
) -> list[str]:
    """The ``neurodeck simulate`` command line of the synthetic headset ``name``."""
    check_speed(speed)
    if not 1 <= channels <= 256:
        raise ConfigError(f"Simulator channels must be 1 to 256; got {channels}.")
    args = ["simulate", "--name", name, "--channels", str(channels), "--speed", f"{speed:g}"]
    if sfreq is not None:
        args += ["--sfreq", f"{sfreq:g}"]
    if duration_s is not None:
        args += ["--duration", f"{duration_s:g}"]
    args += ["--seed", str(seed), "--wait-for-consumer", f"{WAIT_FOR_CONSUMER_S:g}"]
    return args


def die_with_parent() -> None:
    """The child's half of the contract: end when the parent dies, even by SIGKILL (Linux).

    A no-op unless the parent set ``NEURODECK_PARENT_PID``; the variable is removed so that the
    child's own children are tied to the child, not to the grandparent.
    """
    parent = os.environ.pop(PARENT_PID_ENV, None)
    if parent is None or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(parent):  # the parent died before the request took effect
        sys.exit(EXIT_ORPHANED)
