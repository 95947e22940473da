"""Low-difficulty pool specs and proof builders shared by the spam-proof tests."""

from __future__ import annotations

import hashlib

from shielded.pow import SpamProof, leading_zero_bits, work_hash
from shielded.spec import PoolSpec, SpamTier

EASY = PoolSpec(
    name="easy",
    recent_anchors=4,
    block_capacity=8,
    tiers=(
        SpamTier(name="tier-1", difficulty_bits=4, capacity_share_bps=2_500),
        SpamTier(name="tier-2", difficulty_bits=6, capacity_share_bps=5_000),
    ),
)
"""Quotas: tier 1 two transactions, tier 2 four, fee lane two (plus unused tier space)."""


def block_hash(height: int) -> bytes:
    """A deterministic stand-in for the hash of the block at `height`."""
    return hashlib.blake2b(b"block" + height.to_bytes(8, "little"), digest_size=32).digest()


def tx_id(label: int | str) -> bytes:
    """A deterministic 32-byte transaction id."""
    return hashlib.blake2b(f"tx-{label}".encode(), digest_size=32).digest()


def proof_with_bits(anchor: bytes, tx: bytes, tier: int, bits: int, start: int = 0) -> SpamProof:
    """The first proof from nonce `start` whose work has exactly `bits` leading zero bits."""
    nonce = start
    while leading_zero_bits(work_hash(anchor, tx, nonce)) != bits:
        nonce += 1
    return SpamProof(anchor=anchor, tx_id=tx, nonce=nonce, tier=tier)


def failing_proof(anchor: bytes, tx: bytes, tier: int, bits: int) -> SpamProof:
    """A proof whose work has fewer than `bits` leading zero bits."""
    nonce = 0
    while leading_zero_bits(work_hash(anchor, tx, nonce)) >= bits:
        nonce += 1
    return SpamProof(anchor=anchor, tx_id=tx, nonce=nonce, tier=tier)
