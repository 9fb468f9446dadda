"""The health panel: the acquisition and inference figures of
:class:`~neurodeck.control.snapshot.HealthView` in a compact grid, the state coloured, the latest
problem in words.

One figure per row, in a scroll area: the panel fits a narrow dock on a small screen (issue 18).
"""

from __future__ import annotations

from neurodeck.control.snapshot import CoreCommands, CoreSnapshot, HealthView
from PyQt6 import QtCore, QtWidgets

#: Field name -> caption, in display order (two figures per grid row).
FIELD_CAPTIONS: dict[str, str] = {
    "state": "State",
    "rate": "Rate",
    "samples": "Samples",
    "lost_samples": "Lost samples",
    "gaps": "Gaps",
    "overruns": "Overruns",
    "nonfinite": "Non-finite",
    "stalls": "Stalls",
    "predictions": "Predictions",
    "dropped_skipped": "Windows skipped",
    "dropped_stale": "Windows stale",
    "dropped_invalid": "Windows invalid",
    "e2e_latency": "End-to-end p50 / p99",
    "compute": "Compute p50 / p99",
    "device": "Device",
    "runner": "Runner",
    "message": "Message",
}
#: Shown for figures that do not exist (yet).
MISSING = "-"
#: State shown when there is no health view.
NOT_CONNECTED = "not connected"

GREEN, AMBER, RED, GREY = "#2ca02c", "#d98c00", "#d62728", "#888888"
#: Colour of each acquisition state.
STATE_COLOURS = {
    "streaming": GREEN,  # the acquisition's word for a healthy stream
    "running": GREEN,
    "connecting": AMBER,
    "stalled": RED,
    "lost": RED,
    "stopped": GREY,
    NOT_CONNECTED: GREY,
}
#: Counters that should stay at zero (drawn amber otherwise).
_BAD_COUNTERS = ("lost_samples", "gaps", "overruns", "nonfinite", "stalls")
#: Relative deviation of the rate from nominal drawn amber.
RATE_TOLERANCE = 0.05


def format_health(health: HealthView | None) -> dict[str, str]:
    """The text of every field of :data:`FIELD_CAPTIONS` (:data:`MISSING` where unknown)."""
    if health is None:
        texts = dict.fromkeys(FIELD_CAPTIONS, MISSING)
        texts["state"] = NOT_CONNECTED
        return texts
    h = health
    texts = {
        "state": h.state,
        "rate": f"{h.rate_hz:.1f} / {h.nominal_hz:.1f} Hz"
        if h.nominal_hz
        else f"{h.rate_hz:.1f} Hz",
        "samples": f"{h.n_samples:,}",
        "lost_samples": f"{h.lost_samples:,}",
        "gaps": str(h.n_gaps),
        "overruns": str(h.overruns),
        "nonfinite": f"{h.n_nonfinite:,}",
        "stalls": str(h.n_stalls),
        "device": h.device or MISSING,
        "runner": h.runner or MISSING,
        "message": h.message or MISSING,
    }
    inference = {
        "predictions": f"{h.predictions:,}",
        "dropped_skipped": str(h.dropped_skipped),
        "dropped_stale": str(h.dropped_stale),
        "dropped_invalid": str(h.dropped_invalid),
        "e2e_latency": _percentiles(h.e2e_p50_ms, h.e2e_p99_ms),
        "compute": _percentiles(h.compute_p50_ms, h.compute_p99_ms),
    }
    if not h.decoding:
        inference = dict.fromkeys(inference, MISSING)
    texts.update(inference)
    return {name: texts[name] for name in FIELD_CAPTIONS}


def _percentiles(p50_ms: float | None, p99_ms: float | None) -> str:
    if p50_ms is None and p99_ms is None:
        return MISSING
    return f"{_ms(p50_ms)} / {_ms(p99_ms)} ms"


def _ms(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1f}"


def health_colours(health: HealthView | None) -> dict[str, str]:
    """Text colour of the fields that are not drawn in the default colour."""
    if health is None:
        return {"state": GREY}
    colours = {"state": STATE_COLOURS.get(health.state, AMBER)}
    if health.message:
        colours["message"] = RED if health.state in ("stalled", "lost") else AMBER
    for name, value in zip(
        _BAD_COUNTERS,
        (health.lost_samples, health.n_gaps, health.overruns, health.n_nonfinite, health.n_stalls),
        strict=True,
    ):
        if value:
            colours[name] = AMBER
    off_rate = abs(health.rate_hz - health.nominal_hz) > RATE_TOLERANCE * health.nominal_hz
    if health.nominal_hz > 0 and health.state in ("streaming", "running") and off_rate:
        colours["rate"] = AMBER
    return colours


class HealthPanel(QtWidgets.QWidget):
    """A grid of labelled acquisition and inference figures.

    Parameters
    ----------
    core : CoreCommands
        The dashboard core (this view sends no commands).
    parent : QWidget, optional

    Attributes
    ----------
    fields : dict of str to QLabel
        The value label of every field of :data:`FIELD_CAPTIONS`.
    captions : dict of str to QLabel
        Their captions.

    Notes
    -----
    :meth:`render` is called from the GUI thread about 30 times a second; labels change only when
    their text or colour does.
    """

    def __init__(self, core: CoreCommands, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._colours: dict[str, str] = {}
        self.fields: dict[str, QtWidgets.QLabel] = {}
        self.captions: dict[str, QtWidgets.QLabel] = {}
        inner = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(inner)
        grid.setContentsMargins(4, 4, 4, 4)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        for row, name in enumerate(FIELD_CAPTIONS):
            self._add_field(grid, name, row, 0)
        for name in ("runner", "message"):
            self.fields[name].setWordWrap(True)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(grid.rowCount(), 1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.render(CoreSnapshot(t=0.0))

    def _add_field(
        self, grid: QtWidgets.QGridLayout, name: str, row: int, col: int, span: int = 1
    ) -> None:
        caption = QtWidgets.QLabel(FIELD_CAPTIONS[name] + ":")
        caption.setStyleSheet(f"color: {GREY};")
        value = QtWidgets.QLabel(MISSING)
        value.setObjectName(f"health_{name}")
        value.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(caption, row, col)
        grid.addWidget(value, row, col + 1, 1, span)
        self.captions[name] = caption
        self.fields[name] = value

    def render(self, snap: CoreSnapshot) -> None:
        """Show ``snap.health`` ("not connected" when None); called from the GUI thread."""
        texts = format_health(snap.health)
        colours = health_colours(snap.health)
        for name, label in self.fields.items():
            if label.text() != texts[name]:
                label.setText(texts[name])
            colour = colours.get(name, "")
            if self._colours.get(name, "") != colour:
                weight = "font-weight: bold;" if name == "state" else ""
                label.setStyleSheet(f"color: {colour}; {weight}" if colour else weight)
                self._colours[name] = colour

    def colour_of(self, name: str) -> str:
        """The colour a field is drawn in (``""`` for the default), for tests."""
        return self._colours.get(name, "")
