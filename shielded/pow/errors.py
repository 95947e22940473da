"""Why a spam proof was rejected: one exception family for `shielded.pow`.

Every rejection is a `SpamProofError`; the subclasses let the pool service, the block builder
and wallets tell the cases apart (a stale anchor means "solve again", insufficient work means a
bug or a cheat, a replay means the transaction was already included).
"""

from __future__ import annotations


class SpamProofError(ValueError):
    """A spam proof, or a request to check or solve one, that cannot be accepted."""


class MalformedProof(SpamProofError):
    """The proof's fields have the wrong types or sizes (anchor, tx id, nonce, tier)."""


class UnknownTier(SpamProofError):
    """The proof claims a tier the pool spec does not define."""


class AnchorNotRecent(SpamProofError):
    """The anchor is not one of the last K block hashes of the importing chain."""


class StaleAnchor(AnchorNotRecent):
    """The anchor was a recent block hash once but has left the window of the last K."""


class UnknownAnchor(AnchorNotRecent):
    """The anchor was never seen by this chain: a guessed, future or foreign-fork hash."""


class WrongTransaction(SpamProofError):
    """The proof was made for a different transaction id than the one carrying it."""


class InsufficientWork(SpamProofError):
    """The work hash has fewer leading zero bits than the claimed tier demands."""


class ReplayedProof(SpamProofError):
    """The transaction id already spent a spam proof on this chain (a second inclusion)."""


class SolveCancelled(SpamProofError):
    """The solver was cancelled before it found a proof."""
