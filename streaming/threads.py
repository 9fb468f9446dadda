"""Shared by the publishing classes: wait for their thread, re-raise its error."""

from __future__ import annotations

import threading


class JoinableThreadOwner:
    """Mixin: the work runs on ``self._thread``; a fault that ended it is kept in ``_error``."""

    _thread: threading.Thread | None
    _error: BaseException | None

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end.

        Returns
        -------
        finished : bool
            False when ``timeout`` ran out first.

        Raises
        ------
        Exception
            The exception that ended the thread, if any.
        """
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        if self._error is not None:
            raise self._error
        return True
