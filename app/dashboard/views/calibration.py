"""The calibration panel: paradigm choice and session controls, the cue display (which can go full
screen), fitting progress and the report of the finished calibration.

:class:`CalibrationPanel` composes the parts that live in their own modules: the cue screen
(:class:`~neurodeck.app.dashboard.views.cue_screen.CueDisplay`, what it draws per marker in
:mod:`neurodeck.app.dashboard.views.cue_kinds`), the self-assessment panel of affective paradigms
(:class:`~neurodeck.app.dashboard.views.rating.SamPanel`, inside the cue screen; its "Submit rating"
calls ``core.rate(valence, arousal)``) and the report
(:class:`~neurodeck.app.dashboard.views.calibration_report.CalibrationReportBox`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neurodeck.app.dashboard.views.calibration_report import CalibrationReportBox, table_texts
from neurodeck.app.dashboard.views.cue_screen import CueDisplay
from neurodeck.calibration.paradigm import PARADIGMS
from neurodeck.common.types import AFFECTIVE
from neurodeck.control.snapshot import (
    FROM_MARKERS,
    CalibrationView,
    CoreCommands,
    CoreSnapshot,
)
from PyQt6 import QtCore, QtWidgets

#: Paradigm presets offered in the combo box, the default first.
PARADIGM_NAMES: tuple[str, ...] = tuple(PARADIGMS)
#: Phases in which a calibration can be started.
START_PHASES = ("idle", "done", "aborted", "failed")
#: Phases in which it can be aborted.
ABORT_PHASES = ("starting", "cues", "paused", "fitting")
#: Lines of the fitting log kept on screen.
FIT_LOG_LINES = 200

RED, AMBER, GREY = "#d62728", "#d98c00", "#888888"


class CalibrationPanel(QtWidgets.QWidget):
    """Run a calibration from the dashboard: controls, cue display, fitting and report.

    Parameters
    ----------
    core : CoreCommands
        Receives ``start_calibration(paradigm)`` (with ``stimuli=folder`` when one is chosen
        for an affective paradigm), ``pause_calibration()``, ``resume_calibration()``,
        ``abort_calibration()``, ``rate(valence, arousal)`` and ``use_profile()``.
    parent : QWidget, optional

    Attributes
    ----------
    paradigm_combo : QComboBox
    start_button, pause_button, abort_button, full_screen_button, use_button : QPushButton
        ``pause_button`` reads "Pause" while cues run and "Resume" while paused.
    stimuli_button : QPushButton
        Chooses a folder of the user's own stimuli (affective paradigms only); cancelling the
        dialog clears it. ``stimuli_folder`` is the choice (None: recall prompts).
    session_bar : QProgressBar
        Elapsed / total seconds of the session (0-1000), with the trial counter in its text.
    phase_label, message_label : QLabel
        The phase, and the latest message (red when the calibration failed).
    cue_display : CueDisplay
    full_screen_display : CueDisplay
        The frameless full-screen window (hidden until :meth:`enter_full_screen`); while paused
        it shows its own Resume and Abort buttons.
    fit_box : QGroupBox
        Shown while fitting: ``fit_bar`` (0-1000, or busy when the fraction is unknown) and
        ``fit_log`` (the last :data:`FIT_LOG_LINES` progress lines).
    report_box : CalibrationReportBox
        Shown when done. Its widgets are also attributes of the panel: ``report_summary``
        (chosen decoder, chance, timings), ``scores_table`` (one row per decoder),
        ``confusion_label``, ``confusion_table`` (counts of the chosen decoder; rows are true
        classes, columns predicted ones) and ``use_button``.

    Notes
    -----
    :meth:`render` is called from the GUI thread about 30 times a second. The main window binds
    F11 to :meth:`enter_full_screen`; Esc or F11 in the full-screen window leaves it.
    """

    def __init__(self, core: CoreCommands, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._phase: str | None = None
        self._report: Mapping[str, Any] | None = None
        self._fit_lines: tuple[str, ...] = ()
        self._last_cal: CalibrationView | None = None
        self._build_controls()
        self._build_fit_box()
        self.report_box = CalibrationReportBox()
        self.report_summary = self.report_box.summary
        self.scores_table = self.report_box.scores_table
        self.confusion_label = self.report_box.confusion_label
        self.confusion_table = self.report_box.confusion_table
        self.use_button = self.report_box.use_button
        self.use_button.clicked.connect(self._on_use)
        self.cue_display = CueDisplay()
        self.full_screen_display = CueDisplay(self, controls=True)  # Resume / Abort when paused
        self.full_screen_display.setWindowFlags(
            QtCore.Qt.WindowType.Window | QtCore.Qt.WindowType.FramelessWindowHint
        )
        self.full_screen_display.set_hide_cursor(True)
        self.full_screen_display.resume_requested.connect(self._core.resume_calibration)
        self.full_screen_display.abort_requested.connect(self._on_abort)
        self.full_screen_display.exit_requested.connect(self.leave_full_screen)
        self.full_screen_display.hide()
        self.full_screen_display.set_muted(True)  # until it is shown
        self.cue_display.rating_submitted.connect(self._on_rate)
        self.full_screen_display.rating_submitted.connect(self._on_rate)
        self._rating_open = False

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._controls)
        layout.addWidget(self.session_bar)
        status = QtWidgets.QHBoxLayout()
        status.addWidget(self.phase_label)
        status.addWidget(self.message_label, 1)
        layout.addLayout(status)
        layout.addWidget(self.cue_display, 3)
        layout.addWidget(self.fit_box, 2)
        layout.addWidget(self.report_box, 3)
        self.render(CoreSnapshot(t=0.0))

    # ----------------------------------------------------------------------------------- build
    def _build_controls(self) -> None:
        self.paradigm_combo = QtWidgets.QComboBox()
        for name in PARADIGM_NAMES:
            self.paradigm_combo.addItem(name)
            self.paradigm_combo.setItemData(
                self.paradigm_combo.count() - 1,
                PARADIGMS[name].summary(),
                QtCore.Qt.ItemDataRole.ToolTipRole,
            )
        self.paradigm_combo.addItem(FROM_MARKERS)
        self.paradigm_combo.setItemData(
            self.paradigm_combo.count() - 1,
            "No cues from neurodeck: the trials come from the stream's own marker stream "
            "(a replay of an EEGBCI run, the simulator, your stimulus program)",
            QtCore.Qt.ItemDataRole.ToolTipRole,
        )
        self.stimuli_folder: Path | None = None
        self.stimuli_button = QtWidgets.QPushButton("Stimuli: recall")
        self.stimuli_button.setToolTip(
            "Affective paradigms: show your own pictures or videos instead of recall prompts. "
            "Choose a folder with one subfolder per class (negative/, neutral/, positive/); "
            "cancel the dialog to go back to recall prompts."
        )
        self.stimuli_button.clicked.connect(self._on_stimuli)
        self.start_button = QtWidgets.QPushButton("Start")
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.abort_button = QtWidgets.QPushButton("Abort")
        self.full_screen_button = QtWidgets.QPushButton("Full screen (F11)")
        self.full_screen_button.setToolTip("Show the cues full screen; Esc leaves")
        self.start_button.clicked.connect(self._on_start)
        self.pause_button.clicked.connect(self._on_pause)
        self.abort_button.clicked.connect(self._on_abort)
        self.full_screen_button.clicked.connect(self.enter_full_screen)
        self._controls = QtWidgets.QHBoxLayout()
        self._controls.addWidget(QtWidgets.QLabel("Paradigm:"))
        for widget in (
            self.paradigm_combo,
            self.stimuli_button,
            self.start_button,
            self.pause_button,
            self.abort_button,
        ):
            self._controls.addWidget(widget)
        self._controls.addStretch(1)
        self._controls.addWidget(self.full_screen_button)
        self.session_bar = QtWidgets.QProgressBar()
        self.session_bar.setRange(0, 1000)
        self.session_bar.setTextVisible(True)
        self.session_bar.setMaximumHeight(18)
        self.phase_label = QtWidgets.QLabel("idle")
        self.phase_label.setStyleSheet("font-weight: bold;")
        self.message_label = QtWidgets.QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )

    def _build_fit_box(self) -> None:
        self.fit_box = QtWidgets.QGroupBox("Fitting")
        self.fit_bar = QtWidgets.QProgressBar()
        self.fit_bar.setRange(0, 0)
        self.fit_log = QtWidgets.QPlainTextEdit()
        self.fit_log.setReadOnly(True)
        self.fit_log.setMaximumBlockCount(FIT_LOG_LINES)
        self.fit_log.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        layout = QtWidgets.QVBoxLayout(self.fit_box)
        layout.addWidget(self.fit_bar)
        layout.addWidget(self.fit_log)

    # --------------------------------------------------------------------------------- actions
    def _selected_affective(self) -> bool:
        preset = PARADIGMS.get(self.paradigm_combo.currentText())
        return preset is not None and preset.family == AFFECTIVE

    def _on_start(self) -> None:
        name = self.paradigm_combo.currentText()
        if self.stimuli_folder is not None and self._selected_affective():
            self._core.start_calibration(name, stimuli=self.stimuli_folder)
        else:
            self._core.start_calibration(name)

    def _on_stimuli(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(
            self, "Stimuli folder (one subfolder per class)", str(self.stimuli_folder or "")
        )
        self.set_stimuli_folder(Path(folder) if folder else None)

    def set_stimuli_folder(self, folder: Path | None) -> None:
        """Use the user's stimuli in ``folder`` (None: recall prompts); checked when started."""
        self.stimuli_folder = folder
        text = f"Stimuli: {folder.name}" if folder is not None else "Stimuli: recall"
        self.stimuli_button.setText(text)

    def _on_rate(self, valence: int, arousal: int) -> None:
        self._core.rate(valence, arousal)

    def _on_pause(self) -> None:
        if self.pause_button.text() == "Resume":
            self._core.resume_calibration()
        else:
            self._core.pause_calibration()

    def _on_abort(self) -> None:
        self._core.abort_calibration()

    def _on_use(self) -> None:
        self._core.use_profile()

    def enter_full_screen(self) -> None:
        """Show the cues in a frameless full-screen window on this panel's screen."""
        display = self.full_screen_display
        if self._last_cal is not None:
            display.show_state(self._last_cal)
        screen = self.window().screen() if self.window() is not None else None
        if screen is not None:
            display.setGeometry(screen.geometry())
        display.showFullScreen()
        display.raise_()
        display.activateWindow()
        display.setFocus()
        self.full_screen_display.set_muted(False)
        self.cue_display.set_muted(True)  # one video sound, the full-screen one

    def leave_full_screen(self) -> None:
        """Hide the full-screen window (Esc)."""
        if not self.full_screen_display.isHidden():
            self.full_screen_display.hide()
        self.full_screen_display.set_muted(True)
        self.cue_display.set_muted(False)

    # ---------------------------------------------------------------------------------- render
    def render(self, snap: CoreSnapshot) -> None:
        """Draw ``snap.calibration`` and enable the buttons that apply (GUI thread, ~30 Hz)."""
        cal = snap.calibration
        self._last_cal = cal
        self.cue_display.show_state(cal)
        if not self.full_screen_display.isHidden():
            self.full_screen_display.show_state(cal)
        if cal.rating_open and not self._rating_open:
            QtWidgets.QApplication.beep()  # the end-of-block tone: the eyes may be closed
        self._rating_open = cal.rating_open
        self._update_buttons(cal.phase, snap.connection)
        self._update_status(cal)
        self._update_session_bar(cal)
        show_fit = cal.phase == "fitting" or (cal.phase == "failed" and bool(cal.fit_lines))
        if show_fit:
            self._update_fitting(cal)
        if cal.phase == "done" and cal.report is not self._report:
            self._report = cal.report
            self.report_box.show_report(cal)
        if cal.phase != self._phase:
            self._phase = cal.phase
            self.report_box.setVisible(cal.phase == "done")
        if self.fit_box.isHidden() == show_fit:
            self.fit_box.setVisible(show_fit)

    def _update_buttons(self, phase: str, connection: str) -> None:
        connected = connection == "connected"
        _enable(self.start_button, connected and phase in START_PHASES)
        self.start_button.setToolTip(
            "Record a calibration on the connected stream"
            if connected
            else "Connect to an EEG stream first"
        )
        _enable(self.paradigm_combo, phase in START_PHASES)
        _enable(self.stimuli_button, phase in START_PHASES and self._selected_affective())
        resume = phase == "paused"
        text = "Resume" if resume else "Pause"
        if self.pause_button.text() != text:
            self.pause_button.setText(text)
        _enable(self.pause_button, phase in ("cues", "paused"))
        _enable(self.abort_button, phase in ABORT_PHASES)
        _enable(self.use_button, phase == "done" and connected)

    def _update_status(self, cal: CalibrationView) -> None:
        phase_text = cal.phase if not cal.paradigm else f"{cal.phase} ({cal.paradigm})"
        _set_text(self.phase_label, phase_text)
        _set_text(self.message_label, cal.message)
        colour = {"failed": RED, "aborted": AMBER}.get(cal.phase, "")
        style = f"color: {colour};" if colour else ""
        if self.message_label.styleSheet() != style:
            self.message_label.setStyleSheet(style)

    def _update_session_bar(self, cal: CalibrationView) -> None:
        if cal.total_s > 0:
            value = int(1000 * min(max(cal.elapsed_s / cal.total_s, 0.0), 1.0))
        elif cal.n_trials > 0:
            value = int(1000 * min(cal.trial / cal.n_trials, 1.0))
        else:
            value = 0
        if cal.n_trials > 0:
            clock = f"{_mmss(cal.elapsed_s)} / {_mmss(cal.total_s)}"
            text = f"Trial {cal.trial} / {cal.n_trials}   {clock}"
            if cal.ratings:
                text += f"   rated {len(cal.ratings)}"
        else:
            text = "no session"
        if self.session_bar.value() != value:
            self.session_bar.setValue(value)
        if self.session_bar.format() != text:
            self.session_bar.setFormat(text)

    def _update_fitting(self, cal: CalibrationView) -> None:
        if cal.fit_fraction is None:
            if self.fit_bar.maximum() != 0:
                self.fit_bar.setRange(0, 0)  # busy indicator
        else:
            if self.fit_bar.maximum() != 1000:
                self.fit_bar.setRange(0, 1000)
            value = int(1000 * min(max(cal.fit_fraction, 0.0), 1.0))
            if self.fit_bar.value() != value:
                self.fit_bar.setValue(value)
        lines = cal.fit_lines
        if lines == self._fit_lines:
            return
        old = self._fit_lines
        if old and len(lines) > len(old) and lines[: len(old)] == old:
            for line in lines[len(old) :][-FIT_LOG_LINES:]:
                self.fit_log.appendPlainText(line)
        else:
            self.fit_log.setPlainText("\n".join(lines[-FIT_LOG_LINES:]))
        self._fit_lines = lines
        bar = self.fit_log.verticalScrollBar()
        if bar is not None:
            bar.setValue(bar.maximum())

    # ----------------------------------------------------------------------------- for tests
    def table_texts(self, table: QtWidgets.QTableWidget) -> list[list[str]]:
        """The cells of ``table`` as text, row by row."""
        return table_texts(table)


def _enable(widget: QtWidgets.QWidget, enabled: bool) -> None:
    if widget.isEnabled() != enabled:
        widget.setEnabled(enabled)


def _set_text(label: QtWidgets.QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)


def _mmss(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
