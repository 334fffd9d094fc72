"""Helpers shared by the pruning rules: the direction check, the comparison, the number format."""

import math

from kt_toolkit.errors import invalid

DIRECTIONS = ("max", "min")


def check_direction(direction: str) -> None:
    """Raises a `ConfigError` unless `direction` is `"max"` or `"min"`."""
    if direction not in DIRECTIONS:
        raise invalid("direction", "'max' or 'min'", direction)


def is_better(a: float, b: float, direction: str) -> bool:
    """Whether `a` is strictly better than `b` for an objective to `direction`."""
    return a > b if direction == "max" else a < b


def judgeable(value: float | None) -> bool:
    """Whether `value` is a finite number a rule can judge (not `None`, NaN or inf)."""
    return value is not None and math.isfinite(value)


def fmt(value: float) -> str:
    """The number as the reasons print it: 4 significant digits (`0.425`, `2.3`)."""
    return f"{value:.4g}"
