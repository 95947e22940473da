"""The one exception type of `shielded.nullifiers`."""

from __future__ import annotations


class NullifierError(ValueError):
    """A nullifier that is malformed, already revealed, or revealed twice in one batch."""
