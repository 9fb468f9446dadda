"""The report of a finished calibration: which decoder the profile uses and why, the scores of
every candidate decoder, and the confusion matrix of the chosen one.

:class:`CalibrationReportBox` is the "Report" section of the calibration panel
(:class:`~neurodeck.app.dashboard.views.calibration.CalibrationPanel`); it reads the report
dictionary of :attr:`CalibrationView.report <neurodeck.control.snapshot.CalibrationView>` as
``calibrate_recordings`` writes it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from neurodeck.control.snapshot import CalibrationView
from PyQt6 import QtCore, QtGui, QtWidgets


class CalibrationReportBox(QtWidgets.QGroupBox):
    """The "Report" group box: summary, scores per decoder, confusion matrix, "Use" button.

    Parameters
    ----------
    parent : QWidget, optional

    Attributes
    ----------
    summary : QLabel
        Chosen decoder and why, chance level, trials per class, timings and profile path.
    scores_table : QTableWidget
        One row per decoder (the one in use first, in bold): cross-validated accuracy, margin
        over chance and recall per class.
    confusion_label : QLabel
        Names the decoder of the confusion matrix (or says the report has none).
    confusion_table : QTableWidget
        Counts of the chosen decoder; rows are true classes, columns predicted ones.
    use_button : QPushButton
        "Use this profile"; the calibration panel connects and enables it.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Report", parent)
        self.summary = QtWidgets.QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scores_table = _table()
        header = self.scores_table.verticalHeader()
        if header is not None:
            header.hide()
        self.confusion_label = QtWidgets.QLabel("Confusion")
        self.confusion_table = _table()
        self.use_button = QtWidgets.QPushButton("Use this profile")
        tables = QtWidgets.QHBoxLayout()
        tables.addWidget(self.scores_table, 3)
        confusion = QtWidgets.QVBoxLayout()
        confusion.addWidget(self.confusion_label)
        confusion.addWidget(self.confusion_table)
        tables.addLayout(confusion, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(tables)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.use_button)
        layout.addLayout(row)

    def show_report(self, cal: CalibrationView) -> None:
        """Fill the summary and tables from ``cal.report`` (says so when it cannot be read)."""
        report = cal.report
        if report is None:
            self.summary.setText("No report.")
            self.scores_table.setRowCount(0)
            self.confusion_table.setRowCount(0)
            return
        try:
            self._fill(report, cal)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            self.summary.setText(f"The report could not be read ({exc!r}).")

    def _fill(self, report: Mapping[str, Any], cal: CalibrationView) -> None:
        scores: Mapping[str, Mapping[str, Any]] = report.get("scores", {}) or {}
        chosen = str(report.get("decoder", ""))
        chance = report.get("chance")
        timings = report.get("timings", {}) or {}
        parts = [f"Profile uses: <b>{chosen or '-'}</b>"]
        if chance is not None:
            parts.append(f"chance level {100 * float(chance):.1f} %")
        trials = report.get("trials") or {}
        if trials:
            parts.append("trials " + ", ".join(f"{k} {v}" for k, v in trials.items()))
        if timings.get("ready_s") is not None:
            parts.append(f"profile ready in {float(timings['ready_s']):.1f} s")
        if timings.get("total_s") is not None:
            parts.append(f"total {float(timings['total_s']):.1f} s")
        summary = " &middot; ".join(parts)
        if report.get("decoder_reason"):
            summary += f"<br>Why: {html.escape(str(report['decoder_reason']))}"
        if cal.profile_path:
            summary += f"<br>Profile: {cal.profile_path}"
        self.summary.setText(summary)
        _fill_scores(self.scores_table, scores, chosen, chance)
        confusion = scores.get(chosen, {}).get("confusion")
        if confusion is None:
            self.confusion_label.setText("Confusion: none in the report")
            self.confusion_table.setRowCount(0)
            self.confusion_table.setColumnCount(0)
            return
        names = _class_names(report, scores.get(chosen, {}), cal.class_names, len(confusion))
        self.confusion_label.setText(f"Confusion ({chosen}): rows true, columns predicted")
        _fill_confusion(self.confusion_table, confusion, names)


def table_texts(table: QtWidgets.QTableWidget) -> list[list[str]]:
    """The cells of ``table`` as text, row by row."""
    return [
        [_cell(table, row, col) for col in range(table.columnCount())]
        for row in range(table.rowCount())
    ]


def _fill_scores(
    table: QtWidgets.QTableWidget,
    scores: Mapping[str, Mapping[str, Any]],
    chosen: str,
    chance: float | None,
) -> None:
    headers = ["Decoder", "CV accuracy", "vs chance", "Recall per class"]
    table.clear()
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setRowCount(len(scores))
    ordered = sorted(scores.items(), key=lambda kv: kv[0] != chosen)  # the one in use first
    for row, (name, score) in enumerate(ordered):
        accuracy = score.get("cv_accuracy")
        std = score.get("cv_std")
        acc_text = "-" if accuracy is None else f"{100 * float(accuracy):.1f} %"
        if accuracy is not None and std is not None:
            acc_text += f" ± {100 * float(std):.1f}"
        margin = "-"
        if accuracy is not None and chance is not None:
            margin = f"{100 * (float(accuracy) - float(chance)):+.1f} pts"
        recall = score.get("per_class_recall") or {}
        recall_text = ", ".join(f"{k} {100 * float(v):.0f} %" for k, v in recall.items())
        label = f"{name} (used)" if name == chosen else name
        for col, text in enumerate((label, acc_text, margin, recall_text)):
            item = QtWidgets.QTableWidgetItem(text)
            if name == chosen:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            table.setItem(row, col, item)
    table.resizeColumnsToContents()


def _fill_confusion(
    table: QtWidgets.QTableWidget, confusion: Sequence[Sequence[float]], names: Sequence[str]
) -> None:
    n = len(confusion)
    table.clear()
    table.setRowCount(n)
    table.setColumnCount(n)
    table.setHorizontalHeaderLabels([f"→ {name}" for name in names])
    table.setVerticalHeaderLabels(list(names))
    for i, row in enumerate(confusion):
        total = sum(float(c) for c in row) or 1.0
        for j, count in enumerate(row):
            item = QtWidgets.QTableWidgetItem(f"{int(count)}")
            item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            share = float(count) / total
            hue = 120 if i == j else 0  # green on the diagonal, red off it
            item.setBackground(QtGui.QColor.fromHsv(hue, int(40 + 160 * share), 230))
            item.setForeground(QtGui.QColor(0, 0, 0))
            table.setItem(i, j, item)
    table.resizeColumnsToContents()


def _class_names(
    report: Mapping[str, Any], score: Mapping[str, Any], class_names: Sequence[str], n: int
) -> list[str]:
    """Names of the confusion matrix's rows: the first source that has ``n`` of them."""
    for names in (class_names, score.get("per_class_recall") or {}, report.get("trials") or {}):
        if len(names) == n:
            return [str(name) for name in names]
    return [str(i) for i in range(n)]


def _table() -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget()
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
    return table


def _cell(table: QtWidgets.QTableWidget, row: int, col: int) -> str:
    item = table.item(row, col)
    return "" if item is None else item.text()
