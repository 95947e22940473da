"""Trie benchmarks: the Appendix D state root of a 10,000-entry serialized state, and the
incremental `StateTrie` (build of 100,000 entries; one block's worth of changes + root)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from bench import Figure, best_seconds
from jamcore.state.keys import STATE_KEY_LENGTH
from jamcore.state.merklization import state_root
from jamcore.state.trie import StateTrie


def _random_state(entries: int, seed: int = 0) -> dict[bytes, bytes]:
    """Random 31-octet keys; values mix embedded (<= 32 octets) and hashed (up to 200)."""
    rng = random.Random(seed)
    return {
        rng.randbytes(STATE_KEY_LENGTH): rng.randbytes(rng.choice((0, 4, 12, 32, 33, 80, 200)))
        for _ in range(entries)
    }


def _block_changes(
    rng: random.Random, keys: list[bytes], count: int = 200
) -> dict[bytes, bytes | None]:
    """`count` changes of one block: 60% new keys, 30% overwrites, 10% deletes."""
    changes: dict[bytes, bytes | None] = {}
    for _ in range(count * 6 // 10):
        changes[rng.randbytes(STATE_KEY_LENGTH)] = rng.randbytes(rng.choice((4, 32, 80)))
    for _ in range(count * 3 // 10):
        changes[rng.choice(keys)] = rng.randbytes(rng.choice((12, 33)))
    while len(changes) < count:
        changes[rng.choice(keys)] = None
    return changes


def figures() -> Iterator[Figure]:
    state = _random_state(10_000)
    seconds = best_seconds(lambda: state_root(state), repeats=5)
    yield Figure("trie.root_10k_keys_ms", seconds * 1e3, "ms")

    big = _random_state(100_000, seed=1)
    seconds = best_seconds(lambda: StateTrie(big), repeats=3)
    yield Figure("trie.build_100k_ms", seconds * 1e3, "ms")

    trie = StateTrie(big)
    rng = random.Random(2)
    keys = list(big)
    batches = [_block_changes(rng, keys) for _ in range(15)]

    def one_block() -> None:
        trie.update(batches.pop())
        trie.root()

    seconds = best_seconds(one_block, repeats=len(batches))
    yield Figure("trie.incremental_update_200_keys_100k_ms", seconds * 1e3, "ms")
