"""A validator's pending pool transactions and what became of each one it has seen.

Pool transactions flow like work items (design section 5): a validator holds them until
an author's report carries them in a block. When the canonical chain changes, the
transactions of blocks that left it (retracted, graypaper section 19's "best chain"
changes) return to the pool unless the new branch carries them too, so a transaction
included only in a losing block (an equivocator's twin, a partitioned validator's fork)
is offered again instead of being lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence

from jamcore.crypto.hashing import blake2b_256
from shielded.node.pool_layer import COMPACT
from shielded.node.storage import ChainStore, StoredBlock
from shielded.transaction import Transaction, TransactionError

log = logging.getLogger("shielded.mempool")

TransactionStatus = dict[str, object]
"""{"status": "pending" | "included" | "rejected", and "height"/"block" or "reason"}."""


def transaction_id(raw: bytes) -> bytes:
    """The transaction id of an encoded transaction, or the hash of undecodable bytes."""
    try:
        return Transaction.decode(raw).tx_id
    except TransactionError:
        return blake2b_256(raw)


class Mempool:
    """Pending transactions in arrival order, and each seen transaction's status, kept in
    step with the canonical chain through `follow`."""

    def __init__(
        self,
        store: ChainStore,
        tip: StoredBlock,
        transactions_of: Callable[[StoredBlock], Sequence[bytes]],
    ) -> None:
        self.store = store
        self.pending: dict[bytes, bytes] = {}
        """tx_id -> encoding, in arrival order."""
        self.status: dict[bytes, TransactionStatus] = {}
        self._tip = tip
        self._transactions_of = transactions_of

    def __len__(self) -> int:
        return len(self.pending)

    def __contains__(self, tx_id: object) -> bool:
        return tx_id in self.pending

    def candidates(self) -> list[bytes]:
        """The pending encodings, oldest first (what an author offers to `select`)."""
        return list(self.pending.values())

    def add(self, tx_id: bytes, raw: bytes) -> None:
        self.pending[tx_id] = raw
        self.status[tx_id] = {"status": "pending"}

    def refuse(self, failed: Mapping[bytes, str]) -> None:
        """Drop transactions that failed refinement (encoding -> reason); one already
        included on the canonical chain keeps that status."""
        for raw, reason in failed.items():
            self._reject(transaction_id(raw), reason)

    def follow(self, head: StoredBlock) -> None:
        """Move to a new canonical head: the transactions of retracted blocks (the previous
        head's branch above its latest canonical ancestor) become pending again, then those
        of the newly canonical blocks, oldest first, are marked included and those the
        blocks rejected are dropped."""
        fork_point = self.store.fork_point(self._tip.hash)
        for stored in self.store.branch(fork_point, self._tip):
            block = stored.hash.hex()
            for raw in self._transactions_of(stored):
                tx_id = transaction_id(raw)
                if self.status.get(tx_id, {}).get("block") == block:
                    log.info("tx %s pending again: %s left the chain", tx_id.hex()[:12], block[:12])
                    self.add(tx_id, raw)
        for stored in self.store.branch(fork_point, head):
            data = self.store.local(stored.hash, COMPACT)
            if data is None:
                continue
            compact = json.loads(data)
            for entry in compact["transactions"]:
                tx_id = bytes.fromhex(entry["tx_id"])
                self.pending.pop(tx_id, None)
                self.status[tx_id] = {
                    "status": "included",
                    "height": stored.height,
                    "block": stored.hash.hex(),
                }
            for tx_hex, reason in compact["rejected"].items():
                self._reject(bytes.fromhex(tx_hex), reason)
        self._tip = head

    def _reject(self, tx_id: bytes, reason: str) -> None:
        self.pending.pop(tx_id, None)
        if self.status.get(tx_id, {}).get("status") != "included":
            self.status[tx_id] = {"status": "rejected", "reason": reason}
