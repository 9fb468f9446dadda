"""The shared argument checks: what each accepts, what it returns, and its exact messages."""

from __future__ import annotations

import math
import re
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pytest
from neurodeck.common.checks import (
    check_bool,
    check_dropout,
    check_fraction,
    check_int,
    check_int_tuple,
    check_number,
    check_positive,
    check_str,
    check_str_tuple,
)
from neurodeck.common.types import ConfigError


def _refused(message: str) -> AbstractContextManager[Any]:
    """``pytest.raises`` matching the whole ConfigError message literally."""
    return pytest.raises(ConfigError, match=f"^{re.escape(message)}$")


# check_int


@pytest.mark.parametrize(
    ("value", "minimum", "maximum"),
    [(1, 1, None), (0, 0, None), (7, 2, 7), (-3, -5, None), (np.int64(4), 1, None)],
)
def test_check_int_accepts_integers_in_bounds(value: object, minimum: int, maximum: int | None):
    out = check_int("n", value, minimum, maximum)
    assert out == value
    assert type(out) is int


def test_check_int_default_minimum_is_one() -> None:
    assert check_int("n", 1) == 1
    with _refused("'n' must be an integer >= 1; got 0."):
        check_int("n", 0)


@pytest.mark.parametrize("value", [True, False, 2.0, "2", None, np.float64(2.0), np.bool_(True)])
def test_check_int_refuses_non_integers_and_bools(value: object) -> None:
    with _refused(f"'depth' must be an integer >= 1; got {value!r}."):
        check_int("depth", value)


def test_check_int_names_the_bounds() -> None:
    with _refused("'n_classes' must be an integer >= 2; got 1."):
        check_int("n_classes", 1, 2)
    with _refused("'order' must be an integer >= 1 and <= 12; got 13."):
        check_int("order", 13, 1, 12)
    with _refused("'order' must be an integer >= 1 and <= 12; got 0."):
        check_int("order", 0, 1, 12)


# check_int_tuple


@pytest.mark.parametrize("values", [(3,), [65, 33, 17], (np.int32(2), 5)])
def test_check_int_tuple_returns_a_tuple_of_ints(values: object) -> None:
    out = check_int_tuple("sizes", values)
    assert out == tuple(int(v) for v in values)
    assert type(out) is tuple
    assert all(type(v) is int for v in out)


@pytest.mark.parametrize("values", [(), [], "12", b"12", 3, None, {1, 2}])
def test_check_int_tuple_refuses_anything_but_a_non_empty_sequence(values: object) -> None:
    with _refused(f"'sizes' must be a non-empty sequence of integers; got {values!r}."):
        check_int_tuple("sizes", values)


def test_check_int_tuple_names_the_bad_item() -> None:
    with _refused("'sizes[1]' must be an integer >= 1; got 0."):
        check_int_tuple("sizes", (4, 0, 2))
    with _refused("'sizes[0]' must be an integer >= 1; got True."):
        check_int_tuple("sizes", [True])
    with _refused("'sizes[2]' must be an integer >= 0; got -1."):
        check_int_tuple("sizes", [0, 1, -1], minimum=0)


# check_fraction and check_dropout


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 0.999, np.float64(0.25)])
def test_check_fraction_accepts_zero_to_one_exclusive(value: object) -> None:
    out = check_fraction("decay", value)
    assert out == value
    assert type(out) is float


@pytest.mark.parametrize("value", [1, 1.0, -0.1, math.nan, math.inf, True, False, "0.5", None])
def test_check_fraction_refuses_outside_the_interval_and_bools(value: object) -> None:
    with _refused(f"'decay' must be a number in [0, 1); got {value!r}."):
        check_fraction("decay", value)


def test_check_dropout_is_check_fraction_named_dropout() -> None:
    assert check_dropout(0.25) == 0.25
    assert type(check_dropout(0)) is float
    for value in (1.0, -0.5, True, "0.1"):
        with _refused(f"'dropout' must be a number in [0, 1); got {value!r}."):
            check_dropout(value)


# check_positive


@pytest.mark.parametrize("value", [1, 0.5, 1e-9, 250.0, np.float64(3.0)])
def test_check_positive_accepts_finite_positive_numbers(value: object) -> None:
    out = check_positive("sfreq", value)
    assert out == value
    assert type(out) is float


@pytest.mark.parametrize("value", [0, 0.0, -1.0, math.nan, math.inf, -math.inf, "1", None])
def test_check_positive_refuses_with_the_rule(value: object) -> None:
    with _refused(f"'sfreq' must be a finite number > 0; got {value!r}."):
        check_positive("sfreq", value)


def test_check_positive_names_the_unit() -> None:
    with _refused("'sfreq' must be a finite number > 0 Hz; got -2."):
        check_positive("sfreq", -2, unit="Hz")


def test_check_positive_upper_bound() -> None:
    assert check_positive("window_s", 4.0, upper=4.0) == 4.0
    with _refused("'window_s' must be <= 4.0; got 4.5."):
        check_positive("window_s", 4.5, upper=4.0)
    with _refused("'window_s' must be <= 4.0 s; got 5."):
        check_positive("window_s", 5, upper=4.0, unit="s")


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_check_positive_refuses_booleans(value: object) -> None:
    """``True`` is not one second: a boolean where seconds are expected is a mistake."""
    with _refused(f"'hop_s' must be a finite number > 0 s; got {value!r}."):
        check_positive("hop_s", value, unit="s")


# check_number, check_bool, check_str, check_str_tuple


def test_check_number_bounds_and_types() -> None:
    assert check_number("settle_s", 0) == 0.0 and type(check_number("settle_s", 0)) is float
    assert check_number("wait_s", 0.5, 0.0, 0.5, unit="s") == 0.5
    with _refused("'wait_s' must be a finite number from 0 to 0.5 s; got 0.6."):
        check_number("wait_s", 0.6, 0.0, 0.5, unit="s")
    with _refused("'settle_s' must be a finite number >= 0; got -1."):
        check_number("settle_s", -1, 0.0)
    with _refused("'gain' must be a finite number <= 2; got 3."):
        check_number("gain", 3, maximum=2)
    for value in (True, math.nan, math.inf, "1", None, [1.0]):
        with _refused(f"'x' must be a finite number; got {value!r}."):
            check_number("x", value)


def test_check_bool_str_and_str_tuple() -> None:
    assert check_bool("filter", np.bool_(False)) is False
    for value in (1, 0, "true", None):
        with _refused(f"'filter' must be true or false; got {value!r}."):
            check_bool("filter", value)
    assert check_str("paradigm", "mi-lr") == "mi-lr"
    with _refused("'paradigm' must be a string; got 4."):
        check_str("paradigm", 4)
    assert check_str_tuple("hidden", ["EOG", "A1"]) == ("EOG", "A1")
    assert check_str_tuple("hidden", ()) == ()
    with _refused("'hidden' must be a list of strings; got 'EOG'."):
        check_str_tuple("hidden", "EOG")
    with _refused("'hidden[1]' must be a string; got 2."):
        check_str_tuple("hidden", ["EOG", 2])
