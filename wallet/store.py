"""The wallet's SQLite store: scanned blocks, owned notes, spends and history.

Each scanned block's results (notes received, notes spent, history entries) commit in one
transaction together with the block's height and hash, so a wallet killed mid-scan resumes
from the last block it fully recorded. `roll_back_to(height)` removes everything above a
fork point in one transaction: notes received above it disappear, spends above it are
undone, history above it is dropped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from shielded.sqlite import open_database, transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    parent BLOB NOT NULL,
    slot INTEGER NOT NULL,
    epoch INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notes (
    commitment BLOB PRIMARY KEY,
    account INTEGER NOT NULL,
    value INTEGER NOT NULL,
    expiry_epoch INTEGER NOT NULL,
    permanent INTEGER NOT NULL,
    position INTEGER NOT NULL,
    nullifier BLOB NOT NULL UNIQUE,
    note BLOB NOT NULL,
    memo BLOB NOT NULL,
    received_height INTEGER NOT NULL,
    spent_height INTEGER
);
CREATE INDEX IF NOT EXISTS notes_unspent ON notes(account, spent_height);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    height INTEGER NOT NULL,
    account INTEGER NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    fee INTEGER NOT NULL,
    transaction_id BLOB,
    memo TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class WalletStoreError(Exception):
    """A store operation that would break the scanned chain's consistency."""


@dataclass(frozen=True)
class ScannedBlock:
    """A block the wallet has processed."""

    height: int
    hash: bytes
    parent: bytes
    slot: int
    epoch: int


@dataclass(frozen=True)
class OwnedNote:
    """A note the wallet can spend (or could, before it was spent)."""

    commitment: bytes
    account: int
    value: int
    expiry_epoch: int
    permanent: bool
    position: int
    nullifier: bytes
    note: bytes
    """The note's canonical encoding (what the builder needs to spend it)."""
    memo: bytes
    received_height: int
    spent_height: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the wallet's history: received, sent, deposit, withdrawal, renewal."""

    height: int
    account: int
    kind: str
    amount: int
    fee: int = 0
    transaction_id: bytes | None = None
    memo: str = ""


