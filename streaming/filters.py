"""Causal, stateful filters that give the same result on a whole array and on any chunking of it.

:class:`CausalSOSFilter` is an IIR filter in second-order sections with carried state;
:class:`StreamingResampler` is a rational polyphase FIR resampler with carried history. Both start
from rest (zero state), as a real device does when it is switched on, and both are causal: sample
``n`` of the output depends on input samples ``<= n`` only. Offline training and live decoding
therefore see identical data.
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction

import numpy as np
from neurodeck.common.checks import check_int, check_positive
from neurodeck.common.types import ConfigError
from numpy.typing import ArrayLike, NDArray
from scipy import signal

logger = logging.getLogger(__name__)

_BATCH_MIN_OUTPUTS = 256  # from this many outputs per chunk, resample with upfirdn

FloatArray = NDArray[np.float32]
Float64Array = NDArray[np.float64]


def check_below_nyquist(name: str, freq_hz: float, sfreq: float, what: str = "") -> float:
    """Validate ``0 < freq_hz < sfreq / 2`` and return it as float.

    Parameters
    ----------
    name : str
        Parameter name used in the message (``'bandpass'``).
    freq_hz : float
        Frequency to check, in Hz.
    sfreq : float
        Sampling rate in Hz.
    what : str
        Which part of the parameter this is (``'high edge'``), for the message.

    Raises
    ------
    ConfigError
        ``"'bandpass' high edge must be below Nyquist (80.0 Hz); got 90.0."``
    """
    label = f"'{name}'{' ' + what if what else ''}"
    if isinstance(freq_hz, bool) or not isinstance(freq_hz, (int, float, np.floating)):
        raise ConfigError(f"{label} must be a number in Hz; got {freq_hz!r}.")
    if not math.isfinite(freq_hz) or freq_hz <= 0:
        raise ConfigError(f"{label} must be a finite frequency > 0 Hz; got {freq_hz!r}.")
    nyquist = sfreq / 2.0
    if freq_hz >= nyquist:
        raise ConfigError(f"{label} must be below Nyquist ({nyquist} Hz); got {freq_hz!r}.")
    return float(freq_hz)


def bandpass_sos(
    low_hz: float, high_hz: float, sfreq: float, order: int = 4, name: str = "bandpass"
) -> Float64Array:
    """Butterworth band-pass in second-order sections, as ``scipy.signal.butter`` designs it.

    Parameters
    ----------
    low_hz, high_hz : float
        Pass-band edges (-3 dB) in Hz, ``0 < low_hz < high_hz < sfreq / 2``.
    sfreq : float
        Sampling rate in Hz.
    order : int
        Butterworth order (the band-pass has ``2 * order`` poles, ``order`` sections).
    name : str
        Parameter name used in error messages.

    Returns
    -------
    ndarray, shape (order, 6), float64
        ``butter(order, [low_hz, high_hz], btype='bandpass', fs=sfreq, output='sos')``.
    """
    sfreq = check_positive("sfreq", sfreq, unit="Hz")
    order = check_int("order", order, 1, 12)
    low = check_below_nyquist(name, low_hz, sfreq, "low edge")
    high = check_below_nyquist(name, high_hz, sfreq, "high edge")
    if low >= high:
        raise ConfigError(f"'{name}' low edge must be below the high edge; got ({low}, {high}).")
    sos = signal.butter(order, [low, high], btype="bandpass", fs=sfreq, output="sos")
    return np.asarray(sos, dtype=np.float64)


def notch_sos(
    freq_hz: float,
    sfreq: float,
    quality: float = 30.0,
    harmonics: bool = False,
    name: str = "freq_hz",
) -> Float64Array:
    """IIR notch (``scipy.signal.iirnotch``) in second-order sections, optionally at harmonics.

    Parameters
    ----------
    freq_hz : float
        Frequency to remove (mains: 50 or 60 Hz), below ``sfreq / 2``.
    sfreq : float
        Sampling rate in Hz.
    quality : float
        Quality factor ``freq_hz / bandwidth(-3 dB)``.
    harmonics : bool
        Also notch ``2 * freq_hz, 3 * freq_hz, ...`` below Nyquist.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    ndarray, shape (n_notches, 6), float64
        One section per notched frequency.
    """
    sfreq = check_positive("sfreq", sfreq, unit="Hz")
    quality = check_positive("quality", quality)
    base = check_below_nyquist(name, freq_hz, sfreq)
    n_notches = math.ceil(sfreq / 2.0 / base) - 1 if harmonics else 1
    sections = []
    for k in range(1, n_notches + 1):
        b, a = signal.iirnotch(k * base, quality, fs=sfreq)
        sections.append(signal.tf2sos(b, a))
    return np.vstack(sections).astype(np.float64)


class CausalSOSFilter:
    """IIR filter in second-order sections with carried per-channel state.

    Wraps ``scipy.signal.sosfilt``. The state starts at zero (the filter is at rest, like a
    device that was just switched on), so ``process`` on a whole array equals
    ``sosfilt(sos, x)`` with no initial conditions, and any chunking gives the same output.
    Arithmetic is float64 (it costs no more than float32 here); the output is float32. A NaN or
    inf in the input poisons the state of its channel until :meth:`reset`.

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
        Second-order sections, as ``scipy.signal`` designs them.
    n_channels : int
        Number of channels (rows) of every chunk.
    """

    def __init__(self, sos: ArrayLike, n_channels: int) -> None:
        sos_arr = np.array(sos, dtype=np.float64)
        if sos_arr.ndim != 2 or sos_arr.shape[1] != 6 or sos_arr.shape[0] < 1:
            raise ConfigError(f"'sos' must have shape (n_sections, 6); got {sos_arr.shape}.")
        if not np.all(np.isfinite(sos_arr)):
            raise ConfigError("'sos' must hold finite coefficients; got NaN or inf.")
        self._sos = sos_arr  # writable: sosfilt's Cython core refuses read-only buffers
        self._n_channels = check_int("n_channels", n_channels)
        self._zi = np.zeros((sos_arr.shape[0], self._n_channels, 2))

    @classmethod
    def bandpass(
        cls, low_hz: float, high_hz: float, sfreq: float, n_channels: int, order: int = 4
    ) -> CausalSOSFilter:
        """Butterworth band-pass; see :func:`bandpass_sos`."""
        return cls(bandpass_sos(low_hz, high_hz, sfreq, order, name="bandpass"), n_channels)

    @classmethod
    def notch(
        cls,
        freq_hz: float,
        sfreq: float,
        n_channels: int,
        quality: float = 30.0,
        harmonics: bool = False,
    ) -> CausalSOSFilter:
        """IIR notch at ``freq_hz`` (and its harmonics); see :func:`notch_sos`."""
        return cls(notch_sos(freq_hz, sfreq, quality, harmonics), n_channels)

    @property
    def sos(self) -> Float64Array:
        """Second-order sections, shape (n_sections, 6), read-only view."""
        view = self._sos.view()
        view.setflags(write=False)
        return view

    @property
    def n_channels(self) -> int:
        """Number of channels the filter was built for."""
        return self._n_channels

    @property
    def n_sections(self) -> int:
        """Number of second-order sections."""
        return int(self._sos.shape[0])

    def reset(self) -> None:
        """Return to rest: zero state, as at construction."""
        self._zi[...] = 0.0

    def process(self, x: ArrayLike) -> FloatArray:
        """Filter the next chunk.

        Parameters
        ----------
        x : array_like, shape (n_channels, n_samples)
            Next samples of every channel, oldest first (any real dtype).

        Returns
        -------
        ndarray, shape (n_channels, n_samples), float32, C-contiguous

        Notes
        -----
        Called from the acquisition thread; does not block.
        """
        return self.process_f64(x).astype(np.float32)

    def process_f64(self, x: ArrayLike) -> Float64Array:
        """Like :meth:`process`, but return the float64 result (for chaining stages)."""
        x_arr = np.asarray(x)
        if x_arr.ndim != 2 or x_arr.shape[0] != self._n_channels:
            raise ConfigError(
                f"'x' must have shape (n_channels={self._n_channels}, n_samples); "
                f"got {x_arr.shape}."
            )
        if x_arr.shape[1] == 0:  # sosfilt cannot reshape an empty chunk
            return np.empty((self._n_channels, 0))
        y, self._zi = signal.sosfilt(self._sos, x_arr, axis=-1, zi=self._zi)
        return y


def _resample_ratio(sfreq_in: float, sfreq_out: float, max_denominator: int) -> Fraction:
    """``sfreq_out / sfreq_in`` as a fraction ``up / down`` in lowest terms."""
    ratio = Fraction(sfreq_out / sfreq_in).limit_denominator(max_denominator)
    if ratio <= 0:
        raise ConfigError(
            f"'sfreq_out' / 'sfreq_in' cannot be represented with a denominator <= "
            f"{max_denominator}; got {sfreq_out} / {sfreq_in}."
        )
    achieved = sfreq_in * ratio.numerator / ratio.denominator
    if abs(achieved - sfreq_out) > 1e-9 * sfreq_out:
        logger.info("resampling %s Hz -> %s Hz (asked for %s Hz)", sfreq_in, achieved, sfreq_out)
    return ratio


def _polyphase_bank(up: int, down: int, zeros: int, beta: float) -> tuple[Float64Array, ...]:
    """Anti-alias FIR ``h`` (as in ``resample_poly``) and its time-reversed phase filters.

    Returns ``h`` of length ``2 * zeros * max(up, down) + 1`` (gain ``up``) and ``bank`` of
    shape (up, n_taps_per_phase) with ``bank[p, -1 - t] = h[p + up * t]``.
    """
    max_rate = max(up, down)
    half_len = zeros * max_rate
    taps = signal.firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", beta)) * up
    n_per_phase = -(-taps.size // up)
    padded = np.zeros(n_per_phase * up)
    padded[: taps.size] = taps
    bank = np.ascontiguousarray(padded.reshape(n_per_phase, up).T[:, ::-1])
    return taps, bank


class StreamingResampler:
    """Causal rational resampler (polyphase FIR) with carried input history and phase.

    The rate changes by ``up / down`` (a fraction in lowest terms). The anti-alias low-pass is
    the one ``scipy.signal.resample_poly`` designs (``firwin``, Kaiser window, cut-off at the
    lower Nyquist, ``2 * zeros * max(up, down) + 1`` taps), but it is applied causally: the
    output equals ``scipy.signal.upfirdn(taps, x, up, down)`` truncated to its first samples,
    i.e. ``resample_poly`` delayed by :attr:`group_delay_s`. History starts at zero (at rest).

    Output sample ``k`` belongs to input time ``k * down / up`` (its content is delayed by
    :attr:`group_delay_s`, as for any causal filter) and is emitted as soon as the input sample
    at or just before that time has arrived: after ``N`` input samples in total,
    exactly ``ceil(N * up / down)`` output samples have been returned (the length
    ``resample_poly`` gives), however the input was chunked.

    Parameters
    ----------
    sfreq_in, sfreq_out : float
        Input and wanted output rates in Hz. Equal rates give an identity that does not copy.
    n_channels : int
        Number of channels (rows) of every chunk.
    max_denominator : int
        Largest ``down`` allowed when approximating ``sfreq_out / sfreq_in``.
    zeros : int
        Half length of the filter in units of ``max(up, down)`` (``resample_poly`` uses 10).
        Fewer gives less delay and a wider transition band.
    kaiser_beta : float
        Kaiser window shape parameter (``resample_poly`` uses 5.0).
    """

    def __init__(
        self,
        sfreq_in: float,
        sfreq_out: float,
        n_channels: int,
        *,
        max_denominator: int = 4096,
        zeros: int = 10,
        kaiser_beta: float = 5.0,
    ) -> None:
        self._sfreq_in = check_positive("sfreq_in", sfreq_in, unit="Hz")
        check_positive("sfreq_out", sfreq_out, unit="Hz")
        self._n_channels = check_int("n_channels", n_channels)
        zeros = check_int("zeros", zeros)
        beta = check_positive("kaiser_beta", kaiser_beta)
        max_denominator = check_int("max_denominator", max_denominator)
        ratio = _resample_ratio(self._sfreq_in, sfreq_out, max_denominator)
        self._up, self._down = ratio.numerator, ratio.denominator
        if self.is_identity:
            self._half_len = 0
            self._taps, self._bank = np.ones(1), np.ones((1, 1))
        else:
            self._half_len = zeros * max(self._up, self._down)
            self._taps, self._bank = _polyphase_bank(self._up, self._down, zeros, beta)
        self._taps.setflags(write=False)
        self._history = np.zeros((self._n_channels, self._bank.shape[1] - 1))
        self._n_in = 0
        self._n_out = 0

    @property
    def sfreq_in(self) -> float:
        """Input rate in Hz."""
        return self._sfreq_in

    @property
    def sfreq_out(self) -> float:
        """Output rate in Hz (``sfreq_in * up / down``, the rate actually produced)."""
        return self._sfreq_in * self._up / self._down

    @property
    def up(self) -> int:
        """Interpolation factor."""
        return self._up

    @property
    def down(self) -> int:
        """Decimation factor."""
        return self._down

    @property
    def n_channels(self) -> int:
        """Number of channels the resampler was built for."""
        return self._n_channels

    @property
    def is_identity(self) -> bool:
        """True when the rates are equal: :meth:`process` passes data through."""
        return self._up == self._down == 1

    @property
    def taps(self) -> Float64Array:
        """Anti-alias FIR at rate ``sfreq_in * up``, shape (n_taps,), gain ``up``, read-only."""
        return self._taps

    @property
    def group_delay_s(self) -> float:
        """Delay of the (linear-phase) anti-alias filter in seconds."""
        return self._half_len / (self._sfreq_in * self._up)

    @property
    def group_delay_samples(self) -> float:
        """Delay of the anti-alias filter in output samples (may be fractional)."""
        return self._half_len / self._down

    def output_length(self, n_samples_in: int) -> int:
        """Number of output samples after ``n_samples_in`` input samples from reset."""
        return -(-int(n_samples_in) * self._up // self._down)

    def reset(self) -> None:
        """Return to rest: zero history, phase at the first sample."""
        self._history[...] = 0.0
        self._n_in = 0
        self._n_out = 0

    def process(self, x: ArrayLike) -> FloatArray:
        """Resample the next chunk.

        Parameters
        ----------
        x : array_like, shape (n_channels, n_samples)
            Next input samples, oldest first (float64 keeps full precision).

        Returns
        -------
        ndarray, shape (n_channels, n_out), float32, C-contiguous
            The output samples that became available; ``n_out`` varies from chunk to chunk.
            The identity returns ``x`` itself when it already is float32 and C-contiguous.

        Notes
        -----
        Called from the acquisition thread; does not block.
        """
        x_arr = np.asarray(x)
        if x_arr.ndim != 2 or x_arr.shape[0] != self._n_channels:
            raise ConfigError(
                f"'x' must have shape (n_channels={self._n_channels}, n_samples); "
                f"got {x_arr.shape}."
            )
        if self.is_identity:
            return np.ascontiguousarray(x_arr, dtype=np.float32)
        n_samples = x_arr.shape[1]
        extended = np.concatenate((self._history, x_arr), axis=1)  # (n_channels, n_taps - 1 + n)
        out = self._convolve(extended, n_samples)
        self._history = extended[:, n_samples:].copy()
        return out

    def _convolve(self, extended: Float64Array, n_samples: int) -> FloatArray:
        """Output samples whose newest input lies in the chunk; advances the phase counters."""
        up, down = self._up, self._down
        n_end = self.output_length(self._n_in + n_samples)
        # Shift by whole periods (up outputs = down inputs) to keep the index arithmetic small.
        periods = self._n_out // up
        first = self._n_out - periods * up  # first output to emit, shifted
        chunk_start = self._n_in - periods * down  # input index of the chunk's first sample
        n_out = n_end - self._n_out
        if n_out >= _BATCH_MIN_OUTPUTS:
            out = self._convolve_batch(extended, first, chunk_start, n_out)
        else:
            out = self._convolve_few(extended, first, chunk_start, n_out)
        self._n_in += n_samples
        self._n_out = n_end
        return out

    def _convolve_few(
        self, extended: Float64Array, first: int, chunk_start: int, n_out: int
    ) -> FloatArray:
        """One matrix-vector product per output sample (cheap for the few of a live chunk)."""
        position = np.arange(first, first + n_out, dtype=np.int64) * self._down
        starts = position // self._up - chunk_start  # window starts in `extended`
        phases = position % self._up
        n_taps = self._bank.shape[1]
        out = np.empty((self._n_channels, n_out), dtype=np.float32)
        for j in range(n_out):
            out[:, j] = extended[:, starts[j] : starts[j] + n_taps] @ self._bank[phases[j]]
        return out

    def _convolve_batch(
        self, extended: Float64Array, first: int, chunk_start: int, n_out: int
    ) -> FloatArray:
        """All outputs through ``scipy.signal.upfirdn`` (for long chunks and whole arrays).

        ``upfirdn`` puts its outputs at multiples of ``down`` from the start of ``extended``;
        delaying the taps by ``delay`` positions aligns that grid with ours.
        """
        up, down = self._up, self._down
        offset = first * down - (chunk_start - (self._bank.shape[1] - 1)) * up  # >= 0
        delay = -offset % down
        skip = (offset + delay) // down
        taps = np.concatenate((np.zeros(delay), self._taps))
        full = signal.upfirdn(taps, extended, up, down, axis=-1)
        return np.ascontiguousarray(full[:, skip : skip + n_out], dtype=np.float32)
