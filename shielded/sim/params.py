"""What one simulation run is: population size, horizon, policy and user behaviour.

`SimulationParams` is a frozen record validated on construction: every numeric field has an
allowed range in `RANGES`, and a value outside it raises `SimulationError` naming the field
and the range (design section 7). Rates are per-user, per-epoch probabilities. The pool's own
constants (note lifetime bound, fee schedule, spam-proof tiers, personhood quota, collateral)
come from `shielded.spec.PoolSpec` and `shielded.service.PoolConfig`, never from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from jamcore.spec import TINY
from shielded.notes.tree import RING_BITS
from shielded.sim.errors import SimulationError, ensure
from shielded.spec import DEVNET

if TYPE_CHECKING:
    from shielded.service import PoolConfig


def _default_pool() -> PoolConfig:
    # Imported here: the pool service is heavy and `shielded --help` builds this module's CLI.
    from shielded.service import PoolConfig

    return PoolConfig()


class Policy(StrEnum):
    """How outputs persist: today's pools (every note permanent) or ephemeral with lifetime N."""

    PERMANENT = "permanent"
    EPHEMERAL = "ephemeral"


MAX_LIFETIME = (1 << RING_BITS) - 1
"""The live tree's ring holds N + 1 <= 2^RING_BITS epoch subtrees (shielded.notes.tree)."""

RANGES: dict[str, tuple[float, float]] = {
    "users": (1, 50_000_000),
    "epochs": (1, 100_000),
    "lifetime": (1, MAX_LIFETIME),
    "seed": (0, 2**63 - 1),
    "arrival_rate": (0.0, 1.0),
    "departure_rate": (0.0, 1.0),
    "pay_rate": (0.0, 1.0),
    "split_rate": (0.0, 1.0),
    "consolidate_rate": (0.0, 1.0),
    "withdraw_rate": (0.0, 1.0),
    "deposit_rate": (0.0, 1.0),
    "consolidate_above": (1, 1_000_000),
    "renew_rate": (0.0, 1.0),
    "abandon_rate": (0.0, 1.0),
    "collateral_uptake": (0.0, 1.0),
    "personhood_uptake": (0.0, 1.0),
    "spam_proof_share": (0.0, 1.0),
    "note_value": (1, 2**40),
    "blocks_per_epoch": (1, 1_000_000),
}
"""Allowed closed range of every numeric parameter."""