class WalletStore:
    """SQLite persistence of the wallet's view of the chain."""

    def __init__(self, path: Path | str) -> None:
        try:
            self.db = open_database(path, SCHEMA)
        except sqlite3.DatabaseError as error:  # not SQLite, or damaged: say which file
            raise WalletStoreError(
                f"{path} is not a usable wallet store ({error}); move it aside and sync "
                "again to rebuild it from the chain"
            ) from error

    def close(self) -> None:
        self.db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.db)

    # --- scanned chain ------------------------------------------------------------------

    def tip(self) -> ScannedBlock | None:
        """The highest block recorded, or None before the first scan."""
        row = self.db.execute(
            "SELECT height, hash, parent, slot, epoch FROM blocks ORDER BY height DESC LIMIT 1"
        ).fetchone()
        return None if row is None else _block(row)

    def block_at(self, height: int) -> ScannedBlock | None:
        row = self.db.execute(
            "SELECT height, hash, parent, slot, epoch FROM blocks WHERE height = ?", (height,)
        ).fetchone()
        return None if row is None else _block(row)

    def record_block(
        self,
        block: ScannedBlock,
        received: Sequence[OwnedNote] = (),
        spent_nullifiers: Sequence[bytes] = (),
        history: Sequence[HistoryEntry] = (),
    ) -> list[OwnedNote]:
        """Atomically record one scanned block; returns the owned notes it spent.

        The block must extend the tip (same parent hash, next height).
        """
        tip = self.tip()
        if tip is not None and (block.height != tip.height + 1 or block.parent != tip.hash):
            raise WalletStoreError(
                f"block {block.height} does not extend the scanned tip {tip.height}"
            )
        with self._transaction() as db:
            db.execute(
                "INSERT INTO blocks(height, hash, parent, slot, epoch) VALUES(?, ?, ?, ?, ?)",
                (block.height, block.hash, block.parent, block.slot, block.epoch),
            )
            for note in received:
                db.execute(
                    "INSERT OR IGNORE INTO notes(commitment, account, value, expiry_epoch, "
                    "permanent, position, nullifier, note, memo, received_height) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        note.commitment,
                        note.account,
                        note.value,
                        note.expiry_epoch,
                        int(note.permanent),
                        note.position,
                        note.nullifier,
                        note.note,
                        note.memo,
                        block.height,
                    ),
                )
            spent = []
            for nullifier in spent_nullifiers:
                note = self.note_by_nullifier(nullifier)
                if note is not None and note.spent_height is None:
                    db.execute(
                        "UPDATE notes SET spent_height = ? WHERE nullifier = ?",
                        (block.height, nullifier),
                    )
                    spent.append(note)
            for entry in history:
                db.execute(
                    "INSERT INTO history(height, account, kind, amount, fee, transaction_id, memo)"
                    " VALUES(?, ?, ?, ?, ?, ?, ?)",
                    (
                        block.height,
                        entry.account,
                        entry.kind,
                        entry.amount,
                        entry.fee,
                        entry.transaction_id,
                        entry.memo,
                    ),
                )
        return spent

    def roll_back_to(self, height: int) -> int:
        """Forget every block above `height` and its effects; returns blocks removed."""
        with self._transaction() as db:
            removed = db.execute("DELETE FROM blocks WHERE height > ?", (height,)).rowcount
            db.execute("DELETE FROM notes WHERE received_height > ?", (height,))
            db.execute("UPDATE notes SET spent_height = NULL WHERE spent_height > ?", (height,))
            db.execute("DELETE FROM history WHERE height > ?", (height,))
        return int(removed)

    # --- notes and history --------------------------------------------------------------

    def note_by_nullifier(self, nullifier: bytes) -> OwnedNote | None:
        row = self.db.execute(_NOTE_SELECT + " WHERE nullifier = ?", (nullifier,)).fetchone()
        return None if row is None else _note(row)

    def notes(self, account: int | None = None, *, unspent_only: bool = False) -> list[OwnedNote]:
        query = _NOTE_SELECT + " WHERE 1 = 1"
        args: list[object] = []
        if account is not None:
            query += " AND account = ?"
            args.append(account)
        if unspent_only:
            query += " AND spent_height IS NULL"
        query += " ORDER BY received_height, position"
        return [_note(row) for row in self.db.execute(query, args)]

    def history(self, account: int | None = None) -> list[HistoryEntry]:
        query = "SELECT height, account, kind, amount, fee, transaction_id, memo FROM history"
        args: tuple[object, ...] = ()
        if account is not None:
            query += " WHERE account = ?"
            args = (account,)
        rows = self.db.execute(query + " ORDER BY height, id", args).fetchall()
        return [
            HistoryEntry(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else bytes(r[5]), r[6])
            for r in rows
        ]

    def get_meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(name, value) VALUES(?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


_NOTE_SELECT = (
    "SELECT commitment, account, value, expiry_epoch, permanent, position, nullifier, note, "
    "memo, received_height, spent_height FROM notes"
)


def _block(row: tuple[int, bytes, bytes, int, int]) -> ScannedBlock:
    return ScannedBlock(int(row[0]), bytes(row[1]), bytes(row[2]), int(row[3]), int(row[4]))


def _note(row: tuple) -> OwnedNote:  # type: ignore[type-arg]
    return OwnedNote(
        commitment=bytes(row[0]),
        account=int(row[1]),
        value=int(row[2]),
        expiry_epoch=int(row[3]),
        permanent=bool(row[4]),
        position=int(row[5]),
        nullifier=bytes(row[6]),
        note=bytes(row[7]),
        memo=bytes(row[8]),
        received_height=int(row[9]),
        spent_height=None if row[10] is None else int(row[10]),
    )
