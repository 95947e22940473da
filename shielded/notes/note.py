"""Notes and note commitments (design section 3, "Notes").

note = (value u64, pk, blinding, expiry_epoch, tier);  cm = Poseidon(value, pk, blinding,
expiry_epoch, tier), circomlib-compatible, so the spend circuit recomputes it exactly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

from shielded.notes.errors import ensure
from shielded.notes.poseidon import FIELD_MODULUS, poseidon

MAX_VALUE = 2**64 - 1
"""Values are u64: the circuit range-checks every value to 64 bits."""
NEVER_EXPIRES = 2**64 - 1
"""expiry_epoch of permanent notes."""


class Tier(IntEnum):
    """Persistence tier of a note (design section 3, "Persistence tiers").

    Both permanent tiers live in the permanent tree; they differ in what paid for the
    permanence: spending a COLLATERAL note releases its locked collateral, spending a
    PERSONHOOD note (paid from a per-epoch personhood allowance) releases nothing.
    """

    EPHEMERAL = 0
    COLLATERAL = 1
    PERSONHOOD = 2

    @property
    def permanent(self) -> bool:
        return self is not Tier.EPHEMERAL


def random_blinding() -> int:
    """A uniformly random field element hiding the note's contents in its commitment."""
    return secrets.randbelow(FIELD_MODULUS)


@dataclass(frozen=True)
class Note:
    """A shielded note: `value` units owned by `pk`, spendable while epoch <= expiry_epoch."""

    value: int
    pk: int
    blinding: int
    expiry_epoch: int
    tier: Tier = Tier.EPHEMERAL

    def __post_init__(self) -> None:
        ensure(
            isinstance(self.value, int) and 0 <= self.value <= MAX_VALUE,
            f"note value {self.value!r} out of range 0..2^64-1",
        )
        ensure(0 <= self.pk < FIELD_MODULUS, "note pk is not a BN254 field element")
        ensure(0 <= self.blinding < FIELD_MODULUS, "note blinding is not a BN254 field element")
        ensure(
            0 <= self.expiry_epoch <= NEVER_EXPIRES,
            f"note expiry epoch {self.expiry_epoch} out of range 0..2^64-1",
        )
        ensure(self.tier in tuple(Tier), f"note tier {self.tier!r} unknown")
        object.__setattr__(self, "tier", Tier(self.tier))
        if self.tier.permanent:
            ensure(self.expiry_epoch == NEVER_EXPIRES, "a permanent note must never expire")

    @cached_property
    def commitment(self) -> int:
        """cm = Poseidon(value, pk, blinding, expiry_epoch, tier) (design section 3)."""
        return poseidon(self.value, self.pk, self.blinding, self.expiry_epoch, int(self.tier))

    def spendable_at(self, epoch: int) -> bool:
        """The circuit's expiry rule: expiry_epoch >= the current epoch."""
        return self.expiry_epoch >= epoch

    @classmethod
    def create(
        cls, value: int, pk: int, expiry_epoch: int, tier: Tier = Tier.EPHEMERAL
    ) -> Note:
        """A note with fresh random blinding; permanent tiers get `NEVER_EXPIRES`."""
        expiry = NEVER_EXPIRES if Tier(tier).permanent else expiry_epoch
        return cls(value, pk, random_blinding(), expiry, Tier(tier))

    @classmethod
    def dummy(cls, pk: int, epoch: int) -> Note:
        """A zero-value ephemeral note: fills an unused circuit input (no membership needed)."""
        return cls(0, pk, random_blinding(), epoch, Tier.EPHEMERAL)
