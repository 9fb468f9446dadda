"""The calibration cue screen: paints the current cue on black, in the panel or full screen.

:class:`CueDisplay` draws what :func:`~neurodeck.app.dashboard.views.cue_kinds.display_kind` makes
of the latest :class:`~neurodeck.control.snapshot.CalibrationView`: the glyph or text of the cue,
its instruction, the trial counter and the period's progress. For affective paradigms it shows the
recall prompt, large and word-wrapped, during the prompt period and the block; or the user's
stimulus: a picture scaled to fit (loaded once per stimulus) or a video (Qt Multimedia, when it
loads; otherwise the file name and what to install). When the block ends it shows the
self-assessment panel (:class:`~neurodeck.app.dashboard.views.rating.SamPanel`). With
``controls=True`` (the full-screen cues, where the panel's buttons are out of sight) a paused
calibration shows Resume and Abort buttons; the pointer shows whenever there is something to click.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from neurodeck.app.dashboard.views.cue_kinds import cue_kind, display_kind
from neurodeck.app.dashboard.views.rating import SamPanel
from neurodeck.control.snapshot import CalibrationView
from PyQt6 import QtCore, QtGui, QtWidgets

logger = logging.getLogger(__name__)

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


class CueDisplay(QtWidgets.QWidget):
    """Paints the current calibration cue on black, scaled to its size.

    Parameters
    ----------
    parent : QWidget, optional
    controls : bool
        Show Resume and Abort buttons while the calibration is paused (the full-screen window).

    Attributes
    ----------
    current : str
        What is drawn, one of :data:`~neurodeck.app.dashboard.views.cue_kinds.CUE_KINDS`.
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
    pause_bar : QWidget
        Holds ``resume_button`` and ``abort_button``; visible while paused, with ``controls``.
    hide_cursor : bool
        Hide the pointer while nothing on the display can be clicked (the full-screen window);
        it shows on the paused screen and the rating panel.

    Signals
    -------
    exit_requested
        Esc or F11 pressed while this display is a window of its own (full screen).
    rating_submitted(int, int)
        ``(valence, arousal)`` from the self-assessment panel.
    resume_requested, abort_requested
        The Resume or Abort button of the paused screen was clicked.
    """

    exit_requested = QtCore.pyqtSignal()
    rating_submitted = QtCore.pyqtSignal(int, int)
    resume_requested = QtCore.pyqtSignal()
    abort_requested = QtCore.pyqtSignal()
    #: Pictures kept loaded (one per stimulus; loading happens once, on the GUI thread).
    PIXMAP_CACHE = 8

    def __init__(self, parent: QtWidgets.QWidget | None = None, controls: bool = False) -> None:
        super().__init__(parent)
        self.controls = controls
        self.hide_cursor = False
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
        self._build_pause_bar()
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
        changed = kind != self.current
        self.current, self.title, self.instruction = kind, title, instruction
        if changed:
            self._update_cursor()
        self.fraction, self.counter_text, self.stimulus = fraction, counter, stimulus
        self.update()

    def _build_pause_bar(self) -> None:
        self.pause_bar = QtWidgets.QWidget(self)
        self.pause_bar.setCursor(QtCore.Qt.CursorShape.ArrowCursor)
        self.resume_button = QtWidgets.QPushButton("Resume", self.pause_bar)
        self.resume_button.setToolTip("Continue the cues (P)")
        self.resume_button.clicked.connect(self.resume_requested)
        self.abort_button = QtWidgets.QPushButton("Abort", self.pause_bar)
        self.abort_button.setToolTip("Stop the calibration; the recording is kept")
        self.abort_button.clicked.connect(self.abort_requested)
        row = QtWidgets.QHBoxLayout(self.pause_bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(24)
        row.addWidget(self.resume_button)
        row.addWidget(self.abort_button)
        self.pause_bar.setStyleSheet(
            "QPushButton { background: #2b2b2b; color: #ebebeb; border: 2px solid #8a8a8a;"
            " border-radius: 6px; padding: 6px 28px; }"
            " QPushButton:hover { background: #3d3d3d; border-color: #dcaa3c; }"
        )
        self.pause_bar.hide()

    def set_hide_cursor(self, hide: bool) -> None:
        """Hide the pointer while there is nothing to click (the full-screen window)."""
        self.hide_cursor = hide
        self._update_cursor()

    def _update_cursor(self) -> None:
        clickable = self.current == "rating" or (self.current == "paused" and self.controls)
        shape = QtCore.Qt.CursorShape
        wanted = shape.BlankCursor if self.hide_cursor and not clickable else shape.ArrowCursor
        if self.cursor().shape() != wanted:
            self.setCursor(wanted)

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
        if kind == "paused" and self.controls:
            self.pause_bar.show()
            self.pause_bar.raise_()
            self._place_children()
        else:
            self.pause_bar.hide()
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
        # the paused screen: "Paused" in the middle, the buttons below it, the hint under them
        font = self.pause_bar.font()
        font.setPixelSize(max(14, int(0.035 * self.height())))
        for button in (self.resume_button, self.abort_button):
            button.setFont(font)
        hint = self.pause_bar.sizeHint()
        width = min(hint.width(), self.width() - 16)
        self.pause_bar.setGeometry(
            (self.width() - width) // 2, int(0.62 * self.height()), width, hint.height()
        )

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
        if self.current == "aborted":  # the reason: a long message, wrapped to fit
            inner = box.adjusted(0.05 * rect.width(), -0.1 * rect.height(), -0.05 * rect.width(), 0)
            _paint_fitted_text(painter, inner, self.instruction, QtGui.QColor(220, 220, 220), size)
            return
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
