"""Shared fixtures: a tiny devnet of six generated validators and its genesis Safrole state.

Ring proofs cost ~0.15 s each, so the validators' epoch-0 tickets are made once per session.
"""

from __future__ import annotations

import pytest

from jamcore.crypto.bandersnatch import public_from_secret, secret_from_seed
from jamcore.crypto.hashing import blake2b_256
from jamcore.safrole.authoring import ProducedTicket, produce_tickets
from jamcore.safrole.genesis import genesis_state
from jamcore.safrole.state import SafroleState, ValidatorKey
from jamcore.spec import TINY


def validator_secret(index: int) -> bytes:
    """The Bandersnatch secret of devnet validator `index` (seeded, reproducible)."""
    return secret_from_seed(blake2b_256(b"safrole-test-validator" + bytes([index])))


def validator_key(index: int) -> ValidatorKey:
    """Devnet validator `index`'s key tuple: a real Bandersnatch key, filler for the rest."""
    return ValidatorKey(
        bandersnatch=public_from_secret(validator_secret(index)),
        ed25519=blake2b_256(b"ed25519" + bytes([index])),
        bls=bytes([index]) * 144,
        metadata=bytes(128),
    )


@pytest.fixture(scope="session")
def secrets() -> tuple[bytes, ...]:
    return tuple(validator_secret(i) for i in range(TINY.validators_count))


@pytest.fixture(scope="session")
def genesis() -> SafroleState:
    """Slot 0 of a tiny chain: every validator set is the same six keys, fallback sealing."""
    validators = [validator_key(i) for i in range(TINY.validators_count)]
    entropy = [blake2b_256(b"genesis-entropy" + bytes([i])) for i in range(4)]
    return genesis_state(validators, entropy, TINY)


@pytest.fixture(scope="session")
def epoch0_tickets(genesis: SafroleState, secrets: tuple[bytes, ...]) -> tuple[ProducedTicket, ...]:
    """Every validator's N tickets for the epoch-0 contest (submitted in blocks of epoch 0)."""
    produced = [t for secret in secrets for t in produce_tickets(genesis, 1, secret, TINY)]
    return tuple(sorted(produced, key=lambda t: t.body.id))
