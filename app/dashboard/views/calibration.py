"""The calibration panel: paradigm choice and session controls, the cue display (which can go full
screen), fitting progress and the report of the finished calibration.

The cue display paints the latest marker of :attr:`CalibrationView.cue
<app.dashboard.snapshot.CalibrationView>` (vocabulary in :mod:`calibration.paradigm`): a fixation
cross, an arrow per hand, a double down arrow for the feet, a circle for the rest class, a dim
"relax" during breaks, and the title of any other class.

For affective paradigms (``emotion-recall``) it shows the block's recall prompt, large and
word-wrapped, during the prompt period and the block; or the user's stimulus: a picture scaled to
fit (loaded once per stimulus) or a video (Qt Multimedia, when it loads; otherwise the file name
and what to install). When the block ends it shows a self-assessment panel (:class:`SamPanel`:
valence and arousal, 1-9) whose "Submit rating" calls ``core.rate(valence, arousal)``.
"""

from __future__ import annotations

import html
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from neurodeck.app.dashboard.snapshot import (
    FROM_MARKERS,
    CalibrationView,
    CoreCommands,
    CoreSnapshot,
)
from neurodeck.calibration.emotion import (
    SAM_MAX,
    SAM_MIN,
    SAM_SCALES,
    STIMULUS_FIXATION_PROMPT,
    stimulus_kind,
)
from neurodeck.calibration.paradigm import (
    CALIB_ABORT,
    CALIB_END,
    CALIB_START,
    FIXATION,
    PARADIGMS,
    REST,
    SELF_ASSESSMENT,
    class_of_marker,
)
from neurodeck.common.types import AFFECTIVE
from PyQt6 import QtCore, QtGui, QtWidgets

logger = logging.getLogger(__name__)

#: Paradigm presets offered in the combo box, the default first.
PARADIGM_NAMES: tuple[str, ...] = tuple(PARADIGMS)

#: Title and instruction per class (as :data:`calibration.cue_terminal.CLASS_PROMPTS`, which
#: imports pylsl).
CLASS_TEXT: dict[str, tuple[str, str]] = {
    "left": ("LEFT HAND", "imagine squeezing your left hand"),
    "right": ("RIGHT HAND", "imagine squeezing your right hand"),
    "feet": ("BOTH FEET", "imagine pressing both feet down"),
    "tongue": ("TONGUE", "imagine moving your tongue"),
    "rest": ("REST", "relax, imagine no movement"),
}

#: What the cue display can draw (:attr:`CueDisplay.current`).
CUE_KINDS = (
    "idle",
    "ready",
    "cross",
    "arrow_left",
    "arrow_right",
    "feet",
    "rest_class",
    "class_text",
    "break",
    "paused",
    "finished",
    "aborted",
    "prompt",  # affective: the recall prompt before the block
    "recall",  # affective: the block, recall with closed eyes
    "image",  # affective: the user's picture
    "video",  # affective: the user's video
    "rating",  # affective: the self-assessment panel
    "rated",  # affective: the rest after the rating
)
_GLYPH_OF_CLASS = {
    "left": "arrow_left",
    "right": "arrow_right",
    "feet": "feet",
    "rest": "rest_class",
}
#: Phases in which a calibration can be started.
START_PHASES = ("idle", "done", "aborted", "failed")
#: Phases in which it can be aborted.
ABORT_PHASES = ("starting", "cues", "paused", "fitting")
#: Lines of the fitting log kept on screen.
FIT_LOG_LINES = 200

RED, AMBER, GREY = "#d62728", "#d98c00", "#888888"


def class_text(class_name: str) -> tuple[str, str]:
    """``(title, instruction)`` of a class (generic for classes without a prompt)."""
    return CLASS_TEXT.get(class_name, (class_name.upper(), f"perform the '{class_name}' task"))


