"""``neurodeck bench``: end-to-end latency of the live path, against a naive pipeline and mne-lsl.

For each model (the shipped encoders, an EEGNet-size and a LaBraM-Base-size network) and each
window length, a real recording (EEGBCI run 12, 64 channels at 160 Hz) is replayed on LSL at real
speed from a child process, and the same model decodes it four ways:

- ``neurodeck``: the live path (:class:`~neurodeck.streaming.session.DecodeSession`): acquisition
  thread, causal streaming preprocessing, ring buffer, window scheduler,
  :class:`~neurodeck.streaming.runner.ModelRunner` (one CPU thread; on CUDA pinned buffers, graphs,
  checked bf16);
- ``naive``: the textbook loop, on one thread: poll the inlet, keep the samples in a growing
  list, cut the window, preprocess it, run the model eagerly (torch's default threads, pageable
  copies, one window at a time, no warm-up);
- ``mne-lsl``: mne-lsl's ``StreamLSL`` acquires (its own thread), the window is taken with
  ``get_data`` and preprocessed, then the same eager model runs (the replay for this row publishes
  no marker stream: mne-lsl's bundled liblsl, under ``ResolveScope = machine``, resolves only one
  stream per publishing process);
- ``model-only``: the model alone on windows of the live shape (what the pipeline adds shows
  against it).

Latency is the end-to-end latency of docs/architecture.md, ``t_out - t_last``: from the moment
the window's last sample was stamped by the source to the moment its probabilities exist on the
host. A replay stamps every sample when it is due, so this includes the source's own chunking
(``--chunk-s``, 20 ms by default as a headset driver would send; 1 sample isolates the pipeline).

Each row decodes for ``--duration-s`` seconds (one window per 0.25 s hop, the first few dropped as
connection backlog); the ``n`` column says how many windows the row's figures come from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from neurodeck.common.jsonio import replaced_atomically, write_text_atomic
from neurodeck.control.children import Child, die_with_parent, replay_args, spawn

#: Models measured by default: shipped checkpoints, the decoder a calibrated profile runs by
#: default (``mi_profile``), and two reference sizes (random weights).
DEFAULT_MODELS = (
    "mi_shallow64",
    "mi_profile",
    "spp_eegnet",
    "labram_small",
    "eegnet",
    "labram_base",
)
#: Shipped checkpoints the benchmark loads by name.
SHIPPED = ("mi_shallow64", "mi_shallow_any", "spp_eegnet", "labram_small")
PIPELINES = ("neurodeck", "naive", "mne-lsl")
#: Seconds of decoding per row by default: about 115 windows at the 0.25 s hop; the default run
#: (4 models x 3 pipelines, plus connection and warm-up) stays under about 10 minutes on a CPU.
DEFAULT_DURATION_S = 30.0
#: Distance between window ends in every pipeline.
HOP_S = 0.25


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``bench``."""
    p = sub.add_parser("bench", help="end-to-end latency of the live path (prints figures)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (default auto)")
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), metavar="MODEL")
    p.add_argument("--windows", nargs="+", type=float, default=[2.0], metavar="S")
    p.add_argument("--pipelines", nargs="+", default=list(PIPELINES), choices=PIPELINES)
    p.add_argument(
        "--duration-s",
        "--seconds",
        dest="seconds",
        type=float,
        default=DEFAULT_DURATION_S,
        metavar="S",
        help=f"seconds of decoding per row, about 4 windows a second (default "
        f"{DEFAULT_DURATION_S:g}; 80 gives 300+ windows)",
    )
    p.add_argument("--chunk-s", type=float, default=0.02, help="source chunk (default 0.02 s)")
    p.add_argument("--data", type=Path, help="data root (default: $NEURODECK_DATA, ../shared/data)")
    p.add_argument("--json", type=Path, help="write the figures as JSON")
    p.add_argument("--png", type=Path, help="latency histograms (default: next to --json)")
    p.set_defaults(handler=cmd_bench)


