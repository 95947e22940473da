"""The block capacity and the spam tiers' quotas as a rule on what a block takes (design §3).

`capacity.fill_block` is the builder's choice of a block's transactions; `BlockRoom` is the
rule every node enforces on what reaches a block, whoever built it: at most
`PoolSpec.block_capacity` pool transactions, of which at most `PoolSpec.tier_quota(k)` pay
with a tier-k spam proof. Fee payers are bounded by the capacity only (the fee lane is
whatever the tiers did not take), so work only ever buys its tier's share of a block and
money buys the rest.

A room is a running count taken in order: `full_lane` says which lane has no room left for
one more transaction (the block's capacity, `CAPACITY_LANE`, or its tier), `take` counts
one in. The pool's refine counts each work item in a fresh room (a package can never carry
more than one block takes), its accumulate counts every transaction it accepts in one
block, across all the packages that block accumulates (`shielded.native_pool`).
"""

from __future__ import annotations

from collections.abc import Sequence

from shielded.spec import PoolSpec

__all__ = ["CAPACITY_LANE", "BlockRoom", "lane_reason"]

CAPACITY_LANE = 0
"""The lane number of the block's whole capacity (spam tiers are numbered from 1)."""


class BlockRoom:
    """How much of one block's pool capacity, and of each tier's quota, is taken."""

    __slots__ = ("spec", "used", "per_tier")

    def __init__(self, spec: PoolSpec, used: int = 0, per_tier: Sequence[int] = ()) -> None:
        """A room with `used` transactions in, `per_tier[k - 1]` of them of tier k
        (empty: none of any tier)."""
        counts = list(per_tier) or [0] * len(spec.tiers)
        if len(counts) != len(spec.tiers) or min(counts) < 0 or not 0 <= sum(counts) <= used:
            raise ValueError(f"room counts {used}, {counts} do not fit the spec's tiers")
        self.spec = spec
        self.used = used
        self.per_tier = counts

    def _tier_index(self, tier: int | None) -> int | None:
        """The index of a known tier in `per_tier`; None for a fee payer or an unknown
        tier (the spam-proof check refuses those, they take no tier's quota)."""
        if tier is None or not 1 <= tier <= len(self.per_tier):
            return None
        return tier - 1

    def full_lane(self, tier: int | None) -> int | None:
        """The lane with no room for one more transaction of spam tier `tier` (None: it
        pays a fee): `CAPACITY_LANE` when the block is full, `tier` when its quota is
        taken; None when it fits."""
        if self.used >= self.spec.block_capacity:
            return CAPACITY_LANE
        index = self._tier_index(tier)
        if index is not None and self.per_tier[index] >= self.spec.tier_quota(index + 1):
            return index + 1
        return None

    def take(self, tier: int | None) -> None:
        """Count one transaction of `tier` in; ValueError if it does not fit."""
        lane = self.full_lane(tier)
        if lane is not None:
            raise ValueError(lane_reason(self.spec, lane))
        self.used += 1
        index = self._tier_index(tier)
        if index is not None:
            self.per_tier[index] += 1


def lane_reason(spec: PoolSpec, lane: int) -> str:
    """Why a transaction did not fit a block whose lane `lane` was full (it may be
    included in a later block)."""
    if lane == CAPACITY_LANE:
        return (
            f"the block's pool capacity of {spec.block_capacity} transactions is taken: "
            "it waits for a later block"
        )
    return (
        f"{spec.tier(lane).name}'s quota of {spec.tier_quota(lane)} spam-proof transactions "
        "in a block is taken: it waits for a later block (or pays a fee instead)"
    )
