"""Benchmark: neurodeck's acquisition thread against mne-lsl's ``StreamLSL`` on the same stream.

For each configuration (channels x rate) the script runs, one after the other:

1. a publisher process + a neurodeck consumer process
   (:class:`neurodeck.streaming.acquisition.Acquisition`);
2. a fresh publisher process + an mne-lsl consumer process (``mne_lsl.stream.StreamLSL``);

plus, once, an idle baseline process that imports the same libraries and sleeps. The publisher
pushes float32 chunks paced on the LSL clock with true sample timestamps; channel 0 carries the
sample index, so each consumer proves that every sample arrived once and in order.

Run ``python benchmarks/acquisition.py --help``; see ``benchmarks/README.md`` for the columns.
Every child process loads liblsl with ``LSLAPICFG`` pointing at ``streaming/lsl_machine.cfg``
(machine scope: no discovery packet leaves this machine) unless ``--lsl-config`` says otherwise.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import multiprocessing as mp
import os
import platform
import queue
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

MACHINE_CFG = REPO_ROOT / "streaming" / "lsl_machine.cfg"
DEFAULT_CONFIGS = ("64x160", "64x1000", "256x2048")
CONSUMERS = ("neurodeck", "streamlsl")
START_TIMEOUT_S = 30.0  # spawn + imports + outlet / inlet set-up
CONNECT_TIMEOUT_S = 10.0
TAIL_S = 2.0  # after the last push, how long a consumer waits for samples still in flight
CPU_GOAL_RATIO = 0.2  # neurodeck process CPU <= 1/5 of StreamLSL's
LOSS_GOAL_CONFIG = "256x2048"
CONFIG_LINE = "Configuration loaded from"
NOT_RUN = "not run"
LATE_WARN_MS = 2.0  # publisher push lateness p99 above this: the run was disturbed
OTHER_LOAD_WARN = 0.10  # CPU of other processes (cores) above this: the run was disturbed

Record = dict[str, Any]


# -- settings shared with the child processes ---------------------------------------------------
@dataclass(frozen=True)
class StreamConfig:
    """One benchmark configuration: ``n_channels`` channels at ``sfreq`` Hz."""

    n_channels: int
    sfreq: float

    @property
    def label(self) -> str:
        return f"{self.n_channels}x{self.sfreq:g}"

    @classmethod
    def parse(cls, text: str) -> StreamConfig:
        """Read ``'64x160'`` (channels x Hz)."""
        match = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+(?:\.\d+)?)\s*", text)
        if not match or int(match[1]) < 1 or float(match[2]) <= 0:
            raise argparse.ArgumentTypeError(
                f"'--configs' entries must look like CHANNELSxHZ (e.g. 64x160); got {text!r}."
            )
        return cls(int(match[1]), float(match[2]))


@dataclass(frozen=True)
class RunSpec:
    """Everything a child process needs for one publisher + consumer run.

    Parameters
    ----------
    name, source_id : str
        Unique LSL identity of this run's stream.
    n_channels, sfreq : int, float
        Stream shape; channel 0 is the sample index.
    n_samples : int
        Samples the publisher pushes (``duration_s * sfreq``).
    chunk_n : int
        Samples per push.
    duration_s : float
        Seconds of data.
    verify_poll_s : float
        How often the consumer's main thread reads the buffer to check the index channel.
    nd_buffer_s : float
        neurodeck ring buffer length (``AcquisitionSettings.buffer_s``).
    mne_bufsize_s : float
        ``StreamLSL(bufsize=...)``.
    mne_acquisition_delay_s : float or None
        ``StreamLSL.connect(acquisition_delay=...)``; None keeps mne-lsl's default.
    log_path : str
        File that receives the child's stderr (liblsl and Python logging).
    """

    name: str
    source_id: str
    n_channels: int
    sfreq: float
    n_samples: int
    chunk_n: int
    duration_s: float
    verify_poll_s: float
    nd_buffer_s: float
    mne_bufsize_s: float
    mne_acquisition_delay_s: float | None
    log_path: str


@dataclass(frozen=True)
class RunEvents:
    """Cross-process events of one run."""

    publisher_ready: Any  # outlet exists
    consumer_ready: Any  # inlet open and CPU meter started: the publisher may begin
    publisher_done: Any  # last chunk pushed
    stop: Any  # the parent has what it needs: children end

    @classmethod
    def create(cls, ctx: Any) -> RunEvents:
        return cls(ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event())


# -- measurement helpers (used in the children) -------------------------------------------------
class CpuMeter:
    """Process and per-thread CPU over a wall-clock window, read through psutil.

    Notes
    -----
    Create and stop it from the same thread (that thread's CPU is reported as ``main``).
    """

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._proc = psutil.Process()
        self._system0 = self._system_busy()
        self._wall0 = time.perf_counter()
        self._cpu0 = self._process_cpu()
        self._main0 = time.thread_time()
        self._threads0 = self._thread_cpu()

    def _process_cpu(self) -> float:
        times = self._proc.cpu_times()
        return times.user + times.system

    def _system_busy(self) -> float:
        """CPU seconds used machine-wide (all processes, all cores)."""
        times = self._psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, "iowait", 0.0)

    def _thread_cpu(self) -> dict[int, float]:
        return {t.id: t.user_time + t.system_time for t in self._proc.threads()}

    def stop(self) -> Record:
        """Fractions of one core over the window: this process, its main thread, each thread,
        and the whole machine (``system_cpu``, in cores)."""
        import threading

        wall = time.perf_counter() - self._wall0
        names = {t.native_id: t.name for t in threading.enumerate()}
        threads: dict[str, float] = {}
        for tid, cpu in self._thread_cpu().items():
            name = names.get(tid, "native (liblsl)")
            used = cpu - self._threads0.get(tid, 0.0)
            threads[name] = threads.get(name, 0.0) + used / wall
        return {
            "wall_s": wall,
            "process_cpu": (self._process_cpu() - self._cpu0) / wall,
            "main_thread_cpu": (time.thread_time() - self._main0) / wall,
            "threads_cpu": threads,
            "system_cpu": (self._system_busy() - self._system0) / wall,
        }


class IndexChecker:
    """Checks that channel 0 counts 0, 1, 2 ... with no hole, repeat or reordering.

    Notes
    -----
    Called from the consumer's main thread only.
    """

    def __init__(self) -> None:
        self.next_index = 0
        self.n_received = 0
        self.n_missing = 0
        self.n_out_of_order = 0

    def feed(self, indices: NDArray[np.int64]) -> None:
        """Account new samples, shape (n_samples,), oldest first."""
        if indices.size == 0:
            return
        self.n_received += indices.size
        expected = np.arange(self.next_index, self.next_index + indices.size)
        if np.array_equal(indices, expected):
            self.next_index += indices.size
            return
        for value in indices.tolist():  # rare slow path: walk the anomaly
            if value >= self.next_index:
                self.n_missing += value - self.next_index
                self.next_index = value + 1
            else:
                self.n_out_of_order += 1

    def state(self) -> Record:
        """Plain counters (what crosses the process boundary)."""
        return dict(vars(self))


def index_summary(state: Record, n_pushed: int) -> Record:
    """Counts from :meth:`IndexChecker.state`; samples that never arrived count as missing."""
    return {
        "received": state["n_received"],
        "missing": state["n_missing"] + max(n_pushed - state["next_index"], 0),
        "out_of_order_or_repeated": state["n_out_of_order"],
    }


def percentiles_ms(values_s: list[float] | NDArray[np.float64]) -> Record:
    """p50 / p99 / max of latencies given in seconds, in milliseconds."""
    arr = np.asarray(values_s, dtype=np.float64)
    if arr.size == 0:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan"), "n": 0}
    p50, p99 = np.percentile(arr, [50, 99]) * 1e3
    return {
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "max_ms": float(arr.max() * 1e3),
        "n": int(arr.size),
    }


def poll_until_done(spec: RunSpec, events: RunEvents, poll: Callable[[], int]) -> None:
    """Call ``poll()`` (returns the next expected index) until every sample came or time is up."""
    deadline = time.monotonic() + spec.duration_s + START_TIMEOUT_S
    done_at: float | None = None
    while time.monotonic() < deadline and not events.stop.is_set():
        time.sleep(spec.verify_poll_s)
        if poll() >= spec.n_samples:
            return
        if events.publisher_done.is_set():
            done_at = done_at or time.monotonic()
            if time.monotonic() - done_at > TAIL_S:
                return


# -- child processes ----------------------------------------------------------------------------
def _child_init(log_path: str) -> None:
    """Send this process's stderr (liblsl's log included) to ``log_path``; check LSLAPICFG."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    if "pylsl" in sys.modules or "mne_lsl" in sys.modules:
        raise RuntimeError("liblsl was loaded before LSLAPICFG could be checked.")
    if not os.environ.get("LSLAPICFG"):
        raise RuntimeError("LSLAPICFG is not set in the child process; refusing to load liblsl.")


