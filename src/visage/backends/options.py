"""Numeric backend options, which arrive as numbers or as text (command line, config files, a page):
checked in one place, so every backend refuses a bad value with the same kind of message."""
from __future__ import annotations

from visage.errors import InputError


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # fails every check below, so the message shows the value given


def positive_seconds(owner: str, name: str, value) -> float:
    """A duration that must be above 0. `owner` names who has the option: "the openai brain"."""
    seconds = _number(value)
    if not seconds > 0:
        raise InputError(f"{owner}'s {name} must be a positive number of seconds, not {value!r}")
    return seconds


def at_least_zero(owner: str, name: str, value) -> float:
    """A scale or amount that may be 0 but not negative."""
    x = _number(value)
    if not x >= 0:
        raise InputError(f"{owner}'s {name} must be a number of at least 0, not {value!r}")
    return x
