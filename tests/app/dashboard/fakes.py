"""A fake dashboard core for view tests: serves hand-built snapshots and records commands."""

from __future__ import annotations

from typing import Any

from neurodeck.control.snapshot import CalibrationView, CoreSnapshot, empty_snapshot


class FakeCore:
    """Implements :class:`neurodeck.control.snapshot.CoreCommands` without threads, LSL or torch.

    ``snap`` is what :meth:`snapshot` returns (tests assign it); every other call is appended to
    ``calls`` as ``(method_name, args, kwargs)``.
    """

    def __init__(self, snap: CoreSnapshot | None = None) -> None:
        self.snap = snap or empty_snapshot()
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def snapshot(self) -> CoreSnapshot:
        return self.snap

    def called(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """The arguments of every call of ``name``."""
        return [(a, k) for n, a, k in self.calls if n == name]

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return record


def emotion_calibration(cue: str | None, **values: Any) -> CalibrationView:
    """The calibration state of an ``emotion-recall`` session showing ``cue``."""
    from neurodeck.calibration.paradigm import PARADIGMS

    emo = PARADIGMS["emotion-recall"]
    base = dict(phase="cues", paradigm="emotion-recall", class_names=emo.class_names, cue=cue)
    base.update(values)
    return CalibrationView(**base)