def cue_kind(cue: str | None, phase: str) -> tuple[str, str, str]:
    """What the cue display draws for a marker in a phase.

    Parameters
    ----------
    cue : str or None
        The latest marker (``calib_start``, ``fixation``, ``cue_left``, ``rest``, ...).
    phase : str
        The calibration phase (:data:`~app.dashboard.snapshot.CALIBRATION_PHASES`).

    Returns
    -------
    kind : str
        One of :data:`CUE_KINDS`.
    title, instruction : str
        Text drawn with it (may be empty).
    """
    if phase == "paused":
        return "paused", "Paused", "press Resume to continue"
    if phase == "failed":
        return "aborted", "Failed", ""
    if phase == "aborted" or cue == CALIB_ABORT:
        return "aborted", "Aborted", ""
    if cue is None:
        if phase == "starting":
            return "ready", "Get ready", "starting..."
        return "idle", "Calibration cues appear here", "press Start"
    if cue == CALIB_START:
        return "ready", "Get ready", "relax and keep still"
    if cue == FIXATION:
        return "cross", "", "look at the cross"
    if cue == REST:
        return "break", "relax", "blink, swallow, relax"
    if cue == SELF_ASSESSMENT:
        return "rated", "Thank you", "relax and let the feeling fade"
    if cue == CALIB_END:
        return "finished", "Finished", "thank you"
    name = class_of_marker(cue)
    if name is None:
        return "class_text", cue, ""
    title, instruction = class_text(name)
    return _GLYPH_OF_CLASS.get(name, "class_text"), title, instruction


#: Instruction under the prompt before a recall block, and during it.
RECALL_BEFORE = "read this, then close your eyes and relive it until the tone"
RECALL_DURING = "eyes closed: relive it until the tone"


def display_kind(cal: CalibrationView) -> tuple[str, str, str]:
    """What the cue display draws for a view: :func:`cue_kind`, refined for affective paradigms.

    Returns
    -------
    kind : str
        One of :data:`CUE_KINDS`.
    title, instruction : str
        For ``prompt`` and ``recall`` the title is the prompt text; for ``image`` and ``video``
        the instruction is.
    """
    kind, title, instruction = cue_kind(cal.cue, cal.phase)
    if kind in ("idle", "ready", "paused", "finished", "aborted"):
        return kind, title, instruction
    if cal.rating_open:
        return "rating", "How did you feel?", "rate the block you just lived through"
    if cal.stimulus:
        media = "video" if stimulus_kind(cal.stimulus) == "video" else "image"
        return media, Path(cal.stimulus).name, cal.prompt
    if cal.prompt and cal.cue == FIXATION:
        before = "" if cal.prompt == STIMULUS_FIXATION_PROMPT else RECALL_BEFORE
        return "prompt", cal.prompt, before
    if cal.prompt and class_of_marker(cal.cue or "") is not None:
        return "recall", cal.prompt, RECALL_DURING
    return kind, title, instruction


_MULTIMEDIA: tuple[Any, Any] | str | None = None


def multimedia() -> tuple[Any, Any] | str:
    """``(QtMultimedia, QtMultimediaWidgets)``, or why they cannot be used (cached).

    Imported only when a video is to be shown: the modules load system libraries (PulseAudio,
    GStreamer or FFmpeg on Linux) that may be missing.
    """
    global _MULTIMEDIA
    if _MULTIMEDIA is None:
        try:
            from PyQt6 import QtMultimedia, QtMultimediaWidgets

            _MULTIMEDIA = (QtMultimedia, QtMultimediaWidgets)
        except ImportError as exc:
            _MULTIMEDIA = (
                f"Videos need Qt Multimedia, which could not be loaded ({exc}). Install the "
                "system libraries it uses (on Linux: libpulse0 and GStreamer or FFmpeg, for "
                "example apt install libpulse0 gstreamer1.0-plugins-good), or use pictures."
            )
    return _MULTIMEDIA


