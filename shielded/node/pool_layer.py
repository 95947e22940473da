"""The shielded pool in the node: its work reports, state snapshots and wallet index.

Transactions reach a block as one work item of the pool service (see `guarantees.py`): the
author refines the mempool's transactions and its report's output is the batch of their
encodings. Every importer audits the batch by running refine again (each spend proof,
spam proof, fee and signature is verified before any state changes), then accumulates the
transactions that pass with `shielded.service`, exactly as the author did.

State: the merklized chain state holds the pool's digest (so the header's state root
commits to the whole pool); the full pool state is a node-local snapshot per block
(pickled, trusted local data; snapshots below the final block are pruned), reloaded on
restart or after a reorg. Each block also records a compact block for wallets: its
outputs (commitment, position, tier tree, ciphertext), nullifiers and transaction ids.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jamcore.block import Block
from jamcore.codec import BLOB, CodecError, seq
from jamcore.state.keys import storage_key
from shielded.circuits.spend import SpendStatement, SpendVerifier
from shielded.node.chain import ChainState, InvalidBlock, LayerOutcome
from shielded.node.guarantees import POOL_SERVICE_ID, GuaranteeError, service_outputs
from shielded.node.storage import ChainStore
from shielded.pow import (
    Candidate,
    RecentAnchors,
    SpamProof,
    SpamProofError,
    SpamProofVerifier,
    UsedProofs,
    fill_block,
)
from shielded.service import (
    PoolConfig,
    PoolState,
    RefineContext,
    ShieldedPool,
    refine,
)
from shielded.transaction import Transaction, TransactionError

POOL_DIGEST_KEY = storage_key(POOL_SERVICE_ID, b"digest")
SNAPSHOT = "pool"
COMPACT = "compact"
MAX_TRANSACTIONS_PER_BLOCK = 64
POOL_BATCH = seq(BLOB, max_length=MAX_TRANSACTIONS_PER_BLOCK)


@dataclass
class PoolSnapshot:
    """Everything the pool needs to continue from a block: its state and spam registry."""

    state: PoolState
    anchors: RecentAnchors
    used: UsedProofs

    def service(self, verifier: SpendVerifier) -> ShieldedPool:
        spam = SpamProofVerifier(self.state.config.spec, self.anchors, self.used)
        return ShieldedPool(self.state, verifier, spam=spam)

    def __getstate__(self) -> dict[str, Any]:
        # The spam-proof window and registry hold read-only views that do not pickle: keep
        # their contents (hashes with positions; used tx ids with their anchor positions).
        return {
            "state": self.state,
            "anchor_capacity": self.anchors.capacity,
            "anchor_hashes": self.anchors.hashes(),
            "first_position": self.anchors.oldest_position,
            "used": [(tx_id, position) for tx_id, position in self.used.live_view().items()],
        }

    def __setstate__(self, data: dict[str, Any]) -> None:
        self.state = data["state"]
        self.anchors = RecentAnchors(
            data["anchor_capacity"], data["anchor_hashes"], first_position=data["first_position"]
        )
        self.used = UsedProofs()
        for tx_id, position in data["used"]:
            self.used.record(tx_id, position)


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
        self._cache: tuple[bytes, bytes] | None = None  # (block hash, snapshot bytes)

    # --- snapshots ----------------------------------------------------------------------

    def snapshot_bytes(self, store: ChainStore, block_hash: bytes) -> bytes:
        if self._cache is not None and self._cache[0] == block_hash:
            return self._cache[1]
        data = store.local(block_hash, SNAPSHOT)
        if data is None:
            raise InvalidBlock(f"no pool snapshot for block {block_hash.hex()[:16]}")
        self._cache = (block_hash, data)
        return data

    def snapshot(self, store: ChainStore, block_hash: bytes) -> PoolSnapshot:
        """A private copy of the pool state after `block_hash` (safe to mutate)."""
        snapshot = pickle.loads(self.snapshot_bytes(store, block_hash))
        assert isinstance(snapshot, PoolSnapshot)
        return snapshot

    def head_snapshot(self, store: ChainStore) -> PoolSnapshot:
        return self.snapshot(store, store.head or b"")

    def refine_context(self, store: ChainStore, slot: int) -> tuple[RefineContext, PoolSnapshot]:
        """What refine checks a transaction against for a block at `slot` on the head."""
        snapshot = self.head_snapshot(store)
        epoch = slot // self.epoch_length
        pool = snapshot.service(self.verifier)
        if epoch > snapshot.state.epoch:
            pool.begin_epoch(epoch)
        return pool.context(), snapshot

    # --- ChainLayer ---------------------------------------------------------------------

    def genesis(self, genesis_hash: bytes) -> LayerOutcome:
        state = PoolState.genesis(self.config, self.balances, epoch=0)
        anchors = RecentAnchors(self.config.spec.recent_anchors, (genesis_hash,))
        snapshot = PoolSnapshot(state, anchors, UsedProofs())
        compact = compact_block(0, genesis_hash, bytes(32), 0, 0, [], {})
        return LayerOutcome(
            {POOL_DIGEST_KEY: state.digest()},
            {SNAPSHOT: pickle.dumps(snapshot), COMPACT: compact},
        )

    def apply_block(
        self, block: Block, block_hash: bytes, state: ChainState, store: ChainStore
    ) -> LayerOutcome:
        header = block.header
        transactions = self.transactions(block)
        self._check_capacity(transactions)
        snapshot = self.snapshot(store, header.parent)
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
            entries.append(
                {
                    "tx_id": tx.tx_id.hex(),
                    "kind": tx.kind.name.lower(),
                    "fee": tx.fee,
                    "deposit": None if tx.deposit is None else tx.deposit.amount,
                    "withdrawal": None if tx.withdrawal is None else tx.withdrawal.amount,
                    "nullifiers": [hex(n) for n in tx.nullifiers],
                    "outputs": [
                        {
                            "commitment": hex(o.commitment),
                            "position": placed[o.commitment][0],
                            "permanent": placed[o.commitment][1],
                            "ciphertext": o.ciphertext.hex(),
                        }
                        for o in tx.outputs
                    ],
                }
            )
        compact = compact_block(
            height,
            block_hash,
            header.parent,
            header.slot,
            epoch,
            entries,
            {tx_id.hex(): reason for tx_id, reason in outcome.rejected},
        )
        data = pickle.dumps(snapshot)
        self._cache = (block_hash, data)
        return LayerOutcome(
            {POOL_DIGEST_KEY: snapshot.state.digest()}, {SNAPSHOT: data, COMPACT: compact}
        )

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


def compact_block(
    height: int,
    block_hash: bytes,
    parent: bytes,
    slot: int,
    epoch: int,
    transactions: list[dict[str, Any]],
    rejected: dict[str, str],
) -> bytes:
    """The wallet's view of a block (JSON): each accepted transaction's kind, fee, public
    amounts, nullifiers and outputs (commitment, tree position, ciphertext); rejections."""
    return json.dumps(
        {
            "height": height,
            "hash": "0x" + block_hash.hex(),
            "parent": "0x" + parent.hex(),
            "slot": slot,
            "epoch": epoch,
            "transactions": transactions,
            "rejected": rejected,
        },
        separators=(",", ":"),
    ).encode()
