"""The shielded pool in the node: its work reports, state snapshots and wallet index.

Transactions reach a block as one work item of the pool service (see `guarantees.py`): the
author refines the mempool's transactions and its report's output is the batch of their
encodings. Every importer audits the batch by running refine again (each spend proof,
spam proof, fee and signature is verified before any state changes), then accumulates the
transactions that pass with `shielded.service`, exactly as the author did.

State: the pool is a service whose state lives in its storage items in the merklized
chain state (`shielded.pool_storage`), so the header's state root commits to every
commitment, nullifier and balance. A block writes only the items it changed; pruning an
epoch deletes its keys. The layer keeps the head's pool in memory, follows the store's head
block by block and reloads it from the items when the head moved otherwise (a restart, a
rollback, a failed import). Each block also records a compact block for wallets (JSON,
node-local): its outputs (commitment, position, tier tree, ciphertext), nullifiers and
transaction ids.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from jamcore.block import Block
from jamcore.codec import CodecError
from jamcore.state.keys import storage_key
from shielded.circuits.spend import SpendStatement, SpendVerifier
from shielded.node.chain import ChainState, InvalidBlock, LayerOutcome
from shielded.node.compact import compact_block, compact_entry
from shielded.node.guarantees import POOL_SERVICE_ID, GuaranteeError, service_outputs
from shielded.node.storage import ChainStore
from shielded.pool_storage import PoolSnapshot, PoolStorage, PoolStorageError
from shielded.pow import Candidate, RecentAnchors, SpamProof, SpamProofError, UsedProofs, fill_block
from shielded.service import PoolConfig, PoolState, RefineContext, refine
from shielded.transaction import (
    MAX_TRANSACTIONS_PER_BLOCK,
    POOL_BATCH,
    Transaction,
    TransactionError,
)

COMPACT = "compact"


def pool_state_key(item: bytes) -> bytes:
    """The state key of the pool service's storage item `item` (eq. D.2)."""
    return storage_key(POOL_SERVICE_ID, item)


class CachedSpendVerifier(SpendVerifier):
    """A spend verifier that remembers its verdicts: a node checks each transaction when it
    enters the mempool, when it authors a block and when it imports one; the Groth16
    pairing check (the expensive part) runs once per (statement, proof)."""

    def __init__(self, inner: SpendVerifier, capacity: int = 8192) -> None:
        self.inner = inner
        self.vk_hash = inner.vk_hash
        self.capacity = capacity
        self._verdicts: OrderedDict[bytes, bool] = OrderedDict()

    def verify(self, statement: SpendStatement, proof: bytes) -> bool:
        key = hashlib.blake2b(
            repr(statement.public_inputs()).encode() + bytes(proof), digest_size=32
        ).digest()
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self.inner.verify(statement, proof)
            self._verdicts[key] = verdict
            if len(self._verdicts) > self.capacity:
                self._verdicts.popitem(last=False)
        return verdict


