"""The dialog a replay asks before it starts: replay a file cut short? which XDF stream?

The core refuses such a replay with a :class:`~neurodeck.control.snapshot.ReplayQuestion` (the
running source stays connected); the answer is given by replaying again with the choice, as the
command line's ``--allow-truncated`` and ``--xdf-stream`` do.
"""

from __future__ import annotations

from dataclasses import replace

from neurodeck.control.snapshot import ReplayOptions, ReplayQuestion
from PyQt6.QtWidgets import QInputDialog, QMessageBox, QWidget


def ask_replay_question(parent: QWidget, question: ReplayQuestion) -> ReplayOptions | None:
    """Ask ``question`` in a modal dialog; the replay options chosen, or None when declined.

    Returns
    -------
    ReplayOptions or None
        The options for ``core.replay``, including the answers given to earlier questions of
        the same replay.
    """
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
        return replace(question.options, allow_truncated=True)
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
        return replace(question.options, xdf_stream=name)
    return None
