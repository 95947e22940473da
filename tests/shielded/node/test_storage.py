"""Chain store: atomic import with state, rollback to a fork point, finality, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jamcore.crypto.hashing import blake2b_256
from shielded.node.storage import ChainStore, StorageError

GENESIS = blake2b_256(b"genesis")


def block_id(parent: bytes, slot: int, fork: str = "") -> bytes:
    return blake2b_256(parent + slot.to_bytes(4, "little") + fork.encode())


@pytest.fixture
def store(tmp_path: Path) -> ChainStore:
    chain = ChainStore(tmp_path / "chain.sqlite")
    chain.init_genesis(GENESIS, 0, b"genesis-block", {b"balance/alice": b"100"})
    return chain


def extend(store: ChainStore, slots: range, fork: str = "") -> list[bytes]:
    hashes = []
    for slot in slots:
        parent = store.head
        assert parent is not None
        block_hash = block_id(parent, slot, fork)
        store.import_block(
            block_hash,
            parent,
            slot,
            b"block" + bytes([slot]),
            {b"last": fork.encode() + bytes([slot]), f"seen/{fork}{slot}".encode(): b"1"},
        )
        hashes.append(block_hash)
    return hashes


def test_import_moves_head_and_state(store: ChainStore) -> None:
    hashes = extend(store, range(1, 4))
    assert store.head == hashes[-1]
    assert store.get(b"last") == bytes([3])
    assert store.canonical_hash(2) == hashes[1]
    assert [b.slot for b in store.canonical_range(0, 10)] == [0, 1, 2, 3]
    assert store.get(b"balance/alice") == b"100"


def test_roll_back_restores_exact_previous_state(store: ChainStore) -> None:
    extend(store, range(1, 3))
    before = dict(store.items())
    extend(store, range(3, 6))
    for _ in range(3):
        store.roll_back_head()
    assert dict(store.items()) == before
    assert store.canonical_hash(3) is None


def test_reorg_to_a_fork(store: ChainStore) -> None:
    common = extend(store, range(1, 3))
    old_branch = extend(store, range(3, 5), fork="a")
    fork_parent = common[-1]
    while store.head != fork_parent:
        store.roll_back_head()
    new_branch = extend(store, range(3, 6), fork="b")
    assert store.head == new_branch[-1]
    assert store.has_block(old_branch[-1]) and not store.is_canonical(old_branch[-1])
    assert store.fork_point(old_branch[-1]).hash == fork_parent
    assert store.get(b"seen/a3") is None and store.get(b"seen/b5") == b"1"


def test_invalid_import_not_on_head(store: ChainStore) -> None:
    extend(store, range(1, 3))
    with pytest.raises(StorageError, match="canonical head"):
        store.import_block(b"x" * 32, GENESIS, 9, b"", {})


def test_invalid_slot_not_after_parent(store: ChainStore) -> None:
    extend(store, range(1, 3))
    with pytest.raises(StorageError, match="does not follow"):
        store.import_block(b"x" * 32, store.head or b"", 2, b"", {})
    assert store.get(b"last") == bytes([2])


def test_final_blocks_are_never_rolled_back(store: ChainStore) -> None:
    hashes = extend(store, range(1, 4))
    store.finalize(hashes[1])
    store.roll_back_head()
    with pytest.raises(StorageError, match="final"):
        store.roll_back_head()
    with pytest.raises(StorageError, match="backwards"):
        store.finalize(hashes[0])


def test_failed_transaction_changes_nothing(store: ChainStore) -> None:
    extend(store, range(1, 2))
    before = (store.head, dict(store.items()))

    class Boom(Exception):
        pass

    class ExplodingChanges(dict[bytes, bytes | None]):
        def items(self):  # type: ignore[override]
            yield b"half", b"written"
            raise Boom

    with pytest.raises(Boom):
        store.import_block(b"y" * 32, store.head or b"", 5, b"", ExplodingChanges())
    assert (store.head, dict(store.items())) == before
    assert not store.has_block(b"y" * 32)


WRITER = """
import sys
from jamcore.crypto.hashing import blake2b_256
from shielded.node.storage import ChainStore
store = ChainStore(sys.argv[1])
store.init_genesis(blake2b_256(b"genesis"), 0, b"g", {})
slot = 0
while True:
    slot += 1
    parent = store.head
    h = blake2b_256(parent + slot.to_bytes(4, "little"))
    changes = {b"height": str(slot).encode()}
    changes.update({f"k{slot}/{i}".encode(): b"v" * 64 for i in range(20)})
    store.import_block(h, parent, slot, b"b" * 200, changes)
    if slot == 5:
        print("ready", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_during_imports_leaves_a_consistent_store(tmp_path: Path) -> None:
    path = tmp_path / "killed.sqlite"
    for attempt in range(3):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.1 + 0.15 * attempt)  # kill at different points of the import loop
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        store = ChainStore(path)
        head = store.block(store.head or b"")
        assert head is not None
        # The state reflects exactly the blocks on the canonical chain, no more, no less.
        assert store.get(b"height") == str(head.slot).encode()
        assert len(list(store.items(f"k{head.slot}/".encode()))) == 20
        assert store.get(f"k{head.slot + 1}/0".encode()) is None
        assert len(store.canonical_range(0, 10**6)) == head.height + 1
        store.close()
        path.unlink()


def test_service_item_counts_follow_imports_and_rollbacks(store: ChainStore) -> None:
    """The kept per-service item count equals a fresh COUNT after imports and rollbacks."""
    from jamcore.state.keys import storage_key

    def fresh(service: int) -> int:
        row = store.db.execute("SELECT COUNT(*) FROM state WHERE service = ?", (service,))
        return int(row.fetchone()[0])

    genesis = store.head
    assert genesis is not None
    assert store.service_item_count(7) == fresh(7) == 0
    first = storage_key(7, b"a")
    second = storage_key(7, b"b")
    store.import_block(b"\x01" * 32, genesis, 1, b"one", {first: b"1", second: b"2"})
    assert store.service_item_count(7) == fresh(7) == 2
    store.import_block(b"\x02" * 32, b"\x01" * 32, 2, b"two", {first: None, second: b"3"})
    assert store.service_item_count(7) == fresh(7) == 1
    store.roll_back_head()
    assert store.service_item_count(7) == fresh(7) == 2
    store.roll_back_head()
    assert store.service_item_count(7) == fresh(7) == 0