def _child_entry(
    role: str,
    body: Callable[[RunSpec, RunEvents], Record],
    spec: RunSpec,
    events: RunEvents,
    results: Any,
) -> None:
    """Run ``body`` and put ``(role, record)`` on the queue; a failure is reported, not raised."""
    try:
        _child_init(spec.log_path)
        record = body(spec, events)
    except BaseException:  # report everything, KeyboardInterrupt included
        record = {"error": traceback.format_exc()}
        print(record["error"], file=sys.stderr, flush=True)
    results.put((role, record))


def publisher_main(spec: RunSpec, events: RunEvents, results: Any) -> None:
    """Process target: the paced publisher."""
    _child_entry("publisher", _publish, spec, events, results)
    events.stop.wait(spec.duration_s + 2 * START_TIMEOUT_S)  # keep the outlet until told


def neurodeck_main(spec: RunSpec, events: RunEvents, results: Any) -> None:
    """Process target: neurodeck's Acquisition consumer."""
    _child_entry("consumer", _consume_neurodeck, spec, events, results)


def streamlsl_main(spec: RunSpec, events: RunEvents, results: Any) -> None:
    """Process target: mne-lsl's StreamLSL consumer."""
    _child_entry("consumer", _consume_streamlsl, spec, events, results)


def idle_main(spec: RunSpec, events: RunEvents, results: Any) -> None:
    """Process target: imports the same libraries, then sleeps."""
    _child_entry("idle", _idle, spec, events, results)


