"""Fees of the simulated transactions, quoted by the pool's own rule (design section 3, "Fees").

Every simulated transaction falls into a class: deposit, transfer or withdrawal, with 0, 1 or
2 permanent outputs (of the circuit's two; dummy outputs are ephemeral in the ephemeral
policy), with or without a spam proof, and for withdrawals an amount of one or two notes'
value. `FeeTable` asks `shielded.service.quote` (which prices through `shielded.fees.quote`
with the pool's `PoolSpec`) once per class: transfer quotes once per run, withdrawal quotes
once per epoch at that epoch's pool value and anonymity set. No fee rule is re-implemented
here; the model multiplies counts by these quotes.
"""

from __future__ import annotations

import functools

from shielded.notes.note import Tier
from shielded.service import PoolConfig, PoolStatistics, quote
from shielded.transaction import Kind

ARITY = 2
"""Outputs (and inputs) of every pool transaction: the 2x2 spend circuit."""


def output_tiers(permanent_outputs: int) -> tuple[Tier, ...]:
    """The circuit's two output tiers with `permanent_outputs` of them permanent."""
    return (Tier.COLLATERAL,) * permanent_outputs + (Tier.EPHEMERAL,) * (ARITY - permanent_outputs)


def spam_proof_capacity_share(config: PoolConfig) -> float:
    """Share of a block that the spec's spam-proof tiers reserve (the rest is the fee lane)."""
    spec = config.spec
    return (spec.block_capacity - spec.fee_lane_quota) / spec.block_capacity


def expected_hashes_per_proof(config: PoolConfig) -> int:
    """Mean work of one spam proof when proofs fill the tiers in proportion to their quotas:
    sum over tiers of quota_i x 2^bits_i / sum of quotas (2^bits expected attempts each)."""
    spec = config.spec
    quotas = [spec.tier_quota(number) for number in range(1, len(spec.tiers) + 1)]
    if not sum(quotas):
        return 0
    work = sum(q * (1 << tier.difficulty_bits) for q, tier in zip(quotas, spec.tiers, strict=True))
    return work // sum(quotas)


class FeeTable:
    """Quotes of each simulated transaction class under one pool configuration."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config

    @functools.cache  # noqa: B019 - one table per run, a handful of keys
    def transfer(self, permanent_outputs: int, spam_proof: bool) -> int:
        """Fee of an internal transfer with `permanent_outputs` permanent outputs."""
        return quote(
            self.config,
            Kind.TRANSFER,
            PoolStatistics(pool_value=0, live_notes=0),
            output_tiers=output_tiers(permanent_outputs),
            spam_proof=spam_proof,
        )

    def withdrawal(
        self,
        amount: int,
        permanent_outputs: int,
        spam_proof: bool,
        pool_value: int,
        anonymity_set: int,
    ) -> int:
        """Fee of withdrawing `amount` when the pool holds `pool_value` among `anonymity_set`
        notes (an empty pool is priced as one base unit among one note)."""
        pool_value = max(1, pool_value)
        return quote(
            self.config,
            Kind.WITHDRAWAL,
            PoolStatistics(pool_value=pool_value, live_notes=max(1, anonymity_set)),
            amount=min(amount, pool_value),
            output_tiers=output_tiers(permanent_outputs),
            spam_proof=spam_proof,
        )
