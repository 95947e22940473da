"""The block capacity and tier quotas as a rule (`shielded.pow.quota.BlockRoom`): what a block
takes, in order, and its agreement with the builder's `fill_block`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shielded.pow import Candidate, RecentAnchors, SpamProofVerifier, fill_block, solve
from shielded.pow.quota import CAPACITY_LANE, BlockRoom, lane_reason
from shielded.spec import PoolSpec, SpamTier
from tests.shielded.pow.helpers import EASY, block_hash, tx_id

HEAD = block_hash(9)


def test_a_room_fills_each_tier_to_its_quota_and_the_block_to_its_capacity() -> None:
    room = BlockRoom(EASY)  # capacity 8: tier 1 takes 2, tier 2 takes 4
    for _ in range(2):
        room.take(1)
    assert room.full_lane(1) == 1 and room.full_lane(2) is None and room.full_lane(None) is None
    for _ in range(4):
        room.take(2)
    room.take(None)
    room.take(None)
    assert (room.used, room.per_tier) == (8, [2, 4])
    assert {room.full_lane(t) for t in (None, 1, 2)} == {CAPACITY_LANE}
    with pytest.raises(ValueError, match="capacity of 8"):
        room.take(None)
    # An unknown tier takes no tier's quota (the spam-proof check refuses it).
    assert BlockRoom(EASY, 7, [2, 4]).full_lane(3) is None


def test_a_room_resumes_a_count_and_refuses_counts_that_do_not_fit_the_spec() -> None:
    assert BlockRoom(EASY, 3, (1, 2)).full_lane(1) is None
    assert BlockRoom(EASY, 3, (2, 0)).full_lane(1) == 1
    for used, per_tier in ((1, (1, 1)), (2, (1,)), (2, (-1, 0))):
        with pytest.raises(ValueError):
            BlockRoom(EASY, used, per_tier)


def test_lane_reasons_name_the_full_lane() -> None:
    assert "capacity of 8 transactions" in lane_reason(EASY, CAPACITY_LANE)
    assert "tier-2's quota of 4" in lane_reason(EASY, 2)


@st.composite
def specs(draw: st.DrawFn) -> PoolSpec:
    tiers = draw(st.integers(min_value=1, max_value=3))
    shares = draw(
        st.lists(st.integers(0, 10_000 // tiers), min_size=tiers, max_size=tiers)
    )
    return PoolSpec(
        name="quota-property",
        block_capacity=draw(st.integers(min_value=1, max_value=40)),
        tiers=tuple(
            SpamTier(name=f"tier-{i + 1}", difficulty_bits=1, capacity_share_bps=share)
            for i, share in enumerate(shares)
        ),
    )


@settings(max_examples=200, deadline=None)
@given(specs(), st.data())
def test_a_block_takes_in_order_exactly_what_its_lanes_have_room_for(
    spec: PoolSpec, data: st.DataObject
) -> None:
    """Whatever arrives, in any order: no tier beyond its quota, no block beyond its
    capacity, and a transaction is refused only when its lane is full at its turn."""
    lanes = st.one_of(st.none(), st.integers(min_value=1, max_value=len(spec.tiers) + 1))
    arrivals = data.draw(st.lists(lanes, max_size=60))
    room = BlockRoom(spec)
    taken: list[int | None] = []
    for tier in arrivals:
        quota_full = (
            tier is not None
            and tier <= len(spec.tiers)
            and taken.count(tier) >= spec.tier_quota(tier)
        )
        lane = room.full_lane(tier)
        if len(taken) >= spec.block_capacity:
            assert lane == CAPACITY_LANE
        elif quota_full:
            assert lane == tier
        else:
            assert lane is None
        if lane is None:
            room.take(tier)
            taken.append(tier)
    assert len(taken) == room.used <= spec.block_capacity
    for number in range(1, len(spec.tiers) + 1):
        assert room.per_tier[number - 1] == taken.count(number) <= spec.tier_quota(number)


OFFERS = [
    Candidate(tx_id(f"q{i}"), solve(HEAD, tx_id(f"q{i}"), 6, tier=1 + i % 2)) for i in range(14)
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(range(len(OFFERS))), unique=True, max_size=14),
    st.lists(st.integers(min_value=0, max_value=50), max_size=14),
)
def test_what_the_builder_chooses_is_what_a_block_takes(
    proofs: list[int], fees: list[int]
) -> None:
    """`fill_block`'s choice always fits a block's room, and each candidate it left out
    finds its lane full: the builder and the rule every node enforces agree."""
    candidates = [OFFERS[i] for i in proofs]
    candidates += [Candidate(tx_id(f"fee-{i}"), fee=fee) for i, fee in enumerate(fees)]
    verifier = SpamProofVerifier(EASY, RecentAnchors(EASY.recent_anchors, (HEAD,)))
    fill = fill_block(candidates, verifier)
    room = BlockRoom(EASY)
    for candidate in fill.included:
        room.take(None if candidate.spam_proof is None else candidate.spam_proof.tier)
    for candidate in fill.deferred:
        tier = None if candidate.spam_proof is None else candidate.spam_proof.tier
        assert room.full_lane(tier) is not None
