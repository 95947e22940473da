"""The simulator's one exception type: a parameter outside its allowed range."""

from __future__ import annotations


class SimulationError(ValueError):
    """A simulation parameter that is out of range or inconsistent; the message names it."""


def ensure(condition: bool, message: str) -> None:
    """Raise SimulationError(message) unless `condition` holds."""
    if not condition:
        raise SimulationError(message)
