"""Implementations of the CLI commands (each returns the process exit code)."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from neurodeck.app.options import check_xdf_stream_option
from neurodeck.app.status import StatusPrinter, summary_dict, summary_text
from neurodeck.calibration.decoders import load_decoder_spec
from neurodeck.common.jsonio import write_json
from neurodeck.control.children import check_speed
from neurodeck.control.settings import load_settings

logger = logging.getLogger(__name__)


def cmd_streams(args: argparse.Namespace) -> int:
    """List visible LSL streams."""
    import pylsl

    found = pylsl.resolve_streams(wait_time=args.timeout)
    rows = [
        {
            "name": s.name(),
            "type": s.type(),
            "channels": s.channel_count(),
            "sfreq": s.nominal_srate(),
            "host": s.hostname(),
            "source_id": s.source_id(),
        }
        for s in found
    ]
    if not rows:
        print(
            f"no LSL stream seen within {args.timeout:g} s "
            "(start your headset driver, `neurodeck replay FILE` or `neurodeck simulate`)"
        )
    else:
        print(f"{'name':28s} {'type':12s} {'ch':>4s} {'rate':>8s}  {'host':16s} source_id")
        for r in rows:
            print(
                f"{r['name']:28s} {r['type']:12s} {r['channels']:4d} {r['sfreq']:8g}  "
                f"{r['host']:16s} {r['source_id']}"
            )
    write_json(args.json, {"streams": rows})
    return 0


def _progress_printer(label: str, sfreq: float, speed: float):
    printer = {"last": 0.0}

    def progress(n_pushed: int, total: int | None) -> None:
        now = time.monotonic()
        if now - printer["last"] < 1.0:
            return
        printer["last"] = now
        done = f"{n_pushed / sfreq:7.1f} s"
        of = f" / {total / sfreq:.1f} s" if total else ""
        print(f"\r{label}: {done}{of} of signal published (x{speed:g})", end="", flush=True)

    return progress


def cmd_replay(args: argparse.Namespace) -> int:
    """Publish recordings on LSL."""
    from neurodeck.streaming.replay import Replayer

    check_speed(args.speed)
    xdf_stream = getattr(args, "xdf_stream", None)
    check_xdf_stream_option(xdf_stream, args.files)
    replayer = Replayer(
        args.files,
        name=args.name,
        speed=args.speed,
        loop=args.loop,
        source_id=args.source_id,
        chunk_s=args.chunk_s,
        markers=getattr(args, "markers", True),
        xdf_stream=xdf_stream,
        allow_truncated=getattr(args, "allow_truncated", False),
    )
    meta = replayer.meta
    markers = f"markers on '{meta.name}-markers'" if replayer.publishes_markers else "no markers"
    print(
        f"replaying {', '.join(p.name for p in replayer.paths)} as '{meta.name}' "
        f"({meta.n_channels} ch, {meta.sfreq:g} Hz, x{args.speed:g}; {markers}; "
        f"source_id {replayer.source_id}). Ctrl-C stops.",
        flush=True,
    )
    return _publish(replayer, args, "replay", meta.sfreq)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Publish the synthetic headset."""
    from neurodeck.streaming.simulator import SimulationConfig, Simulator

    check_speed(args.speed)
    cfg = SimulationConfig(n_channels=args.channels, sfreq=args.sfreq, seed=args.seed)
    sim = Simulator(cfg, name=args.name, speed=args.speed, duration_s=args.duration)
    print(
        f"simulating '{args.name}' ({args.channels} ch, {args.sfreq:g} Hz; cues on "
        f"'{args.name}-markers'). Ctrl-C stops.",
        flush=True,
    )
    return _publish(sim, args, "simulate", args.sfreq)


def _publish(streamer, args: argparse.Namespace, label: str, sfreq: float) -> int:
    """Wait for a consumer if asked, publish until the end, linger, close."""
    if args.wait_for_consumer > 0 and not streamer.wait_for_consumers(args.wait_for_consumer):
        print(f"no consumer connected within {args.wait_for_consumer:g} s; publishing anyway")
    try:
        streamer.run_blocking(progress=_progress_printer(label, sfreq, args.speed))
        streamer.linger(timeout_s=3.0)  # let consumers pull the last samples
    finally:
        streamer.close()
        print()
    return 0


