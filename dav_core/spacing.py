"""Integer helpers shared by the pure planners (long-video schedule, decode chunks)."""

from __future__ import annotations


def check_int(name: str, value: int, low: int, high: int | None = None) -> None:
    """Raise ValueError unless ``value`` is an int in ``[low, high]`` (``high=None``: unbounded)."""
    upper = "inf" if high is None else str(high)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer in [{low}, {upper}], got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {upper}], got {value}")


def even_points(count: int, last: int) -> list[int]:
    """``count`` integers spread evenly over ``0..last`` (first 0, last ``last``); ``count >= 2``."""
    return [i * last // (count - 1) for i in range(count)]
