"""The one preprocessing chain used for training, calibration and live decoding.

:class:`PreprocessingConfig` is saved inside every model checkpoint (:meth:`~PreprocessingConfig.
to_dict`); :class:`Preprocessor` applies it causally with carried state, so that a whole recording
(:meth:`Preprocessor.process_array`, offline) and the same recording fed chunk by chunk
(:meth:`Preprocessor.process`, live) give the same samples. Chain, in order:

pick / map channels by name -> scale to microvolts -> re-reference -> notch -> band-pass ->
resample -> clip.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from neurodeck.common.checks import check_positive
from neurodeck.common.types import ChannelMappingError, ConfigError
from neurodeck.streaming.channels import CHANNEL_ALIASES, map_channels, normalize_channel_name
from neurodeck.streaming.filters import (
    CausalSOSFilter,
    StreamingResampler,
    bandpass_sos,
    notch_sos,
)
from numpy.typing import ArrayLike, NDArray

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float32]
_REFERENCE_MODES = ("none", "average")
_MAX_FILTER_ORDER = 12


def _optional_positive(name: str, value: Any) -> float | None:
    """``None`` or a finite number > 0, as float."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        raise ConfigError(f"'{name}' must be None or a number > 0; got {value!r}.")
    return check_positive(name, value)


def _check_channel_names(names: Any) -> tuple[str, ...] | None:
    """``None`` or a non-empty tuple of distinct channel names."""
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, Sequence) or len(names) == 0:
        raise ConfigError(
            f"'channel_names' must be None or a non-empty sequence of channel names; got {names!r}."
        )
    if not all(isinstance(n, str) and n.strip() for n in names):
        raise ConfigError(f"'channel_names' must hold non-empty strings; got {list(names)!r}.")
    keys = [normalize_channel_name(n) for n in names]
    keys = [CHANNEL_ALIASES.get(k, k).lower() for k in keys]
    repeated = sorted({n for n, k in zip(names, keys, strict=True) if keys.count(k) > 1})
    if repeated:
        raise ConfigError(
            f"'channel_names' must name each electrode once; got repeats {repeated} "
            "(T3/T4/T5/T6 are the same sites as T7/T8/P7/P8)."
        )
    return tuple(names)


def _check_reference(reference: Any) -> str:
    """``'none'``, ``'average'`` (any case) or a channel name."""
    if not isinstance(reference, str) or not reference.strip():
        raise ConfigError(
            f"'reference' must be 'none', 'average' or a channel name; got {reference!r}."
        )
    lowered = reference.strip().lower()
    return lowered if lowered in _REFERENCE_MODES else reference.strip()


def _check_bandpass(bandpass: Any) -> tuple[float, float] | None:
    """``None`` or ``(low_hz, high_hz)`` with ``0 < low_hz < high_hz``."""
    if bandpass is None:
        return None
    rule = "must be None or (low_hz, high_hz) with 0 < low_hz < high_hz"
    if isinstance(bandpass, str) or not isinstance(bandpass, Sequence) or len(bandpass) != 2:
        raise ConfigError(f"'bandpass' {rule}; got {bandpass!r}.")
    low, high = (_optional_positive("bandpass", edge) for edge in bandpass)
    if low is None or high is None or low >= high:
        raise ConfigError(f"'bandpass' {rule}; got {tuple(bandpass)!r}.")
    return (low, high)


def _check_filter_order(order: Any) -> int:
    """Integer in ``[1, _MAX_FILTER_ORDER]``."""
    ok = isinstance(order, (int, np.integer)) and not isinstance(order, bool)
    if not ok or not 1 <= order <= _MAX_FILTER_ORDER:
        raise ConfigError(
            f"'filter_order' must be an integer between 1 and {_MAX_FILTER_ORDER}; got {order!r}."
        )
    return int(order)


