"""Affective decoders in numbers: classes on a valence / arousal plane, a workload index, and the
slow smoothing of a mental state (numpy only, so views, the core and the CLI share it).

An affective decoder outputs class probabilities ``p`` (``("negative", "neutral", "positive")``,
SEED-IV's ``("neutral", "sad", "fear", "happy")``, DEAP's ``("low_valence", "high_valence")``,
quadrants ``("lvla", "lvha", "hvla", "hvha")``, or mental workload ``("rest", "arithmetic")``).
Each class that has a place on an axis gets a coordinate ``v_i``; the decoder's position on that
axis is the expected value ``sum_i p_i * v_i``. An axis is defined only when every class of the
model has a coordinate on it and they are not all equal.

The coordinates are a documented **convention**, not measurements: valence and arousal in
``[-1, 1]`` placed after Russell's circumplex model of affect (Russell 1980, J. Pers. Soc. Psychol.
39(6), 1161-1178) and its usual reading in the EEG emotion literature (SEED, SEED-IV, DEAP). They
locate a class for display; they do not make a three-class valence decoder an arousal decoder, and
the expected value is a summary of the probabilities, not a calibrated rating.

A mental state changes over seconds, so its probabilities are smoothed more slowly than motor
imagery's (:data:`DEFAULT_AFFECTIVE_SMOOTHING_S`); :func:`smooth_probabilities` is the one smoother
(a normalised causal exponential average over the prediction times), and :class:`AffectTracker`
is its incremental form for the CLI's status line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from neurodeck.common.types import ConfigError, Prediction
from numpy.typing import ArrayLike, NDArray

#: Default time constant of the smoothed affective state, in seconds (motor imagery: 1 s).
DEFAULT_AFFECTIVE_SMOOTHING_S = 4.0

#: ``class -> (valence, arousal)`` on the circumplex, each in [-1, 1]; None where the class says
#: nothing about that axis (``"negative"`` is a valence class; its arousal is unknown).
#: A convention for display after Russell (1980), not measured coordinates.
CIRCUMPLEX: Mapping[str, tuple[float | None, float | None]] = {
    # SEED (three valence classes)
    "negative": (-1.0, None),
    "positive": (1.0, None),
    # SEED-IV (and common emotion words); "neutral" is the origin of both axes
    "neutral": (0.0, 0.0),
    "sad": (-0.7, -0.3),
    "sadness": (-0.7, -0.3),
    "fear": (-0.6, 0.7),
    "happy": (0.8, 0.5),
    "happiness": (0.8, 0.5),
    "joy": (0.8, 0.5),
    "anger": (-0.7, 0.6),
    "angry": (-0.7, 0.6),
    "calm": (0.4, -0.6),
    "relaxed": (0.4, -0.6),
    # DEAP, binary ratings split at the scale's midpoint
    "low_valence": (-1.0, None),
    "high_valence": (1.0, None),
    "low_arousal": (None, -1.0),
    "high_arousal": (None, 1.0),
    # DEAP quadrants (valence x arousal), at 45 degrees on the unit circle
    "lvla": (-0.7, -0.7),
    "lvha": (-0.7, 0.7),
    "hvla": (0.7, -0.7),
    "hvha": (0.7, 0.7),
}

#: ``class -> workload`` in [0, 1] for mental-workload decoders (rest vs mental arithmetic): the
#: workload index is the expected value, which for two classes is ``P(arithmetic)``.
WORKLOAD: Mapping[str, float] = {
    "rest": 0.0,
    "baseline": 0.0,
    "low_workload": 0.0,
    "medium_workload": 0.5,
    "high_workload": 1.0,
    "workload": 1.0,
    "arithmetic": 1.0,
    "mental_arithmetic": 1.0,
}


def normalise_class(name: str) -> str:
    """Lower case, with spaces and hyphens as underscores (``"Low-Valence"`` -> ``low_valence``)."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


