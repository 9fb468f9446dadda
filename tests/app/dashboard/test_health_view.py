"""The health panel shows the snapshot's figures, '-' for unknown ones, and colours the state."""

from __future__ import annotations

import pytest
from neurodeck.control.snapshot import CoreSnapshot, HealthView

from tests.app.dashboard.fakes import FakeCore

pytestmark = pytest.mark.gui


def _health(**changes) -> HealthView:
    values = dict(
        state="streaming",
        rate_hz=249.7,
        nominal_hz=250.0,
        n_samples=123456,
        lost_samples=12,
        n_gaps=3,
        overruns=1,
        n_nonfinite=0,
        n_stalls=2,
        decoding=True,
        predictions=4321,
        dropped_skipped=5,
        dropped_stale=6,
        dropped_invalid=7,
        e2e_p50_ms=21.5,
        e2e_p99_ms=48.25,
        compute_p50_ms=3.25,
        compute_p99_ms=None,
        device="cuda:0",
        runner="cuda:0 bf16, CUDA graphs",
        message="",
    )
    values.update(changes)
    return HealthView(**values)


@pytest.fixture
def panel(qtbot):
    from neurodeck.app.dashboard.views.health import HealthPanel

    widget = HealthPanel(FakeCore())
    qtbot.addWidget(widget)
    return widget


def _texts(panel) -> dict[str, str]:
    return {name: label.text() for name, label in panel.fields.items()}


def test_not_connected(panel) -> None:
    from neurodeck.app.dashboard.views.health import FIELD_CAPTIONS, GREY

    panel.render(CoreSnapshot(t=1.0))
    texts = _texts(panel)
    assert set(texts) == set(FIELD_CAPTIONS)
    assert texts["state"] == "not connected"
    assert all(text == "-" for name, text in texts.items() if name != "state")
    assert panel.colour_of("state") == GREY


def test_running_figures(panel) -> None:
    from neurodeck.app.dashboard.views.health import AMBER, GREEN

    panel.render(CoreSnapshot(t=1.0, connection="connected", health=_health()))
    texts = _texts(panel)
    assert texts["state"] == "streaming"
    assert texts["rate"] == "249.7 / 250.0 Hz"
    assert texts["samples"] == "123,456"
    assert texts["lost_samples"] == "12"
    assert texts["gaps"] == "3"
    assert texts["overruns"] == "1"
    assert texts["nonfinite"] == "0"
    assert texts["stalls"] == "2"
    assert texts["predictions"] == "4,321"
    assert (texts["dropped_skipped"], texts["dropped_stale"], texts["dropped_invalid"]) == (
        "5",
        "6",
        "7",
    )
    assert texts["e2e_latency"] == "21.5 / 48.2 ms"
    assert texts["compute"] == "3.2 / - ms"
    assert texts["device"] == "cuda:0"
    assert texts["runner"] == "cuda:0 bf16, CUDA graphs"
    assert texts["message"] == "-"
    assert panel.colour_of("state") == GREEN
    assert GREEN in panel.fields["state"].styleSheet()
    assert panel.colour_of("lost_samples") == AMBER
    assert panel.colour_of("nonfinite") == ""


def test_inference_figures_are_missing_while_not_decoding(panel) -> None:
    health = _health(
        decoding=False, predictions=0, e2e_p50_ms=None, e2e_p99_ms=None, device="", runner=""
    )
    panel.render(CoreSnapshot(t=1.0, connection="connected", health=health))
    texts = _texts(panel)
    for name in ("predictions", "dropped_skipped", "e2e_latency", "compute", "device", "runner"):
        assert texts[name] == "-", name
    assert texts["samples"] == "123,456"


def test_lost_state_is_red_with_its_message(panel) -> None:
    from neurodeck.app.dashboard.views.health import RED

    message = "stream lost: no samples for 5.0 s; check the headset and reconnect"
    panel.render(
        CoreSnapshot(t=1.0, connection="lost", health=_health(state="lost", message=message))
    )
    assert panel.fields["state"].text() == "lost"
    assert panel.fields["message"].text() == message
    assert panel.colour_of("state") == RED
    assert panel.colour_of("message") == RED
    assert RED in panel.fields["message"].styleSheet()
    # recovery clears the colour of the message
    panel.render(CoreSnapshot(t=2.0, connection="connected", health=_health()))
    assert panel.fields["message"].text() == "-"
    assert panel.colour_of("message") == ""


def test_rate_far_from_nominal_is_flagged(panel) -> None:
    from neurodeck.app.dashboard.views.health import AMBER

    panel.render(CoreSnapshot(t=1.0, health=_health(rate_hz=200.0)))
    assert panel.colour_of("rate") == AMBER
    panel.render(CoreSnapshot(t=2.0, health=_health(rate_hz=250.0)))
    assert panel.colour_of("rate") == ""