@dataclass(frozen=True)
class PreprocessingConfig:
    """Settings of the preprocessing chain; saved in model checkpoints.

    Parameters
    ----------
    channel_names : tuple of str or None
        Channels to keep, in the model's order, matched by name (see
        :func:`neurodeck.streaming.channels.map_channels`). None keeps every source channel.
    reference : str
        ``'none'``, ``'average'`` (mean over the kept channels) or the name of a source channel
        to subtract.
    bandpass : (float, float) or None
        Butterworth band-pass edges in Hz, ``0 < low < high``; None disables it.
    filter_order : int
        Butterworth order (1 to 12); the band-pass has ``filter_order`` second-order sections.
    notch_hz : float or None
        Frequency of an IIR notch (Q = 30), e.g. 50.0 or 60.0 for mains; None disables it.
    sfreq_out : float or None
        Output sampling rate in Hz; None keeps the source rate.
    clip_uv : float or None
        Clip the output to ``[-clip_uv, clip_uv]`` microvolts; None disables it.
    """

    channel_names: tuple[str, ...] | None = None
    reference: str = "none"
    bandpass: tuple[float, float] | None = (8.0, 30.0)
    filter_order: int = 4
    notch_hz: float | None = None
    sfreq_out: float | None = None
    clip_uv: float | None = None

    def __post_init__(self) -> None:
        set_field = object.__setattr__  # frozen: normalise the fields once, here
        set_field(self, "channel_names", _check_channel_names(self.channel_names))
        set_field(self, "reference", _check_reference(self.reference))
        set_field(self, "bandpass", _check_bandpass(self.bandpass))
        set_field(self, "filter_order", _check_filter_order(self.filter_order))
        for name in ("notch_hz", "sfreq_out", "clip_uv"):
            set_field(self, name, _optional_positive(name, getattr(self, name)))
        self._check_consistency()

    def _check_consistency(self) -> None:
        """Rules that involve two settings."""
        if self.bandpass is not None and self.sfreq_out is not None:
            nyquist_out = self.sfreq_out / 2.0
            if self.bandpass[1] >= nyquist_out:
                raise ConfigError(
                    f"'bandpass' high edge must be below the output Nyquist frequency "
                    f"(sfreq_out / 2 = {nyquist_out} Hz); got {self.bandpass[1]}."
                )
        names = self.channel_names
        if self.reference == "average" and names is not None and len(names) < 2:
            raise ConfigError(
                "'reference'='average' needs at least 2 channels in 'channel_names'; "
                f"got {len(self.channel_names)}."
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (lists for tuples); :meth:`from_dict` reads it back."""
        return {
            "channel_names": None if self.channel_names is None else list(self.channel_names),
            "reference": self.reference,
            "bandpass": None if self.bandpass is None else list(self.bandpass),
            "filter_order": self.filter_order,
            "notch_hz": self.notch_hz,
            "sfreq_out": self.sfreq_out,
            "clip_uv": self.clip_uv,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PreprocessingConfig:
        """Build a config from :meth:`to_dict` output; missing keys take their defaults.

        Raises
        ------
        ConfigError
            If ``data`` is not a mapping, has unknown keys, or holds invalid values.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"'preprocessing' must be a mapping of settings; got {type(data).__name__}."
            )
        known = [f.name for f in fields(cls)]
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            raise ConfigError(
                f"'preprocessing' has unknown keys {unknown}; known keys are {known}.",
                "The settings may come from another neurodeck version; remove or rename them.",
            )
        return cls(**data)


