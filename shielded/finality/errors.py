"""Typed errors of the finality layer: every rejected input raises a `FinalityError`.

One base class for the package (callers catch `FinalityError`); the subclasses name the
kind of bad input so tests and the node can tell a forged certificate from a short one.
"""

from __future__ import annotations


class FinalityError(Exception):
    """Base class: an input to the finality layer was rejected."""


class MalformedPoint(FinalityError):
    """Bytes that are not the canonical encoding of a prime-order-subgroup point."""


class MalformedScalar(FinalityError):
    """Bytes that are not the canonical encoding of a scalar below the group order l."""


class MalformedMessage(FinalityError):
    """A contribution, certificate, dealing or evidence whose encoding does not decode."""


class DuplicateIndex(FinalityError):
    """Two contributions (or dealings) carry the same validator index."""


class UnknownIndex(FinalityError):
    """A validator index outside the validator set of the epoch."""


class InsufficientContributions(FinalityError):
    """Fewer than the threshold t = floor(2V/3) + 1 contributions."""


class WrongPayload(FinalityError):
    """A contribution made for another (chain id, slot, header hash)."""


class InvalidContribution(FinalityError):
    """A contribution that fails its Schnorr check against the validator's public share."""


class InvalidCertificate(FinalityError):
    """A certificate whose OSST check (eq. 3.3) fails; `bad_indices` names the culprits."""

    def __init__(self, message: str, bad_indices: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.bad_indices = bad_indices


class InvalidEvidence(FinalityError):
    """Equivocation evidence that does not prove an equivocation."""


class SharingError(FinalityError):
    """A DKG or resharing round that cannot complete (too few qualified dealers, bad shape)."""


def ensure(condition: bool, error: type[FinalityError], message: str) -> None:
    """Raise `error(message)` unless `condition` holds."""
    if not condition:
        raise error(message)
