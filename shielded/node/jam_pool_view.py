"""The pool as wallets see it on jamcore's import path: its state at the head, read from the
pool service's storage items, and a compact block per block.

On this path a pool transaction is refined by guarantors (the report's work result holds it
without its proof, `native_pool_refine`), and accumulated once its report is available: the
block that accumulates it names the package in xi' (graypaper eq. 12.32) and the pool's
accumulate writes the `outcome` item (accepted ids with their outputs' tree positions, and
the rejected ids). The compact block of a block is built from those two, in the same store
transaction as the block (`JamChain.local_of`), so a reorg or a restart finds it with the
block. The ids the outcome names deferred (the block had no room for them,
`shielded.pow.quota`) are neither included nor rejected: they stay pending for a later block.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from jamcore.block import Block
from jamcore.codec import CodecError
from jamcore.errors import JamError
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from shielded.native_pool import OUTCOME, OUTCOME_KEY, PoolOutcome
from shielded.native_pool_refine import decode_refined, restore_transaction
from shielded.node.compact import COMPACT, compact_block, compact_entry
from shielded.node.jam_chain import JamChain
from shielded.pool_storage import PoolSnapshot, PoolStorage
from shielded.service import PoolConfig
from shielded.transaction import Transaction, TransactionError

Reasons = Callable[[], Mapping[bytes, str]]
"""The rejection reasons of the block being accumulated (tx id -> reason), node-local."""


def _outcome(state: State, service: int) -> PoolOutcome | None:
    account = state.services.get(service)
    raw = None if account is None else account.entries.get(storage_key(service, OUTCOME_KEY))
    if raw is None:
        return None
    try:
        return OUTCOME.decode(raw)
    except JamError:
        return None


def accumulated_transactions(
    prior: State, posterior: State, service: int
) -> dict[bytes, Transaction]:
    """The pool transactions (without proofs) of the reports the block accumulated: those
    pending in rho (eq. 11.43) whose package is in the newest entry of xi' (eq. 12.32)."""
    done = set(posterior.accumulated[-1]) if posterior.accumulated else set()
    found: dict[bytes, Transaction] = {}
    for pending in prior.availability:
        if pending is None or pending.report.package_spec.hash not in done:
            continue
        for digest in pending.report.results:
            if digest.service_id != service or digest.result.tag != "ok":
                continue
            try:
                entries = decode_refined(digest.result.value)
            except CodecError:
                continue
            for entry in entries:
                try:
                    transaction = restore_transaction(entry.body)
                except TransactionError:
                    continue
                found[transaction.tx_id] = transaction
    return found


class JamPoolView:
    """The head's pool snapshot (cached per head) and the compact blocks of `chain`."""

    def __init__(
        self, chain: JamChain, config: PoolConfig, service: int, reasons: Reasons | None = None
    ) -> None:
        self.chain = chain
        self.config = config
        self.service = service
        self.reasons = reasons
        self._snapshot: tuple[bytes, PoolSnapshot] | None = None
        self.included: dict[bytes, list[bytes]] = {}
        """tx id -> the blocks whose accumulation accepted it (on any branch)."""
        self.rejected: dict[bytes, str] = {}
        chain.local_of = self.local_of
        self._index_stored()

    def _index_stored(self) -> None:
        """Rebuild the transaction index from the stored compact blocks (a restarted
        validator still answers for the transactions of blocks before its restart)."""
        for block_hash, data in self.chain.store.local_rows(COMPACT):
            try:
                compact = json.loads(data)
                accepted = [bytes.fromhex(entry["tx_id"]) for entry in compact["transactions"]]
                refused = {bytes.fromhex(k): str(v) for k, v in compact["rejected"].items()}
            except (ValueError, KeyError, TypeError):
                continue  # not a compact block this view wrote: nothing to index
            for tx_id in accepted:
                self.included.setdefault(tx_id, []).append(block_hash)
            for tx_id, reason in refused.items():
                self.rejected.setdefault(tx_id, reason)

    def snapshot(self) -> PoolSnapshot:
        """The pool at the head, loaded from its storage items (PoolStorageError if they
        are malformed)."""
        head = self.chain.head_hash
        if self._snapshot is None or self._snapshot[0] != head:
            account = self.chain.head_state().services[self.service]
            entries = account.entries
            storage = PoolStorage.load(
                self.config, lambda key: entries.get(storage_key(self.service, key))
            )
            self._snapshot = (head, storage.snapshot)
        return self._snapshot[1]

    def local_of(
        self, block: Block, block_hash: bytes, prior: State, posterior: State
    ) -> dict[str, bytes]:
        """The compact block of `block` (`JamChain.local_of`)."""
        header = block.header
        parent = self.chain.store.block(header.parent)
        height = parent.height + 1 if parent is not None else 0
        outcome = _outcome(posterior, self.service)
        entries: list[dict[str, Any]] = []
        rejected: dict[str, str] = {}
        if outcome is not None and outcome.slot == header.slot:
            transactions = accumulated_transactions(prior, posterior, self.service)
            reasons = self.reasons() if self.reasons is not None else {}
            for accepted in outcome.accepted:
                transaction = transactions.get(accepted.tx_id)
                if transaction is None or len(transaction.outputs) != len(accepted.outputs):
                    continue  # not this node's business to guess: the outcome names it
                placed = {
                    output.commitment: (place.position, place.permanent)
                    for output, place in zip(transaction.outputs, accepted.outputs, strict=True)
                }
                entries.append(compact_entry(transaction, placed))
                self.included.setdefault(accepted.tx_id, []).append(block_hash)
            for tx_id in outcome.rejected:
                reason = reasons.get(tx_id, "refused by the pool's accumulate")
                rejected[tx_id.hex()] = reason
                self.rejected.setdefault(tx_id, reason)
        epoch = header.slot // self.chain.spec.epoch_length
        data = compact_block(
            height, block_hash, header.parent, header.slot, epoch, entries, rejected
        )
        return {COMPACT: data}

    def compact_blocks(self, from_height: int, count: int) -> list[Any]:
        """The compact blocks of the canonical chain from `from_height` (the genesis block's
        is empty)."""
        store = self.chain.store
        blocks = []
        for stored in store.canonical_range(from_height, count):
            data = store.local(stored.hash, COMPACT)
            if data is None and stored.height == 0:
                data = compact_block(0, stored.hash, stored.parent, stored.slot, 0, [], {})
            if data is None:
                break
            blocks.append(json.loads(data))
        return blocks

    def status(self, tx_id: bytes) -> dict[str, Any] | None:
        """included (height, block, final, canonical) or rejected, None if neither."""
        store = self.chain.store
        blocks = [b for b in self.included.get(tx_id, ()) if store.has_block(b)]
        if blocks:
            canonical = [b for b in blocks if store.is_canonical(b)]
            block_hash = (canonical or blocks)[-1]
            stored = store.block(block_hash)
            assert stored is not None
            return {
                "status": "included",
                "height": stored.height,
                "block": block_hash.hex(),
                "final": bool(canonical) and stored.height <= self.chain.finalized.height,
                "canonical": bool(canonical),
            }
        reason = self.rejected.get(tx_id)
        return None if reason is None else {"status": "rejected", "reason": reason}
