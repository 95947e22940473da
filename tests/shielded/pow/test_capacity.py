"""Block capacity: tier quotas hold, work and fees order inclusion, bad candidates are refused."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shielded.pow import (
    Candidate,
    InsufficientWork,
    MalformedProof,
    RecentAnchors,
    ReplayedProof,
    SpamProofVerifier,
    UnknownAnchor,
    fill_block,
    solve,
)
from tests.shielded.pow.helpers import EASY, block_hash, failing_proof, proof_with_bits, tx_id

HEAD = block_hash(9)


def verifier() -> SpamProofVerifier:
    return SpamProofVerifier(EASY, RecentAnchors(EASY.recent_anchors, map(block_hash, range(10))))


def tier_candidate(label: int, tier: int, bits: int | None = None) -> Candidate:
    tx = tx_id(label)
    needed = EASY.tier(tier).difficulty_bits
    proof = proof_with_bits(HEAD, tx, tier, bits) if bits else solve(HEAD, tx, needed, tier=tier)
    return Candidate(tx_id=tx, spam_proof=proof)


def test_quotas_of_the_easy_spec():
    assert [EASY.tier_quota(n) for n in (1, 2)] == [2, 4]
    assert EASY.fee_lane_quota == 2


def test_tier_quotas_hold_in_a_block_filled_beyond_capacity():
    candidates = [tier_candidate(i, 1) for i in range(10)]
    candidates += [tier_candidate(100 + i, 2) for i in range(10)]
    candidates += [Candidate(tx_id=tx_id(200 + i), fee=10 + i) for i in range(10)]
    fill = fill_block(candidates, verifier())
    assert fill.per_tier == (2, 4)
    assert fill.fee_payers == 2
    assert len(fill.included) == EASY.block_capacity
    assert len(fill.deferred) == len(candidates) - EASY.block_capacity
    assert not fill.rejected
    # The fee lane takes the highest fees.
    fee_lane = fill.included[6:]
    assert [c.fee for c in fee_lane] == [19, 18]


def test_tier_lane_orders_by_work_then_arrival():
    candidates = [
        tier_candidate(1, 1, bits=4),
        tier_candidate(2, 1, bits=7),
        tier_candidate(3, 1, bits=5),
        tier_candidate(4, 1, bits=7),
    ]
    fill = fill_block(candidates, verifier())
    assert [c.tx_id for c in fill.included] == [tx_id(2), tx_id(4)]
    assert [c.tx_id for c in fill.deferred] == [tx_id(1), tx_id(3)]


def test_fee_payers_take_unused_tier_capacity_but_tiers_never_exceed_quota():
    fee_payers = [Candidate(tx_id=tx_id(300 + i), fee=5) for i in range(10)]
    fill = fill_block([tier_candidate(1, 1)] + fee_payers, verifier())
    assert fill.per_tier == (1, 0)
    assert fill.fee_payers == 7
    # Equal fees: earlier arrivals first.
    assert [c.tx_id for c in fill.included[1:]] == [c.tx_id for c in fee_payers[:7]]


def test_invalid_candidates_are_rejected_with_their_reason():
    good = tier_candidate(1, 1)
    weak = Candidate(tx_id=tx_id(2), spam_proof=failing_proof(HEAD, tx_id(2), 2, 6))
    future = Candidate(tx_id=tx_id(3), spam_proof=solve(block_hash(10), tx_id(3), 4))
    duplicate = Candidate(tx_id=tx_id(1), fee=1_000)
    fill = fill_block([good, weak, future, duplicate], verifier())
    assert fill.included == (good,)
    reasons = {r.candidate.tx_id: type(r.error) for r in fill.rejected}
    assert reasons == {
        tx_id(2): InsufficientWork,
        tx_id(3): UnknownAnchor,
        tx_id(1): ReplayedProof,
    }


def test_invalid_candidate_fields_are_rejected():
    with pytest.raises(MalformedProof):
        Candidate(tx_id=bytes(31), fee=1)
    with pytest.raises(MalformedProof):
        Candidate(tx_id=tx_id(1), fee=-1)


POOL = [tier_candidate(1000 + i, 1 + i % 2) for i in range(12)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(range(len(POOL))), unique=True, max_size=12),
    st.lists(st.integers(min_value=0, max_value=50), max_size=12),
)
def test_no_lane_or_block_exceeds_its_capacity(proof_indices, fees):
    candidates = [POOL[i] for i in proof_indices]
    candidates += [Candidate(tx_id=tx_id(f"fee-{i}"), fee=fee) for i, fee in enumerate(fees)]
    fill = fill_block(candidates, verifier())
    assert all(n <= EASY.tier_quota(t) for t, n in enumerate(fill.per_tier, start=1))
    assert len(fill.included) <= EASY.block_capacity
    assert len(fill.included) + len(fill.deferred) == len(candidates)
    assert len(fill.included) == min(
        EASY.block_capacity,
        sum(fill.per_tier) + len(fees),
    )
