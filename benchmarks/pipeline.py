"""Pipeline latency and memory benchmark (prints figures; not a test).

A recording is replayed on LSL from a separate process (``neurodeck replay``), and this process
decodes it through the live path (:class:`neurodeck.streaming.session.DecodeSession`), with:

- ``null``: a model that returns constant logits. Its end-to-end latency is what the pipeline
  (transport, acquisition, preprocessing, scheduling, window copy, sinks) adds without a model;
- ``tangent_space``: the classical reference model on 64 channels;
- ``model-only``: the same model timed on the same windows, without the pipeline.

``--soak`` replays in a loop at high speed and reports the decoder's resident memory after 1 and
10 minutes (growth must stay under 5 %, total under 1 GB).

Usage::

    LSLAPICFG=streaming/lsl_machine.cfg python benchmarks/pipeline.py [--duration 30] [--json F]
    LSLAPICFG=streaming/lsl_machine.cfg python benchmarks/pipeline.py --soak [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neurodeck.streaming.lsl_env import use_machine_scope  # noqa: E402

use_machine_scope()

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import torch  # noqa: E402
from neurodeck.control.children import Child, replay_args, spawn  # noqa: E402
from neurodeck.streaming.inference import ModelRunner  # noqa: E402
from neurodeck.streaming.lsl_io import resolve_stream  # noqa: E402
from neurodeck.streaming.preprocessing import PreprocessingConfig  # noqa: E402
from neurodeck.streaming.recording_io import eegbci_run_files, load_recording  # noqa: E402
from neurodeck.streaming.session import DecoderSpec, DecodeSession  # noqa: E402


class NullModel(torch.nn.Module):
    """Constant logits: measures the pipeline without a model."""

    def __init__(self, n_classes: int = 2) -> None:
        super().__init__()
        self.n_classes = n_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (batch, chans, times) -> (batch, classes)
        return torch.zeros(x.shape[0], self.n_classes, dtype=x.dtype, device=x.device)


def _tangent_space(channels: tuple[str, ...], data_file: Path):
    from neurodeck.calibration.offline import fit_reference_files

    model, meta = fit_reference_files([data_file])
    assert meta.channel_names == channels
    return model


def _spec(model: torch.nn.Module, channels: tuple[str, ...]) -> DecoderSpec:
    return DecoderSpec(
        model=model,
        channel_names=channels,
        sfreq=160.0,
        window_s=2.0,
        class_names=("left", "right"),
        preprocessing=PreprocessingConfig(bandpass=(8.0, 30.0)).to_dict(),
    )


def _start_replay(
    files: list[Path], speed: float, loop: bool, chunk_s: float = 0.02
) -> tuple[Child, str]:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    args = replay_args(files, speed=speed, name=name, source_id=name, loop=loop, chunk_s=chunk_s)
    return spawn(args), name


def run_case(
    label: str, model: torch.nn.Module, channels, files, duration_s: float, chunk_s: float
) -> dict:
    """Decode a real-time replay for ``duration_s`` and return the latency figures."""
    proc, name = _start_replay(files, 1.0, loop=True, chunk_s=chunk_s)
    try:
        session = DecodeSession(
            resolve_stream(source_id=name, timeout_s=20),
            _spec(model, channels),
            hop_s=0.25,
            device="cpu",
        ).start()
        time.sleep(duration_s)
        snap = session.snapshot()
        session.stop()
    finally:
        proc.stop(10.0)
    lat = snap.worker.latency
    row = {
        "case": label,
        "n": lat.n,
        "lost_samples": snap.acquisition.lost_samples,
        "dropped": snap.worker.dropped,
    }
    row.update({k: round(v, 3) for k, v in lat.to_dict().items() if k != "n" and v is not None})
    return row


def model_only(model: torch.nn.Module, n_channels: int, n_samples: int, repeats: int = 500) -> dict:
    """The model alone on windows of the live shape (one thread, as the worker runs it)."""
    runner = ModelRunner(model, "cpu", cpu_threads=1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, n_channels, n_samples)).astype(np.float32) * 10
    runner.warm_up(n_channels, n_samples)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        runner.predict_proba(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return {
        "case": "model-only tangent_space",
        "n": repeats,
        "compute_p50_ms": round(float(np.percentile(times, 50)), 3),
        "compute_p99_ms": round(float(np.percentile(times, 99)), 3),
        "compute_max_ms": round(float(np.max(times)), 3),
    }


def _fmt(row: dict, key: str) -> str:
    return f"{row[key]:.2f}" if key in row else "-"


def _row_text(r: dict) -> str:
    return (
        f"{r['case']:28s} {r['n']:5d} {r.get('lost_samples', '-')!s:>5s} "
        f"{r.get('dropped', '-')!s:>5s} "
        f"{_fmt(r, 'transport_p50_ms'):>8s}/{_fmt(r, 'transport_p99_ms'):<8s} "
        f"{_fmt(r, 'compute_p50_ms'):>7s}/{_fmt(r, 'compute_p99_ms'):<7s} "
        f"{_fmt(r, 'e2e_p50_ms'):>6s}/{_fmt(r, 'e2e_p99_ms')}/{_fmt(r, 'e2e_max_ms')}"
    )


def latency(args: argparse.Namespace, files: list[Path], channels) -> dict:
    """Null model, tangent space and model-only rows."""
    calib = eegbci_run_files(args.data, 1, [4])[0]
    ts_model = _tangent_space(channels, calib)
    one = 1.0 / 160.0
    rows = [
        run_case("null model, 1-sample pushes", NullModel(), channels, files, args.duration, one),
        run_case("null model, 20 ms pushes", NullModel(), channels, files, args.duration, 0.02),
        run_case("tangent_space, 1-sample", ts_model, channels, files, args.duration, one),
        model_only(ts_model, len(channels), 320),
    ]
    print(
        f"\n{'case':28s} {'n':>5s} {'lost':>5s} {'drop':>5s} "
        f"{'transport p50/p99':>18s} {'compute p50/p99':>16s} {'e2e p50/p99/max (ms)':>22s}"
    )
    for r in rows:
        print(_row_text(r))
    null = rows[0]
    print(
        f"\npipeline without the model (null model, 1-sample pushes): added after the pull "
        f"(compute) p99 {null['compute_p99_ms']:.2f} ms, transport p99 "
        f"{null['transport_p99_ms']:.2f} ms, end-to-end p99 {null['e2e_p99_ms']:.2f} ms; "
        f"goal <= 2 ms"
    )
    return {"latency": rows}


def soak(args: argparse.Namespace, files: list[Path], channels) -> dict:
    """Resident memory of a decoder over a long fast replay."""
    calib = eegbci_run_files(args.data, 1, [4])[0]
    proc, name = _start_replay(files, args.speed, loop=True)
    me = psutil.Process()
    marks = {}
    try:
        session = DecodeSession(
            resolve_stream(source_id=name, timeout_s=20),
            _spec(_tangent_space(channels, calib), channels),
            hop_s=0.25,
            device="cpu",
        ).start()
        t0 = time.monotonic()
        for minute in range(1, args.minutes + 1):
            time.sleep(max(0.0, t0 + 60 * minute - time.monotonic()))
            rss = me.memory_info().rss / 2**20
            snap = session.snapshot()
            marks[minute] = rss
            print(
                f"after {minute:2d} min: RSS {rss:7.1f} MiB, {snap.worker.n_predictions} "
                f"predictions, lost {snap.acquisition.lost_samples}, dropped "
                f"{snap.worker.dropped}",
                flush=True,
            )
        session.stop()
    finally:
        proc.stop(10.0)
    growth = (marks[args.minutes] - marks[1]) / marks[1] * 100
    print(
        f"RSS growth from minute 1 to {args.minutes}: {growth:+.2f} % (goal < 5 %); "
        f"max {max(marks.values()):.0f} MiB (goal < 1024)"
    )
    return {"soak": {"speed": args.speed, "rss_mib": marks, "growth_percent": round(growth, 2)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("NEURODECK_DATA", REPO.parent / "shared" / "data")),
    )
    ap.add_argument("--duration", type=float, default=30.0, help="seconds per latency case")
    ap.add_argument("--soak", action="store_true", help="memory soak instead of latency")
    ap.add_argument("--minutes", type=int, default=10)
    ap.add_argument("--speed", type=float, default=10.0, help="soak replay speed")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    files = eegbci_run_files(args.data, 1, [12])
    channels = tuple(load_recording(eegbci_run_files(args.data, 1, [4])[0]).channel_names)
    from neurodeck.streaming.channels import normalize_channel_name

    channels = tuple(normalize_channel_name(c) for c in channels)
    result = soak(args, files, channels) if args.soak else latency(args, files, channels)
    result.update(
        {
            "torch": torch.__version__,
            "cpu_count": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