def _publish(spec: RunSpec, events: RunEvents) -> Record:
    """Open the outlet, wait for the consumer, then push the whole run on the clock."""
    import pylsl
    from neurodeck.streaming.lsl_io import local_clock, make_stream_info

    names = ["index"] + [f"Ch{i}" for i in range(1, spec.n_channels)]
    info = make_stream_info(spec.name, "EEG", names, spec.sfreq, spec.source_id)
    outlet = pylsl.StreamOutlet(info, spec.chunk_n, 360)
    events.publisher_ready.set()
    deadline = time.monotonic() + START_TIMEOUT_S + CONNECT_TIMEOUT_S
    while not events.consumer_ready.wait(0.1):
        if events.stop.is_set() or time.monotonic() > deadline:
            return {"error": "no consumer became ready"}
    meter = CpuMeter()
    n_pushed, lateness_s = _push_paced(outlet, spec, events.stop, local_clock)
    events.publisher_done.set()
    return {
        "n_pushed": n_pushed,
        "chunk_n": spec.chunk_n,
        "cpu": meter.stop(),
        "lateness": percentiles_ms(lateness_s),
    }


def _push_paced(
    outlet: Any, spec: RunSpec, stop: Any, local_clock: Callable[[], float]
) -> tuple[int, list[float]]:
    """Push ``spec.chunk_n`` samples at a time, each chunk when its last sample is due.

    Sample ``i`` has the timestamp ``t0 + i / sfreq`` and ``i`` in channel 0. Returns the
    number of samples pushed and how late each push was (seconds).
    """
    noise = np.random.default_rng(0).standard_normal((4096 + spec.chunk_n, spec.n_channels))
    noise = (noise * 10).astype(np.float32)  # (4096 + chunk_n, n_channels)
    period = 1.0 / spec.sfreq
    lateness_s: list[float] = []
    t0 = local_clock() + 0.05
    n_pushed = 0
    while n_pushed < spec.n_samples and not stop.is_set():
        start, n = n_pushed, min(spec.chunk_n, spec.n_samples - n_pushed)
        due = t0 + (start + n - 1) * period  # a chunk exists once its last sample was taken
        wait = due - local_clock()
        if wait > 0:
            time.sleep(wait)
        data = noise[start % 4096 : start % 4096 + n].copy()  # (n_samples, n_channels)
        data[:, 0] = np.arange(start, start + n)
        lateness_s.append(local_clock() - due)
        outlet.push_chunk(data, t0 + np.arange(start, start + n) * period)
        n_pushed += n
    return n_pushed, lateness_s


def chunk_ends(index: NDArray[np.int64], chunk_n: int, n_samples: int) -> NDArray[np.bool_]:
    """True on the last sample of each pushed chunk, shape like ``index`` (sample indices)."""
    return (index % chunk_n == chunk_n - 1) | (index == n_samples - 1)


class RingVerifier:
    """Reads each new sample of neurodeck's raw ring buffer once; checks ch0 and transport.

    Parameters
    ----------
    ring : streaming.ring_buffer.RingBuffer
        ``Acquisition.raw``.
    chunk_n, n_samples : int
        The publisher's push size and run length (to find the last sample of each push).

    Notes
    -----
    Called from the consumer's main thread while the acquisition thread writes the ring.
    """

    def __init__(self, ring: Any, chunk_n: int, n_samples: int) -> None:
        self.ring = ring
        self.chunk_n, self.n_samples = chunk_n, n_samples
        self.read_upto = 0  # absolute ring index read so far
        self.checker = IndexChecker()
        self.chunk_latency_s: list[float] = []
        self.pull_latency_s: list[float] = []
        self.sample_latency_s: list[NDArray[np.float64]] = []
        self.pull_sizes: list[int] = []

    def poll(self) -> int:
        """Check the samples written since the last call; return the next expected index."""
        end = self.ring.n_written
        if end > self.read_upto:
            out = self.ring.read(end, min(end - self.read_upto, self.ring.capacity))
            if out is None:
                raise RuntimeError("the verifier fell behind the whole ring buffer")
            self.read_upto = end
            data, stamps, t_recv = out  # (n_channels, n), (n,), (n,)
            index = np.rint(data[0]).astype(np.int64)
            self.checker.feed(index)
            latency = t_recv - stamps
            self.sample_latency_s.append(latency)
            ends = chunk_ends(index, self.chunk_n, self.n_samples)
            self.chunk_latency_s.extend(latency[ends].tolist())
            last = np.append(np.flatnonzero(np.diff(t_recv) != 0), t_recv.size - 1)  # per pull
            self.pull_latency_s.extend((t_recv[last] - stamps[last]).tolist())
            self.pull_sizes.extend(np.diff(last, prepend=-1).tolist())
        return self.checker.next_index

    def record(self) -> Record:
        """Index counters, transport percentiles and pull statistics."""
        per_sample = np.concatenate(self.sample_latency_s) if self.sample_latency_s else []
        return {
            "index": self.checker.state(),
            "transport_chunk": percentiles_ms(self.chunk_latency_s),
            "transport_pull": percentiles_ms(self.pull_latency_s),
            "transport_sample": percentiles_ms(per_sample),
            "pulls": len(self.pull_sizes),
            "mean_pull_samples": float(np.mean(self.pull_sizes or [0])),
        }


