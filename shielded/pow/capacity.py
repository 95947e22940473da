"""Block capacity: which candidate transactions a block builder includes (design section 3).

A block holds at most `block_capacity` pool transactions. Each spam-proof tier owns a quota,
its capacity share of the block, and never gets more; inside a tier, proofs with more work
(more leading zero bits) come first and ties go to the earlier arrival. Fee-paying
transactions carry no proof; they are ordered by fee (ties by arrival) and fill the fee lane,
which is the block capacity the tiers' quotas leave plus whatever tier capacity went unused:
money can always buy the space work did not claim, work can never take more than its quota.
Candidates with an invalid proof, or repeating a transaction id seen earlier, are rejected
with the reason; valid candidates that did not fit are returned as deferred.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shielded.pow.errors import MalformedProof, ReplayedProof, SpamProofError
from shielded.pow.verify import SpamProofVerifier
from shielded.pow.work import HASH_BYTES, SpamProof, leading_zero_bits


@dataclass(frozen=True)
class Candidate:
    """A transaction offered for inclusion: its id and either a spam proof or a fee."""

    tx_id: bytes
    spam_proof: SpamProof | None = None
    fee: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.tx_id, bytes) and len(self.tx_id) == HASH_BYTES):
            raise MalformedProof(f"candidate tx_id {self.tx_id!r}: expected 32 bytes")
        if not (isinstance(self.fee, int) and self.fee >= 0):
            raise MalformedProof(f"candidate fee {self.fee!r}: expected a non-negative integer")


@dataclass(frozen=True)
class Rejection:
    """A candidate the builder refused, and why."""

    candidate: Candidate
    error: SpamProofError


@dataclass(frozen=True)
class BlockFill:
    """The builder's choice: included (tier lanes in tier order, then fee payers), the rest."""

    included: tuple[Candidate, ...]
    per_tier: tuple[int, ...]
    """Included transactions of tier 1, 2, ...; each at most that tier's quota."""
    fee_payers: int
    """Included fee-paying transactions."""
    deferred: tuple[Candidate, ...]
    """Valid candidates left out because their lane was full."""
    rejected: tuple[Rejection, ...]


def fill_block(candidates: Sequence[Candidate], verifier: SpamProofVerifier) -> BlockFill:
    """Choose a block's pool transactions from `candidates` (given in arrival order).

    Each tier's quota is filled in order of work (more leading zero bits first, ties by
    arrival), fee payers by fee (ties by arrival), never beyond a tier's quota or the block's
    capacity. Proofs are verified against the verifier's chain (window and used proofs)
    but not recorded: recording happens when the block is imported.
    """
    spec = verifier.spec
    tier_lanes: list[list[tuple[int, int, Candidate]]] = [[] for _ in spec.tiers]
    fee_lane: list[tuple[int, int, Candidate]] = []
    rejected: list[Rejection] = []
    seen: set[bytes] = set()
    for arrival, candidate in enumerate(candidates):
        if candidate.tx_id in seen:
            rejected.append(
                Rejection(
                    candidate,
                    ReplayedProof(f"transaction {candidate.tx_id.hex()} offered twice"),
                )
            )
            continue
        proof = candidate.spam_proof
        if proof is None:
            seen.add(candidate.tx_id)
            fee_lane.append((-candidate.fee, arrival, candidate))
            continue
        try:
            work = verifier.verify(proof, candidate.tx_id)
        except SpamProofError as error:
            rejected.append(Rejection(candidate, error))
            continue
        seen.add(candidate.tx_id)
        tier_lanes[proof.tier - 1].append((-leading_zero_bits(work), arrival, candidate))

    included: list[Candidate] = []
    deferred: list[tuple[int, Candidate]] = []
    per_tier: list[int] = []
    for number, lane in enumerate(tier_lanes, start=1):
        lane.sort(key=_priority)
        quota = spec.tier_quota(number)
        included.extend(candidate for _, _, candidate in lane[:quota])
        deferred.extend((arrival, candidate) for _, arrival, candidate in lane[quota:])
        per_tier.append(min(quota, len(lane)))
    fee_lane.sort(key=_priority)
    room = spec.block_capacity - len(included)
    included.extend(candidate for _, _, candidate in fee_lane[:room])
    deferred.extend((arrival, candidate) for _, arrival, candidate in fee_lane[room:])
    deferred.sort(key=lambda item: item[0])
    return BlockFill(
        included=tuple(included),
        per_tier=tuple(per_tier),
        fee_payers=min(room, len(fee_lane)),
        deferred=tuple(candidate for _, candidate in deferred),
        rejected=tuple(rejected),
    )


def _priority(entry: tuple[int, int, Candidate]) -> tuple[int, int]:
    return entry[0], entry[1]
