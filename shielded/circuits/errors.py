"""The one exception type of `shielded.circuits`."""

from __future__ import annotations


class CircuitError(ValueError):
    """A malformed statement, witness, proof or setup artifact; the message names it."""


def ensure(condition: bool, message: str) -> None:
    """Raise `CircuitError(message)` unless `condition` holds."""
    if not condition:
        raise CircuitError(message)