class WindowVerifier:
    """Checks ch0 of StreamLSL's rolling window; records transport through a pull callback.

    Parameters
    ----------
    stream : mne_lsl.stream.StreamLSL
        A connected stream.
    local_clock : callable
        mne-lsl's ``local_clock`` (same clock as pylsl's).
    chunk_n, n_samples : int
        The publisher's push size and run length (to find the last sample of each push).

    Notes
    -----
    :meth:`on_pull` runs in StreamLSL's acquisition thread, :meth:`poll` in the main thread.
    """

    def __init__(
        self, stream: Any, local_clock: Callable[[], float], chunk_n: int, n_samples: int
    ) -> None:
        self.stream = stream
        self.local_clock = local_clock
        self.chunk_n, self.n_samples = chunk_n, n_samples
        self.checker = IndexChecker()
        self.bad_steps: set[int] = set()
        self.pulls: list[tuple[float, NDArray[np.float64], NDArray[np.float32]]] = []

    def on_pull(self, data: Any, timestamps: Any, info: Any) -> tuple[Any, Any]:
        """StreamLSL callback, right after each pull; ``data`` is (n_times, n_channels).

        Copies: mne-lsl's inlet returns views of buffers it reuses on the next pull.
        """
        self.pulls.append((self.local_clock(), timestamps.copy(), data[:, 0].copy()))
        return data, timestamps

    def poll(self) -> int:
        """Check the newest part of the window; return the next expected index."""
        data, stamps = self.stream.get_data(picks=[0])  # (1, n_buffer): the whole window
        index = np.rint(data[0][stamps > 0]).astype(np.int64)  # zero stamps: never written
        bad = np.flatnonzero(np.diff(index) <= 0)
        if bad.size:  # a repeat or reordering inside the window (seen again on later polls)
            self.bad_steps.update(index[bad + 1].tolist())
        self.checker.feed(index[index >= self.checker.next_index])
        return self.checker.next_index

    def record(self) -> Record:
        """Index counters, transport percentiles and pull statistics."""
        state = self.checker.state()
        state["n_out_of_order"] += len(self.bad_steps)
        pulls = [(t, ts, ch0) for t, ts, ch0 in self.pulls if ts.size]
        per_sample = np.concatenate([t - ts for t, ts, _ in pulls]) if pulls else np.zeros(0)
        index = np.rint(np.concatenate([ch0 for *_, ch0 in pulls] or [[]])).astype(np.int64)
        ends = chunk_ends(index, self.chunk_n, self.n_samples)
        return {
            "index": state,
            "transport_chunk": percentiles_ms(per_sample[ends]),
            "transport_pull": percentiles_ms([t - ts[-1] for t, ts, _ in pulls]),
            "transport_sample": percentiles_ms(per_sample),
            "pulls": len(pulls),
            "mean_pull_samples": float(np.mean([ts.size for _, ts, _ in pulls] or [0])),
        }


def _consume_neurodeck(spec: RunSpec, events: RunEvents) -> Record:
    """Acquisition on its own thread; the main thread reads new samples and checks them."""
    from neurodeck.streaming.acquisition import Acquisition
    from neurodeck.streaming.lsl_io import resolve_stream
    from neurodeck.streaming.settings import AcquisitionSettings

    info = resolve_stream(source_id=spec.source_id, timeout_s=CONNECT_TIMEOUT_S)
    settings = AcquisitionSettings(buffer_s=spec.nd_buffer_s)
    acq = Acquisition(info, settings).start()
    try:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while acq.status().state != "streaming" and time.monotonic() < deadline:
            time.sleep(0.01)  # first clock offset still being measured
        verifier = RingVerifier(acq.raw, spec.chunk_n, spec.n_samples)
        status0, meter = acq.status(), CpuMeter()
        events.consumer_ready.set()
        poll_until_done(spec, events, verifier.poll)
        cpu, status = meter.stop(), acq.status()
    finally:
        acq.stop()
    acq_cpu = (status.cpu_s - status0.cpu_s) / max(status.wall_s - status0.wall_s, 1e-9)
    counters = ("lost_samples", "n_gaps", "overruns", "n_samples", "state", "message")
    return {
        "consumer": "neurodeck",
        "cpu": cpu,
        "acq_thread_cpu": acq_cpu,
        **verifier.record(),
        "status": {name: getattr(status, name) for name in counters},
        "settings": asdict(settings),
    }


