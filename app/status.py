"""Text views of a decoding session: the live status line and the final summary."""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, TextIO

from neurodeck.common.types import AFFECTIVE, MOTOR_IMAGERY
from neurodeck.control.affect import DEFAULT_AFFECTIVE_SMOOTHING_S, AffectTracker

if TYPE_CHECKING:  # importing the session loads pylsl, before `--local` has chosen its scope
    from neurodeck.streaming.session import SessionSnapshot


def _ms(value: float) -> str:
    return "  -  " if math.isnan(value) else f"{value:5.1f}"


def status_line(snap: SessionSnapshot, elapsed_s: float, affect: str | None = None) -> str:
    """One line: state, rate, lost samples, dropped windows, latency p50/p99, latest prediction.

    ``affect`` replaces the latest prediction with a smoothed affective state in words
    (:meth:`neurodeck.control.affect.AffectTracker.describe`) when given and not empty.
    """
    acq, work, lat = snap.acquisition, snap.worker, snap.worker.latency
    expected = snap.meta.sfreq * snap.meta.replay_speed
    line = (
        f"[{elapsed_s:6.1f} s] {acq.state:9s} {acq.rate_hz:7.1f}/{expected:g} Hz | "
        f"lost {acq.lost_samples} | dropped {work.dropped} | "
        f"e2e p50 {_ms(lat.e2e_p50_ms)} p99 {_ms(lat.e2e_p99_ms)} ms"
    )
    p = snap.latest
    if affect:
        line += f" | state {affect}"
    elif p is not None:
        line += f" | {p.label:>6s} {max(p.probabilities):.2f}"
    if p is not None and p.true_label is not None:
        line += f" (cue {p.true_label})"
    return line


class StatusPrinter:
    """Rewrites one terminal line (or prints a line every few seconds when not a terminal).

    With ``family="affective"`` the line shows the state smoothed over ``smoothing_s`` content
    seconds (a mood changes over seconds; one window's argmax flickers), with its valence,
    arousal or workload where the classes define them, instead of the latest window's argmax.
    The smoother sees the predictions this printer polls (every 50 ms in ``run_session``).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        interval_s: float | None = None,
        family: str = MOTOR_IMAGERY,
        smoothing_s: float | None = None,
    ) -> None:
        self.family = family
        self.smoothing_s = smoothing_s or DEFAULT_AFFECTIVE_SMOOTHING_S
        self._tracker: AffectTracker | None = None
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty()
        self.interval_s = interval_s if interval_s is not None else (0.25 if self.tty else 5.0)
        self._last = 0.0
        self._t0 = time.monotonic()

    def update(self, snap: SessionSnapshot, force: bool = False) -> None:
        """Print the status line if the interval has passed."""
        affect = self._track(snap)
        now = time.monotonic()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        text = status_line(snap, now - self._t0, affect)
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _track(self, snap: SessionSnapshot) -> str | None:
        """Fold the latest prediction into the affective smoother; the state in words."""
        if self.family != AFFECTIVE or snap.latest is None:
            return None
        if self._tracker is None:
            tau = self.smoothing_s / max(snap.meta.replay_speed, 1e-6)  # stream seconds
            self._tracker = AffectTracker(snap.latest.class_names, tau)
        self._tracker.update(snap.latest)
        return self._tracker.describe(self.smoothing_s)

    def finish(self) -> None:
        """End the rewritten line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def summary_dict(snap: SessionSnapshot) -> dict:
    """Final figures of a session as a JSON-ready dictionary."""
    acq, work = snap.acquisition, snap.worker
    return {
        "stream": {
            "name": snap.meta.name,
            "source_id": snap.meta.source_id,
            "n_channels": snap.meta.n_channels,
            "sfreq": snap.meta.sfreq,
            "replay_speed": snap.meta.replay_speed,
        },
        "samples": acq.n_samples,
        "lost_samples": acq.lost_samples,
        "gaps": acq.n_gaps,
        "overruns": acq.overruns,
        "nonfinite_samples": acq.n_nonfinite,
        "stalls": acq.n_stalls,
        "acquisition_cpu_fraction": round(acq.cpu_fraction, 4),
        "predictions": work.n_predictions,
        "dropped_windows": {
            "skipped": work.dropped_skipped,
            "stale": work.dropped_stale,
            "invalid": work.dropped_invalid,
        },
        "faults": work.n_faults,
        "device": work.device,
        "latency_ms": work.latency.to_dict(),
    }


def summary_text(summary: dict) -> str:
    """Human-readable multi-line summary."""
    lat = summary["latency_ms"]
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    drops = summary["dropped_windows"]
    lines = [
        f"samples {summary['samples']}  lost {summary['lost_samples']}  gaps {summary['gaps']}  "
        f"overruns {summary['overruns']}  non-finite {summary['nonfinite_samples']}",
        f"predictions {summary['predictions']}  dropped windows: skipped {drops['skipped']}, "
        f"stale {drops['stale']}, invalid {drops['invalid']}  (device {summary['device']})",
        f"latency ms     p50     p99     max   (n={lat['n']})",
    ]
    for key in ("transport", "compute", "e2e"):
        lines.append(
            f"  {key:10s} {fmt(lat[f'{key}_p50_ms']):>7s} {fmt(lat[f'{key}_p99_ms']):>7s} "
            f"{fmt(lat[f'{key}_max_ms']):>7s}"
        )
    return "\n".join(lines)
