"""The one exception type of `shielded.notes`: bad keys, addresses, notes, ciphertexts, trees."""

from __future__ import annotations


class NotesError(ValueError):
    """Input to the notes package that is malformed or inconsistent; the message names it."""


def ensure(condition: bool, message: str) -> None:
    """Raise `NotesError(message)` unless `condition` holds."""
    if not condition:
        raise NotesError(message)