class SamPanel(QtWidgets.QFrame):
    """Self-Assessment Manikin scales: valence (unhappy .. happy) and arousal (calm .. excited),
    1-9 each, and a "Submit rating" button.

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


class CueDisplay(QtWidgets.QWidget):
    """Paints the current calibration cue on black, scaled to its size.

    Parameters
    ----------
    parent : QWidget, optional

    Attributes
    ----------
    current : str
        What is drawn, one of :data:`CUE_KINDS`.
    title, instruction : str
        The text drawn with it.
    fraction : float
        Progress of the current period (``cue_age_s / cue_duration_s``, clipped to [0, 1]), drawn
        as a thin bar at the bottom.
    counter_text : str
        Trial counter drawn at the top right (``"12 / 40"``; empty before the first trial).
    stimulus : str or None
        The picture or video shown (absolute path), for affective paradigms.
    sam_panel : SamPanel
        The self-assessment panel, visible while ``current == "rating"``.
    video_message : str
        Why a video cannot be played (empty when it can, or when none is shown).

    Signals
    -------
    exit_requested
        Esc or F11 pressed while this display is a window of its own (full screen).
    rating_submitted(int, int)
        ``(valence, arousal)`` from the self-assessment panel.
    """

    exit_requested = QtCore.pyqtSignal()
    rating_submitted = QtCore.pyqtSignal(int, int)
    #: Pictures kept loaded (one per stimulus; loading happens once, on the GUI thread).
    PIXMAP_CACHE = 8

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.current = "idle"
        self.title, self.instruction = cue_kind(None, "idle")[1:]
        self.fraction = 0.0
        self.counter_text = ""
        self.stimulus: str | None = None
        self.video_message = ""
        self._pixmaps: OrderedDict[str, QtGui.QPixmap] = OrderedDict()
        self._scaled: tuple[str, int, int, QtGui.QPixmap] | None = None
        self._video: tuple[Any, Any, Any] | None = None  # player, widget, audio output
        self._muted = False
        self.sam_panel = SamPanel(self)
        self.sam_panel.hide()
        self.sam_panel.submitted.connect(self.rating_submitted)
        self.setMinimumSize(160, 120)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding
        )

    def show_state(self, cal: CalibrationView) -> None:
        """Take what to draw from ``cal``; repaints only when it changed (GUI thread)."""
        kind, title, instruction = display_kind(cal)
        fraction = 0.0
        if cal.cue_duration_s > 0 and kind not in ("idle", "finished", "aborted"):
            fraction = min(max(cal.cue_age_s / cal.cue_duration_s, 0.0), 1.0)
        counter = f"{cal.trial} / {cal.n_trials}" if cal.n_trials > 0 and cal.trial > 0 else ""
        stimulus = cal.stimulus if kind in ("image", "video") else None
        state = (kind, title, instruction, round(fraction * 500), counter, stimulus)
        if state == (
            self.current,
            self.title,
            self.instruction,
            round(self.fraction * 500),
            self.counter_text,
            self.stimulus,
        ):
            return
        if kind != self.current or stimulus != self.stimulus:
            self._change_media(kind, stimulus)
        self.current, self.title, self.instruction = kind, title, instruction
        self.fraction, self.counter_text, self.stimulus = fraction, counter, stimulus
        self.update()

    def set_muted(self, muted: bool) -> None:
        """Mute the sound of videos (the panel mutes this display while full screen plays)."""
        self._muted = muted
        if self._video is not None:
            self._video[2].setMuted(muted)

    # ---------------------------------------------------------------------------------- media
    def _change_media(self, kind: str, stimulus: str | None) -> None:
        """Show or hide the rating panel and the video for a new state (GUI thread)."""
        if kind == "rating" and self.current != "rating":
            self.sam_panel.reset()
            self.sam_panel.show()
            self.sam_panel.raise_()
            self._place_children()
        elif kind != "rating":
            self.sam_panel.hide()
        if kind == "image" and stimulus is not None:
            self._pixmap(stimulus)  # loaded once per stimulus, here rather than in paintEvent
        if kind == "video" and stimulus is not None:
            self._play(stimulus)
        else:
            self._stop_video()

    def _pixmap(self, path: str) -> QtGui.QPixmap:
        """The picture at ``path`` (loaded on first use, then cached; null when unreadable)."""
        pixmap = self._pixmaps.get(path)
        if pixmap is None:
            pixmap = QtGui.QPixmap(path)
            if pixmap.isNull():
                logger.warning("Stimulus picture %s could not be loaded.", path)
            self._pixmaps[path] = pixmap
            while len(self._pixmaps) > self.PIXMAP_CACHE:
                self._pixmaps.popitem(last=False)
        self._pixmaps.move_to_end(path)
        return pixmap

    def _play(self, path: str) -> None:
        modules = multimedia()
        if isinstance(modules, str):
            self.video_message = modules
            return
        self.video_message = ""
        if self._video is None:
            media, widgets = modules
            widget = widgets.QVideoWidget(self)
            player = media.QMediaPlayer(self)
            audio = media.QAudioOutput(self)
            audio.setMuted(self._muted)
            player.setAudioOutput(audio)
            player.setVideoOutput(widget)
            self._video = (player, widget, audio)
        player, widget, _ = self._video
        player.setSource(QtCore.QUrl.fromLocalFile(path))
        widget.show()
        self._place_children()
        player.play()

    def _stop_video(self) -> None:
        if self._video is not None:
            player, widget, _ = self._video
            player.stop()
            widget.hide()

    def _glyph_box(self) -> QtCore.QRectF:
        rect = QtCore.QRectF(self.rect())
        return QtCore.QRectF(
            rect.left(), rect.top() + 0.08 * rect.height(), rect.width(), 0.72 * rect.height()
        )

    def _place_children(self) -> None:
        box = self._glyph_box().toRect()
        if self._video is not None:
            self._video[1].setGeometry(box)
        hint = self.sam_panel.sizeHint()
        width = min(hint.width(), self.width() - 16)
        height = min(hint.height(), self.height() - 16)
        x = (self.width() - width) // 2
        y = max(8, int(0.45 * self.height()) - height // 2)
        self.sam_panel.setGeometry(x, y, width, height)

    def resizeEvent(self, event: QtGui.QResizeEvent | None) -> None:
        """Keep the video and the rating panel placed."""
        super().resizeEvent(event)
        self._place_children()

    # --------------------------------------------------------------------------------- events
    def keyPressEvent(self, event: QtGui.QKeyEvent | None) -> None:
        """Esc or F11 leave full screen."""
        leave_keys = (QtCore.Qt.Key.Key_Escape, QtCore.Qt.Key.Key_F11)
        if event is not None and self.isWindow() and event.key() in leave_keys:
            self.exit_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent | None) -> None:
        """Closing the full-screen window (Alt+F4) only leaves full screen."""
        if self.isWindow():
            self.exit_requested.emit()
        super().closeEvent(event)

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:
        """Draw the cue, the period's progress and the trial counter."""
        painter = QtGui.QPainter(self)
        try:
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            rect = QtCore.QRectF(self.rect())
            painter.fillRect(rect, QtGui.QColor(0, 0, 0))
            glyph = self._glyph_box()
            self._paint_cue(painter, glyph)
            self._paint_instruction(painter, rect)
            self._paint_counter(painter, rect)
            self._paint_progress(painter, rect)
        finally:
            painter.end()

    # ------------------------------------------------------------------------------- painting
    def _paint_cue(self, painter: QtGui.QPainter, box: QtCore.QRectF) -> None:
        size = min(box.width(), box.height())
        centre = box.center()
        white = QtGui.QColor(235, 235, 235)
        kind = self.current
        if kind == "cross":
            _paint_cross(painter, centre, 0.45 * size, white)
        elif kind in ("arrow_left", "arrow_right"):
            direction = -1.0 if kind == "arrow_left" else 1.0
            _paint_polygon(painter, centre, size, _ARROW_RIGHT, white, mirror=direction < 0)
        elif kind == "feet":
            for dx in (-0.17, 0.17):
                shifted = [(x + dx, y) for x, y in _ARROW_DOWN]
                _paint_polygon(painter, centre, size, shifted, white)
        elif kind == "rest_class":
            pen = QtGui.QPen(QtGui.QColor(120, 200, 255), max(2.0, 0.035 * size))
            painter.setPen(pen)
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawEllipse(centre, 0.32 * size, 0.32 * size)
            _paint_text(painter, box, self.title, QtGui.QColor(120, 200, 255), 0.12 * size)
        elif kind == "break":
            _paint_text(painter, box, self.title, QtGui.QColor(90, 90, 90), 0.12 * size)
        elif kind == "idle":
            _paint_text(painter, box, self.title, QtGui.QColor(110, 110, 110), 0.07 * size)
        elif kind in ("prompt", "recall"):
            colour = white if kind == "prompt" else QtGui.QColor(150, 150, 150)
            inner = box.adjusted(0.08 * box.width(), 0, -0.08 * box.width(), 0)
            _paint_fitted_text(painter, inner, self.title, colour, 0.11 * box.height())
        elif kind == "image":
            self._paint_image(painter, box)
        elif kind == "video":
            if self.video_message:
                text = f"{self.title}\n\n{self.video_message}"
                inner = box.adjusted(0.08 * box.width(), 0, -0.08 * box.width(), 0)
                _paint_fitted_text(painter, inner, text, QtGui.QColor(230, 160, 60), 0.06 * size)
        elif kind == "rating":
            top = QtCore.QRectF(box.left(), box.top(), box.width(), 0.18 * box.height())
            _paint_text(painter, top, self.title, white, 0.09 * size)
        elif kind == "rated":
            _paint_text(painter, box, self.title, QtGui.QColor(90, 90, 90), 0.12 * size)
        else:
            colour = {
                "finished": QtGui.QColor(90, 200, 90),
                "aborted": QtGui.QColor(230, 80, 70),
                "paused": QtGui.QColor(220, 170, 60),
            }.get(kind, white)
            _paint_text(painter, box, self.title, colour, 0.16 * size)

    def _paint_image(self, painter: QtGui.QPainter, box: QtCore.QRectF) -> None:
        """The stimulus picture scaled to fit ``box``, centred (scaled once per size)."""
        if self.stimulus is None:
            return
        pixmap = self._pixmap(self.stimulus)
        if pixmap.isNull():
            text = f"{self.title}\n\n(this picture could not be loaded)"
            _paint_text(painter, box, text, QtGui.QColor(230, 160, 60), 0.05 * box.height())
            return
        w, h = int(box.width()), int(box.height())
        if self._scaled is None or self._scaled[:3] != (self.stimulus, w, h):
            scaled = pixmap.scaled(
                w,
                h,
                QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                QtCore.Qt.TransformationMode.SmoothTransformation,
            )
            self._scaled = (self.stimulus, w, h, scaled)
        scaled = self._scaled[3]
        x = box.left() + (box.width() - scaled.width()) / 2
        y = box.top() + (box.height() - scaled.height()) / 2
        painter.drawPixmap(QtCore.QPointF(x, y), scaled)

    def _paint_instruction(self, painter: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        if not self.instruction:
            return
        box = QtCore.QRectF(
            rect.left(), rect.top() + 0.80 * rect.height(), rect.width(), 0.14 * rect.height()
        )
        colour = QtGui.QColor(150, 150, 150)
        size = min(0.06 * rect.height(), 0.045 * rect.width())
        if self.current in ("arrow_left", "arrow_right", "feet"):
            text = f"{self.title}: {self.instruction}"
        else:
            text = self.instruction
        _paint_text(painter, box, text, colour, size)

    def _paint_counter(self, painter: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        if not self.counter_text:
            return
        size = max(9.0, 0.05 * rect.height())
        box = QtCore.QRectF(rect.left(), rect.top() + 4, rect.width() - 8, 1.6 * size)
        font = painter.font()
        font.setPixelSize(int(size))
        painter.setFont(font)
        painter.setPen(QtGui.QColor(150, 150, 150))
        align = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        painter.drawText(box, int(align.value), self.counter_text)

    def _paint_progress(self, painter: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        height = max(3.0, 0.012 * rect.height())
        track = QtCore.QRectF(rect.left(), rect.bottom() - height, rect.width(), height)
        painter.fillRect(track, QtGui.QColor(35, 35, 35))
        if self.fraction > 0:
            done = QtCore.QRectF(track.left(), track.top(), self.fraction * track.width(), height)
            painter.fillRect(done, QtGui.QColor(100, 100, 100))


#: Right arrow, in units of the glyph size around its centre: head, then shaft.
_ARROW_RIGHT: tuple[tuple[float, float], ...] = (
    (0.42, 0.0),
    (0.05, -0.3),
    (0.05, -0.1),
    (-0.42, -0.1),
    (-0.42, 0.1),
    (0.05, 0.1),
    (0.05, 0.3),
)
#: Down arrow (narrower), same units; y grows downwards.
_ARROW_DOWN: tuple[tuple[float, float], ...] = (
    (0.0, 0.4),
    (-0.14, 0.08),
    (-0.05, 0.08),
    (-0.05, -0.4),
    (0.05, -0.4),
    (0.05, 0.08),
    (0.14, 0.08),
)


def _paint_polygon(
    painter: QtGui.QPainter,
    centre: QtCore.QPointF,
    size: float,
    points: Sequence[tuple[float, float]],
    colour: QtGui.QColor,
    mirror: bool = False,
) -> None:
    sign = -1.0 if mirror else 1.0
    polygon = QtGui.QPolygonF(
        [QtCore.QPointF(centre.x() + sign * x * size, centre.y() + y * size) for x, y in points]
    )
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawPolygon(polygon)


def _paint_cross(
    painter: QtGui.QPainter, centre: QtCore.QPointF, length: float, colour: QtGui.QColor
) -> None:
    pen = QtGui.QPen(colour, max(2.0, 0.12 * length))
    pen.setCapStyle(QtCore.Qt.PenCapStyle.FlatCap)
    painter.setPen(pen)
    half = length / 2
    painter.drawLine(
        QtCore.QPointF(centre.x() - half, centre.y()), QtCore.QPointF(centre.x() + half, centre.y())
    )
    painter.drawLine(
        QtCore.QPointF(centre.x(), centre.y() - half), QtCore.QPointF(centre.x(), centre.y() + half)
    )


def _paint_fitted_text(
    painter: QtGui.QPainter, box: QtCore.QRectF, text: str, colour: QtGui.QColor, pixel_size: float
) -> None:
    """Word-wrapped text, centred, at the largest size up to ``pixel_size`` that fits ``box``."""
    flags = int(QtCore.Qt.AlignmentFlag.AlignCenter.value | QtCore.Qt.TextFlag.TextWordWrap.value)
    font = painter.font()
    size = max(8, int(pixel_size))
    while True:
        font.setPixelSize(size)
        bound = QtGui.QFontMetricsF(font).boundingRect(box, flags, text)
        if size <= 10 or (bound.width() <= box.width() and bound.height() <= box.height()):
            break
        size = max(10, int(size * 0.9))
    painter.setFont(font)
    painter.setPen(colour)
    painter.drawText(box, flags, text)


def _paint_text(
    painter: QtGui.QPainter, box: QtCore.QRectF, text: str, colour: QtGui.QColor, pixel_size: float
) -> None:
    font = painter.font()
    font.setPixelSize(max(8, int(pixel_size)))
    painter.setFont(font)
    painter.setPen(colour)
    flags = QtCore.Qt.AlignmentFlag.AlignCenter.value | QtCore.Qt.TextFlag.TextWordWrap.value
    painter.drawText(box, int(flags), text)


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
        The frameless full-screen window (hidden until :meth:`enter_full_screen`).
    fit_box : QGroupBox
        Shown while fitting: ``fit_bar`` (0-1000, or busy when the fraction is unknown) and
        ``fit_log`` (the last :data:`FIT_LOG_LINES` progress lines).
    report_box : QGroupBox
        Shown when done: ``report_summary`` (chosen decoder, chance, timings), ``scores_table``
        (one row per decoder) and ``confusion_table`` (counts of the chosen decoder; rows are
        true classes, columns predicted ones).

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
        self._build_report_box()
        self.cue_display = CueDisplay()
        self.full_screen_display = CueDisplay(self)
        self.full_screen_display.setWindowFlags(
            QtCore.Qt.WindowType.Window | QtCore.Qt.WindowType.FramelessWindowHint
        )
        self.full_screen_display.setCursor(QtCore.Qt.CursorShape.BlankCursor)
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

    def _build_report_box(self) -> None:
        self.report_box = QtWidgets.QGroupBox("Report")
        self.report_summary = QtWidgets.QLabel("")
        self.report_summary.setWordWrap(True)
        self.report_summary.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.scores_table = _table()
        header = self.scores_table.verticalHeader()
        if header is not None:
            header.hide()
        self.confusion_label = QtWidgets.QLabel("Confusion")
        self.confusion_table = _table()
        self.use_button = QtWidgets.QPushButton("Use this profile")
        self.use_button.clicked.connect(self._on_use)
        tables = QtWidgets.QHBoxLayout()
        tables.addWidget(self.scores_table, 3)
        confusion = QtWidgets.QVBoxLayout()
        confusion.addWidget(self.confusion_label)
        confusion.addWidget(self.confusion_table)
        tables.addLayout(confusion, 2)
        layout = QtWidgets.QVBoxLayout(self.report_box)
        layout.addWidget(self.report_summary)
        layout.addLayout(tables)
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.use_button)
        layout.addLayout(row)

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
            self._fill_report(cal)
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

    def _fill_report(self, cal: CalibrationView) -> None:
        report = cal.report
        if report is None:
            self.report_summary.setText("No report.")
            self.scores_table.setRowCount(0)
            self.confusion_table.setRowCount(0)
            return
        try:
            _fill_report_widgets(self, report, cal)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            self.report_summary.setText(f"The report could not be read ({exc!r}).")

    # ----------------------------------------------------------------------------- for tests
    def table_texts(self, table: QtWidgets.QTableWidget) -> list[list[str]]:
        """The cells of ``table`` as text, row by row."""
        return [
            [_cell(table, row, col) for col in range(table.columnCount())]
            for row in range(table.rowCount())
        ]


def _fill_report_widgets(
    panel: CalibrationPanel, report: Mapping[str, Any], cal: CalibrationView
) -> None:
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
    panel.report_summary.setText(summary)
    _fill_scores(panel.scores_table, scores, chosen, chance)
    confusion = scores.get(chosen, {}).get("confusion")
    if confusion is None:
        panel.confusion_label.setText("Confusion: none in the report")
        panel.confusion_table.setRowCount(0)
        panel.confusion_table.setColumnCount(0)
        return
    names = _class_names(report, scores.get(chosen, {}), cal.class_names, len(confusion))
    panel.confusion_label.setText(f"Confusion ({chosen}): rows true, columns predicted")
    _fill_confusion(panel.confusion_table, confusion, names)


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


def _enable(widget: QtWidgets.QWidget, enabled: bool) -> None:
    if widget.isEnabled() != enabled:
        widget.setEnabled(enabled)


def _set_text(label: QtWidgets.QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)


def _mmss(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"
