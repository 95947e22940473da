"""JSON-RPC of a validator on jamcore's rules (`jam_node.JamNode`).

The methods answer from the graypaper state at the head: blocks and headers in the JAM
codec's JSON form, state proofs from the head's trie (Appendix D), and the pool's
transactions by what its outcome storage item (written by its accumulate) says. Parameter
models and summaries are the other node's (`node_rpc`, `pool_rpc`), so clients see one API.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jamcore.block import header_hash
from jamcore.state.keys import storage_key
from shielded.native_pool import OUTCOME, OUTCOME_KEY
from shielded.node.jam_devnet import POOL_SERVICE_ID
from shielded.node.jam_guarantee_flow import MempoolError
from shielded.node.jsonrpc import NOT_FOUND, REJECTED, Dispatcher, Params, RpcError
from shielded.node.node_rpc import BlockRef, ProofParams, block_summary
from shielded.node.pool_rpc import SubmitParams, TransactionParams
from shielded.node.storage import StoredBlock
from shielded.transaction import Transaction

if TYPE_CHECKING:
    from shielded.node.jam_node import JamNode


def build_jam_dispatcher(node: JamNode) -> Dispatcher:
    """The RPC methods of a jamcore validator process."""
    dispatcher = Dispatcher()
    validator = node.validator
    chain = validator.chain
    store = chain.store

    def resolve(ref: BlockRef) -> StoredBlock:
        if ref.hash is not None:
            block = store.block(bytes.fromhex(ref.hash))
        elif ref.height is not None:
            block_hash = store.canonical_hash(ref.height)
            block = store.block(block_hash) if block_hash else None
        else:
            block = chain.head
        if block is None:
            raise RpcError(NOT_FOUND, "no such block")
        return block

    @dispatcher.method("system_status")
    def system_status(_: Params) -> dict[str, Any]:
        """Head, final block, peers, the slot clock and the pipeline at this validator."""
        state = validator.head_state()
        return {
            "chain_id": "0x" + node.config.chain_id,
            "vk_hash": node.config.vk_hash,
            "import_path": "jamcore",
            "epoch_length": chain.spec.epoch_length,
            "genesis_time": node.config.genesis_time,
            "validator": node.index,
            "head": block_summary(chain.head),
            "finalized": block_summary(chain.finalized),
            "state_root": "0x" + validator.head_root().hex(),
            "peers": len(node.network.peers),
            "slot": node.slot_at(time.time()),
            "slot_duration": node.config.slot_duration,
            "uptime_s": round(time.time() - node.started, 1),
            "epoch": state.slot // chain.spec.epoch_length,
            "pending_reports": sum(1 for pending in state.availability if pending is not None),
            "mempool": len(validator.mempool),
            "in_flight": len(validator.inflight),
        }

    @dispatcher.method("chain_getHead")
    def get_head(_: Params) -> dict[str, Any]:
        """The canonical head block's hash, parent, height and slot."""
        return block_summary(chain.head)

    @dispatcher.method("chain_getFinalized")
    def get_finalized(_: Params) -> dict[str, Any]:
        """The latest final block."""
        return block_summary(chain.finalized)

    @dispatcher.method("chain_getBlock", BlockRef)
    def get_block(ref: BlockRef) -> dict[str, Any]:
        """A block (JSON form of the JAM codec) by hash or height."""
        stored = resolve(ref)
        return {
            **block_summary(stored),
            "canonical": store.is_canonical(stored.hash),
            "block": chain.codecs.block.to_json(chain.decode(stored.block)),
        }

    @dispatcher.method("chain_getHeader", BlockRef)
    def get_header(ref: BlockRef) -> dict[str, Any]:
        """A block header by hash or height."""
        stored = resolve(ref)
        header = chain.decode(stored.block).header
        assert header_hash(header, chain.spec) == stored.hash
        return {**block_summary(stored), "header": chain.codecs.header.to_json(header)}

    @dispatcher.method("state_getProof", ProofParams)
    def get_proof(params: ProofParams) -> dict[str, Any]:
        """A state key's value at the head and its Merkle path to the head's state root
        (graypaper Appendix D), checked by `jamcore.state.trie_proof.verify_proof`."""
        key = params.state_key()
        trie = chain.head_trie()
        value = trie.get(key)
        return {
            "block": "0x" + chain.head.hash.hex(),
            "state_root": "0x" + trie.root().hex(),
            "key": "0x" + key.hex(),
            "value": None if value is None else "0x" + value.hex(),
            "proof": trie.proof(key).to_json(),
        }

    @dispatcher.method("pool_submitTransaction", SubmitParams)
    async def submit(params: SubmitParams) -> dict[str, Any]:
        """Admit a pool transaction to the mempool and gossip it to every validator; the
        pool core's guarantor packages it (refine checks its proofs)."""
        raw = bytes.fromhex(params.transaction)
        try:
            outgoing = validator.submit(raw)
        except MempoolError as error:
            raise RpcError(REJECTED, f"transaction rejected: {error}") from None
        await node.send(outgoing)
        return {"tx_id": Transaction.decode(raw).tx_id.hex()}

    @dispatcher.method("pool_getTransactionStatus", TransactionParams)
    def transaction_status(params: TransactionParams) -> dict[str, Any]:
        """accepted or rejected (with the slot whose accumulation said so, from the pool's
        outcome item), pending (in the mempool or a package in flight), or unknown."""
        tx_id = bytes.fromhex(params.tx_id)
        settled = validator.outcomes.get(tx_id)
        if settled is not None:
            slot, accepted = settled
            return {"status": "accepted" if accepted else "rejected", "slot": slot}
        if tx_id in validator.mempool or tx_id in validator.pool.busy():
            return {"status": "pending"}
        return {"status": "unknown"}

    @dispatcher.method("pool_getStats")
    def stats(_: Params) -> dict[str, Any]:
        """The pool service's storage footprint at the head and its last block's outcome."""
        account = validator.head_state().services.get(POOL_SERVICE_ID)
        raw = None if account is None else account.entries.get(
            storage_key(POOL_SERVICE_ID, OUTCOME_KEY)
        )
        outcome = None if raw is None else OUTCOME.decode(raw)
        return {
            "height": chain.head.height,
            "stored_items": store.service_item_count(POOL_SERVICE_ID),
            "stored_bytes": store.service_bytes(POOL_SERVICE_ID),
            "last_outcome": None
            if outcome is None
            else {
                "slot": outcome.slot,
                "accepted": len(outcome.accepted),
                "rejected": len(outcome.rejected),
            },
            "mempool": len(validator.mempool),
        }

    @dispatcher.method("rpc_methods")
    def methods(_: Params) -> list[dict[str, Any]]:
        """Every method with its description and parameter schema."""
        return [
            {
                "name": method.name,
                "description": method.description,
                "params": method.params.model_json_schema(),
            }
            for method in sorted(dispatcher.methods.values(), key=lambda m: m.name)
        ]

    return dispatcher