@dataclass
class BenchModel:
    """A model and the input it expects."""

    name: str
    model: Any  # torch.nn.Module
    channel_names: tuple[str, ...]
    sfreq: float
    window_s: float
    preprocessing: dict
    n_params: int


def build_bench_model(name: str, channels: tuple[str, ...], window_s: float) -> BenchModel:
    """A shipped checkpoint (:data:`SHIPPED`), the default profile decoder (``mi_profile``: the
    mean of mi_shallow64 re-centred, mi_shallow64 fine-tuned and a 64-channel tangent-space
    reference, as calibration writes it), or a size reference with random weights (``eegnet``:
    EEGNet-size at 160 Hz; ``labram_base``: LaBraM-Base at 200 Hz)."""
    from neurodeck.common.types import ConfigError
    from neurodeck.models.checkpoint import load_checkpoint
    from neurodeck.streaming.preprocessing import PreprocessingConfig

    pre = PreprocessingConfig(bandpass=(4.0, 38.0), notch_hz=None).to_dict()
    if name == "mi_profile":
        return _profile_model(channels, window_s)
    if name in SHIPPED:
        from neurodeck.common.paths import pretrained_path

        model, meta = load_checkpoint(pretrained_path(name))
        if hasattr(model, "with_channels") and model.channel_agnostic:
            model = model.with_channels(channels)
        sfreq, window = meta.sfreq, meta.window_s
        if window_s != window:
            raise ConfigError(
                f"{name} is trained on {window:g} s windows; got --windows {window_s}."
            )
        pre = dict(meta.preprocessing)
        names = tuple(meta.channel_names) if not model.channel_agnostic else channels
    elif name == "eegnet":
        from neurodeck.models.eegnet import EEGNet

        sfreq, names = 160.0, channels
        model = EEGNet(names, sfreq, int(window_s * sfreq), 2)
    elif name == "labram_base":
        from neurodeck.models.labram import LaBraM

        sfreq, names = 200.0, channels
        model = LaBraM.from_preset("base", names, sfreq, int(window_s * sfreq), 2)
    else:
        raise ConfigError(f"Unknown bench model {name!r}.", f"Known: {', '.join(DEFAULT_MODELS)}.")
    n_params = sum(p.numel() for p in model.parameters())
    return BenchModel(name, model.eval(), tuple(names), sfreq, window_s, pre, n_params)


def _profile_model(channels: tuple[str, ...], window_s: float) -> BenchModel:
    """The ensemble a default calibration of mi_shallow64 decodes with (its compute cost)."""
    from neurodeck.calibration.defaults import DEFAULT_ENCODER
    from neurodeck.calibration.riemann import fit_tangent_space_lr
    from neurodeck.models.checkpoint import load_checkpoint
    from neurodeck.models.ensemble import ProbabilityEnsemble

    network, meta = load_checkpoint(DEFAULT_ENCODER)
    n = round(meta.window_s * meta.sfreq)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, len(meta.channel_names), n)).astype(np.float32)
    reference = fit_tangent_space_lr(X, np.arange(40) % 2, 2)  # the weights do not change cost
    model = ProbabilityEnsemble.of([network, network, reference])
    n_params = sum(p.numel() for p in model.parameters())
    names = tuple(meta.channel_names)
    return BenchModel(
        "mi_profile", model, names, meta.sfreq, meta.window_s, meta.preprocessing, n_params
    )


def _replay(files: list[Path], chunk_s: float, markers: bool = True) -> tuple[Child, str]:
    """``neurodeck replay --loop`` of ``files`` in a child process; returns it and the source_id.

    ``markers=False`` publishes the EEG stream alone (``--no-markers``).
    """
    name = f"bench-{uuid.uuid4().hex[:8]}"
    args = replay_args(
        files, speed=1.0, name=name, source_id=name, loop=True, chunk_s=chunk_s, markers=markers
    )
    return spawn(args), name


def _percentiles(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"n": 0}
    return {
        "n": int(v.size),
        "p50_ms": round(float(np.percentile(v, 50)), 3),
        "p99_ms": round(float(np.percentile(v, 99)), 3),
        "max_ms": round(float(v.max()), 3),
    }


