"""Key material of one epoch: a validator's secret share and everyone's public keys.

Validator i (0-based, as in JAM's validator index) holds the Shamir share x_i = f(i + 1)
of the group secret x = f(0); its public share is y_i = g^x_i and the group key is
Y = g^x. Any t = floor(2V/3) + 1 shares determine f, so any t contributions finalize.
"""

from __future__ import annotations

from dataclasses import dataclass

from jamcore.codec import Struct, seq
from shielded.finality.encoding import POINT, decode_strict, encode
from shielded.finality.errors import UnknownIndex, ensure
from shielded.finality.group import Point, Scalar

MAX_VALIDATORS = 1 << 16
"""Validator indices are 16-bit in JAM."""


def threshold_for(validator_count: int) -> int:
    """t = floor(2V/3) + 1: the contributions a certificate needs (design.md section 4)."""
    return 2 * validator_count // 3 + 1


def evaluation_point(index: int) -> int:
    """The Shamir evaluation point of validator `index`: index + 1 (0 is the secret)."""
    return index + 1


@dataclass(frozen=True)
class KeyShare:
    """Validator `index`'s secret share x_index of the epoch's group secret."""

    index: int
    secret: Scalar


@dataclass(frozen=True)
class EpochKeys:
    """The public key material of an epoch: group key Y and public shares y_0..y_{V-1}."""

    group_key: Point
    public_shares: tuple[Point, ...]

    @property
    def validator_count(self) -> int:
        return len(self.public_shares)

    @property
    def threshold(self) -> int:
        return threshold_for(self.validator_count)

    def public_share(self, index: int) -> Point:
        """y_index; UnknownIndex for an index outside the validator set."""
        ensure(
            0 <= index < self.validator_count,
            UnknownIndex,
            f"validator index {index} is not in [0, {self.validator_count})",
        )
        return self.public_shares[index]

    def encode(self) -> bytes:
        """Appendix C encoding: Y, then the length-prefixed public shares."""
        return encode(EPOCH_KEYS_CODEC, self, "epoch keys")

    @classmethod
    def decode(cls, data: bytes) -> EpochKeys:
        """Inverse of `encode`; every point is subgroup-checked."""
        return decode_strict(EPOCH_KEYS_CODEC, data, "epoch keys")


EPOCH_KEYS_CODEC = Struct(
    EpochKeys,
    {"group_key": POINT, "public_shares": seq(POINT, min_length=1, max_length=MAX_VALIDATORS)},
)
