"""SQLite helpers shared by the node's chain store and the wallet's store: one way to open a
database (WAL, synchronous=NORMAL: committed transactions survive a killed process) and one
all-or-nothing transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def open_database(path: Path | str, schema: str) -> sqlite3.Connection:
    """Connect in autocommit mode with WAL journaling and create `schema` if missing;
    sqlite3.DatabaseError if the file is not a usable database."""
    db = sqlite3.connect(Path(path), isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(schema)
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back if anything inside raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