def _spec(bm: BenchModel):
    from neurodeck.streaming.session import DecoderSpec

    return DecoderSpec(
        bm.model, bm.channel_names, bm.sfreq, bm.window_s, ("a", "b"), bm.preprocessing
    )


def run_neurodeck(bm: BenchModel, info, seconds: float, device: str) -> dict:
    """The live path; e2e latencies of every prediction."""
    from neurodeck.streaming.session import DecodeSession

    e2e: list[float] = []
    session = DecodeSession(
        info, _spec(bm), hop_s=HOP_S, device=device, sinks=[lambda p: e2e.append(p.e2e_ms)]
    ).start()
    time.sleep(seconds)
    snap = session.snapshot()
    session.stop()
    return {
        **_percentiles(e2e[5:]),  # the first windows include the connection's backlog
        "dropped": snap.worker.dropped,
        "lost_samples": snap.acquisition.lost_samples,
        "runner": session.worker.runner.describe(),
        "e2e_ms": e2e[5:],
    }


class _WindowCutter:
    """Per-window preprocessing shared by the naive and mne-lsl loops (a fresh filter state on
    each window, as a textbook loop would do)."""

    def __init__(self, bm: BenchModel, stream_names: tuple[str, ...], sfreq: float) -> None:
        import dataclasses

        from neurodeck.streaming.preprocessing import PreprocessingConfig, Preprocessor

        cfg = PreprocessingConfig.from_dict(bm.preprocessing)
        self.cfg = dataclasses.replace(cfg, channel_names=bm.channel_names, sfreq_out=bm.sfreq)
        self.names, self.sfreq = stream_names, sfreq
        self.make = lambda: Preprocessor(self.cfg, stream_names, sfreq)
        self.n_out = round(bm.window_s * bm.sfreq)

    def __call__(self, raw):  # (chans, n_in) -> (1, model chans, n_out)
        out = self.make().process(raw)
        out = out[:, -self.n_out :]
        if out.shape[1] < self.n_out:
            return None
        return out[None]


def _eager_model(bm: BenchModel, device: str) -> Callable:
    import torch
    from neurodeck.models.device import select_device

    dev = select_device(device)
    model = bm.model.to(dev)

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = model(torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(dev))
            return torch.softmax(logits, dim=-1).cpu().numpy()

    return run


def run_naive(bm: BenchModel, info, seconds: float, device: str) -> dict:
    """One thread: poll pylsl, grow a list, cut, preprocess, eager model."""
    import pylsl
    from neurodeck.streaming.lsl_io import local_clock, meta_from_info

    inlet = pylsl.StreamInlet(info, max_buflen=60, processing_flags=0)
    full = inlet.info(timeout=5.0)
    meta = meta_from_info(full)
    offset = inlet.time_correction(timeout=5.0)
    cut = _WindowCutter(bm, meta.channel_names, meta.sfreq)
    model = _eager_model(bm, device)
    n_in = round((bm.window_s + 1.0) * meta.sfreq)  # a second extra for the filters
    hop = round(HOP_S * meta.sfreq)
    chunks: list[np.ndarray] = []
    stamps: list[float] = []
    next_end, e2e = n_in, []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        data, ts = inlet.pull_chunk(timeout=0.0)
        if not ts:
            time.sleep(0.002)
            continue
        chunks.append(np.asarray(data, dtype=np.float32))
        stamps.extend(ts)
        if len(stamps) >= next_end:
            allx = np.concatenate(chunks)  # (n, chans), grows: the textbook way
            window = cut(allx[len(stamps) - n_in : len(stamps)].T)
            if window is not None:
                model(window)
                e2e.append((local_clock() - (stamps[-1] + offset)) * 1e3)
            next_end = len(stamps) + hop
    inlet.close_stream()
    return {**_percentiles(e2e[3:]), "e2e_ms": e2e[3:]}


