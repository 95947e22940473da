"""Trie benchmarks: the Appendix D state root of a 10,000-entry serialized state."""

from __future__ import annotations

import random
from collections.abc import Iterator

from bench import Figure, best_seconds
from jamcore.state.keys import STATE_KEY_LENGTH
from jamcore.state.merklization import state_root


def _random_state(entries: int, seed: int = 0) -> dict[bytes, bytes]:
    """Random 31-octet keys; values mix embedded (<= 32 octets) and hashed (up to 200)."""
    rng = random.Random(seed)
    return {
        rng.randbytes(STATE_KEY_LENGTH): rng.randbytes(rng.choice((0, 4, 12, 32, 33, 80, 200)))
        for _ in range(entries)
    }


def figures() -> Iterator[Figure]:
    state = _random_state(10_000)
    seconds = best_seconds(lambda: state_root(state), repeats=5)
    yield Figure("trie.root_10k_keys_ms", seconds * 1e3, "ms")
