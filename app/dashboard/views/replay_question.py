"""The dialog a replay asks before it starts: replay a file cut short? which XDF stream?

The core refuses such a replay with a :class:`~neurodeck.control.snapshot.ReplayQuestion` (the
running source stays connected); the answer is given by replaying again with the choice, as the
command line's ``--allow-truncated`` and ``--xdf-stream`` do.
"""

from __future__ import annotations

from typing import Any

from neurodeck.control.snapshot import ReplayQuestion
from PyQt6.QtWidgets import QInputDialog, QMessageBox, QWidget


def ask_replay_question(parent: QWidget, question: ReplayQuestion) -> dict[str, Any] | None:
    """Ask ``question`` in a modal dialog; the replay options chosen, or None when declined.

    Returns
    -------
    dict or None
        ``allow_truncated`` and ``xdf_stream`` for ``core.replay``, including the answers given
        to earlier questions of the same replay.
    """
    options: dict[str, Any] = {
        "allow_truncated": question.allow_truncated,
        "xdf_stream": question.xdf_stream,
    }
    if question.kind == "truncated":
        answer = QMessageBox.question(
            parent,
            "Recording cut short",
            f"{question.problem}\n\nReplay the part it holds? (The running source is kept "
            "if you say No.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        options["allow_truncated"] = True
        return options
    if question.kind == "xdf_stream" and question.choices:
        name, ok = QInputDialog.getItem(
            parent,
            "Choose the EEG stream",
            "This XDF file holds several signal streams; replay which one?",
            list(question.choices),
            0,
            False,
        )
        if not ok or not name:
            return None
        options["xdf_stream"] = name
        return options
    return None