def run_mne_lsl(bm: BenchModel, source_id: str, seconds: float, device: str) -> dict:
    """mne-lsl's StreamLSL acquires; get_data windows; preprocessing; eager model."""
    import mne_lsl
    from mne_lsl.stream import StreamLSL
    from neurodeck.streaming.lsl_io import local_clock

    mne_lsl.set_log_level("WARNING")
    for attempt in range(4):  # its resolver sometimes misses a stream on a busy machine
        stream = StreamLSL(bufsize=bm.window_s + 2.0, source_id=source_id)
        try:
            stream.connect(processing_flags=["clocksync"], timeout=5)
            break
        except RuntimeError:
            if attempt == 3:
                raise
    try:
        names = tuple(stream.info["ch_names"])
        sfreq = float(stream.info["sfreq"])
        cut = _WindowCutter(bm, names, sfreq)
        model = _eager_model(bm, device)
        scale = 1e6  # mne-lsl returns volts when the stream declares microvolts
        hop = round(HOP_S * sfreq)
        e2e: list[float] = []
        t_end = time.monotonic() + seconds
        time.sleep(bm.window_s + 1.0)  # fill the buffer
        while time.monotonic() < t_end:
            if stream.n_new_samples < hop:
                time.sleep(0.002)
                continue
            data, ts = stream.get_data(winsize=bm.window_s + 1.0)
            window = cut(np.asarray(data, np.float32) * scale)
            if window is not None:
                model(window)
                e2e.append((local_clock() - float(ts[-1])) * 1e3)
    finally:
        stream.disconnect()
    return {**_percentiles(e2e[3:]), "e2e_ms": e2e[3:]}


def _mne_lsl_in_child(
    name: str, channels: tuple[str, ...], window_s: float, stream: str, args, device: str
) -> dict:
    """Run :func:`run_mne_lsl` in a child process (one liblsl per process) and read its JSON."""
    job = json.dumps([name, list(channels), window_s, stream, args.seconds, device])
    child = spawn(
        [job], module="neurodeck.app.bench_command", pipe_output=True, command="mne-lsl bench"
    )
    try:
        text, _ = child.proc.communicate(timeout=args.seconds + 120)
    except subprocess.TimeoutExpired:
        child.stop()
        return {"n": 0, "error": f"no result within {args.seconds + 120:g} s"}
    lines = text.splitlines()
    results = [ln for ln in lines if ln.startswith("{")]
    if child.proc.returncode != 0 or not results:
        other = [ln.strip() for ln in lines if ln.strip() and "ERR|" not in ln]
        return {"n": 0, "error": (other[-1:] or [f"exit {child.proc.returncode}"])[0]}
    return json.loads(results[-1])