@dataclass(frozen=True)
class SimulationParams:
    """One run of the state-growth model (design section 7)."""

    users: int = 10_000
    """User slots; each is occupied by a present user or empty (arrivals fill empty ones)."""
    epochs: int = 200
    """Epochs simulated."""
    policy: Policy = Policy.EPHEMERAL
    """Permanent-only (every output permanent, as in today's pools) or ephemeral notes."""
    lifetime: int = field(default_factory=lambda: min(DEVNET.note_lifetime_epochs, MAX_LIFETIME))
    """N: epochs an ephemeral note lives (expiry = creation epoch + N)."""
    seed: int = 0
    """Seed of the random generator: equal parameters and seed give equal results."""
    arrival_rate: float = 0.02
    """Chance per epoch that an empty slot is taken by a newcomer (who deposits at once)."""
    departure_rate: float = 0.01
    """Chance per epoch that a present user leaves for good."""
    pay_rate: float = 0.10
    """Chance per epoch that a user pays another (up to 2 inputs; recipient note + change)."""
    split_rate: float = 0.03
    """Chance per epoch that a user splits a note in two (dust: one input, two outputs)."""
    consolidate_rate: float = 0.05
    """Chance per epoch that a user holding more than `consolidate_above` notes merges two."""
    withdraw_rate: float = 0.01
    """Chance per epoch that a user withdraws one note's value (change note + dummy)."""
    deposit_rate: float = 0.02
    """Chance per epoch that a user deposits a new note from a transparent account."""
    consolidate_above: int = 4
    """Holdings above which a user consolidates."""
    renew_rate: float = 0.9
    """Chance per epoch that a user's wallet is online and renews notes in their last epoch;
    offline users lose them to expiry."""
    abandon_rate: float = 0.5
    """Share of departing users who abandon their notes instead of withdrawing them."""
    collateral_uptake: float = 0.02
    """Share of newcomers whose own outputs (change, splits, merges) are permanent, backed by
    collateral (ephemeral policy only)."""
    personhood_uptake: float = 0.05
    """Share of newcomers whose own outputs are permanent from a personhood allowance, up to
    the pool's per-epoch quota (ephemeral policy only)."""
    spam_proof_share: float = 0.5
    """Share of transactions that carry a spam proof instead of paying the inclusion fee; capped
    by the share of block capacity the spec's tiers reserve."""
    note_value: int = 1_000_000
    """Mean note value in base units (prices withdrawals against the pool value)."""
    blocks_per_epoch: int = TINY.epoch_length
    """Blocks per epoch, for the capacity use figure (block capacity is in the PoolSpec)."""
    pool: PoolConfig = field(default_factory=_default_pool)
    """The pool's parameters: its spec (fees, tiers), personhood quota and collateral."""

    def __post_init__(self) -> None:
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            integral = isinstance(low, int)
            kind = "an integer" if integral else "a number"
            ensure(
                not isinstance(value, bool)
                and (isinstance(value, int) if integral else isinstance(value, int | float))
                and low <= value <= high,
                f"{name} = {value!r} out of range: expected {kind} in [{low}, {high}]",
            )
        ensure(
            isinstance(self.policy, Policy),
            f"policy = {self.policy!r}: expected one of {[p.value for p in Policy]}",
        )
        bands = self.departure_rate + self.pay_rate + self.split_rate
        bands += self.consolidate_rate + self.withdraw_rate + self.deposit_rate
        ensure(
            bands <= 1.0,
            f"departure_rate + pay/split/consolidate/withdraw/deposit rates = {bands:g}: "
            "expected at most 1 (one action per user per epoch)",
        )
        uptake = self.collateral_uptake + self.personhood_uptake
        ensure(
            uptake <= 1.0,
            f"collateral_uptake + personhood_uptake = {uptake:g}: expected at most 1",
        )

    @property
    def pool_config(self) -> PoolConfig:
        """`pool` with its spec's note lifetime set to the simulated N (fees price outputs at
        the lifetime of the pool they run in)."""
        spec = dataclasses.replace(self.pool.spec, note_lifetime_epochs=self.lifetime)
        return dataclasses.replace(self.pool, spec=spec)

    def replace(self, **changes: Any) -> SimulationParams:
        """A copy with `changes` applied (validated again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        ensure(not unknown, f"unknown parameter(s) {sorted(unknown)}: expected {sweepable()}")
        return dataclasses.replace(self, **changes)


def default_value(name: str) -> Any:
    """The default of parameter `name` without building a whole `SimulationParams`."""
    (found,) = [f for f in dataclasses.fields(SimulationParams) if f.name == name]
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    return found.default


def sweepable() -> list[str]:
    """Names of the parameters a sweep may vary (the numeric ones and the policy)."""
    return ["policy", *RANGES]


def coerce(name: str, text: str) -> Any:
    """Parse `text` as a value of parameter `name` (for the CLI's --sweep)."""
    ensure(name in sweepable(), f"unknown parameter {name!r}: expected one of {sweepable()}")
    if name == "policy":
        try:
            return Policy(text)
        except ValueError:
            raise SimulationError(
                f"policy = {text!r}: expected one of {[p.value for p in Policy]}"
            ) from None
    low, _ = RANGES[name]
    try:
        return int(text) if isinstance(low, int) else float(text)
    except ValueError:
        kind = "an integer" if isinstance(low, int) else "a number"
        raise SimulationError(f"{name} = {text!r}: expected {kind}") from None
