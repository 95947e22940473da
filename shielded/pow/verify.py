"""Verification of spam proofs against a chain: tier, binding, anchor window, work, replay.

This is the check the pool service runs for every transaction that carries a spam proof
(design section 3): refine runs `verify` (stateless apart from the recent-hash window it is
given), accumulate runs `accept`, which also consults and updates the used-proof registry.
Verification is one blake3 call plus dictionary lookups; the checks are ordered cheapest
first and the hot path creates no objects besides the hash preimage and digest.

`SpamWorkVerifier` (and `verify_work`) is the part that needs no chain at all: the tier,
the transaction binding and the work. A refine that sees no pool state (the native JAM
service, `shielded.native_pool`) runs it; the anchor's recency and the replay check are
left to accumulate, where `accept` runs the full check.
"""

from __future__ import annotations

from blake3 import blake3

from shielded.pow.anchors import RecentAnchors
from shielded.pow.errors import InsufficientWork, UnknownTier, WrongTransaction
from shielded.pow.registry import UsedProofs
from shielded.pow.work import DOMAIN, SpamProof, leading_zero_bits, target_for
from shielded.spec import PoolSpec


class SpamWorkVerifier:
    """The stateless checks of a spam proof for one pool spec: tier, binding and work."""

    __slots__ = ("_spec", "_targets", "_bits")

    def __init__(self, spec: PoolSpec) -> None:
        self._spec = spec
        # Index 0 is unused so that tier numbers (from 1) index directly.
        self._bits = (0,) + tuple(tier.difficulty_bits for tier in spec.tiers)
        self._targets = (b"",) + tuple(target_for(bits) for bits in self._bits[1:])

    @property
    def spec(self) -> PoolSpec:
        """The pool spec whose tiers this verifier enforces."""
        return self._spec

    def _check_claim(self, proof: SpamProof, tx_id: bytes) -> None:
        """Verify the claimed tier exists and the proof was made for `tx_id`."""
        tier = proof.tier
        if tier >= len(self._targets):
            raise UnknownTier(
                f"spam proof claims tier {tier}: the pool defines tiers 1..{len(self._bits) - 1}"
            )
        if proof.tx_id != tx_id:
            raise WrongTransaction(
                f"spam proof was made for tx {proof.tx_id.hex()}, carried by tx {tx_id.hex()}"
            )

    def _check_work(self, proof: SpamProof, tx_id: bytes) -> bytes:
        """Verify the work meets the claimed tier's difficulty; returns the work hash."""
        tier = proof.tier
        # work_hash(anchor, tx_id, nonce), inlined: a function call is ~10% of the budget.
        work = blake3(DOMAIN + proof.anchor + tx_id + proof.nonce.to_bytes(8, "big")).digest()
        if work >= self._targets[tier]:
            raise InsufficientWork(
                f"spam proof for tx {tx_id.hex()} has {leading_zero_bits(work)} leading zero "
                f"bits: tier {tier} needs {self._bits[tier]}"
            )
        return work

    def verify_work(self, proof: SpamProof, tx_id: bytes) -> bytes:
        """Check `proof`'s tier, binding to `tx_id` and work, but not its anchor's recency
        nor replay (those need the chain); returns the work hash.

        Raises UnknownTier, WrongTransaction or InsufficientWork; never changes any state.
        """
        self._check_claim(proof, tx_id)
        return self._check_work(proof, tx_id)


def verify_work(spec: PoolSpec, proof: SpamProof, tx_id: bytes) -> bytes:
    """`SpamWorkVerifier(spec).verify_work(proof, tx_id)`: the stateless checks."""
    return SpamWorkVerifier(spec).verify_work(proof, tx_id)


class SpamProofVerifier(SpamWorkVerifier):
    """Checks spam proofs for one chain: its pool spec, anchor window and used-proof registry."""

    __slots__ = ("_anchors", "_used", "_recent", "_spent")

    def __init__(
        self, spec: PoolSpec, anchors: RecentAnchors, used: UsedProofs | None = None
    ) -> None:
        super().__init__(spec)
        self._anchors = anchors
        self._used = UsedProofs() if used is None else used
        # Live read-only views: the hot path tests membership without a Python-level call.
        self._recent = anchors.live_positions()
        self._spent = self._used.live_view()

    def verify(self, proof: SpamProof, tx_id: bytes) -> bytes:
        """Check `proof` for the transaction `tx_id`; returns the work hash (design §3).

        Raises UnknownTier, WrongTransaction, StaleAnchor/UnknownAnchor, ReplayedProof or
        InsufficientWork; never changes any state.
        """
        self._check_claim(proof, tx_id)
        anchor = proof.anchor
        if anchor not in self._recent:
            self._anchors.position(anchor)  # raises StaleAnchor or UnknownAnchor
        if tx_id in self._spent:
            self._used.ensure_unused(tx_id)  # raises ReplayedProof
        return self._check_work(proof, tx_id)

    @property
    def anchors(self) -> RecentAnchors:
        """The chain's window of recent block hashes."""
        return self._anchors

    @property
    def used(self) -> UsedProofs:
        """The chain's used-proof registry."""
        return self._used

    def accept(self, proof: SpamProof, tx_id: bytes) -> bytes:
        """Verify `proof` and record it as spent so a second inclusion is a ReplayedProof."""
        work = self.verify(proof, tx_id)
        self._used.record(tx_id, self._anchors.position(proof.anchor))
        return work

    def import_block(self, block_hash: bytes) -> None:
        """Advance the window to a newly imported block and prune proofs whose anchor left it."""
        self._anchors.push(block_hash)
        self._used.prune(self._anchors.oldest_position)
