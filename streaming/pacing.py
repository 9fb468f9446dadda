"""Clock-paced publishing of sample blocks on LSL: the engine shared by replay and simulator.

Like mne-lsl's ``player_lsl.py`` and pylsl's ``SendData.py``, but paced against the absolute
LSL clock: sample ``i`` carries the timestamp ``t0 + i / (sfreq * speed)`` and its chunk is pushed
when ``local_clock()`` reaches the timestamp of the chunk's last sample, so sleep errors never
accumulate into drift. Markers go on their own irregular string stream, each with the exact
timestamp of the sample it refers to, pushed when that time is reached (never after the sample).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import pylsl
from neurodeck.common.checks import check_positive
from neurodeck.common.types import ConfigError, FloatArray, StreamMeta, TimeArray
from neurodeck.streaming.lsl_io import local_clock, make_stream_info, meta_from_info
from neurodeck.streaming.threads import JoinableThreadOwner

logger = logging.getLogger(__name__)

#: ``progress(n_pushed, total_samples)``; ``total_samples`` is None for an endless source.
ProgressCallback = Callable[[int, "int | None"], None]

#: Seconds of data an outlet keeps for slow consumers (liblsl's default, 6 minutes).
MAX_BUFFERED_S = 360


@dataclass(frozen=True)
class SampleBlock:
    """Consecutive samples produced by a source, with the markers that fall on them.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_samples), float32
        Samples in microvolts.
    markers : tuple of (sample_index, label)
        Absolute sample index (from the start of the run) and label of each marker inside the
        block, in time order.
    """

    data: FloatArray
    markers: tuple[tuple[int, str], ...] = ()

    @property
    def n_samples(self) -> int:
        """Number of samples in the block."""
        return self.data.shape[1]


class SampleClock:
    """Maps sample indices to LSL timestamps ``t0 + index / (sfreq * speed)`` and waits for them.

    Parameters
    ----------
    sfreq : float
        Content sampling rate in Hz.
    speed : float
        Playback speed factor; timestamps are ``1 / (sfreq * speed)`` apart.

    Notes
    -----
    Used by the publishing thread only; the lateness figures may be read from any thread.
    """

    def __init__(self, sfreq: float, speed: float) -> None:
        self.rate = sfreq * speed
        self.t0 = 0.0
        self.max_lateness_s = 0.0
        self._sum_lateness_s = 0.0
        self._n_waits = 0

    def start(self, t0: float | None = None) -> float:
        """Fix the timestamp of sample 0 (default: now) and return it."""
        self.t0 = local_clock() if t0 is None else t0
        return self.t0

    def timestamp(self, index: int) -> float:
        """Timestamp of sample ``index``."""
        return self.t0 + index / self.rate

    def timestamps(self, start: int, n_samples: int) -> TimeArray:
        """Timestamps of samples ``start .. start + n_samples - 1``, shape (n_samples,)."""
        return self.t0 + np.arange(start, start + n_samples, dtype=np.float64) / self.rate

    @property
    def mean_lateness_s(self) -> float:
        """Mean delay between a due time and the moment :meth:`wait_for` returned."""
        return self._sum_lateness_s / self._n_waits if self._n_waits else 0.0

    def wait_for(self, index: int, stop: threading.Event) -> bool:
        """Sleep until ``local_clock()`` reaches the timestamp of sample ``index``.

        Returns
        -------
        reached : bool
            True when the time came, False when ``stop`` was set first.
        """
        due = self.timestamp(index)
        while True:
            remaining = due - local_clock()
            if remaining <= 0:
                break
            if stop.wait(remaining):
                return False
        late = -remaining
        self.max_lateness_s = max(self.max_lateness_s, late)
        self._sum_lateness_s += late
        self._n_waits += 1
        return True


class PacedStreamer(JoinableThreadOwner):
    """Base class: an EEG outlet (and a marker outlet) fed from :meth:`_read_block` on the clock.

    Parameters
    ----------
    name : str
        EEG stream name; the marker stream is ``f"{name}-markers"``.
    source_id : str
        EEG stream source_id; the marker stream's is ``f"{source_id}-markers"``.
    channel_names : sequence of str
        Channel labels written in the stream header.
    sfreq : float
        Content sampling rate in Hz (the stream's nominal rate).
    speed : float
        Speed factor (> 0, at most 1000), declared as ``desc/replay_speed``.
    chunk_s : float
        Content seconds per push; ``max(1, round(chunk_s * sfreq))`` samples per push.
    extra_desc : dict, optional
        More ``desc`` entries for the EEG stream header.
    markers : bool
        Publish the marker stream (default). False publishes the EEG stream alone and the
        source's markers are discarded: for consumers that cannot tell two streams of one
        process apart (mne-lsl's bundled liblsl resolves one stream per publishing process
        under ``ResolveScope = machine``).

    Notes
    -----
    Subclasses implement :meth:`_read_block` (and may override :attr:`total_samples`) and call
    :meth:`_open_outlets` at the end of their ``__init__``, after their input has been checked,
    so the streams are visible, and inlets can connect, before :meth:`start`.
    """

    def __init__(
        self,
        name: str,
        source_id: str,
        channel_names: Sequence[str],
        sfreq: float,
        speed: float = 1.0,
        chunk_s: float = 0.02,
        extra_desc: dict[str, str] | None = None,
        markers: bool = True,
    ) -> None:
        if not name or not source_id:
            raise ConfigError(
                f"Stream 'name' and 'source_id' must be non-empty; got {name!r}, {source_id!r}."
            )
        self.name = name
        self._source_id = source_id
        self.channel_names = tuple(channel_names)
        self.publishes_markers = bool(markers)
        self.sfreq = check_positive("sfreq", sfreq, unit="Hz")
        self.speed = check_positive("speed", speed, upper=1000.0)
        self.n_per_push = max(1, round(check_positive("chunk_s", chunk_s, 10.0, "s") * sfreq))
        self._extra_desc = {"replay_speed": f"{self.speed:g}", **(extra_desc or {})}
        self._clock = SampleClock(self.sfreq, self.speed)
        self._stop = threading.Event()
        self._active_stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._ran = False
        self._n_pushed = 0
        self._n_markers = 0
        self._error: BaseException | None = None
        self._outlet: pylsl.StreamOutlet | None = None
        self._marker_outlet: pylsl.StreamOutlet | None = None
        self._meta: StreamMeta | None = None

    # -- to implement -------------------------------------------------------------------------
    def _read_block(self, start: int, n_samples: int) -> SampleBlock | None:
        """Samples ``start .. start + n_samples - 1`` (fewer at the end), or None when done.

        Notes
        -----
        Called from the publishing thread, in order, with ``start`` growing by the size of the
        previous block.
        """
        raise NotImplementedError

    @property
    def total_samples(self) -> int | None:
        """Samples in a full run, or None when the source runs until stopped."""
        return None

    # -- outlets ------------------------------------------------------------------------------
    def _open_outlets(self) -> None:
        """Create the EEG outlet and, with ``markers``, the marker outlet (both discoverable)."""
        info = make_stream_info(
            self.name,
            "EEG",
            self.channel_names,
            self.sfreq,
            self._source_id,
            extra_desc=self._extra_desc,
        )
        self._outlet = pylsl.StreamOutlet(info, self.n_per_push, MAX_BUFFERED_S)
        self._meta = meta_from_info(self._outlet.get_info())
        if not self.publishes_markers:
            logger.info(
                "Publishing '%s' (%d ch, %g Hz, speed %g, %d samples per push), no marker stream.",
                self.name,
                len(self.channel_names),
                self.sfreq,
                self.speed,
                self.n_per_push,
            )
            return
        marker_info = make_stream_info(
            f"{self.name}-markers",
            "Markers",
            ["marker"],
            pylsl.IRREGULAR_RATE,
            self.marker_source_id,
            channel_format="string",
            unit="",
            channel_type="Markers",
            extra_desc={"replay_speed": f"{self.speed:g}"},
        )
        self._marker_outlet = pylsl.StreamOutlet(marker_info)
        logger.info(
            "Publishing '%s' (%d ch, %g Hz, speed %g, %d samples per push) and '%s-markers'.",
            self.name,
            len(self.channel_names),
            self.sfreq,
            self.speed,
            self.n_per_push,
            self.name,
        )

    def close(self) -> None:
        """Stop, wait for the publishing thread, and destroy the outlets (idempotent).

        Notes
        -----
        Called from the owner's thread. Keep the outlets open (do not close) until consumers have
        pulled what they need: data not yet sent is lost when an outlet goes away.
        """
        self.stop()
        if self._thread is not None:
            self._thread.join()
        self._outlet = None
        self._marker_outlet = None

    def wait_for_consumers(self, timeout_s: float, marker_grace_s: float = 2.0) -> bool:
        """Block until the EEG outlet has a consumer (``timeout_s`` at most).

        Then give a marker consumer up to ``marker_grace_s`` more to connect (a decoder opens its
        marker inlet right after its EEG inlet; one that wants no markers does not wait long).
        Use it before :meth:`start` when the first samples must not be missed: LSL delivers only
        what is pushed after an inlet connected.

        Returns
        -------
        connected : bool
            True when the EEG outlet has a consumer.
        """
        if self._outlet is None or not self._outlet.wait_for_consumers(timeout_s):
            return False
        if self._marker_outlet is not None:
            self._marker_outlet.wait_for_consumers(marker_grace_s)
        return True

    def linger(self, timeout_s: float = 3.0, poll_s: float = 0.05) -> bool:
        """After the last push, keep the outlets until consumers disconnect or ``timeout_s`` passes.

        Destroying an outlet right after its last push can drop samples still in transit and
        makes every inlet log a broken connection; a replay that ends should linger first.

        Returns
        -------
        drained : bool
            True when no consumer was left connected.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._outlet is None or not self._outlet.have_consumers():
                return True
            time.sleep(poll_s)
        return False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- properties ---------------------------------------------------------------------------
    @property
    def source_id(self) -> str:
        """source_id of the EEG stream."""
        return self._source_id

    @property
    def marker_source_id(self) -> str:
        """source_id of the marker stream (published only with ``markers``)."""
        return f"{self._source_id}-markers"

    @property
    def meta(self) -> StreamMeta:
        """The EEG stream's description, as an inlet would read it."""
        if self._meta is None:
            raise RuntimeError("Outlets were never opened (_open_outlets() not called).")
        return self._meta

    @property
    def n_pushed(self) -> int:
        """Samples pushed so far (read from any thread)."""
        return self._n_pushed

    @property
    def n_markers_pushed(self) -> int:
        """Markers pushed so far (read from any thread)."""
        return self._n_markers

    @property
    def t0(self) -> float:
        """Timestamp of sample 0 (0.0 before the run starts)."""
        return self._clock.t0

    @property
    def max_lateness_s(self) -> float:
        """Largest delay of a push behind its due time so far, in seconds."""
        return self._clock.max_lateness_s

    @property
    def mean_lateness_s(self) -> float:
        """Mean delay of pushes behind their due times so far, in seconds."""
        return self._clock.mean_lateness_s

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the publishing thread, if any."""
        return self._error

    @property
    def is_running(self) -> bool:
        """True while the publishing thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- running ------------------------------------------------------------------------------
    def start(self) -> None:
        """Publish on a background thread; returns at once.

        Notes
        -----
        Called from the owner's thread. A streamer runs once; create a new one to run again.
        """
        self._claim_run()
        self._thread = threading.Thread(
            target=self._thread_main, name=f"{self.name}-publisher", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask the publishing loop to end (returns at once; see :meth:`join`).

        Also sets the ``stop_event`` given to a running :meth:`run_blocking`, to wake its sleeps.

        Notes
        -----
        Safe from any thread.
        """
        self._stop.set()
        if self._active_stop is not None:
            self._active_stop.set()

    def run_blocking(
        self,
        stop_event: threading.Event | None = None,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Publish on the calling thread until the source ends or a stop is requested.

        Parameters
        ----------
        stop_event : threading.Event, optional
            Ends the run when set (as does :meth:`stop`).
        progress : callable, optional
            ``progress(n_pushed, total_samples)`` after every push; must return quickly.

        Returns
        -------
        n_pushed : int
            Samples pushed.

        Notes
        -----
        Blocks the calling thread (the CLI's main thread, or the thread made by :meth:`start`).
        """
        if self._thread is None or threading.current_thread() is not self._thread:
            self._claim_run()
        stop = stop_event or self._stop
        self._active_stop = stop
        try:
            self._publish_loop(stop, progress)
        finally:
            self._active_stop = None
        logger.info(
            "'%s' ended after %d samples (max lateness %.2f ms).",
            self.name,
            self._n_pushed,
            self.max_lateness_s * 1e3,
        )
        return self._n_pushed

    def _claim_run(self) -> None:
        """Refuse a second run, or a run after close()."""
        if self._ran:
            raise RuntimeError(f"'{self.name}' already ran; create a new streamer to run again.")
        if self._outlet is None:
            raise RuntimeError(f"'{self.name}' has no open outlets (closed?).")
        self._ran = True

    def _thread_main(self) -> None:
        """Body of the publishing thread: run, and log any fault with its traceback."""
        try:
            self.run_blocking(self._stop)
        except Exception as exc:
            logger.exception("Publishing thread of '%s' failed.", self.name)
            self._error = exc

    def _publish_loop(self, stop: threading.Event, progress: ProgressCallback | None) -> None:
        """Read blocks and push each one on time, until the source ends or ``stop`` is set."""
        eeg, markers = self._outlet, self._marker_outlet  # local: close() mid-run cannot break us
        if eeg is None or (self.publishes_markers and markers is None):
            raise RuntimeError(f"'{self.name}' has no open outlets (closed?).")
        self._clock.start()
        start = 0
        while not (stop.is_set() or self._stop.is_set()):
            block = self._read_block(start, self.n_per_push)
            if block is None or block.n_samples == 0:
                break
            if not self._push_block(eeg, markers, start, block, stop):
                break
            start += block.n_samples
            if progress is not None:
                progress(self._n_pushed, self.total_samples)

    def _push_block(
        self,
        eeg: pylsl.StreamOutlet,
        markers: pylsl.StreamOutlet | None,
        start: int,
        block: SampleBlock,
        stop: threading.Event,
    ) -> bool:
        """Push the block's markers at their times (if any outlet), then its samples.

        Returns False when stopped.
        """
        for index, label in block.markers if markers is not None else ():
            if not self._clock.wait_for(index, stop):
                return False
            markers.push_sample([label], self._clock.timestamp(index))
            self._n_markers += 1
        last = start + block.n_samples - 1
        if not self._clock.wait_for(last, stop):
            return False
        samples = np.ascontiguousarray(block.data.T)  # (n_channels, n) -> (n, n_channels)
        eeg.push_chunk(samples, self._clock.timestamps(start, block.n_samples).tolist())
        self._n_pushed += block.n_samples
        return True