@dataclass(frozen=True, eq=False)
class AffectAxes:
    """Where the classes of one affective model lie on each axis.

    Parameters
    ----------
    class_names : tuple of str
        The model's classes, in output order.
    valence, arousal : ndarray, shape (n_classes,), or None
        Circumplex coordinate of every class, None when the axis is not defined for this model.
    workload : ndarray, shape (n_classes,), or None
        Workload weight of every class in [0, 1], None when the model is no workload decoder
        (also None when valence is defined).
    """

    class_names: tuple[str, ...]
    valence: NDArray[np.float64] | None
    arousal: NDArray[np.float64] | None
    workload: NDArray[np.float64] | None

    @property
    def kind(self) -> str:
        """Gauge that fits: ``circumplex``, ``valence``, ``arousal``, ``workload`` or ``none``."""
        if self.valence is not None and self.arousal is not None:
            return "circumplex"
        if self.valence is not None:
            return "valence"
        if self.arousal is not None:
            return "arousal"
        return "workload" if self.workload is not None else "none"

    def expected(self, probabilities: ArrayLike) -> tuple[float | None, float | None, float | None]:
        """``(valence, arousal, workload)`` expected under one probability vector.

        Parameters
        ----------
        probabilities : array-like, shape (n_classes,)

        Returns
        -------
        valence, arousal, workload : float or None
            None for the axes this model does not define.
        """
        p = _check_probabilities(probabilities, len(self.class_names))
        return (
            None if self.valence is None else float(p @ self.valence),
            None if self.arousal is None else float(p @ self.arousal),
            None if self.workload is None else float(p @ self.workload),
        )

    def trajectory(self, probabilities: ArrayLike) -> tuple[NDArray[np.float64], ...]:
        """Valence and arousal (zeros for an undefined axis) of each row, for the gauge's trail.

        Parameters
        ----------
        probabilities : array-like, shape (n, n_classes)

        Returns
        -------
        valence, arousal : ndarray, shape (n,)
        """
        p = np.asarray(probabilities, dtype=np.float64).reshape(-1, len(self.class_names))
        zeros = np.zeros(len(p))
        x = p @ self.valence if self.valence is not None else zeros
        y = p @ self.arousal if self.arousal is not None else zeros
        return x, y

    def coordinates(self) -> NDArray[np.float64]:
        """Each class on the gauge plane ``(valence, arousal)``, 0 on an undefined axis.

        Returns
        -------
        ndarray, shape (n_classes, 2)
        """
        n_classes = len(self.class_names)
        out = np.zeros((n_classes, 2))
        if self.valence is not None:
            out[:, 0] = self.valence
        if self.arousal is not None:
            out[:, 1] = self.arousal
        return out


def _axis(values: Sequence[float | None]) -> NDArray[np.float64] | None:
    """The coordinates as an array when every class has one and they differ, else None."""
    if any(v is None for v in values):
        return None
    out = np.array(values, dtype=np.float64)
    return out if out.size >= 2 and np.ptp(out) > 0 else None


@lru_cache(maxsize=64)
def affect_axes(class_names: tuple[str, ...]) -> AffectAxes:
    """Place a model's classes on the valence, arousal and workload axes (see the module notes).

    Parameters
    ----------
    class_names : tuple of str
        The model's classes (matched after :func:`normalise_class`).

    Returns
    -------
    AffectAxes
        Cached per tuple of names: callers must not write to its arrays.
    """
    keys = [normalise_class(n) for n in class_names]
    points = [CIRCUMPLEX.get(k, (None, None)) for k in keys]
    valence = _axis([v for v, _ in points])
    arousal = _axis([a for _, a in points])
    workload = None
    if valence is None and arousal is None:
        workload = _axis([WORKLOAD.get(k) for k in keys])
    for axis in (valence, arousal, workload):
        if axis is not None:
            axis.setflags(write=False)
    return AffectAxes(tuple(class_names), valence, arousal, workload)


def _check_probabilities(probabilities: ArrayLike, n_classes: int) -> NDArray[np.float64]:
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    if p.size != n_classes:
        raise ConfigError(
            f"'probabilities' must have one value per class ({n_classes}); got {p.size}."
        )
    return p


def smooth_probabilities(
    times: ArrayLike, probabilities: ArrayLike, time_constant_s: float
) -> NDArray[np.float64]:
    """Normalised causal exponential average of class probabilities over irregular times.

    Row ``k`` is ``sum_j w_kj p_j / sum_j w_kj`` over the predictions ``j <= k``, with
    ``w_kj = exp(-(t_k - t_j) / time_constant_s)``: a dropped window shortens nothing, and a row
    still sums to 1. Computed in the log domain (``logaddexp.accumulate``), so any history length
    is exact and the cost is a few vector operations (cheap at the dashboard's frame rate).

    Parameters
    ----------
    times : array-like, shape (n,)
        Prediction times in seconds, ascending.
    probabilities : array-like, shape (n, n_classes)
    time_constant_s : float
        Time constant in the units of ``times`` (> 0).

    Returns
    -------
    ndarray, shape (n, n_classes)
        The smoothed probabilities at every prediction time; the last row is the current state.
    """
    if not (isinstance(time_constant_s, (int, float)) and time_constant_s > 0):
        raise ConfigError(f"'time_constant_s' must be > 0; got {time_constant_s!r}.")
    t = np.asarray(times, dtype=np.float64).ravel()
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != len(t):
        raise ConfigError(
            f"'probabilities' must be (n_times, n_classes) with one row per time ({len(t)}); "
            f"got shape {p.shape}."
        )
    if len(t) == 0:
        return np.zeros_like(p)
    u = (t - t[-1]) / time_constant_s  # (n,) log-weights relative to the newest, <= 0
    with np.errstate(divide="ignore"):
        log_p = np.log(np.clip(np.nan_to_num(p), 0.0, None))  # (n, n_classes), -inf for zeros
    log_num = np.logaddexp.accumulate(u[:, None] + log_p, axis=0)  # (n, n_classes)
    log_den = np.logaddexp.accumulate(u)  # (n,)
    return np.exp(log_num - log_den[:, None])


