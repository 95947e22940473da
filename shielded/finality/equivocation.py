"""Equivocation evidence: one validator's two valid contributions for different headers
at the same slot of the same chain (design.md section 4).

Anyone holding the epoch's public shares can check it: both contributions carry the same
validator index and each passes g^s = u * y^c for its own payload. The verified offender
index (and its ed25519 key) goes on chain and into Safrole's offenders list.
The two votes are stored with the smaller header hash first, so evidence is canonical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jamcore.codec import Struct
from shielded.finality.contribution import VOTE_CODEC, Vote, verify_contribution
from shielded.finality.encoding import decode_strict, encode
from shielded.finality.errors import FinalityError, InvalidEvidence, UnknownIndex, ensure
from shielded.finality.keys import EpochKeys


@dataclass(frozen=True)
class EquivocationEvidence:
    """Two votes by one validator at one slot for different headers (first < second)."""

    first: Vote
    second: Vote

    @classmethod
    def of(cls, a: Vote, b: Vote) -> EquivocationEvidence:
        """The canonical evidence from two votes in either order."""
        if a.payload.header_hash <= b.payload.header_hash:
            return cls(a, b)
        return cls(b, a)

    def encode(self) -> bytes:
        return encode(EVIDENCE_CODEC, self, "equivocation evidence")

    @classmethod
    def decode(cls, data: bytes) -> EquivocationEvidence:
        return decode_strict(EVIDENCE_CODEC, data, "equivocation evidence")


EVIDENCE_CODEC = Struct(EquivocationEvidence, {"first": VOTE_CODEC, "second": VOTE_CODEC})


def verify_equivocation(evidence: EquivocationEvidence, keys: EpochKeys) -> int:
    """The offending validator index, if `evidence` proves an equivocation; else
    InvalidEvidence (UnknownIndex for an index outside the epoch's set)."""
    first, second = evidence.first, evidence.second
    index = first.contribution.index
    ensure(
        second.contribution.index == index,
        InvalidEvidence,
        f"votes are by validators {index} and {second.contribution.index}, not one",
    )
    ensure(
        first.payload.chain_id == second.payload.chain_id,
        InvalidEvidence,
        "votes are for different chains",
    )
    ensure(
        first.payload.slot == second.payload.slot,
        InvalidEvidence,
        f"votes are for slots {first.payload.slot} and {second.payload.slot}, not one",
    )
    ensure(
        first.payload.header_hash < second.payload.header_hash,
        InvalidEvidence,
        "votes must be for different headers, the smaller header hash first",
    )
    public_share = keys.public_share(index)
    for vote in (first, second):
        try:
            verify_contribution(vote.contribution, vote.payload, public_share)
        except UnknownIndex:
            raise
        except FinalityError as error:
            message = f"vote for header 0x{vote.payload.header_hash.hex()} is invalid: {error}"
            raise InvalidEvidence(message) from None
    return index


def offender_key(
    evidence: EquivocationEvidence, keys: EpochKeys, ed25519_keys: Sequence[bytes]
) -> bytes:
    """The offender's ed25519 key (for Safrole's offenders, graypaper section 10) after
    verifying the evidence; `ed25519_keys` is the epoch's validator key list."""
    index = verify_equivocation(evidence, keys)
    ensure(
        len(ed25519_keys) == keys.validator_count,
        InvalidEvidence,
        f"{len(ed25519_keys)} ed25519 keys for {keys.validator_count} validators",
    )
    return ed25519_keys[index]