def _consume_streamlsl(spec: RunSpec, events: RunEvents) -> Record:
    """StreamLSL with its timer-thread acquisition; the main thread checks the rolling buffer."""
    import mne_lsl
    from mne_lsl.lsl import local_clock
    from mne_lsl.stream import StreamLSL

    mne_lsl.set_log_level("WARNING")
    delay = spec.mne_acquisition_delay_s
    if delay is None:
        delay = inspect.signature(StreamLSL.connect).parameters["acquisition_delay"].default
    # By source_id alone: mne-lsl splits the timeout between the identifiers it is given.
    stream = StreamLSL(bufsize=spec.mne_bufsize_s, source_id=spec.source_id)
    try:
        stream.connect(acquisition_delay=delay, timeout=CONNECT_TIMEOUT_S)
    except RuntimeError:  # not resolved in time (a busy machine): one more try
        logging.getLogger(__name__).warning("StreamLSL did not resolve; retrying", exc_info=True)
        stream.connect(acquisition_delay=delay, timeout=CONNECT_TIMEOUT_S)
    try:
        verifier = WindowVerifier(stream, local_clock, spec.chunk_n, spec.n_samples)
        stream.add_callback(verifier.on_pull)
        meter = CpuMeter()
        events.consumer_ready.set()
        poll_until_done(spec, events, verifier.poll)
        cpu = meter.stop()
    finally:
        stream.disconnect()
    return {
        "consumer": "streamlsl",
        "cpu": cpu,
        **verifier.record(),
        "settings": {
            "bufsize_s": spec.mne_bufsize_s,
            "acquisition_delay_s": delay,
            "acquisition_delay_is_default": spec.mne_acquisition_delay_s is None,
            "mne_lsl_version": mne_lsl.__version__,
        },
    }


def _idle(spec: RunSpec, events: RunEvents) -> Record:
    """Import what the consumers import, then sleep for ``spec.duration_s``."""
    import mne_lsl.stream  # noqa: F401
    import neurodeck.streaming.acquisition  # noqa: F401
    import psutil  # noqa: F401
    import pylsl  # noqa: F401

    meter = CpuMeter()
    events.stop.wait(spec.duration_s)
    return {"cpu": meter.stop()}


# -- parent: running the children ---------------------------------------------------------------
def _shutdown(procs: list[Any]) -> None:
    """Join children; terminate, then kill, the ones that do not end."""
    for proc in procs:
        if proc.pid is None:
            continue
        proc.join(5.0)
        if proc.is_alive():
            print(f"  ! {proc.name} did not exit; terminating it", flush=True)
            proc.terminate()
            proc.join(3.0)
        if proc.is_alive():
            proc.kill()
            proc.join(2.0)


def _collect(results: Any, roles: dict[str, Any], timeout_s: float, stop: Any) -> dict[str, Record]:
    """Gather one record per role; a child that dies silently or time running out is an error.

    The first error sets ``stop`` so that the other children of the run give up at once.
    """
    got: dict[str, Record] = {}
    deadline = time.monotonic() + timeout_s
    while len(got) < len(roles):
        if any("error" in record for record in got.values()):
            stop.set()
        try:
            role, record = results.get(timeout=0.5)
            got[role] = record
            continue
        except queue.Empty:
            pass
        for role, proc in roles.items():
            if role not in got and proc.pid is not None and proc.exitcode is not None:
                got[role] = {"error": f"{proc.name} exited with code {proc.exitcode} and no result"}
        if time.monotonic() > deadline:
            for role in roles:
                got.setdefault(role, {"error": f"no result within {timeout_s:.0f} s (timeout)"})
    return got


def run_pair(
    ctx: Any, cfg: StreamConfig, consumer: str, args: argparse.Namespace, log_dir: Path
) -> dict[str, Record]:
    """One publisher process + one consumer process; returns their records."""
    tag = f"nd-bench-{cfg.label}-{consumer}-{os.getpid()}-{time.monotonic_ns() % 10**9}"
    spec = RunSpec(
        name=tag,
        source_id=tag,
        n_channels=cfg.n_channels,
        sfreq=cfg.sfreq,
        n_samples=round(args.duration * cfg.sfreq),
        chunk_n=max(1, round(args.chunk_ms * 1e-3 * cfg.sfreq)),
        duration_s=args.duration,
        verify_poll_s=args.verify_poll_ms * 1e-3,
        nd_buffer_s=args.nd_buffer,
        mne_bufsize_s=args.mne_bufsize,
        mne_acquisition_delay_s=args.mne_acquisition_delay,
        log_path=str(log_dir / f"{cfg.label}-{consumer}-consumer.log"),
    )
    pub_log = str(log_dir / f"{cfg.label}-{consumer}-publisher.log")
    pub_spec = RunSpec(**{**asdict(spec), "log_path": pub_log})
    events, results = RunEvents.create(ctx), ctx.Queue()
    target = neurodeck_main if consumer == "neurodeck" else streamlsl_main
    publisher = ctx.Process(
        target=publisher_main,
        args=(pub_spec, events, results),
        name=f"publisher-{cfg.label}",
        daemon=True,
    )
    consumer_proc = ctx.Process(
        target=target, args=(spec, events, results), name=f"{consumer}-{cfg.label}", daemon=True
    )
    try:
        publisher.start()
        if not events.publisher_ready.wait(START_TIMEOUT_S):
            return {
                "publisher": {"error": "publisher did not open its outlet in time"},
                "consumer": {"error": "not started"},
            }
        consumer_proc.start()
        timeout = args.duration + 2 * START_TIMEOUT_S + TAIL_S
        roles = {"publisher": publisher, "consumer": consumer_proc}
        return _collect(results, roles, timeout, events.stop)
    finally:
        events.stop.set()
        _shutdown([consumer_proc, publisher])


