"""The dashboard's main window: menus, shortcuts, drag-and-drop, and the 30 Hz frame loop.

The frame loop is the GUI thread's only recurring work: a precise ``QTimer`` asks the core for
one :class:`~neurodeck.control.snapshot.CoreSnapshot` and hands it to the stream browser, the health
panel and the visible tab (hidden tabs are not drawn). It never waits on LSL, torch, files or
child processes; their state arrives in the snapshot. :class:`FrameStats` measures every frame
(duration, interval, GUI-thread CPU time) for the status bar and ``benchmarks/dashboard.py``.

Keyboard shortcuts
------------------
=================  ===========================================
Ctrl+O             open a recording to replay
Ctrl+L             load a checkpoint file or a subject profile to decode
F5                 search for streams again
Ctrl+D             disconnect
Ctrl+Shift+M       start the simulator
Ctrl+1 .. Ctrl+5   Signals, Spectrum, Calibration, Decoding, Emotion tabs
F                  scope: toggle the display filter
Ctrl+S             save the settings (Ctrl+Shift+S: save as)
P                  pause / resume a calibration
Esc                abort a calibration (or leave full-screen cues)
F11                full-screen cue display
Ctrl+Q             quit
=================  ===========================================
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path

import numpy as np
from neurodeck.app.dashboard.views.calibration import CalibrationPanel
from neurodeck.app.dashboard.views.decoding import DecodingPanel
from neurodeck.app.dashboard.views.elided import ElidedLabel
from neurodeck.app.dashboard.views.emotion import EmotionPanel
from neurodeck.app.dashboard.views.health import HealthPanel
from neurodeck.app.dashboard.views.replay_question import ask_replay_question
from neurodeck.app.dashboard.views.scope import ScopeView
from neurodeck.app.dashboard.views.spectrum import SpectrumPanel
from neurodeck.app.dashboard.views.streams import StreamsPanel
from neurodeck.calibration.profile import profile_folder_of
from neurodeck.common.types import NeurodeckError
from neurodeck.control.settings import (
    DEFAULT_CONFIG,
    DashboardSettings,
    Settings,
    load_settings,
    save_settings,
)
from neurodeck.control.snapshot import (
    CoreCommands,
    CoreSnapshot,
    ReplayQuestion,
    empty_snapshot,
)
from neurodeck.control.sources import is_replayable
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PyQt6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

logger = logging.getLogger(__name__)

#: Frame period of the dashboard, in milliseconds (about 30 frames per second).
FRAME_MS = 33
#: File dialog filter of File > Load profile or checkpoint: a checkpoint file, or a profile's
#: index file (which stands for its folder).
MODEL_FILTER = "Profiles and checkpoints (*.safetensors profile.json);;All files (*)"
#: Tab titles in order; "Emotion" draws affective decoders (the Decoding tab points there).
TABS = ("Signals", "Spectrum", "Calibration", "Decoding", "Emotion")


class FrameStats:
    """Durations and intervals of the last frames, and the GUI thread's CPU time.

    Parameters
    ----------
    horizon : int
        Frames kept.
    """

    def __init__(self, horizon: int = 3000) -> None:
        self.durations: deque[float] = deque(maxlen=horizon)
        self.intervals: deque[float] = deque(maxlen=horizon)
        self._last_start: float | None = None
        self._cpu0 = time.thread_time()
        self._wall0 = time.perf_counter()

    def reset(self) -> None:
        """Start a new measurement (call on the GUI thread)."""
        self.durations.clear()
        self.intervals.clear()
        self._last_start = None
        self._cpu0 = time.thread_time()
        self._wall0 = time.perf_counter()

    def begin(self) -> float:
        """Mark the start of a frame; returns its start time."""
        now = time.perf_counter()
        if self._last_start is not None:
            self.intervals.append(now - self._last_start)
        self._last_start = now
        return now

    def end(self, start: float) -> None:
        """Mark the end of the frame that began at ``start``."""
        self.durations.append(time.perf_counter() - start)

    def summary(self) -> dict[str, float]:
        """Frames per second, frame duration p50/p99/max and interval max (ms), GUI CPU share.

        ``gui_cpu_fraction`` is the GUI thread's CPU time (``time.thread_time``, called on it) per
        wall second since :meth:`reset`: painting, layout and the frame code all count.
        """
        wall = time.perf_counter() - self._wall0
        d = np.array(self.durations) * 1e3 if self.durations else np.zeros(1)
        i = np.array(self.intervals) * 1e3 if self.intervals else np.zeros(1)
        return {
            "frames": len(self.durations),
            "fps": len(self.intervals) / float(np.sum(i) / 1e3) if self.intervals else 0.0,
            "frame_p50_ms": float(np.percentile(d, 50)),
            "frame_p99_ms": float(np.percentile(d, 99)),
            "frame_max_ms": float(d.max()),
            "interval_p99_ms": float(np.percentile(i, 99)),
            "interval_max_ms": float(i.max()),
            "gui_cpu_fraction": (time.thread_time() - self._cpu0) / wall if wall > 0 else 0.0,
        }


class MainWindow(QMainWindow):
    """The dashboard window over a core.

    Parameters
    ----------
    core : CoreCommands
        :class:`~neurodeck.control.core.DashboardCore` (or a fake in tests).
    settings : Settings, optional
        The settings tree; the window shows and edits its ``[dashboard]`` section and saves the
        whole tree, so that the other sections survive File > Save settings.
    settings_path : Path, optional
        Where File > Save settings writes (default: the file the settings came from, else
        :data:`~neurodeck.control.settings.DEFAULT_CONFIG`).
    frame_ms : int
        Frame period; 0 leaves the timer stopped (tests call :meth:`frame`).
    """

    def __init__(
        self,
        core: CoreCommands,
        settings: Settings | None = None,
        settings_path: Path | None = None,
        frame_ms: int = FRAME_MS,
    ) -> None:
        super().__init__()
        self.core = core
        self.tree = settings or Settings()
        self.settings: DashboardSettings = self.tree.dashboard
        self.settings_path = settings_path or self.tree.source or DEFAULT_CONFIG
        self.stats = FrameStats()
        self._asked = 0  # the serial of the last replay question asked
        self.snap: CoreSnapshot = empty_snapshot()
        self.setWindowTitle("neurodeck")
        self.setAcceptDrops(True)
        self.resize(1400, 860)

        self.streams = StreamsPanel(core)
        self.streams.open_recording_requested.connect(self.open_recording)
        self.streams.load_model_requested.connect(self.load_model)
        self.streams.simulate_requested.connect(self.start_simulator)
        self.health = HealthPanel(core)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.streams)
        side.addWidget(self.health)
        side.setSizes([420, 380])
        dock = QDockWidget("Streams and health")
        dock.setObjectName("streams-dock")
        dock.setWidget(side)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.resizeDocks([dock], [380], Qt.Orientation.Horizontal)  # narrower on a small screen

        self.scope = ScopeView(core)
        self.spectrum = SpectrumPanel(core)
        self.calibration = CalibrationPanel(core)
        self.decoding = DecodingPanel(core)
        self.emotion = EmotionPanel(core)
        self.tabs = QTabWidget()
        for view, title in zip(
            (self.scope, self.spectrum, self.calibration, self.decoding, self.emotion),
            TABS,
            strict=True,
        ):
            self.tabs.addTab(view, title)

        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: white;")
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(core.dismiss_errors)
        self.error_bar = QWidget()
        self.error_bar.setStyleSheet("background: #b71c1c;")
        bar = QHBoxLayout(self.error_bar)
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.error_label, 1)
        bar.addWidget(dismiss)
        self.error_bar.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.error_bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.status_label = ElidedLabel("")  # a long message never widens the window
        self.fps_label = QLabel("")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.fps_label)
        self._build_menus()
        self.apply_settings(self.settings)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.frame)
        if frame_ms > 0:
            self.timer.start(frame_ms)

    # -- menus and shortcuts --------------------------------------------------------------------
    def _action(self, menu, text: str, slot, shortcut: str | None = None) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            if shortcut in ("Esc", "P"):  # also in the full-screen cue window
                action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "Open recording to replay...", self.open_recording, "Ctrl+O")
        self._action(f, "Load profile or checkpoint...", self.load_model, "Ctrl+L")
        self._action(f, "Load profile folder...", self.load_profile_folder)
        f.addSeparator()
        self._action(f, "Load settings...", self.load_settings_file)
        self._action(f, "Save settings", self.save_settings, "Ctrl+S")
        self._action(f, "Save settings as...", self.save_settings_as, "Ctrl+Shift+S")
        f.addSeparator()
        self._action(f, "Quit", self.close, "Ctrl+Q")
        s = bar.addMenu("&Stream")
        self._action(s, "Search for streams", self.core.refresh_streams, "F5")
        self._action(s, "Disconnect", self.core.disconnect, "Ctrl+D")
        self._action(s, "Start the simulator", self.start_simulator, "Ctrl+Shift+M")
        self._action(s, "Stop replay or simulator", self.core.stop_source)
        self._action(s, "Stop decoding", self.core.stop_decoding)
        c = bar.addMenu("&Calibration")
        self._action(c, "Start calibration", self.start_calibration)
        self._action(c, "Pause / resume", self.toggle_pause, "P")
        self._action(c, "Abort", self.escape, "Esc")
        self._action(c, "Full-screen cues", self.fullscreen_cues, "F11")
        self.addActions(self.menuBar().actions())
        self._action(c, "Use the new profile", self.core.use_profile)
        v = bar.addMenu("&View")
        for i, title in enumerate(TABS):
            self._action(v, title, lambda i=i: self.tabs.setCurrentIndex(i), f"Ctrl+{i + 1}")
        self._action(v, "Toggle display filter", self.toggle_filter, "F")

    # -- user actions ---------------------------------------------------------------------------
    def open_recording(self) -> None:
        """Ask for recordings and replay them."""
        paths, _ = QFileDialog.getOpenFileNames(
            self,
            "Replay a recording",
            "",
            "EEG recordings (*.edf *.bdf *.gdf *.fif *.fif.gz *.vhdr *.xdf);;All files (*)",
        )
        if paths:
            self.replay([Path(p) for p in paths])

    def replay(self, paths: list[Path]) -> None:
        """Replay ``paths`` with the saved speed and loop settings."""
        self.core.replay(paths, self.settings.replay_speed, self.settings.replay_loop)
        self.tabs.setCurrentIndex(0)

    def load_model(self) -> None:
        """Ask for a ``.safetensors`` checkpoint or a profile's ``profile.json``; decode with it."""
        start = self.settings.last_profile or self.settings.out_dir
        name, _ = QFileDialog.getOpenFileName(
            self, "Load a checkpoint or a subject profile", start, MODEL_FILTER
        )
        if name:
            self.decode_with(profile_folder_of(name))

    def load_profile_folder(self) -> None:
        """Ask for a subject profile folder (what ``neurodeck calibrate --out`` wrote)."""
        start = self.settings.last_profile or self.settings.out_dir
        folder = QFileDialog.getExistingDirectory(self, "Subject profile folder", start)
        if folder:
            self.decode_with(Path(folder))

    def decode_with(self, path: Path) -> None:
        """Decode the connected stream with a checkpoint file or a profile folder."""
        self.settings = self.settings.replace(last_profile=str(path))
        self.core.load_model(path)
        self.tabs.setCurrentIndex(3)

    def start_simulator(self) -> None:
        """Start the simulator (channel count asked)."""
        n, ok = QInputDialog.getItem(
            self, "Simulator", "Channels:", ["8", "16", "32", "64"], 2, False
        )
        if ok:
            self.core.simulate(int(n))

    def start_calibration(self) -> None:
        """Start a calibration with the saved paradigm."""
        self.tabs.setCurrentIndex(2)
        self.core.start_calibration(self.settings.paradigm)

    def toggle_pause(self) -> None:
        """Pause or resume the running calibration."""
        phase = self.snap.calibration.phase
        if phase == "cues":
            self.core.pause_calibration()
        elif phase == "paused":
            self.core.resume_calibration()

    def escape(self) -> None:
        """Leave full-screen cues, else abort a running calibration."""
        if self.cues_fullscreen():
            self.calibration.leave_full_screen()
            return
        if self.snap.calibration.phase in ("starting", "cues", "paused", "fitting"):
            self.core.abort_calibration()

    def fullscreen_cues(self) -> None:
        """Show the cue display on the whole screen."""
        self.tabs.setCurrentIndex(2)
        self.calibration.enter_full_screen()

    def cues_fullscreen(self) -> bool:
        """True while the cue display covers the screen."""
        return not self.calibration.full_screen_display.isHidden()

    def toggle_filter(self) -> None:
        """Toggle the scope's display filter."""
        self.scope.filter_check.toggle()

    # -- settings -------------------------------------------------------------------------------
    def apply_settings(self, settings: DashboardSettings) -> None:
        """Show ``settings`` in the views."""
        self.settings = settings
        scope = self.scope
        spans = [float(scope.span_combo.itemData(i)) for i in range(scope.span_combo.count())]
        nearest = int(np.argmin([abs(s - settings.scope_s) for s in spans]))
        scope.span_combo.setCurrentIndex(nearest)
        scope.scale_spin.setValue(round(settings.scale_uv))  # whole microvolts
        scope.set_auto_scale(settings.scale_auto)
        scope.filter_check.setChecked(settings.filter)
        self._scope_channels: tuple[str, ...] = ()
        combo = self.calibration.paradigm_combo
        if combo.findText(settings.paradigm) < 0:
            combo.addItem(settings.paradigm)  # a paradigm TOML file
        combo.setCurrentIndex(combo.findText(settings.paradigm))

    def current_settings(self) -> DashboardSettings:
        """The settings as the views show them now."""
        scope = self.scope
        hidden = self.settings.hidden_channels
        if scope.channel_names:
            shown = set(scope.selected_names())
            hidden = tuple(n for n in scope.channel_names if n not in shown)
        return self.settings.replace(
            scope_s=scope.span_s,
            scale_auto=scope.auto_scale,
            scale_uv=scope.uv_per_div,
            filter=scope.use_filtered,
            hidden_channels=hidden,
            paradigm=self.calibration.paradigm_combo.currentText(),
        )

    def save_settings(self, path: Path | None = None) -> Path | None:
        """Write the current settings as TOML; returns the path (None on failure, shown)."""
        path = Path(path or self.settings_path).expanduser().resolve()
        try:
            self.settings = self.current_settings()
            self.tree = self.tree.replace(dashboard=self.settings)
            written = save_settings(self.tree, path)
        except (OSError, NeurodeckError) as exc:
            self.status_label.setText(f"Could not save the settings to {path}: {exc}")
            return None
        self.status_label.setText(f"settings saved to {written}")
        return written

    def save_settings_as(self) -> None:
        """Ask for a file and save the settings there."""
        path, _ = QFileDialog.getSaveFileName(self, "Save settings", "", "TOML (*.toml)")
        if path:
            self.settings_path = Path(path)
            self.save_settings()

    def load_settings_file(self, path: Path | None = None) -> bool:
        """Load settings from TOML (asked when no path); errors are shown, not raised."""
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "Load settings", "", "TOML (*.toml)")
            if not name:
                return False
            path = Path(name)
        path = path.expanduser().resolve()  # shown, and saved to later: absolute
        try:
            tree = load_settings(path)
        except NeurodeckError as exc:
            self.status_label.setText(f"{exc.problem} {exc.hint}".strip())
            return False
        self.settings_path = path
        self.tree = tree
        self.apply_settings(tree.dashboard)
        self.status_label.setText(f"settings loaded from {path}")
        return True

    # -- drag and drop --------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept recordings dragged onto the window."""
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if any(is_replayable(Path(u.toLocalFile())) for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Replay the recordings dropped onto the window."""
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls()]
        paths = [p for p in paths if is_replayable(p)]
        if paths:
            self.replay(paths)
            event.acceptProposedAction()

    # -- the frame loop -------------------------------------------------------------------------
    def frame(self) -> None:
        """One frame: read a snapshot, draw the visible views."""
        start = self.stats.begin()
        snap = self.core.snapshot()
        self.snap = snap
        self.streams.render(snap)
        self.health.render(snap)
        current = self.tabs.currentWidget()
        if current is not None:
            current.render(snap)  # type: ignore[attr-defined]
        if self.scope.channel_names != self._scope_channels:  # a new stream: hide as saved
            self._scope_channels = self.scope.channel_names
            hidden = set(self.settings.hidden_channels)
            if hidden & set(self._scope_channels):
                self.scope.select_channels(n for n in self._scope_channels if n not in hidden)
        if self.cues_fullscreen() and current is not self.calibration:
            self.calibration.render(snap)
        self._render_status(snap)
        question = snap.replay_question
        if question is not None and question.serial > self._asked:
            self._asked = question.serial  # ask once, after this frame
            QTimer.singleShot(0, lambda: self.answer_replay_question(question))
        self.stats.end(start)

    def answer_replay_question(self, question: ReplayQuestion) -> None:
        """Ask the user (a file cut short, an XDF file's stream) and replay with the answer."""
        options = ask_replay_question(self, question)
        if options is not None:
            self.core.replay(
                list(question.paths),
                question.speed,
                question.loop,
                options.allow_truncated,
                options.xdf_stream,
            )

    def _render_status(self, snap: CoreSnapshot) -> None:
        if snap.status != self.status_label.text():
            self.status_label.setText(snap.status)
        errors = "\n".join(snap.errors[-3:])
        if errors != self.error_label.text():
            self.error_label.setText(errors)
            self.error_bar.setVisible(bool(errors))
        if len(self.stats.intervals) % 30 == 0 and self.stats.intervals:
            recent = list(self.stats.intervals)[-30:]
            fps = len(recent) / sum(recent)
            self.fps_label.setText(f"{fps:4.0f} fps")

    def closeEvent(self, event) -> None:
        """Stop the frame loop, then the core (threads and child processes)."""
        self.timer.stop()
        self.calibration.leave_full_screen()
        self.core.close()
        super().closeEvent(event)