def run_model_only(bm: BenchModel, device: str, repeats: int = 300) -> dict:
    """The model alone through the ModelRunner, on windows of the live shape."""
    from neurodeck.streaming.runner import ModelRunner, check_windows

    runner = ModelRunner(bm.model, device)
    n_samples = round(bm.window_s * bm.sfreq)
    runner.warm_up(len(bm.channel_names), n_samples)
    x = check_windows(len(bm.channel_names), n_samples, n=1)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        runner.predict_proba(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return {**_percentiles(times), "runner": runner.describe(), "check": runner.check.to_dict()}


def _histogram(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = [r for r in results if r["pipeline"] != "model-only" and r.get("e2e_ms")]
    models = list(dict.fromkeys((r["model"], r["window_s"]) for r in cases))
    fig, axes = plt.subplots(len(models), 1, figsize=(8, 2.4 * len(models)), squeeze=False)
    for ax, (model, window) in zip(axes[:, 0], models, strict=True):
        for r in (r for r in cases if (r["model"], r["window_s"]) == (model, window)):
            ax.hist(
                r["e2e_ms"],
                bins=60,
                alpha=0.55,
                label=f"{r['pipeline']} (p99 {r['p99_ms']:.1f} ms)",
            )
        ax.set_title(f"{model}, {window:g} s windows", fontsize=9)
        ax.set_xlabel("end-to-end latency (ms)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark and print the table."""
    import torch
    from neurodeck.common.paths import data_roots
    from neurodeck.common.types import RecordingError
    from neurodeck.models.device import select_device
    from neurodeck.streaming.lsl_io import resolve_stream
    from neurodeck.streaming.recording_io import eegbci_run_files, load_recording

    device = str(select_device(args.device))
    files = None
    for root in data_roots(args.data):
        try:
            files = eegbci_run_files(root, 1, [12])
            break
        except RecordingError:
            continue
    if files is None:
        raise RecordingError(
            "EEGBCI subject 1 run 12 not found: the benchmark replays it.",
            "Point --data (or $NEURODECK_DATA) at the folder holding MNE-eegbci-data.",
        )
    from neurodeck.streaming.channels import normalize_channel_name

    channels = tuple(normalize_channel_name(c) for c in load_recording(files[0]).channel_names)
    results: list[dict[str, Any]] = []
    print(f"neurodeck bench on {device} ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPU cores, torch {torch.__version__}); replay of {files[0].name} "
          f"at x1 in {args.chunk_s * 1e3:g} ms chunks, hop {HOP_S:g} s, {args.seconds:g} s "
          f"per row; n: windows each row's figures come from", flush=True)  # fmt: skip
    header = f"{'model':13s} {'params':>9s} {'win':>4s} {'pipeline':10s} {'n':>5s} " \
             f"{'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} {'drops':>5s}  runner"  # fmt: skip
    print(header)
    for name in args.models:
        for window_s in args.windows:
            bm = build_bench_model(name, channels, window_s)
            rows = [{"pipeline": "model-only", **run_model_only(bm, device)}]
            for pipeline in args.pipelines:
                torch.set_num_threads(1 if pipeline == "neurodeck" else os.cpu_count() or 1)
                proc, stream = _replay(files, args.chunk_s, markers=pipeline != "mne-lsl")
                try:
                    info = resolve_stream(source_id=stream, timeout_s=30.0)
                    if pipeline == "neurodeck":
                        row = run_neurodeck(bm, info, args.seconds, device)
                    elif pipeline == "naive":
                        row = run_naive(bm, info, args.seconds, device)
                    else:  # its own process: mne-lsl bundles a second liblsl
                        row = _mne_lsl_in_child(name, channels, window_s, stream, args, device)
                finally:
                    proc.stop(10.0)
                rows.append({"pipeline": pipeline, **row})
            torch.set_num_threads(1)
            for r in rows:
                r.update(model=name, window_s=window_s, params=bm.n_params)
                print(
                    f"{name:13s} {bm.n_params:9,d} {window_s:4g} {r['pipeline']:10s} "
                    f"{r.get('n', 0):5d} {r.get('p50_ms', float('nan')):8.2f} "
                    f"{r.get('p99_ms', float('nan')):8.2f} {r.get('max_ms', float('nan')):8.2f} "
                    f"{r.get('dropped', '-')!s:>5s}  {r.get('error') or r.get('runner', 'eager')}",
                    flush=True,
                )
            results.extend(rows)
    payload = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "device": device,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
        "torch": torch.__version__,
        "recording": files[0].name,
        "chunk_s": args.chunk_s,
        "hop_s": HOP_S,
        "duration_s": args.seconds,
        "rows": [{k: v for k, v in r.items() if k != "e2e_ms"} for r in results],
    }
    png = args.png or (args.json.with_suffix(".png") if args.json else None)
    if png is not None:
        _histogram(results, png)
        print(f"wrote {png}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.json, json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":  # the mne-lsl row's child process
    from neurodeck.streaming.lsl_env import use_machine_scope

    die_with_parent()
    use_machine_scope()
    _name, _channels, _window, _stream, _seconds, _device = json.loads(sys.argv[1])
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    _bm = build_bench_model(_name, tuple(_channels), _window)
    print(json.dumps(run_mne_lsl(_bm, _stream, _seconds, _device)))
