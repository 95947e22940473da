"""Shuffle benchmarks: the Appendix F entropy shuffle of a full (1023) validator set."""

from __future__ import annotations

from collections.abc import Iterator

from bench import Figure, rate
from jamcore.crypto.hashing import blake2b_256
from jamcore.shuffle import shuffle_with_entropy
from jamcore.spec import FULL


def figures() -> Iterator[Figure]:
    validators = list(range(FULL.validators_count))
    entropy = blake2b_256(b"bench/shuffle entropy")
    yield Figure(
        "shuffle.full_validators_per_s",
        rate(lambda: shuffle_with_entropy(validators, entropy)),
        "shuffles/s",
    )