class PoolLayer:
    """The pool service's part of block import (a `ChainLayer`)."""

    def __init__(
        self,
        verifier: SpendVerifier,
        config: PoolConfig,
        balances: Mapping[bytes, int],
        validator_keys: Sequence[bytes],
        epoch_length: int,
    ) -> None:
        self.verifier = CachedSpendVerifier(verifier)
        self.config = config
        self.balances = dict(balances)
        self.validator_keys = list(validator_keys)
        self.epoch_length = epoch_length
        self._pool: PoolStorage | None = None
        self._pool_at: bytes | None = None
        """The block whose post-state `_pool` holds (None: stale, reload)."""

    # --- the head's pool ------------------------------------------------------------------

    def _head_pool(self, store: ChainStore) -> PoolStorage:
        head = store.head or b""
        if self._pool is None or self._pool_at != head:
            self._pool = None
            try:
                self._pool = PoolStorage.load(
                    self.config, lambda item: store.get(pool_state_key(item))
                )
            except PoolStorageError as error:
                raise InvalidBlock(f"pool state at the head: {error}") from error
            self._pool_at = head
        return self._pool

    def head_snapshot(self, store: ChainStore) -> PoolSnapshot:
        """The pool after the head block: shared, so read it and never change it."""
        return self._head_pool(store).snapshot

    def refine_context(self, store: ChainStore, slot: int) -> tuple[RefineContext, PoolSnapshot]:
        """What refine checks a transaction against for a block at `slot` on the head (a
        new epoch changes only the epoch refine sees; the anchors stay those of the head)."""
        snapshot = self.head_snapshot(store)
        context = snapshot.service(self.verifier).context()
        epoch = slot // self.epoch_length
        if epoch > snapshot.state.epoch:
            context = replace(context, epoch=epoch)
        return context, snapshot

    # --- ChainLayer ---------------------------------------------------------------------

    def genesis(self, genesis_hash: bytes) -> LayerOutcome:
        state = PoolState.genesis(self.config, self.balances, epoch=0)
        anchors = RecentAnchors(self.config.spec.recent_anchors, (genesis_hash,))
        pool = PoolStorage(PoolSnapshot(state, anchors, UsedProofs()))
        items = {pool_state_key(item): value for item, value in pool.all_items().items()}
        compact = compact_block(0, genesis_hash, bytes(32), 0, 0, [], {})
        return LayerOutcome(dict(items), {COMPACT: compact})

    def apply_block(
        self, block: Block, block_hash: bytes, state: ChainState, store: ChainStore
    ) -> LayerOutcome:
        header = block.header
        transactions = self.transactions(block)
        self._check_capacity(transactions)
        if header.parent != store.head:
            raise InvalidBlock("the pool applies blocks on the head only")
        current = self._head_pool(store)
        snapshot = current.snapshot
        self._pool_at = None  # changed below: reload unless this block commits
        pool = snapshot.service(self.verifier)
        epoch = header.slot // self.epoch_length
        if epoch > snapshot.state.epoch:
            pool.begin_epoch(epoch)
        outcome = pool.apply_block(transactions)
        snapshot.anchors.push(block_hash)
        snapshot.used.prune(snapshot.anchors.oldest_position)
        parent = store.block(header.parent)
        height = parent.height + 1 if parent else 0
        placed = {o.commitment: (o.position, o.permanent) for o in outcome.appended}
        accepted = set(outcome.accepted)
        entries = []
        for raw in transactions:
            tx = _decode_or_none(raw)
            if tx is None or tx.tx_id not in accepted:
                continue
            entries.append(compact_entry(tx, placed))
        compact = compact_block(
            height,
            block_hash,
            header.parent,
            header.slot,
            epoch,
            entries,
            {tx_id.hex(): reason for tx_id, reason in outcome.rejected},
        )
        changes: dict[bytes, bytes | None] = {
            pool_state_key(item): value for item, value in current.take_changes().items()
        }
        self._pool_at = block_hash  # the store's head once the chain commits this block
        return LayerOutcome(changes, {COMPACT: compact})

    def transactions(self, block: Block) -> list[bytes]:
        """The encoded pool transactions `block` carries: the outputs of its guarantees for
        the pool service, each a batch (graypaper section 11, work results)."""
        try:
            outputs = service_outputs(block, POOL_SERVICE_ID, self.validator_keys)
        except GuaranteeError as error:
            raise InvalidBlock(f"pool report: {error}") from error
        transactions: list[bytes] = []
        for output in outputs:
            try:
                transactions.extend(POOL_BATCH.decode(output))
            except CodecError as error:
                raise InvalidBlock(f"malformed pool batch: {error}") from error
        return transactions

    def _check_capacity(self, transactions: Sequence[bytes]) -> None:
        """Verify the block respects the block capacity and each spam tier's quota (the
        author's `fill_block` choice), so proofs never buy more than their share."""
        spec = self.config.spec
        if len(transactions) > spec.block_capacity:
            raise InvalidBlock(
                f"{len(transactions)} pool transactions exceed the capacity {spec.block_capacity}"
            )
        per_tier: dict[int, int] = {}
        for raw in transactions:
            transaction = _decode_or_none(raw)
            if transaction is None or transaction.spam_proof is None:
                continue
            try:
                tier = SpamProof.decode(transaction.spam_proof).tier
            except SpamProofError:
                continue  # refine rejects it; it takes no tier capacity
            per_tier[tier] = per_tier.get(tier, 0) + 1
        for tier, count in per_tier.items():
            if 1 <= tier <= len(spec.tiers) and count > spec.tier_quota(tier):
                raise InvalidBlock(
                    f"{count} tier-{tier} transactions exceed the tier's quota "
                    f"{spec.tier_quota(tier)}"
                )

    # --- the author's side ----------------------------------------------------------------

    def select(
        self, store: ChainStore, slot: int, candidates: Sequence[bytes]
    ) -> tuple[list[bytes], dict[bytes, str]]:
        """The block's pool transactions from `candidates` (encoded, in arrival order), and
        why the refused ones failed (design section 3, "Spam proofs").

        Each candidate must pass refine now and not reveal a nullifier already on chain or
        taken by an earlier candidate; then `shielded.pow.fill_block` fills each spam-proof
        tier's quota by work and the fee lane by fee, never beyond the block's capacity.
        Transactions made for a later epoch, and valid ones that did not fit, wait.
        """
        context, snapshot = self.refine_context(store, slot)
        spent = snapshot.state.nullifiers
        failed: dict[bytes, str] = {}
        nullifiers: set[int] = set()
        valid: dict[bytes, bytes] = {}  # tx_id -> encoding, in arrival order
        offers: list[Candidate] = []
        epoch = slot // self.epoch_length
        for raw in candidates:
            transaction = _decode_or_none(raw)
            if transaction is not None and transaction.epoch > epoch:
                continue  # made for the coming epoch: it waits in the mempool
            if transaction is not None and any(n in spent for n in transaction.nullifiers):
                failed[raw] = "a nullifier is already spent on chain (included before?)"
                continue
            try:
                refined = refine(raw, context)
            except TransactionError as error:
                failed[raw] = str(error)
                continue
            if nullifiers.intersection(refined.transaction.nullifiers):
                continue  # keep it for a later block; one of the two will be a double spend
            nullifiers.update(refined.transaction.nullifiers)
            valid[refined.tx_id] = raw
            offers.append(Candidate(refined.tx_id, refined.spam_proof, refined.transaction.fee))
        if context.spam is None:
            return list(valid.values())[:MAX_TRANSACTIONS_PER_BLOCK], failed
        fill = fill_block(offers, context.spam)
        for rejection in fill.rejected:
            failed[valid[rejection.candidate.tx_id]] = str(rejection.error)
        chosen = [valid[c.tx_id] for c in fill.included][:MAX_TRANSACTIONS_PER_BLOCK]
        return chosen, failed


def _decode_or_none(raw: bytes) -> Transaction | None:
    try:
        return Transaction.decode(raw)
    except TransactionError:
        return None
