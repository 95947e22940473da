"""Wallet store: atomic per-block records and rollback to a fork point."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from wallet.store import (
    HistoryEntry,
    OwnedNote,
    ScannedBlock,
    WalletStore,
    WalletStoreError,
)


def block(height: int, fork: bytes = b"a") -> ScannedBlock:
    parent = bytes(32) if height == 0 else (fork if height > 1 else b"a") * 31 + bytes([height - 1])
    return ScannedBlock(height, fork * 31 + bytes([height]), parent, height, height // 12)


def note(tag: int, height: int) -> OwnedNote:
    return OwnedNote(
        commitment=bytes([tag]) * 32,
        account=0,
        value=100 * tag,
        expiry_epoch=5,
        permanent=False,
        position=tag,
        nullifier=bytes([tag + 100]) * 32,
        note=b"n",
        memo=b"",
        received_height=height,
    )


@pytest.fixture
def store(tmp_path: Path) -> WalletStore:
    return WalletStore(tmp_path / "wallet.sqlite")


def test_record_and_spend(store: WalletStore) -> None:
    store.record_block(block(0))
    store.record_block(block(1), received=[note(1, 1), note(2, 1)])
    spent = store.record_block(block(2), spent_nullifiers=[note(1, 1).nullifier, b"x" * 32])
    assert [n.commitment for n in spent] == [note(1, 1).commitment]
    assert [n.value for n in store.notes(unspent_only=True)] == [200]
    assert store.tip() == block(2)


def test_roll_back_undoes_receipts_spends_and_history(store: WalletStore) -> None:
    store.record_block(block(0))
    received = [HistoryEntry(1, 0, "received", 100)]
    store.record_block(block(1), received=[note(1, 1)], history=received)
    before = (store.notes(), store.history())
    store.record_block(
        block(2),
        received=[note(2, 2)],
        spent_nullifiers=[note(1, 1).nullifier],
        history=[HistoryEntry(2, 0, "sent", 100)],
    )
    assert store.roll_back_to(1) == 1
    assert (store.notes(), store.history()) == before
    assert store.tip() == block(1)


def test_invalid_block_not_extending_the_tip(store: WalletStore) -> None:
    store.record_block(block(0))
    store.record_block(block(1))
    with pytest.raises(WalletStoreError, match="does not extend"):
        store.record_block(block(3))
    with pytest.raises(WalletStoreError):
        store.record_block(ScannedBlock(2, b"z" * 32, b"wrong-parent".ljust(32, b"\0"), 2, 0))
    assert store.tip() == block(1)


def test_failed_record_changes_nothing(store: WalletStore) -> None:
    store.record_block(block(0))
    duplicate = [note(1, 1), note(1, 1)]  # same commitment twice is ignored, not an error
    store.record_block(block(1), received=duplicate)
    broken_entry = HistoryEntry(2, 0, None, 1)  # type: ignore[arg-type]  # NOT NULL violated
    with pytest.raises(sqlite3.IntegrityError):
        store.record_block(block(2), received=[note(3, 2)], history=[broken_entry])
    assert store.tip() == block(1)
    assert [n.commitment for n in store.notes()] == [note(1, 1).commitment]
