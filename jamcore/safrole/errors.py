"""Safrole's typed errors: one exception type, one subclass per way a block can be wrong.

The `code` of each subclass is the error name used by the w3f `stf/safrole` vectors (the
graypaper does not number errors); errors the vectors do not cover have codes of our own.
A transition that raises leaves the state it was given untouched (states are immutable).
"""

from __future__ import annotations

from jamcore.errors import JamError, ensure

__all__ = [
    "BadAuthorIndex",
    "BadSeal",
    "BadSlot",
    "BadTicketAttempt",
    "BadTicketOrder",
    "BadTicketProof",
    "BadVrfEntropy",
    "DuplicateTicket",
    "MalformedKey",
    "NotSlotAuthor",
    "SafroleError",
    "UnexpectedTicket",
    "UselessTicket",
    "ensure",
]


class SafroleError(JamError, ValueError):
    """A block, ticket, seal or key rejected by Safrole (graypaper section 6)."""

    code = "safrole_error"


class BadSlot(SafroleError):
    """The block's slot does not come strictly after the prior slot (eq. 6.1, 5.7)."""

    code = "bad_slot"


class UnexpectedTicket(SafroleError):
    """Tickets submitted after the contest closed, or more than K in a block (eq. 6.30)."""

    code = "unexpected_ticket"


class BadTicketOrder(SafroleError):
    """Tickets not in strictly ascending order of their identifiers (eq. 6.32)."""

    code = "bad_ticket_order"


class BadTicketProof(SafroleError):
    """A ticket's ring VRF proof does not verify against the epoch root (eq. 6.29)."""

    code = "bad_ticket_proof"


class BadTicketAttempt(SafroleError):
    """A ticket's attempt index is not below N, the tickets per validator (eq. 6.29)."""

    code = "bad_ticket_attempt"


class DuplicateTicket(SafroleError):
    """A ticket already in the accumulator was submitted again (eq. 6.33)."""

    code = "duplicate_ticket"


class UselessTicket(SafroleError):
    """A submitted ticket would not survive in the posterior accumulator (eq. 6.35)."""

    code = "useless_ticket"


class BadSeal(SafroleError):
    """A header's seal H_s is not the slot sealer's VRF signature on the slot's seal input
    over E_U(H), or (ticket mode) its output is not the slot's ticket id (eq. 6.15-6.16)."""

    code = "bad_seal"


class BadAuthorIndex(BadSeal):
    """H_i names no validator of kappa' with a usable Bandersnatch key, or (fallback mode)
    not the one whose key gamma'_s assigns the slot (eq. 5.9, 6.16)."""

    code = "bad_author_index"


class BadVrfEntropy(BadSeal):
    """H_v is not the author's VRF signature on X_E ++ Y(H_s) with no message (eq. 6.17)."""

    code = "bad_vrf_entropy"


class MalformedKey(SafroleError):
    """A key, secret or state field has the wrong size or is not a valid curve point."""

    code = "malformed_key"


class NotSlotAuthor(SafroleError):
    """A validator tried to author a slot it holds neither the ticket nor fallback key of."""

    code = "not_slot_author"
