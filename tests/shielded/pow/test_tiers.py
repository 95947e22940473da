"""Spam-proof tiers in the pool chain spec: defaults, quotas and validation."""

from __future__ import annotations

import pytest

from shielded.spec import DEVNET, FeeSchedule, PoolSpec, PoolSpecError, SpamTier


def test_devnet_tier_two_is_harder_and_buys_more_capacity():
    tier1, tier2 = DEVNET.tier(1), DEVNET.tier(2)
    assert tier2.difficulty_bits > tier1.difficulty_bits
    assert DEVNET.tier_quota(2) > DEVNET.tier_quota(1)
    assert DEVNET.tier_quota(1) + DEVNET.tier_quota(2) + DEVNET.fee_lane_quota == (
        DEVNET.block_capacity
    )
    assert DEVNET.fee_lane_quota > 0


def test_quotas_round_down():
    spec = PoolSpec(block_capacity=10, tiers=(SpamTier("t", 4, 3_333),))
    assert spec.tier_quota(1) == 3
    assert spec.fee_lane_quota == 7


@pytest.mark.parametrize(
    "make",
    [
        lambda: SpamTier("t", 0, 100),
        lambda: SpamTier("t", 65, 100),
        lambda: SpamTier("t", 8, 10_001),
        lambda: PoolSpec(tiers=(SpamTier("a", 4, 6_000), SpamTier("b", 5, 5_000))),
        lambda: PoolSpec(tiers=()),
        lambda: PoolSpec(recent_anchors=0),
        lambda: PoolSpec(block_capacity=0),
        lambda: PoolSpec(note_lifetime_epochs=30, fees=FeeSchedule(permanent_lifetime_epochs=20)),
        lambda: PoolSpec(note_lifetime_epochs=32),
        lambda: FeeSchedule(inclusion_fee=-1),
    ],
)
def test_invalid_spec_is_rejected(make):
    with pytest.raises(PoolSpecError):
        make()


@pytest.mark.parametrize("number", [0, 3, "1"])
def test_invalid_tier_number_is_rejected(number):
    with pytest.raises(PoolSpecError, match="unknown"):
        DEVNET.tier(number)