class AffectTracker:
    """:func:`smooth_probabilities` one prediction at a time (the CLI's status line).

    Parameters
    ----------
    class_names : tuple of str
    time_constant_s : float
        In stream seconds (divide content seconds by the replay speed).

    Notes
    -----
    Not thread-safe; call :meth:`update` from one thread. A prediction whose ``seq`` was the last
    one seen is ignored, so polling the same snapshot twice counts it once.
    """

    def __init__(self, class_names: Sequence[str], time_constant_s: float) -> None:
        if not time_constant_s > 0:
            raise ConfigError(f"'time_constant_s' must be > 0; got {time_constant_s!r}.")
        self.axes = affect_axes(tuple(class_names))
        self.time_constant_s = float(time_constant_s)
        self._num = np.zeros(len(self.axes.class_names))
        self._den = 0.0
        self._t: float | None = None
        self._seq: int | None = None

    def update(self, prediction: Prediction) -> None:
        """Fold in one prediction (ignored when it is the last one again)."""
        if prediction.seq == self._seq:
            return
        p = _check_probabilities(prediction.probabilities, len(self._num))
        dt = 0.0 if self._t is None else prediction.t_last - self._t
        decay = 0.0 if self._t is None else math.exp(-dt / self.time_constant_s)
        self._num = decay * self._num + p
        self._den = decay * self._den + 1.0
        self._t, self._seq = prediction.t_last, prediction.seq

    @property
    def smoothed(self) -> NDArray[np.float64] | None:
        """Current smoothed probabilities ``(n_classes,)``, None before the first prediction."""
        return None if self._den == 0 else self._num / self._den

    def describe(self, smoothing_s: float | None = None) -> str:
        """The state in words (``"positive 0.64 (4 s avg) valence +0.35"``); "" before any input."""
        p = self.smoothed
        if p is None:
            return ""
        i = int(np.argmax(p))
        span = f" ({smoothing_s:g} s avg)" if smoothing_s else ""
        text = f"{self.axes.class_names[i]} {p[i]:.2f}{span}"
        valence, arousal, workload = self.axes.expected(p)
        for name, value in (("valence", valence), ("arousal", arousal)):
            if value is not None:
                text += f" {name} {value:+.2f}"
        if workload is not None:
            text += f" workload {workload:.2f}"
        return text


def frontal_alpha_asymmetry(
    channel_names: Sequence[str], band_names: Sequence[str], band_power: ArrayLike
) -> float | None:
    """``ln(alpha F4) - ln(alpha F3)``, the classic frontal asymmetry (Davidson 1992), or None.

    Positive means less alpha, read as more activity, over the left frontal cortex (approach);
    F8/F7 or AF4/AF3 stand in when F4/F3 are missing.

    Parameters
    ----------
    channel_names : sequence of str
    band_names : sequence of str
        Must contain ``"alpha"``.
    band_power : array-like, shape (n_channels, n_bands)
        Absolute band power (uV^2).
    """
    if "alpha" not in band_names:
        return None
    power = np.asarray(band_power, dtype=np.float64).reshape(len(channel_names), len(band_names))
    alpha = power[:, list(band_names).index("alpha")]
    index = {n.upper(): i for i, n in enumerate(channel_names)}
    for right, left in (("F4", "F3"), ("F8", "F7"), ("AF4", "AF3")):
        if right in index and left in index:
            r, lft = alpha[index[right]], alpha[index[left]]
            if np.isfinite(r) and np.isfinite(lft) and r > 0 and lft > 0:
                return float(np.log(r) - np.log(lft))
    return None
