"""The node's on-disk chain store: blocks, canonical chain, state and undo logs in SQLite.

Every imported block commits together with all its state changes and the new head in one
SQLite transaction (WAL mode), so a node killed at any instant restarts at a consistent
head: either the block and its effects are there, or neither is. The state is kept as a
key -> value map (the JAM state-key space plus the pool's own keys); each block records
the previous value of every key it changes, so the head can be rolled back to a fork point.

WAL with `synchronous=NORMAL` survives process crashes (SIGKILL) without losing committed
transactions; only an operating-system crash can lose the latest few, which a devnet node
re-fetches from its peers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from jamcore.state.keys import STATE_KEY_LENGTH
from shielded.sqlite import open_database, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    hash BLOB PRIMARY KEY,
    parent BLOB NOT NULL,
    slot INTEGER NOT NULL,
    height INTEGER NOT NULL,
    block BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS blocks_by_parent ON blocks(parent);
CREATE TABLE IF NOT EXISTS canonical (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS state (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    service INTEGER
);
CREATE TABLE IF NOT EXISTS undo (
    block BLOB NOT NULL,
    position INTEGER NOT NULL,
    key BLOB NOT NULL,
    previous BLOB,
    PRIMARY KEY (block, position)
);
CREATE TABLE IF NOT EXISTS local (
    block BLOB NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (block, name)
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


class StorageError(Exception):
    """A request the chain store cannot honour (unknown block, wrong parent, final block)."""


@dataclass(frozen=True)
class StoredBlock:
    """A block as stored: its hash, parent, slot, height and encoded bytes."""

    hash: bytes
    parent: bytes
    slot: int
    height: int
    block: bytes


StateChanges = Mapping[bytes, bytes | None]
"""New values by state key; None deletes the key."""

_COMPONENT_TAIL = bytes(STATE_KEY_LENGTH - 1)
_UPSERT = (
    "INSERT INTO state(key, value, service) VALUES(?, ?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
)


def data_service(key: bytes) -> int | None:
    """The service s of a data key C(s, h) (eq. D.1: s interleaved in octets 0, 2, 4, 6);
    None for a component key C(i) or an account key C(255, s), or a key of another shape."""
    if len(key) != STATE_KEY_LENGTH or key[1:] == _COMPONENT_TAIL:
        return None
    if key[0] == 255 and key[2] == 0 and key[4] == 0 and key[6] == 0 and not any(key[8:]):
        return None
    return key[0] | key[2] << 8 | key[4] << 16 | key[6] << 24


class ChainStore:
    """SQLite-backed blocks, canonical chain, head state with undo, and finality."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db = open_database(self.path, SCHEMA)
        self._item_counts: dict[int, int] = {}
        """Service id -> its data item count at the head (`service_item_count`)."""
        self._index_services()

    def _index_services(self) -> None:
        """Add the `service` column to a store made before it existed (and fill it)."""
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(state)")}
        with self._transaction() as db:
            if "service" not in columns:
                db.execute("ALTER TABLE state ADD COLUMN service INTEGER")
                keys = [bytes(row[0]) for row in db.execute("SELECT key FROM state")]
                db.executemany(
                    "UPDATE state SET service = ? WHERE key = ?",
                    [(data_service(key), key) for key in keys],
                )
            db.execute("CREATE INDEX IF NOT EXISTS state_by_service ON state(service)")

    def close(self) -> None:
        self.db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.db)

    # --- meta ---------------------------------------------------------------------------

    def _meta(self, name: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def _set_meta(self, name: str, value: bytes) -> None:
        self.db.execute(
            "INSERT INTO meta(name, value) VALUES(?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def note(self, name: str) -> bytes | None:
        """Node-local bookkeeping outside the chain (e.g. a validator's vote lock)."""
        return self._meta(f"note/{name}")

    def set_note(self, name: str, value: bytes) -> None:
        self._set_meta(f"note/{name}", value)

    @property
    def genesis(self) -> bytes | None:
        return self._meta("genesis")

    @property
    def head(self) -> bytes | None:
        """The hash of the canonical head block (None before genesis)."""
        return self._meta("head")

    @property
    def finalized(self) -> bytes | None:
        """The hash of the latest final block."""
        return self._meta("finalized")

    # --- blocks -------------------------------------------------------------------------

    def block(self, block_hash: bytes) -> StoredBlock | None:
        row = self.db.execute(
            "SELECT hash, parent, slot, height, block FROM blocks WHERE hash = ?", (block_hash,)
        ).fetchone()
        return None if row is None else _stored(row)

    def has_block(self, block_hash: bytes) -> bool:
        row = self.db.execute("SELECT 1 FROM blocks WHERE hash = ?", (block_hash,)).fetchone()
        return row is not None

    def canonical_hash(self, height: int) -> bytes | None:
        row = self.db.execute("SELECT hash FROM canonical WHERE height = ?", (height,)).fetchone()
        return None if row is None else bytes(row[0])

    def is_canonical(self, block_hash: bytes) -> bool:
        row = self.db.execute("SELECT 1 FROM canonical WHERE hash = ?", (block_hash,)).fetchone()
        return row is not None

    def link(self, block_hash: bytes) -> tuple[bytes, int] | None:
        """A known block's (parent hash, height), without reading the block itself."""
        row = self.db.execute(
            "SELECT parent, height FROM blocks WHERE hash = ?", (block_hash,)
        ).fetchone()
        return None if row is None else (bytes(row[0]), int(row[1]))

    def child_hashes(self, block_hash: bytes) -> list[bytes]:
        """The hashes of the known blocks built directly on `block_hash`."""
        rows = self.db.execute("SELECT hash FROM blocks WHERE parent = ?", (block_hash,))
        return [bytes(row[0]) for row in rows.fetchall()]

    def best_descendant(self, ancestor: bytes) -> StoredBlock | None:
        """The highest known block built on `ancestor` (itself if none; the first found of
        equal height), None if `ancestor` is unknown."""
        root = self.link(ancestor)
        if root is None:
            return None
        best, best_height = ancestor, root[1]
        frontier = [(ancestor, root[1])]
        while frontier:
            block_hash, height = frontier.pop()
            if height > best_height:
                best, best_height = block_hash, height
            frontier.extend((child, height + 1) for child in self.child_hashes(block_hash))
        return self.block(best)

    def descends(self, block_hash: bytes, ancestor: bytes) -> bool:
        """Whether `block_hash` is `ancestor` or built on it (False if either is unknown)."""
        target = self.link(ancestor)
        if target is None:
            return False
        cursor, link = block_hash, self.link(block_hash)
        while link is not None and link[1] > target[1]:
            cursor = link[0]
            link = self.link(cursor)
        return link is not None and cursor == ancestor

    def max_height(self) -> int:
        """The height of the highest known block on any branch."""
        row = self.db.execute("SELECT MAX(height) FROM blocks").fetchone()
        return int(row[0] or 0)

    def children(self, block_hash: bytes) -> list[StoredBlock]:
        rows = self.db.execute(
            "SELECT hash, parent, slot, height, block FROM blocks WHERE parent = ?", (block_hash,)
        ).fetchall()
        return [_stored(row) for row in rows]

    def canonical_range(self, start: int, count: int) -> list[StoredBlock]:
        rows = self.db.execute(
            "SELECT b.hash, b.parent, b.slot, b.height, b.block FROM canonical c "
            "JOIN blocks b ON b.hash = c.hash WHERE c.height >= ? ORDER BY c.height LIMIT ?",
            (start, count),
        ).fetchall()
        return [_stored(row) for row in rows]

    # --- state --------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        """The value of a state key at the canonical head."""
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def items(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """State entries whose key starts with `prefix`, in key order."""
        for key, value in self.db.execute(
            "SELECT key, value FROM state WHERE key >= ? ORDER BY key", (prefix,)
        ):
            if not bytes(key).startswith(prefix):
                break
            yield bytes(key), bytes(value)

    def seed_state(self, items: Mapping[bytes, bytes]) -> None:
        """Write state entries outside any block (benchmarks and tools that build a large
        state directly); the head's undo log does not record them."""
        with self._transaction() as db:
            db.executemany(_UPSERT, [(k, v, data_service(k)) for k, v in items.items()])
        self._item_counts.clear()

    def service_items(self, service: int) -> Iterator[tuple[bytes, bytes]]:
        """The data items C(service, h) at the canonical head (storage, preimages,
        requests; eq. D.2)."""
        for key, value in self.db.execute(
            "SELECT key, value FROM state WHERE service = ?", (service,)
        ):
            yield bytes(key), bytes(value)

    def service_bytes(self, service: int) -> int:
        """Octets of the service's data items (keys and values) at the head."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(LENGTH(key) + LENGTH(value)), 0) FROM state WHERE service = ?",
            (service,),
        )
        return int(row.fetchone()[0])

    def service_item_count(self, service: int) -> int:
        """How many data items the service has at the head (counted once, then kept up to
        date by each import: a block's cost must not grow with the service's size)."""
        count = self._item_counts.get(service)
        if count is None:
            row = self.db.execute("SELECT COUNT(*) FROM state WHERE service = ?", (service,))
            count = self._item_counts[service] = int(row.fetchone()[0])
        return count

    # --- import, rollback, finality ------------------------------------------------------

    def local(self, block_hash: bytes, name: str) -> bytes | None:
        """Node-local data recorded with a block (see `import_block`)."""
        row = self.db.execute(
            "SELECT data FROM local WHERE block = ? AND name = ?", (block_hash, name)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def local_rows(self, name: str) -> Iterator[tuple[bytes, bytes]]:
        """Every (block hash, data) of node-local data `name`, on any branch."""
        for block, data in self.db.execute(
            "SELECT block, data FROM local WHERE name = ?", (name,)
        ):
            yield bytes(block), bytes(data)

    def prune_local(self, name: str, below_height: int) -> int:
        """Delete `name` entries of blocks below `below_height`; returns how many."""
        cursor = self.db.execute(
            "DELETE FROM local WHERE name = ? AND block IN "
            "(SELECT hash FROM blocks WHERE height < ?)",
            (name, below_height),
        )
        return int(cursor.rowcount)

    def init_genesis(
        self,
        block_hash: bytes,
        slot: int,
        block: bytes,
        state: StateChanges,
        local: Mapping[str, bytes] | None = None,
    ) -> None:
        """Store the genesis block and state; a no-op if this genesis is already stored."""
        existing = self.genesis
        if existing is not None:
            if existing != block_hash:
                raise StorageError(
                    f"{self.path} holds a different genesis (0x{existing.hex()[:16]}, not "
                    f"0x{block_hash.hex()[:16]}): it belongs to another devnet"
                )
            return
        with self._transaction() as db:
            db.execute(
                "INSERT INTO blocks(hash, parent, slot, height, block) VALUES(?, ?, ?, 0, ?)",
                (block_hash, bytes(32), slot, block),
            )
            db.execute("INSERT INTO canonical(height, hash) VALUES(0, ?)", (block_hash,))
            for key, value in state.items():
                if value is not None:
                    db.execute(_UPSERT, (key, value, data_service(key)))
            for name in ("genesis", "head", "finalized"):
                self._set_meta(name, block_hash)
            for name, data in (local or {}).items():
                db.execute(
                    "INSERT INTO local(block, name, data) VALUES(?, ?, ?)", (block_hash, name, data)
                )

    def add_block(self, block_hash: bytes, parent: bytes, slot: int, block: bytes) -> StoredBlock:
        """Record a block whose parent is known, without making it canonical (a fork)."""
        parent_block = self.block(parent)
        if parent_block is None:
            raise StorageError(f"unknown parent {parent.hex()}")
        if slot <= parent_block.slot:
            raise StorageError(f"slot {slot} does not follow parent slot {parent_block.slot}")
        stored = StoredBlock(block_hash, parent, slot, parent_block.height + 1, block)
        self.db.execute(
            "INSERT OR IGNORE INTO blocks(hash, parent, slot, height, block) VALUES(?, ?, ?, ?, ?)",
            (block_hash, parent, slot, stored.height, block),
        )
        return stored

    def import_block(
        self,
        block_hash: bytes,
        parent: bytes,
        slot: int,
        block: bytes,
        changes: StateChanges,
        local: Mapping[str, bytes] | None = None,
    ) -> StoredBlock:
        """Append a block on the canonical head with its state changes, atomically.

        `local` is node-local data derived from the block (snapshots, wallet indexes) that
        is not part of the consensus state; it commits in the same transaction.
        """
        if parent != self.head:
            raise StorageError("import_block extends the canonical head only; roll back first")
        with self._transaction() as db:
            stored = self.add_block(block_hash, parent, slot, block)
            for name, data in (local or {}).items():
                db.execute(
                    "INSERT OR REPLACE INTO local(block, name, data) VALUES(?, ?, ?)",
                    (block_hash, name, data),
                )
            db.execute(
                "INSERT INTO canonical(height, hash) VALUES(?, ?)", (stored.height, block_hash)
            )
            counted: dict[int, int] = {}
            for position, (key, value) in enumerate(changes.items()):
                previous = self.get(key)
                db.execute(
                    "INSERT INTO undo(block, position, key, previous) VALUES(?, ?, ?, ?)",
                    (block_hash, position, key, previous),
                )
                service = data_service(key)
                if service is not None and (previous is None) != (value is None):
                    counted[service] = counted.get(service, 0) + (1 if previous is None else -1)
                if value is None:
                    db.execute("DELETE FROM state WHERE key = ?", (key,))
                else:
                    db.execute(_UPSERT, (key, value, service))
            self._set_meta("head", block_hash)
        for service, delta in counted.items():  # committed: the kept counts follow
            if service in self._item_counts:
                self._item_counts[service] += delta
        return stored

    def undo_entries(self, block_hash: bytes) -> dict[bytes, bytes | None]:
        """The state entries rolling `block_hash` back restores: key -> value before the
        block (None: the key was absent)."""
        rows = self.db.execute(
            "SELECT key, previous FROM undo WHERE block = ? ORDER BY position DESC", (block_hash,)
        ).fetchall()
        return {bytes(key): None if previous is None else bytes(previous) for key, previous in rows}

    def roll_back_head(self) -> bytes:
        """Undo the canonical head block's state changes; its parent becomes the head.

        The block stays known (as a fork). Final blocks are never rolled back.
        """
        head = self.head
        if head is None or head == self.finalized:
            raise StorageError("the head is final (or absent) and cannot be rolled back")
        stored = self.block(head)
        assert stored is not None
        with self._transaction() as db:
            undo = db.execute(
                "SELECT key, previous FROM undo WHERE block = ? ORDER BY position DESC", (head,)
            ).fetchall()
            counted: dict[int, int] = {}
            for key, previous in undo:
                service = data_service(bytes(key))
                if service is not None and (previous is None) != (self.get(bytes(key)) is None):
                    counted[service] = counted.get(service, 0) + (-1 if previous is None else 1)
                if previous is None:
                    db.execute("DELETE FROM state WHERE key = ?", (key,))
                else:
                    db.execute(_UPSERT, (key, previous, service))
            db.execute("DELETE FROM undo WHERE block = ?", (head,))
            db.execute("DELETE FROM canonical WHERE height = ?", (stored.height,))
            self._set_meta("head", stored.parent)
        for service, delta in counted.items():
            if service in self._item_counts:
                self._item_counts[service] += delta
        return stored.parent

    def finalize(self, block_hash: bytes) -> None:
        """Mark a canonical block final; finality never moves backwards."""
        stored = self.block(block_hash)
        if stored is None or not self.is_canonical(block_hash):
            raise StorageError("only a known canonical block can be finalized")
        current = self.finalized
        current_block = self.block(current) if current else None
        if current_block is not None and stored.height < current_block.height:
            raise StorageError("finality cannot move backwards")
        with self._transaction() as db:
            self._set_meta("finalized", block_hash)
            # Undo logs at or below the final block are never needed again.
            db.execute(
                "DELETE FROM undo WHERE block IN (SELECT hash FROM canonical WHERE height <= ?)",
                (stored.height,),
            )

    def fork_point(self, block_hash: bytes) -> StoredBlock:
        """The latest canonical ancestor of a known block."""
        stored = self.block(block_hash)
        if stored is None:
            raise StorageError(f"unknown block {block_hash.hex()}")
        while not self.is_canonical(stored.hash):
            parent = self.block(stored.parent)
            if parent is None:
                raise StorageError("block does not descend from the genesis")
            stored = parent
        return stored

    def branch(self, fork_point: StoredBlock, tip: StoredBlock) -> list[StoredBlock]:
        """The blocks after `fork_point` up to `tip` (a descendant of it), oldest first."""
        branch = []
        cursor = tip
        while cursor.hash != fork_point.hash:
            branch.append(cursor)
            parent = self.block(cursor.parent)
            if parent is None:
                raise StorageError(f"block {tip.hash.hex()} does not descend from the fork point")
            cursor = parent
        branch.reverse()
        return branch


def _stored(row: tuple[bytes, bytes, int, int, bytes]) -> StoredBlock:
    return StoredBlock(bytes(row[0]), bytes(row[1]), int(row[2]), int(row[3]), bytes(row[4]))