class Preprocessor:
    """Causal, stateful preprocessing of one stream, identical offline and live.

    Chain: pick channels by name -> scale to microvolts -> re-reference -> notch -> band-pass
    (Butterworth, second-order sections) -> resample (:class:`~neurodeck.streaming.filters.
    StreamingResampler`) -> clip. Filters start from rest (zero state); with the default config,
    :meth:`process_array` equals ``sosfilt(butter(4, [8, 30], btype='bandpass', fs=sfreq,
    output='sos'), x)``. Filtering and resampling compute in float64; the output is float32.
    Call :meth:`reset` after a gap or after non-finite samples (they poison the filter state).

    Parameters
    ----------
    config : PreprocessingConfig
        The chain's settings (for a model: those saved in its checkpoint).
    in_channel_names : sequence of str, length n_in_channels
        Labels of the source's channels, in the order of the rows of every chunk.
    in_sfreq : float
        Source sampling rate in Hz.
    in_scale_to_uv : float
        Factor from source units to microvolts (1e6 for volts, 1.0 for microvolts).

    Raises
    ------
    ChannelMappingError
        If channels in ``config.channel_names`` or the reference channel are not in the source.
    ConfigError
        If a frequency is not below the source's Nyquist frequency, or another setting is bad.
    """

    def __init__(
        self,
        config: PreprocessingConfig,
        in_channel_names: Sequence[str],
        in_sfreq: float,
        in_scale_to_uv: float = 1.0,
    ) -> None:
        if not isinstance(config, PreprocessingConfig):
            raise ConfigError(f"'config' must be a PreprocessingConfig; got {type(config)!r}.")
        if isinstance(in_channel_names, str) or len(in_channel_names) == 0:
            raise ConfigError(
                f"'in_channel_names' must be a non-empty sequence of str; got {in_channel_names!r}."
            )
        self._config = config
        self._in_names = tuple(str(name) for name in in_channel_names)
        self._in_sfreq = check_positive("in_sfreq", in_sfreq, unit="Hz")
        self._scale = check_positive("in_scale_to_uv", in_scale_to_uv)
        self._pick, self._out_names = self._build_pick()
        self._ref_index = self._build_reference()
        self._filter = self._build_filter()
        self._resampler = self._build_resampler()
        logger.debug("%r", self)

    # -- construction -------------------------------------------------------------------------

    def _build_pick(self) -> tuple[NDArray[np.intp] | None, tuple[str, ...]]:
        """Row indices into the source (None: all rows, in order) and the output names."""
        targets = self._config.channel_names
        if targets is None:
            return None, tuple(normalize_channel_name(name) for name in self._in_names)
        pick = map_channels(self._in_names, targets)
        out_names = tuple(normalize_channel_name(name) for name in targets)
        if np.array_equal(pick, np.arange(len(self._in_names))):
            return None, out_names
        return pick, out_names

    def _build_reference(self) -> int | None:
        """Source row of a named reference channel (None for 'none' and 'average')."""
        reference = self._config.reference
        if reference == "average" and len(self._out_names) < 2:
            raise ConfigError(
                f"'reference'='average' needs at least 2 channels; got {len(self._out_names)}."
            )
        if reference in _REFERENCE_MODES:
            return None
        try:
            index = int(map_channels(self._in_names, [reference])[0])
        except ChannelMappingError as err:
            raise ChannelMappingError(
                f"'reference' channel {reference!r} is not among the {len(self._in_names)} "
                "source channels.",
                "Use reference='average' or 'none', or name a channel the source records.",
            ) from err
        if normalize_channel_name(reference) in self._out_names:
            logger.warning("reference channel %r is kept in the output; it will be flat", reference)
        return index

    def _build_filter(self) -> CausalSOSFilter | None:
        """Notch sections followed by band-pass sections, in one cascade (None if neither)."""
        config, sections = self._config, []
        if config.notch_hz is not None:
            sections.append(notch_sos(config.notch_hz, self._in_sfreq, name="notch_hz"))
        if config.bandpass is not None:
            low, high = config.bandpass
            sections.append(bandpass_sos(low, high, self._in_sfreq, config.filter_order))
        if not sections:
            return None
        return CausalSOSFilter(np.vstack(sections), len(self._out_names))

    def _build_resampler(self) -> StreamingResampler | None:
        """Resampler to ``config.sfreq_out`` (None when the rate is kept)."""
        sfreq_out = self._config.sfreq_out
        if sfreq_out is None or sfreq_out == self._in_sfreq:
            return None
        return StreamingResampler(self._in_sfreq, sfreq_out, len(self._out_names))

    # -- description --------------------------------------------------------------------------

    @property
    def config(self) -> PreprocessingConfig:
        """The chain's settings."""
        return self._config

    @property
    def in_channel_names(self) -> tuple[str, ...]:
        """Source channel labels, as given."""
        return self._in_names

    @property
    def n_in_channels(self) -> int:
        """Number of source channels (rows of every input chunk)."""
        return len(self._in_names)

    @property
    def in_sfreq(self) -> float:
        """Source sampling rate in Hz."""
        return self._in_sfreq

    @property
    def out_channel_names(self) -> tuple[str, ...]:
        """Output channel names (canonical spelling), in output row order."""
        return self._out_names

    @property
    def n_out_channels(self) -> int:
        """Number of output channels."""
        return len(self._out_names)

    @property
    def out_sfreq(self) -> float:
        """Output sampling rate in Hz."""
        return self._in_sfreq if self._resampler is None else self._resampler.sfreq_out

    @property
    def resample_delay_s(self) -> float:
        """Group delay of the resampler's anti-alias filter in seconds (0 without resampling)."""
        return 0.0 if self._resampler is None else self._resampler.group_delay_s

    def __repr__(self) -> str:
        c = self._config
        return (
            f"Preprocessor({self.n_in_channels} -> {self.n_out_channels} channels, "
            f"x{self._scale:g} to uV, reference={c.reference!r}, notch_hz={c.notch_hz}, "
            f"bandpass={c.bandpass} (order {c.filter_order}), "
            f"{self._in_sfreq:g} -> {self.out_sfreq:g} Hz, clip_uv={c.clip_uv})"
        )

    # -- processing ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Return every stage to rest (zero filter state, resampler phase at 0)."""
        if self._filter is not None:
            self._filter.reset()
        if self._resampler is not None:
            self._resampler.reset()

    def process_array(self, x: ArrayLike) -> FloatArray:
        """Offline path: :meth:`reset`, then process a whole recording in one call.

        Same output as feeding ``x`` to :meth:`process` in chunks after a reset. Do not call it
        on a Preprocessor that is serving a live stream: it discards the live state.

        Parameters
        ----------
        x : array_like, shape (n_in_channels, n_samples)
            A whole recording in source units.

        Returns
        -------
        ndarray, shape (n_out_channels, n_out_samples), float32, C-contiguous
        """
        self.reset()
        return self.process(x)

    def process(self, x: ArrayLike) -> FloatArray:
        """Preprocess the next chunk of the stream (causal; state carries to the next call).

        Parameters
        ----------
        x : array_like, shape (n_in_channels, n_samples)
            Next samples in source units, oldest first; float32 preferred (float64 keeps its
            precision, other real dtypes are converted). Never modified.

        Returns
        -------
        ndarray, shape (n_out_channels, n_out_samples), float32, C-contiguous
            A new array. ``n_out_samples == n_samples`` without resampling; with it, the count
            varies so that the total follows :meth:`StreamingResampler.output_length`.

        Notes
        -----
        Called from the acquisition thread; does not block. Allocations scale with the chunk.
        """
        x_arr = self._check_input(x)
        y = self._spatial(x_arr)  # (n_out_channels, n_samples)
        if self._filter is not None:
            y = self._filter.process_f64(y)  # float64, new array
        if self._resampler is not None:
            y = self._resampler.process(y)  # (n_out_channels, n_out_samples) float32
        out = y.astype(np.float32, order="C", copy=y is x_arr)  # never hand back the input
        if self._config.clip_uv is not None:
            np.clip(out, -self._config.clip_uv, self._config.clip_uv, out=out)
        return out

    def _check_input(self, x: ArrayLike) -> NDArray[np.floating]:
        """``x`` as a float32 or float64 array of shape (n_in_channels, n_samples)."""
        x_arr = np.asarray(x)
        if x_arr.ndim != 2 or x_arr.shape[0] != len(self._in_names):
            raise ConfigError(
                f"'x' must have shape (n_channels={len(self._in_names)}, n_samples); got "
                f"{x_arr.shape} (a (n_samples, n_channels) array must be transposed)."
            )
        if x_arr.dtype in (np.float32, np.float64):
            return x_arr
        real = np.issubdtype(x_arr.dtype, np.integer) or np.issubdtype(x_arr.dtype, np.floating)
        if not real:
            raise ConfigError(f"'x' must hold real numbers; got dtype {x_arr.dtype}.")
        return x_arr.astype(np.float64)

    def _spatial(self, x: NDArray[np.floating]) -> NDArray[np.floating]:
        """Pick, scale and re-reference: (n_in_channels, n) -> (n_out_channels, n)."""
        y = x if self._pick is None else x[self._pick]
        if self._scale == 1.0 and self._config.reference == "none":
            return y
        y = y.astype(np.float64, copy=y is x)  # never modify the caller's array
        if self._scale != 1.0:
            y *= self._scale
        if self._config.reference == "average":
            y -= y.mean(axis=0)
        elif self._ref_index is not None:
            y -= self._scale * x[self._ref_index].astype(np.float64)
        return y
