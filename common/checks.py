"""Small argument validators shared by every neurodeck package (a leaf: imports numpy only).

Each check returns the value in a normal form (a Python ``int``, ``float`` or ``tuple``) and
raises :class:`~neurodeck.common.types.ConfigError` naming the argument, the rule and the value, so
a constructor can validate and store in one line: ``self.depth = check_int("depth", depth)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from neurodeck.common.types import ConfigError


def check_int(name: str, value: object, minimum: int = 1, maximum: int | None = None) -> int:
    """Validate an integer argument in ``[minimum, maximum]`` and return it as ``int``.

    Parameters
    ----------
    name : str
        Argument name, quoted in the error message.
    value : object
        The value to check: a Python or NumPy integer (``bool`` is refused).
    minimum : int
        Smallest allowed value.
    maximum : int or None
        Largest allowed value; None means no upper bound.

    Returns
    -------
    int
        ``value`` as a Python ``int``.

    Raises
    ------
    ConfigError
        If ``value`` is not an integer or lies outside the bounds.
    """
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < minimum or (maximum is not None and value > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise ConfigError(f"'{name}' must be an integer >= {minimum}{upper}; got {value!r}.")
    return int(value)


def check_int_tuple(name: str, values: object, minimum: int = 1) -> tuple[int, ...]:
    """Validate a non-empty sequence of integers ``>= minimum`` and return it as a tuple.

    Parameters
    ----------
    name : str
        Argument name; item ``i`` is reported as ``name[i]``.
    values : object
        The value to check: a non-empty sequence (not a string) of integers.
    minimum : int
        Smallest allowed item.

    Returns
    -------
    tuple of int
        The items as Python ``int``.

    Raises
    ------
    ConfigError
        If ``values`` is not a non-empty sequence, or an item fails :func:`check_int`.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise ConfigError(f"'{name}' must be a non-empty sequence of integers; got {values!r}.")
    return tuple(check_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(values))


def check_fraction(name: str, value: object) -> float:
    """Validate a number in ``[0, 1)`` and return it as ``float``.

    Parameters
    ----------
    name : str
        Argument name, quoted in the error message.
    value : object
        The value to check: an ``int`` or ``float`` (``bool`` is refused).

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ConfigError
        If ``value`` is not a number or lies outside ``[0, 1)`` (NaN included).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"'{name}' must be a number in [0, 1); got {value!r}.")
    return float(value)


def check_dropout(value: object) -> float:
    """Validate a dropout probability in ``[0, 1)`` and return it as ``float``.

    :func:`check_fraction` for the argument named ``dropout``.

    Parameters
    ----------
    value : object
        The value to check: an ``int`` or ``float`` (``bool`` is refused).

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ConfigError
        If ``value`` is not a number in ``[0, 1)``; the message names ``'dropout'``.
    """
    return check_fraction("dropout", value)


def check_positive(name: str, value: float, upper: float | None = None, unit: str = "") -> float:
    """Validate a finite number ``0 < value (<= upper)`` and return it as ``float``.

    Parameters
    ----------
    name : str
        Argument name, quoted in the error message.
    value : float
        The value to check: an ``int`` or ``float`` (``bool`` is refused: ``True`` is not a
        number of seconds or hertz).
    upper : float or None
        Largest allowed value; None means no upper bound.
    unit : str
        Unit named in the error message after the rule (``"Hz"``, ``"s"``); empty for none.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ConfigError
        If ``value`` is not a finite number, is not positive, or exceeds ``upper``.
    """
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(
            f"'{name}' must be a finite number > 0{unit and ' ' + unit}; got {value!r}."
        )
    if upper is not None and value > upper:
        raise ConfigError(f"'{name}' must be <= {upper}{unit and ' ' + unit}; got {value!r}.")
    return float(value)


def check_number(
    name: str,
    value: object,
    minimum: float | None = None,
    maximum: float | None = None,
    unit: str = "",
) -> float:
    """Validate a finite number in ``[minimum, maximum]`` and return it as ``float``.

    Parameters
    ----------
    name : str
        Argument name, quoted in the error message.
    value : object
        The value to check: an ``int`` or ``float`` (``bool`` is refused).
    minimum, maximum : float or None
        Bounds, both included; None means no bound on that side.
    unit : str
        Unit named in the error message after the bounds (``"s"``, ``"Hz"``); empty for none.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    ConfigError
        If ``value`` is not a finite number (a bool, a string, NaN, inf ...) or lies outside
        the bounds.
    """
    rule = "a finite number"
    if minimum is not None and maximum is not None:
        rule += f" from {minimum:g} to {maximum:g}"
    elif minimum is not None:
        rule += f" >= {minimum:g}"
    elif maximum is not None:
        rule += f" <= {maximum:g}"
    number = float(value) if _is_number(value) else math.nan  # type: ignore[arg-type]
    too_low = minimum is not None and number < minimum
    too_high = maximum is not None and number > maximum
    if not math.isfinite(number) or too_low or too_high:
        raise ConfigError(f"'{name}' must be {rule}{unit and ' ' + unit}; got {value!r}.")
    return number


def check_bool(name: str, value: object) -> bool:
    """Validate a boolean (``True`` or ``False``, nothing that merely converts to one).

    Parameters
    ----------
    name : str
        Argument name, quoted in the error message.
    value : object
        The value to check: a Python or NumPy ``bool``.

    Returns
    -------
    bool
        ``value`` as a Python ``bool``.

    Raises
    ------
    ConfigError
        If ``value`` is anything else (``1``, ``"yes"``, ``None`` ...).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"'{name}' must be true or false; got {value!r}.")
    return bool(value)


def check_str(name: str, value: object) -> str:
    """Validate a string and return it.

    Parameters
    ----------
    name : str
        Argument name, quoted in the error message.
    value : object
        The value to check.

    Returns
    -------
    str
        ``value`` unchanged.

    Raises
    ------
    ConfigError
        If ``value`` is not a ``str`` (a number, a list, None ...).
    """
    if not isinstance(value, str):
        raise ConfigError(f"'{name}' must be a string; got {value!r}.")
    return value


def check_user_path(name: str, value: str | os.PathLike) -> Path:
    """``value`` as a path with ``~`` and ``~user`` expanded.

    Raises
    ------
    ConfigError
        If it starts with ``~user`` for a user this machine does not know (``Path.expanduser``
        would raise RuntimeError).
    """
    try:
        return Path(value).expanduser()
    except RuntimeError:
        raise ConfigError(
            f"'{name}' starts with an unknown user's home folder: {str(value)!r}.",
            "Write the folder out in full, or use ~ alone for your own home folder.",
        ) from None


def check_str_tuple(name: str, values: object) -> tuple[str, ...]:
    """Validate a sequence of strings (possibly empty) and return it as a tuple.

    Parameters
    ----------
    name : str
        Argument name; item ``i`` is reported as ``name[i]``.
    values : object
        The value to check: a list or tuple of ``str`` (a bare string is refused, so that
        ``"EOG"`` is not read as ``("E", "O", "G")``).

    Returns
    -------
    tuple of str
        The items, in order.

    Raises
    ------
    ConfigError
        If ``values`` is not a list or tuple, or an item is not a string.
    """
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"'{name}' must be a list of strings; got {values!r}.")
    return tuple(check_str(f"{name}[{i}]", v) for i, v in enumerate(values))


def _is_number(value: object) -> bool:
    """True for a Python or NumPy real number that is not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