def run_idle(ctx: Any, duration_s: float, log_dir: Path) -> Record:
    """The idle baseline process."""
    spec = RunSpec(
        "idle", "idle", 1, 1.0, 0, 1, duration_s, 0.02, 1.0, 1.0, None, str(log_dir / "idle.log")
    )
    events, results = RunEvents.create(ctx), ctx.Queue()
    proc = ctx.Process(target=idle_main, args=(spec, events, results), name="idle", daemon=True)
    try:
        proc.start()
        return _collect(results, {"idle": proc}, duration_s + START_TIMEOUT_S, events.stop)["idle"]
    finally:
        events.stop.set()
        _shutdown([proc])


def check_lsl_config(log_dir: Path, cfg_path: Path) -> tuple[int, list[str]]:
    """Count the LSL child logs that show liblsl loading ``cfg_path``; list those that do not."""
    ok, bad = 0, []
    for log in sorted(log_dir.glob("*x*-*.log")):
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if CONFIG_LINE in ln]
        if lines and all(ln.rstrip().endswith(str(cfg_path)) for ln in lines):
            ok += 1
        else:
            bad.append(log.name)
    return ok, bad


# -- report -------------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def summarise(
    cfg: StreamConfig,
    pair_nd: dict[str, Record],
    pair_sl: dict[str, Record],
    idle_cpu: float | None,
) -> Record:
    """One table row (numbers) from the two runs of a configuration."""
    row: Record = {"config": cfg.label, "errors": []}
    for key, pair in (("nd", pair_nd), ("sl", pair_sl)):
        for role in ("publisher", "consumer"):
            if "error" in pair[role] and pair[role]["error"] != NOT_RUN:
                last_line = pair[role]["error"].strip().splitlines()[-1]
                row["errors"].append(f"{key} {role}: {last_line}")
        cons, pub = pair["consumer"], pair["publisher"]
        if "error" in cons:
            continue
        n_pushed = pub.get("n_pushed", 0)
        row[f"{key}_proc"] = cons["cpu"]["process_cpu"]
        row[f"{key}_verifier"] = cons["cpu"]["main_thread_cpu"]
        row[f"{key}_p50"] = cons["transport_chunk"]["p50_ms"]
        row[f"{key}_p99"] = cons["transport_chunk"]["p99_ms"]
        index = index_summary(cons["index"], n_pushed)
        row[f"{key}_lost"] = index["missing"]
        row[f"{key}_disorder"] = index["out_of_order_or_repeated"]
        row[f"{key}_pub_late_p99"] = pub.get("lateness", {}).get("p99_ms", float("nan"))
        pub_cpu = pub.get("cpu", {}).get("process_cpu", 0.0)
        other = cons["cpu"]["system_cpu"] - cons["cpu"]["process_cpu"] - pub_cpu
        row[f"{key}_other_load"] = max(other, 0.0)
    if "nd_proc" in row:
        status = pair_nd["consumer"]["status"]
        row.update(
            nd_acq=pair_nd["consumer"]["acq_thread_cpu"],
            nd_ts_lost=status["lost_samples"],
            nd_overruns=status["overruns"],
        )
    if "nd_proc" in row and "sl_proc" in row:
        row["ratio"] = row["nd_proc"] / row["sl_proc"] if row["sl_proc"] > 0 else float("nan")
        net_sl = row["sl_proc"] - (idle_cpu or 0.0)
        if idle_cpu is not None and net_sl > 0:
            row["ratio_net"] = (row["nd_proc"] - idle_cpu) / net_sl
    row["idle"] = idle_cpu
    return row


def _fmt(row: Record, key: str, spec: str) -> str:
    value = row.get(key)
    if value is None:
        return "n/a"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def _slash(row: Record, *keys: str, spec: str = ".2f") -> str:
    return "/".join(_fmt(row, key, spec) for key in keys)


