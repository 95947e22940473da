"""The pool as a validator process serves it to the RPC (`pool_rpc.PoolNode`): a mixin of
`JamNode`.

Reads go to the pool service's items at the head (`jam_pool_view.JamPoolView`: snapshot,
compact blocks, transaction statuses); a submitted transaction gets the checks the pool's
refine makes without pool state (proofs and signatures) at once, then joins the mempool
and is gossiped; the faucet pays from the devnet's funded account (`faucet.Faucet`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jamcore.crypto.hashing import blake2b_256
from shielded.native_pool import NativePool
from shielded.node.faucet import Faucet
from shielded.node.jam_devnet import POOL_SERVICE_ID
from shielded.node.jam_guarantee_flow import MempoolError
from shielded.node.jam_messages import Outgoing
from shielded.node.jam_pool_view import JamPoolView
from shielded.node.jam_validator import JamValidator
from shielded.node.storage import ChainStore, StoredBlock
from shielded.notes.address import ShieldedAddress
from shielded.pool_storage import PoolSnapshot
from shielded.service import verify_proofs
from shielded.transaction import Transaction, TransactionError

if TYPE_CHECKING:
    from jamcore.spec import ChainSpec

__all__ = ["PoolNodeRole"]


def _transaction_id(raw: bytes) -> bytes:
    """The transaction id of an encoded transaction, or the hash of undecodable bytes."""
    try:
        return Transaction.decode(raw).tx_id
    except TransactionError:
        return blake2b_256(raw)


class PoolNodeRole:
    """`pool_rpc.PoolNode` on a `JamNode` (module docstring), whose attributes it uses."""

    validator: JamValidator
    spec: ChainSpec
    store: ChainStore
    pool: NativePool | None
    pool_view: JamPoolView
    faucets: Faucet

    if TYPE_CHECKING:

        def slot_at(self, now: float) -> int: ...
        async def send(self, outgoing: list[Outgoing]) -> None: ...

    @property
    def faucet_available(self) -> bool:
        return self.faucets.available

    async def faucet(self, address: ShieldedAddress, amount: int) -> tuple[bytes, str | None]:
        return await self.faucets.deposit(self, address, amount)

    @property
    def pool_head(self) -> StoredBlock:
        return self.validator.chain.head

    @property
    def epoch_length(self) -> int:
        return self.spec.epoch_length

    def pool_snapshot(self) -> PoolSnapshot:
        return self.pool_view.snapshot()

    def current_slot(self) -> int:
        return self.slot_at(time.time())

    def spam_anchor(self) -> bytes:
        """Spam proofs bind to the newest entropy of the pool's window (eta'_0 of the head:
        a service sees the entropy, never a block hash)."""
        return self.pool_view.snapshot().anchors.newest

    def recent_hashes(self) -> list[bytes]:
        history = self.validator.head_state().recent_blocks.history
        return [entry.header_hash for entry in history][-8:]

    def compact_blocks(self, from_height: int, count: int) -> list[Any]:
        return self.pool_view.compact_blocks(from_height, count)

    def pool_footprint(self) -> tuple[int, int]:
        return (
            self.store.service_item_count(POOL_SERVICE_ID),
            self.store.service_bytes(POOL_SERVICE_ID),
        )

    def mempool_size(self) -> int:
        return len(self.validator.mempool)

    async def submit_transaction(self, raw: bytes) -> tuple[bytes, str | None]:
        """Check a pool transaction as the pool's refine will (the checks that read no pool
        state: proofs and signatures, `shielded.service.verify_proofs`), then admit it and
        gossip it; (tx id, None) or (tx id, why it was refused). The stateful checks
        (nullifiers, anchor recency, fee, epoch) are accumulate's."""
        tx_id = _transaction_id(raw)
        try:
            if self.pool is not None:
                verify_proofs(Transaction.decode(raw), self.pool.proofs)
        except TransactionError as error:
            return tx_id, str(error)
        try:
            outgoing = self.validator.submit(raw)
        except MempoolError as error:
            return tx_id, str(error)
        await self.send(outgoing)
        return tx_id, None

    def transaction_status(self, tx_id: bytes) -> dict[str, object]:
        """included (height, block, final, canonical), rejected, pending or unknown."""
        known = self.pool_view.status(tx_id)
        if known is not None:
            return dict(known)
        if tx_id in self.validator.mempool or tx_id in self.validator.pool.busy():
            return {"status": "pending"}
        refused = self.validator.pool.refused.get(tx_id)
        if refused is not None:
            return {"status": "rejected", "reason": refused}
        settled = self.validator.outcomes.get(tx_id)
        if settled is not None and not settled[1]:
            return {"status": "rejected", "reason": "refused by the pool's accumulate"}
        return {"status": "unknown"}

    def _rejections(self) -> dict[bytes, str]:
        """Why the pool's accumulate of the block being applied refused transactions."""
        outcome = self.pool.last_outcome if self.pool is not None else None
        return dict(outcome.rejected) if outcome is not None else {}

