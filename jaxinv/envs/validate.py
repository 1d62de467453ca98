"""Checks for environment configs, run in plain Python before anything is traced.

Every failure raises ``ValueError`` naming the environment, the config key, the value given and
what is allowed, so a bad sweep dies at ``make()`` rather than as a NaN inside ``jit``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


class ConfigError(ValueError):
    """A config value outside what an environment allows."""


def fail(env_id: str, key: str, value: Any, allowed: str) -> ConfigError:
    """The error for ``key=value`` in ``env_id``'s config."""
    return ConfigError(f"{env_id}: config {key!r}={value!r} is not allowed; {allowed}")


def reject_unknown(env_id: str, config: dict[str, Any], known: Iterable[str]) -> None:
    """Raise on the first key of ``config`` not in ``known``, suggesting close names."""
    known = sorted(known)
    for key in config:
        if key not in known:
            raise ConfigError(
                f"{env_id}: unknown config key {key!r}{suggest(key, known)} "
                f"Known keys: {', '.join(known)}"
            )


def as_vector(env_id: str, key: str, value: Any) -> np.ndarray:
    """A scalar or a sequence as a 1-D float64 array (OR-Gym accepts a scalar for one stage)."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(env_id, key, value, "expected a number or a list of numbers") from None
    if array.ndim == 0:
        array = array[None]
    if array.ndim != 1 or array.size == 0:
        raise fail(env_id, key, value, "expected a number or a non-empty flat list of numbers")
    if not np.all(np.isfinite(array)):
        raise fail(env_id, key, value, "every entry must be finite")
    return array


def check_length(env_id: str, key: str, array: np.ndarray, length: int, why: str) -> None:
    """Raise unless ``array`` has ``length`` entries."""
    if array.size != length:
        raise fail(env_id, key, array.tolist(), f"expected {length} entries ({why})")


def check_range(
    env_id: str,
    key: str,
    array: np.ndarray | float,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise unless every entry lies in the interval (and is whole, if ``integer``)."""
    values = np.atleast_1d(np.asarray(array, dtype=np.float64))
    shown = values.tolist() if np.ndim(array) else float(values[0])
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    left = "(" if low_open or low is None else "["
    right = ")" if high_open or high is None else "]"
    interval = f"{left}{lo}, {hi}{right}"
    what = "whole numbers" if integer else "numbers"
    allowed = f"allowed: {what} in {interval}"
    if not np.all(np.isfinite(values)):
        raise fail(env_id, key, shown, allowed)
    if low is not None and np.any(values <= low if low_open else values < low):
        raise fail(env_id, key, shown, allowed)
    if high is not None and np.any(values >= high if high_open else values > high):
        raise fail(env_id, key, shown, allowed)
    if integer and np.any(values != np.round(values)):
        raise fail(env_id, key, shown, allowed)


def as_scalar(env_id: str, key: str, value: Any) -> float:
    """A single finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        if not (isinstance(value, np.ndarray) and value.ndim == 0):
            raise fail(env_id, key, value, "expected a single number")
    number = float(value)
    if not math.isfinite(number):
        raise fail(env_id, key, value, "expected a finite number")
    return number


def as_int(env_id: str, key: str, value: Any, *, low: int, high: int | None = None) -> int:
    """A whole number in ``[low, high]``."""
    number = as_scalar(env_id, key, value)
    check_range(env_id, key, number, low=low, high=high, integer=True)
    return int(number)


def suggest(name: str, choices: Sequence[str]) -> str:
    """'. Did you mean X?' for the closest of ``choices``, or '.' (ends a sentence)."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    return f". Did you mean {', '.join(repr(c) for c in close)}?" if close else "."
