"""The self-assessment panel of affective calibrations: valence and arousal, 1-9 each.

When an affective block ends, the cue screen
(:class:`~neurodeck.app.dashboard.views.cue_screen.CueDisplay`) shows a :class:`SamPanel`; its
"Submit rating" reaches ``core.rate(valence, arousal)`` through the calibration panel.
"""

from __future__ import annotations

from neurodeck.calibration.emotion import SAM_MAX, SAM_MIN, SAM_SCALES
from PyQt6 import QtCore, QtWidgets


class SamPanel(QtWidgets.QFrame):
    """Self-Assessment Manikin scales: valence (unhappy .. happy) and arousal (calm .. excited),
    1-9 each, and a "Submit rating" button.

    Parameters
    ----------
    parent : QWidget, optional

    Attributes
    ----------
    sliders : dict of str to QSlider
        ``"valence"`` and ``"arousal"``, 1-9, 5 after :meth:`reset`.
    submit_button : QPushButton

    Signals
    -------
    submitted(int, int)
        ``(valence, arousal)`` when the button is pressed.
    """

    submitted = QtCore.pyqtSignal(int, int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sam")
        self.setStyleSheet(
            "#sam { background: #1c1c1c; border: 1px solid #444; border-radius: 8px; }"
            "QLabel { color: #dddddd; font-size: 15px; }"
            "QPushButton { font-size: 15px; padding: 6px 18px; }"
        )
        self.setCursor(QtCore.Qt.CursorShape.ArrowCursor)  # the full-screen display hides it
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(16, 12, 16, 12)
        self.sliders: dict[str, QtWidgets.QSlider] = {}
        self._value_labels: dict[str, QtWidgets.QLabel] = {}
        for row, (scale, low, high) in enumerate(SAM_SCALES):
            slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
            slider.setRange(SAM_MIN, SAM_MAX)
            slider.setPageStep(1)
            slider.setTickInterval(1)
            slider.setTickPosition(QtWidgets.QSlider.TickPosition.TicksBelow)
            slider.setMinimumWidth(220)
            value = QtWidgets.QLabel("")
            value.setMinimumWidth(24)
            slider.valueChanged.connect(lambda v, label=value: label.setText(str(v)))
            name = QtWidgets.QLabel(f"<b>{scale.capitalize()}</b>")
            grid.addWidget(name, row, 0)
            grid.addWidget(QtWidgets.QLabel(f"{SAM_MIN} {low}"), row, 1)
            grid.addWidget(slider, row, 2)
            grid.addWidget(QtWidgets.QLabel(f"{high} {SAM_MAX}"), row, 3)
            grid.addWidget(value, row, 4)
            self.sliders[scale] = slider
            self._value_labels[scale] = value
        self.submit_button = QtWidgets.QPushButton("Submit rating")
        self.submit_button.clicked.connect(self._on_submit)
        right = QtCore.Qt.AlignmentFlag.AlignRight
        grid.addWidget(self.submit_button, len(SAM_SCALES), 0, 1, 5, right)
        self.reset()

    def reset(self) -> None:
        """Both scales to their middle (5)."""
        middle = (SAM_MIN + SAM_MAX) // 2
        for scale, slider in self.sliders.items():
            slider.setValue(middle)
            self._value_labels[scale].setText(str(middle))

    def values(self) -> tuple[int, int]:
        """``(valence, arousal)`` as set."""
        return self.sliders["valence"].value(), self.sliders["arousal"].value()

    def _on_submit(self) -> None:
        self.submitted.emit(*self.values())
