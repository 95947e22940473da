"""Verification of spam proofs against a chain: tier, binding, anchor window, work, replay.

This is the check the pool service runs for every transaction that carries a spam proof
(design section 3): refine runs `verify` (stateless apart from the recent-hash window it is
given), accumulate runs `accept`, which also consults and updates the used-proof registry.
Verification is one blake3 call plus dictionary lookups; the checks are ordered cheapest
first and the hot path creates no objects besides the hash preimage and digest.
"""

from __future__ import annotations

from blake3 import blake3

from shielded.pow.anchors import RecentAnchors
from shielded.pow.errors import InsufficientWork, UnknownTier, WrongTransaction
from shielded.pow.registry import UsedProofs
from shielded.pow.work import DOMAIN, SpamProof, leading_zero_bits, target_for
from shielded.spec import PoolSpec


class SpamProofVerifier:
    """Checks spam proofs for one chain: its pool spec, anchor window and used-proof registry."""

    __slots__ = ("spec", "anchors", "used", "_targets", "_bits")

    def __init__(
        self, spec: PoolSpec, anchors: RecentAnchors, used: UsedProofs | None = None
    ) -> None:
        self.spec = spec
        self.anchors = anchors
        self.used = UsedProofs() if used is None else used
        # Index 0 is unused so that tier numbers (from 1) index directly.
        self._bits = (0,) + tuple(tier.difficulty_bits for tier in spec.tiers)
        self._targets = (b"",) + tuple(target_for(bits) for bits in self._bits[1:])

    def verify(self, proof: SpamProof, tx_id: bytes) -> bytes:
        """Check `proof` for the transaction `tx_id`; returns the work hash (design §3).

        Raises UnknownTier, WrongTransaction, StaleAnchor/UnknownAnchor, ReplayedProof or
        InsufficientWork; never changes any state.
        """
        tier = proof.tier
        if tier >= len(self._targets):
            raise UnknownTier(
                f"spam proof claims tier {tier}: the pool defines tiers 1..{len(self._bits) - 1}"
            )
        if proof.tx_id != tx_id:
            raise WrongTransaction(
                f"spam proof was made for tx {proof.tx_id.hex()}, carried by tx {tx_id.hex()}"
            )
        anchor = proof.anchor
        if anchor not in self.anchors:
            self.anchors.position(anchor)  # raises StaleAnchor or UnknownAnchor
        self.used.ensure_unused(tx_id)
        work = blake3(DOMAIN + anchor + tx_id + proof.nonce.to_bytes(8, "big")).digest()
        if work >= self._targets[tier]:
            raise InsufficientWork(
                f"spam proof for tx {tx_id.hex()} has {leading_zero_bits(work)} leading zero "
                f"bits: tier {tier} needs {self._bits[tier]}"
            )
        return work

    def accept(self, proof: SpamProof, tx_id: bytes) -> bytes:
        """Verify `proof` and record it as spent so a second inclusion is a ReplayedProof."""
        work = self.verify(proof, tx_id)
        self.used.record(tx_id, self.anchors.position(proof.anchor))
        return work

    def import_block(self, block_hash: bytes) -> None:
        """Advance the window to a newly imported block and prune proofs whose anchor left it."""
        self.anchors.push(block_hash)
        self.used.prune(self.anchors.oldest_position)