def format_table(rows: list[Record]) -> str:
    """The comparison table (CPU in % of one core, latencies in ms)."""
    header = [
        "config",
        "nd acq-thread",
        "nd process",
        "SL process",
        "idle",
        "ratio nd/SL",
        "ratio net",
        "nd p50/p99 ms",
        "SL p50/p99 ms",
        "nd lost idx/ts/ovr",
        "SL lost idx/dis",
        "CPU goal",
    ]
    lines = []
    for r in rows:
        ratio = r.get("ratio")
        goal = "n/a" if ratio is None else ("PASS" if ratio <= CPU_GOAL_RATIO else "FAIL")
        lines.append(
            [
                r["config"],
                _fmt(r, "nd_acq", ".2%"),
                _fmt(r, "nd_proc", ".2%"),
                _fmt(r, "sl_proc", ".2%"),
                _fmt(r, "idle", ".2%"),
                _fmt(r, "ratio", ".3f"),
                _fmt(r, "ratio_net", ".3f"),
                _slash(r, "nd_p50", "nd_p99"),
                _slash(r, "sl_p50", "sl_p99"),
                _slash(r, "nd_lost", "nd_ts_lost", "nd_overruns", spec="d"),
                _slash(r, "sl_lost", "sl_disorder", spec="d"),
                goal,
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [
        " | ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    return "\n".join(out)


def format_goals(rows: list[Record]) -> list[str]:
    """PASS/FAIL lines for the two goals."""
    lines = []
    loss_rows = [r for r in rows if r["config"] == LOSS_GOAL_CONFIG]
    if loss_rows and "nd_lost" in loss_rows[0]:
        r = loss_rows[0]
        ok = (
            r["nd_lost"] == 0
            and r["nd_ts_lost"] == 0
            and r["nd_overruns"] == 0
            and r["nd_disorder"] == 0
        )
        lines.append(
            f"[{'PASS' if ok else 'FAIL'}] zero lost samples at {LOSS_GOAL_CONFIG} for "
            f"neurodeck (index-missing {r['nd_lost']}, out-of-order {r['nd_disorder']}, "
            f"timestamp-gap {r['nd_ts_lost']}, overruns {r['nd_overruns']})"
        )
    else:
        lines.append(f"[n/a ] zero lost samples at {LOSS_GOAL_CONFIG}: configuration not run")
    ratios = [(r["config"], r.get("ratio")) for r in rows]
    ok = all(v is not None and v <= CPU_GOAL_RATIO for _, v in ratios)
    listing = ", ".join(f"{c} {'n/a' if v is None else format(v, '.3f')}" for c, v in ratios)
    lines.append(
        f"[{'PASS' if ok else 'FAIL'}] neurodeck process CPU <= 1/5 of StreamLSL's "
        f"(ratio <= {CPU_GOAL_RATIO}): {listing}"
    )
    return lines


# -- command line -------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--duration", type=float, default=20.0, help="seconds of data per run")
    p.add_argument(
        "--configs",
        type=lambda s: [StreamConfig.parse(x) for x in s.split(",")],
        default=",".join(DEFAULT_CONFIGS),
        help="comma-separated CHANNELSxHZ list",
    )
    p.add_argument("--consumers", default=",".join(CONSUMERS), help="subset of neurodeck,streamlsl")
    p.add_argument("--chunk-ms", type=float, default=10.0, help="publisher push size (ms of data)")
    p.add_argument("--idle-s", type=float, default=10.0, help="idle baseline duration (0: skip)")
    p.add_argument("--nd-buffer", type=float, default=5.0, help="neurodeck ring buffer (s)")
    p.add_argument("--mne-bufsize", type=float, default=5.0, help="StreamLSL bufsize (s)")
    p.add_argument(
        "--mne-acquisition-delay",
        type=float,
        default=None,
        help="StreamLSL acquisition_delay (s); default: mne-lsl's own default",
    )
    p.add_argument(
        "--verify-poll-ms",
        type=float,
        default=100.0,
        help="how often each consumer's main thread reads its buffer to check ch0 "
        "(at most half the shortest buffer)",
    )
    p.add_argument(
        "--lsl-config",
        type=Path,
        default=MACHINE_CFG,
        help="liblsl configuration file (LSLAPICFG) for every child process",
    )
    p.add_argument("--json", type=Path, default=None, help="write all results to this file")
    p.add_argument("--keep-logs", type=Path, default=None, help="keep child logs in this folder")
    p.add_argument("--strict", action="store_true", help="exit with 1 when a goal fails")
    args = p.parse_args(argv)
    args.consumers = [c.strip() for c in args.consumers.split(",") if c.strip()]
    bad = [c for c in args.consumers if c not in CONSUMERS]
    if bad or not args.consumers:
        p.error(f"'--consumers' must be a subset of {','.join(CONSUMERS)}; got {bad or 'nothing'}.")
    if args.duration <= 0 or args.chunk_ms <= 0 or args.verify_poll_ms <= 0:
        p.error("'--duration', '--chunk-ms' and '--verify-poll-ms' must be > 0.")
    shortest_s = min(args.nd_buffer, args.mne_bufsize)
    if args.verify_poll_ms * 1e-3 > 0.5 * shortest_s:
        p.error(
            f"'--verify-poll-ms' must be at most half the shortest buffer ({shortest_s:g} s); "
            f"got {args.verify_poll_ms:g} ms."
        )
    if not args.lsl_config.is_file():
        p.error(f"'--lsl-config' must be an existing file; got {args.lsl_config}.")
    return args


def run_all(args: argparse.Namespace, log_dir: Path) -> tuple[Record, list[Record]]:
    """Idle baseline, then every configuration with each consumer; returns raw results and rows."""
    ctx = mp.get_context("spawn")
    raw: Record = {"idle": None, "runs": {}}
    idle_cpu = None
    if args.idle_s > 0:
        print(f"idle baseline ({args.idle_s:g} s) ...", flush=True)
        raw["idle"] = run_idle(ctx, args.idle_s, log_dir)
        idle_cpu = raw["idle"].get("cpu", {}).get("process_cpu")
    rows = []
    empty = {"publisher": {"error": NOT_RUN}, "consumer": {"error": NOT_RUN}}
    for cfg in args.configs:
        pairs = {}
        for consumer in CONSUMERS:
            if consumer not in args.consumers:
                pairs[consumer] = empty
                continue
            print(f"{cfg.label}: publisher + {consumer} ({args.duration:g} s) ...", flush=True)
            pairs[consumer] = run_pair(ctx, cfg, consumer, args, log_dir)
        raw["runs"][cfg.label] = pairs
        rows.append(summarise(cfg, pairs["neurodeck"], pairs["streamlsl"], idle_cpu))
    return raw, rows


def _streamlsl_delay_text(raw: Record) -> str:
    """The acquisition_delay the StreamLSL runs used, and whether it was mne-lsl's default."""
    for pair in raw["runs"].values():
        settings = pair["streamlsl"]["consumer"].get("settings")
        if settings:
            default = " (mne-lsl default)" if settings["acquisition_delay_is_default"] else ""
            return f"{settings['acquisition_delay_s']:g} s{default}"
    return "n/a"


def _print_header(args: argparse.Namespace, raw: Record) -> None:
    print()
    print(
        f"neurodeck Acquisition vs mne-lsl StreamLSL: {args.duration:g} s per run, publisher "
        f"pushes {args.chunk_ms:g} ms chunks, sequential runs on {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()})"
    )
    delay = _streamlsl_delay_text(raw)
    print(
        f"neurodeck buffer_s {args.nd_buffer:g} s (other AcquisitionSettings default); "
        f"StreamLSL bufsize {args.mne_bufsize:g} s, acquisition_delay {delay}; "
        f"each consumer's main thread checks ch0 every {args.verify_poll_ms:g} ms"
    )
    print(
        "CPU: % of one core over the run; transport: t_recv - t_last, t_last = last sample of "
        "each pushed chunk; lost: missing sample indices on ch0"
    )
    print()


def _print_notes(rows: list[Record]) -> None:
    """Per configuration: publisher lateness, verifier CPU, other load; warnings and errors."""
    for r in rows:
        parts = []
        for key, what in (
            ("_pub_late_p99", "publisher lateness p99"),
            ("_verifier", "verifier CPU"),
            ("_other_load", "other processes"),
        ):
            spec = ".2f" if key == "_pub_late_p99" else ".2%"
            unit = " ms" if key == "_pub_late_p99" else ""
            values = [f"{k} {r[k + key]:{spec}}{unit}" for k in ("nd", "sl") if k + key in r]
            parts.append(f"{what} {', '.join(values) or 'n/a'}")
        print(f"  {r['config']}: " + "; ".join(parts))
        for k, name in (("nd", "neurodeck"), ("sl", "StreamLSL")):
            late, other = r.get(f"{k}_pub_late_p99", 0.0), r.get(f"{k}_other_load", 0.0)
            if late > LATE_WARN_MS or other > OTHER_LOAD_WARN:
                print(
                    f"  ! {r['config']} {name} run disturbed (publisher lateness p99 "
                    f"{late:.1f} ms, other processes {other:.0%} of a core): rerun on a quiet "
                    "machine before trusting its CPU and latency figures"
                )
        for err in r["errors"]:
            print(f"  ! {r['config']} {err}")


def print_report(
    args: argparse.Namespace, raw: Record, rows: list[Record], lsl_check: tuple[int, list[str]]
) -> list[str]:
    """Print the header, table, goals and notes; return the goal lines."""
    _print_header(args, raw)
    print(format_table(rows))
    print()
    goals = format_goals(rows)
    print("\n".join(goals))
    _print_notes(rows)
    ok, bad = lsl_check
    missing = f"; NOT CONFIRMED in {', '.join(bad)}" if bad else ""
    print(f"liblsl configuration {args.lsl_config}: loaded in {ok} LSL child processes{missing}")
    return goals


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["LSLAPICFG"] = str(args.lsl_config.resolve())  # inherited by every child
    with tempfile.TemporaryDirectory(prefix="neurodeck-bench-") as tmp:
        log_dir = args.keep_logs or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        try:
            raw, rows = run_all(args, log_dir)
        except KeyboardInterrupt:
            print("interrupted; child processes were stopped", file=sys.stderr)
            return 130
        lsl_check = check_lsl_config(log_dir, args.lsl_config.resolve())
    goals = print_report(args, raw, rows, lsl_check)
    if args.json:
        payload = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "rows": rows,
            "goals": goals,
            "lsl_config_check": lsl_check,
            "raw": _jsonable(raw),
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
        print(f"results written to {args.json}")
    if any(r["errors"] for r in rows):
        return 2
    return 1 if args.strict and any(g.startswith("[FAIL]") for g in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
