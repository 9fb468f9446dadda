"""The core's command queue: one thread runs the dashboard's commands in order.

A command is a closure put on the queue by the GUI thread, which returns at once. Anything slow
(resolving a stream, loading a model, starting a child process) happens on this thread. A
command that fails never kills the core: a :class:`~neurodeck.common.types.NeurodeckError`
becomes a message that says what is wrong and what to do, anything else a logged "unexpected
error".
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from neurodeck.common.types import NeurodeckError

logger = logging.getLogger(__name__)

#: Errors kept for the banner (the newest last).
MAX_ERRORS = 5


class CommandQueue:
    """Runs closures on one thread; keeps the status line and the recent errors.

    Parameters
    ----------
    status : str
        The status line before any command ran.
    name : str
        Name of the thread.
    """

    def __init__(self, status: str, name: str = "core-commands") -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._status: str | Callable[[Any], str] = status
        self._errors: list[str] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], None]) -> None:
        """Queue ``fn`` (ignored once the queue is closed)."""
        if not self._closed.is_set():
            self._queue.put(fn)

    def say(self, status: str | Callable[[Any], str]) -> None:
        """Replace the status line.

        ``status`` may be a function: it makes the line from what :meth:`messages` is given each
        time, so that a line about the current state (a count of streams) stays true.
        """
        with self._lock:
            self._status = status

    def error(self, problem: str, hint: str = "") -> None:
        """Show an error (problem and what to do) and make its problem the status line."""
        text = f"{problem} {hint}".strip()
        logger.warning("%s", text)
        with self._lock:
            self._errors.append(text)
            del self._errors[:-MAX_ERRORS]
            self._status = problem

    def messages(self, context: Any = None) -> tuple[str, tuple[str, ...]]:
        """The status line (a function's is made from ``context``) and the errors not dismissed
        yet."""
        with self._lock:
            status, errors = self._status, tuple(self._errors)
        return (status(context) if callable(status) else status), errors

    def dismiss(self) -> None:
        """Forget the errors shown so far."""
        with self._lock:
            self._errors.clear()

    def close(self, timeout_s: float = 5.0) -> None:
        """Let the queued commands finish (up to ``timeout_s``), then stop the thread."""
        self._closed.set()
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            try:
                fn()
            except NeurodeckError as exc:
                self.error(exc.problem, exc.hint)
            except Exception as exc:  # a command must never kill the core
                logger.exception("dashboard command failed")
                self.error(f"Unexpected error: {exc!r}.", "See the log; please report it.")
