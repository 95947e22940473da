"""Validator key tuples (graypaper eq. 6.8-6.13) and the codec of a validator set.

The record itself is Safrole's (`jamcore.safrole.state.ValidatorKey`); this module gives it
its Appendix C encoding (336 octets: bandersnatch ++ ed25519 ++ bls ++ metadata) and the
w3f JSON names, for every state component that holds a validator set (iota, kappa, lambda,
gamma_k).
"""

from __future__ import annotations

from functools import cache

from jamcore.codec import Codec, FixedBytes, Struct, seq
from jamcore.safrole.state import ValidatorKey
from jamcore.spec import ChainSpec

VALIDATOR_KEY = Struct(
    ValidatorKey,
    {
        "bandersnatch": FixedBytes(32),
        "ed25519": FixedBytes(32),
        "bls": FixedBytes(144),
        "metadata": FixedBytes(128),
    },
)
"""K: one validator's keys, 336 octets (eq. 6.8)."""


@cache
def validators_codec(spec: ChainSpec) -> Codec[tuple[ValidatorKey, ...]]:
    """A set of exactly V validator keys (eq. 6.7), as in C(7), C(8), C(9) and gamma_k."""
    return seq(VALIDATOR_KEY, spec.validators_count)


__all__ = ["VALIDATOR_KEY", "ValidatorKey", "validators_codec"]