def run_session(session, duration_s: float | None, printer: StatusPrinter | None = None) -> dict:
    """Run a started session until ``duration_s`` passes or Ctrl-C; return the summary."""
    printer = printer or StatusPrinter()
    t0 = time.monotonic()
    try:
        while duration_s is None or time.monotonic() - t0 < duration_s:
            printer.update(session.snapshot())
            time.sleep(0.05)
    except KeyboardInterrupt:  # Ctrl-C ends a decode normally, with its summary
        printer.finish()
    finally:
        session.stop()
        printer.update(session.snapshot(), force=True)
        printer.finish()
    return summary_dict(session.snapshot())


#: Seconds ``decode`` listens for another stream that already has its output name.
OUTLET_CHECK_S = 1.0


def outlet_name_note(outlet: str, others: Sequence[Any]) -> str:
    """The warning printed when streams named ``outlet`` are already published.

    Parameters
    ----------
    outlet : str
        The name ``decode`` is about to publish its predictions under.
    others : sequence of pylsl.StreamInfo
        The streams already published under that name.
    """
    where = "; ".join(
        f"host {info.hostname()!r}, source_id {info.source_id()!r}, type {info.type()!r}"
        for info in others
    )
    return (
        f"another LSL stream named {outlet!r} is already published ({where}); consumers that "
        "look the predictions up by name may read the wrong one. Give this decode a name of its "
        "own with --outlet NAME."
    )


def cmd_decode(args: argparse.Namespace) -> int:
    """Decode a live stream headless."""
    from neurodeck.streaming.lsl_io import StreamSearch, by_id_hint, resolve_stream
    from neurodeck.streaming.session import DecodeSession
    from neurodeck.streaming.sinks import JSONLSink, LSLPredictionOutlet, default_outlet_name

    settings = load_settings(args.config)  # a bad file is refused before any waiting
    spec, _ = load_decoder_spec(args.model, args.decoder)
    outlet = args.outlet or default_outlet_name(spec.family)  # by family unless named
    taken = StreamSearch(name=outlet)  # listens while the input streams are resolved
    query = {"source_id": args.stream} if args.by_id else {"name": args.stream}
    eeg = resolve_stream(**query, timeout_s=args.timeout, hint=by_id_hint("decode"))
    markers = None
    if args.markers:
        marker_name = f"{eeg.name()}-markers" if args.markers == "auto" else args.markers
        markers = resolve_stream(
            name=marker_name,
            stream_type="Markers",
            timeout_s=args.timeout,
            prefer_source_id=f"{eeg.source_id()}-markers",  # replay's and simulate's pairing
            hint="Stop the marker stream you do not want, or decode without --markers.",
        )
    others = taken.wait(max(0.0, taken.started + OUTLET_CHECK_S - time.monotonic()), first=False)
    if others:
        print(f"neurodeck decode: warning: {outlet_name_note(outlet, others)}", file=sys.stderr)
    sinks = [
        LSLPredictionOutlet(
            spec.class_names, outlet, f"{outlet}-{eeg.source_id()}", family=spec.family
        )
    ]
    if args.jsonl:
        sinks.append(JSONLSink(args.jsonl))
    session = DecodeSession(
        eeg,
        spec,
        hop_s=args.hop or settings.decode.hop_s,
        device=args.device or settings.decode.device,
        sinks=sinks,
        marker_info=markers,
        settings=settings.acquisition,
        deadline_s=settings.decode.deadline_s,
    ).start()
    print(
        f"decoding '{eeg.name()}' with {args.model.name} ({', '.join(spec.class_names)}); "
        f"{spec.family.replace('_', ' ')} predictions on LSL stream '{outlet}'. Ctrl-C stops.",
        flush=True,
    )
    try:
        summary = run_session(session, args.duration, StatusPrinter(family=spec.family))
    finally:
        for sink in sinks:
            sink.close()
    print(summary_text(summary))
    write_json(args.json, summary)
    return 0
