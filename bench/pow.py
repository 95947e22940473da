"""Spam-proof benchmarks: verification throughput, raw hash rate and tier solve times.

Verification is timed on valid proofs of a low-difficulty copy of the devnet spec (its cost is
one hash and a few lookups whatever the difficulty); solve times use the real devnet tiers and
average a bounded number of solves, because a single solve time is geometrically distributed.
The `expected_*` figures divide 2^bits by the measured hash rate: the low-variance estimate.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import replace

from bench import Figure
from shielded.pow import (
    RecentAnchors,
    SpamProof,
    SpamProofError,
    SpamProofVerifier,
    solve,
    solve_parallel,
)
from shielded.pow.solver import CHUNK_NONCES, _checked_inputs, _search_chunk
from shielded.spec import DEVNET, SpamTier

VERIFY_PROOFS = 2_000
TIER1_SOLVES = 5
TIER2_SOLVES = 3


def _hash(label: str) -> bytes:
    return hashlib.blake2b(label.encode(), digest_size=32).digest()


def _verify_per_s() -> float:
    spec = replace(DEVNET, tiers=(SpamTier("bench", difficulty_bits=8, capacity_share_bps=5_000),))
    anchors = RecentAnchors(spec.recent_anchors, (_hash(f"block-{h}") for h in range(64)))
    verifier = SpamProofVerifier(spec, anchors)
    head = anchors.newest
    proofs = [solve(head, _hash(f"tx-{i}"), 8) for i in range(VERIFY_PROOFS)]
    pairs = [(proof, proof.tx_id) for proof in proofs]
    verify = verifier.verify
    best = 0.0
    for _ in range(5):
        started = time.perf_counter()
        for proof, tx_id in pairs:
            verify(proof, tx_id)
        best = max(best, len(pairs) / (time.perf_counter() - started))
    return best


def _reject_per_s() -> float:
    """Rejections per second of proofs with too little work (what a spammer sends)."""
    anchors = RecentAnchors(DEVNET.recent_anchors, (_hash(f"block-{h}") for h in range(64)))
    verifier = SpamProofVerifier(DEVNET, anchors)
    proofs = [SpamProof(anchors.newest, _hash(f"junk-{i}"), nonce=i, tier=1) for i in range(20_000)]
    verify = verifier.verify
    started = time.perf_counter()
    rejected = 0
    for proof in proofs:
        try:
            verify(proof, proof.tx_id)
        except SpamProofError:
            rejected += 1
    return rejected / (time.perf_counter() - started)


def _hashes_per_s() -> float:
    base, target = _checked_inputs(_hash("anchor"), _hash("tx"), 64)
    chunks = 60
    started = time.perf_counter()
    for chunk in range(chunks):
        _search_chunk(base, target, chunk)
    return chunks * CHUNK_NONCES / (time.perf_counter() - started)


def _mean_solve_s(bits: int, solves: int, label: str, *, parallel: bool = False) -> float:
    anchor = _hash("anchor")
    total = 0.0
    for i in range(solves):
        tx_id = _hash(f"{label}-{i}")
        started = time.perf_counter()
        if parallel:
            solve_parallel(anchor, tx_id, bits)
        else:
            solve(anchor, tx_id, bits)
        total += time.perf_counter() - started
    return total / solves


def figures() -> Iterator[Figure]:
    yield Figure("pow.verify_per_s", _verify_per_s(), "proofs/s")
    yield Figure("pow.verify_reject_per_s", _reject_per_s(), "proofs/s")
    hashes_per_s = _hashes_per_s()
    yield Figure("pow.hashes_per_s", hashes_per_s, "hashes/s")
    tier1, tier2 = DEVNET.tier(1).difficulty_bits, DEVNET.tier(2).difficulty_bits
    yield Figure("pow.expected_tier1_s", 2**tier1 / hashes_per_s, "s")
    yield Figure("pow.expected_tier2_s", 2**tier2 / hashes_per_s, "s")
    yield Figure("pow.solve_tier1_s", _mean_solve_s(tier1, TIER1_SOLVES, "tier1"), "s")
    yield Figure(
        "pow.solve_tier1_all_cores_s",
        _mean_solve_s(tier1, TIER1_SOLVES, "tier1", parallel=True),
        "s",
    )
    yield Figure("pow.solve_tier2_s", _mean_solve_s(tier2, TIER2_SOLVES, "tier2"), "s")
