"""The pool's chain-spec parameters: spam-proof window and tiers, block capacity, fee schedule.

`jamcore.spec.ChainSpec` fixes the JAM protocol constants; this module fixes the constants of
the shielded pool that runs on top of it (design section 3, "Spam proofs" and "Fees"). Every
node of one chain must use the same `PoolSpec`: the spam-proof and fee checks in refine read
it, so a different value is a different chain.

Calibration of the default tiers (measured on the 2-core development machine, Python 3.11,
`blake3` 1.0.11): the single-core solver runs about 2.2 million attempts per second when the
core is free (1.5 million under load), so tier 1 = 21 leading zero bits (2^21 ~ 2.1 million
expected attempts) takes about 0.95 s on one core, and tier 2 = 24 bits (8x the work) about
7.6 s on one core. `python -m bench pow` re-measures both (`pow.expected_tier*_s` from the
hash rate, `pow.solve_tier*_s` as the mean of a few real solves). The difficulty prices work
done by wallets in Python; native or GPU solvers are far faster, which is why each tier can
only ever take its quota of a block (`shielded.pow.capacity`) and the rest is bought with fees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASIS_POINTS = 10_000
"""Capacity shares are written in basis points: 10_000 is the whole block."""


class PoolSpecError(ValueError):
    """A pool chain-spec parameter that is out of range or inconsistent; the message names it."""


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise PoolSpecError(message)


@dataclass(frozen=True)
class SpamTier:
    """One spam-proof tier: how much work a proof must show and what share of a block it buys."""

    name: str
    """Human-readable label (`"tier-1"`), shown by wallets."""
    difficulty_bits: int
    """Leading zero bits the work hash must have; 2^bits attempts are expected per proof."""
    capacity_share_bps: int
    """Share of a block's transaction capacity reserved for this tier, in basis points."""

    def __post_init__(self) -> None:
        _ensure(
            1 <= self.difficulty_bits <= 64,
            f"tier {self.name!r}: difficulty_bits {self.difficulty_bits} not in 1..64",
        )
        _ensure(
            0 <= self.capacity_share_bps <= BASIS_POINTS,
            f"tier {self.name!r}: capacity_share_bps {self.capacity_share_bps} not in 0..10000",
        )


@dataclass(frozen=True)
class FeeSchedule:
    """Parameters of the information-priced fee rule of `shielded.fees` (all in base units)."""

    inclusion_fee: int = 1_000
    """Flat fee of a transaction that pays instead of carrying a spam proof: it buys capacity."""
    output_epoch_fee: int = 10
    """Price of keeping one output in validator state for one epoch."""
    free_output_epochs: int = 32
    """Ephemeral output-epochs a transaction carrying a spam proof adds for free (two outputs
    living the default N = 16 epochs): casual ephemeral transfers pay with work, not money."""
    permanent_lifetime_epochs: int = 4_096
    """A permanent output is priced as an ephemeral one living this many epochs; must be at
    least the note lifetime so that making an output permanent never costs less."""
    withdrawal_base_fee: int = 10_000
    """Flat part of a withdrawal's fee: every exit reveals an amount and a recipient."""
    withdrawal_leak_fee: int = 1_000_000
    """Price of withdrawing the whole pool from an infinitely large anonymity set; the fee grows
    linearly in the withdrawn share of the pool value."""
    anonymity_reference: int = 64
    """Live-note count at which the withdrawal leak price doubles: the leak part is multiplied
    by (anonymity_set + reference) / anonymity_set."""

    def __post_init__(self) -> None:
        for name in (
            "inclusion_fee",
            "output_epoch_fee",
            "free_output_epochs",
            "permanent_lifetime_epochs",
            "withdrawal_base_fee",
            "withdrawal_leak_fee",
            "anonymity_reference",
        ):
            value = getattr(self, name)
            _ensure(
                isinstance(value, int) and value >= 0,
                f"fee schedule {name} = {value!r}: expected a non-negative integer",
            )


def _default_tiers() -> tuple[SpamTier, ...]:
    return (
        SpamTier(name="tier-1", difficulty_bits=21, capacity_share_bps=2_500),
        SpamTier(name="tier-2", difficulty_bits=24, capacity_share_bps=5_000),
    )


@dataclass(frozen=True)
class PoolSpec:
    """Constants of one shielded-pool chain (design section 3)."""

    name: str = "devnet"
    """Label of the parameter set."""
    recent_anchors: int = 32
    """K: a spam proof's anchor must be one of the last K block hashes of the importing chain."""
    note_lifetime_epochs: int = 16
    """N: the longest lifetime, in epochs, of an ephemeral output. The live tree keeps N + 1
    per-epoch subtrees in a ring of 2^RING_BITS = 32 slots, so N <= 31."""
    block_capacity: int = 64
    """Most pool transactions in one block (spam-proof tiers and fee payers together)."""
    tiers: tuple[SpamTier, ...] = field(default_factory=_default_tiers)
    """Spam-proof tiers, numbered from 1 in this order; each harder tier buys more capacity."""
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    """The fee rule's parameters."""

    def __post_init__(self) -> None:
        _ensure(self.recent_anchors >= 1, f"recent_anchors {self.recent_anchors} must be >= 1")
        _ensure(
            1 <= self.note_lifetime_epochs <= 31,
            f"note_lifetime_epochs {self.note_lifetime_epochs} must be in 1..31 "
            "(the live tree's ring holds N + 1 <= 32 epoch subtrees)",
        )
        _ensure(self.block_capacity >= 1, f"block_capacity {self.block_capacity} must be >= 1")
        _ensure(len(self.tiers) >= 1, "a pool spec needs at least one spam-proof tier")
        total_share = sum(tier.capacity_share_bps for tier in self.tiers)
        _ensure(
            total_share <= BASIS_POINTS,
            f"tier capacity shares sum to {total_share} bps, more than the whole block",
        )
        _ensure(
            self.fees.permanent_lifetime_epochs >= self.note_lifetime_epochs,
            f"permanent_lifetime_epochs {self.fees.permanent_lifetime_epochs} is below the note "
            f"lifetime {self.note_lifetime_epochs}: permanent outputs would be cheaper",
        )

    def tier(self, number: int) -> SpamTier:
        """The spam-proof tier numbered `number` (1-based)."""
        _ensure(
            isinstance(number, int) and 1 <= number <= len(self.tiers),
            f"tier {number!r} unknown: expected 1..{len(self.tiers)}",
        )
        return self.tiers[number - 1]

    def tier_quota(self, number: int) -> int:
        """Transactions of tier `number` a block may hold: its share of the block capacity."""
        return self.block_capacity * self.tier(number).capacity_share_bps // BASIS_POINTS

    @property
    def fee_lane_quota(self) -> int:
        """Capacity reserved for fee payers: what the tiers' quotas leave of the block."""
        return self.block_capacity - sum(
            self.tier_quota(number) for number in range(1, len(self.tiers) + 1)
        )


DEVNET = PoolSpec()
"""The default pool parameters (devnet and tests of the real calibration)."""
