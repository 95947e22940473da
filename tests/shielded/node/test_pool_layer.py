"""The pool inside block import, in-process: audited batches, rejected transactions,
guarantee signatures and tier quotas, and replicas that agree byte for byte."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from jamcore.state.trie_proof import TrieProof, verify_proof
from shielded.node.assemble import AssembledChain, assemble_chain, author_slot
from shielded.node.chain import InvalidBlock
from shielded.node.chain_rpc import register_chain_methods
from shielded.node.genesis import (
    GenesisConfig,
    ValidatorSecrets,
)
from shielded.node.guarantees import POOL_SERVICE_ID
from shielded.node.jsonrpc import INVALID_PARAMS, Dispatcher
from shielded.node.pool_layer import COMPACT, POOL_BATCH, pool_state_key
from shielded.node.pool_rpc import register_pool_methods
from shielded.node.storage import ChainStore, StoredBlock
from shielded.pool_storage import (
    ANCHORS_KEY,
    META_KEY,
    PoolSnapshot,
    decode_nullifier_record,
    nullifier_key,
)
from shielded.transaction import Transaction


def chains(devnet: tuple[Path, GenesisConfig], tmp_path: Path) -> tuple[AssembledChain, ...]:
    directory, config = devnet
    return tuple(
        assemble_chain(directory, config, ChainStore(tmp_path / f"{name}.sqlite"))
        for name in ("author", "follower")
    )


def author_with(
    node: AssembledChain, keys: list[ValidatorSecrets], slot: int, batch: list[bytes]
) -> bytes:
    return author_slot(node.chain, keys, slot, {POOL_SERVICE_ID: POOL_BATCH.encode(tuple(batch))})


@pytest.mark.slow
def test_replicas_apply_the_same_transactions(
    devnet: tuple[Path, GenesisConfig],
    deposits: list[Transaction],
    tmp_path: Path,
    validator_keys: list[ValidatorSecrets],
) -> None:
    author, follower = chains(devnet, tmp_path)
    block = author_with(author, validator_keys, 1, [tx.encode() for tx in deposits])
    assert author.chain.import_block(block).status == "imported"
    assert follower.chain.import_block(block).status == "imported"
    meta = pool_state_key(META_KEY)
    assert author.chain.store.get(meta) == follower.chain.store.get(meta) is not None
    assert author.chain.head_state_root() == follower.chain.head_state_root()
    compact = json.loads(follower.chain.store.local(follower.chain.head.hash, COMPACT) or b"")
    assert {t["tx_id"] for t in compact["transactions"]} == {d.tx_id.hex() for d in deposits}
    state = follower.pool.head_snapshot(follower.chain.store).state
    assert state.pool_value == 3_000
    assert state.trees.live.leaf_count() == 4
    _check_state_proofs(follower, state.nullifiers.entries()[0].nullifier)


class ReplicaNode:
    """What `pool_getStats` reads of a validator, over one replica."""

    def __init__(self, replica: AssembledChain) -> None:
        self.replica = replica
        self.store = replica.chain.store

    @property
    def pool_head(self) -> StoredBlock:
        return self.replica.chain.head

    def pool_snapshot(self) -> PoolSnapshot:
        return self.replica.pool.head_snapshot(self.store)

    def pool_footprint(self) -> tuple[int, int]:
        service = POOL_SERVICE_ID
        return self.store.service_item_count(service), self.store.service_bytes(service)

    def mempool_size(self) -> int:
        return 0


def _check_state_proofs(replica: AssembledChain, nullifier: int) -> None:
    """A light client proves a revealed nullifier, the anchors and an unspent nullifier's
    absence against the head's state root, through `state_getProof`."""
    dispatcher = Dispatcher()
    register_chain_methods(dispatcher, replica.chain)
    register_pool_methods(dispatcher, ReplicaNode(replica))  # type: ignore[arg-type]
    root = replica.chain.head_state_root()

    def prove(params: dict[str, object]) -> tuple[bytes, bytes | None, TrieProof]:
        request = {"jsonrpc": "2.0", "id": 1, "method": "state_getProof", "params": params}
        answer = json.loads(asyncio.run(dispatcher.handle(json.dumps(request))) or "{}")
        result = answer["result"]
        assert bytes.fromhex(result["state_root"][2:]) == root
        value = None if result["value"] is None else bytes.fromhex(result["value"][2:])
        return bytes.fromhex(result["key"][2:]), value, TrieProof.from_json(result["proof"])

    spent = {"service": POOL_SERVICE_ID, "item": nullifier_key(nullifier).hex()}
    key, value, proof = prove(spent)
    assert value is not None and decode_nullifier_record(nullifier, value).epoch == 0
    assert verify_proof(root, key, value, proof)
    assert not verify_proof(root, key, None, proof)
    key, value, proof = prove({"service": POOL_SERVICE_ID, "item": ANCHORS_KEY.hex()})
    assert value is not None and verify_proof(root, key, value, proof)
    unspent = {"service": POOL_SERVICE_ID, "item": nullifier_key(nullifier ^ 1).hex()}
    key, value, proof = prove(unspent)
    assert value is None and verify_proof(root, key, None, proof)
    stats = {"jsonrpc": "2.0", "id": 1, "method": "pool_getStats"}
    answer = json.loads(asyncio.run(dispatcher.handle(json.dumps(stats))) or "{}")["result"]
    items = list(replica.chain.store.service_items(POOL_SERVICE_ID))
    assert answer["stored_items"] == len(items) > 0
    assert answer["stored_bytes"] == sum(len(k) + len(v) for k, v in items)
    request = {"jsonrpc": "2.0", "id": 1, "method": "state_getProof", "params": {"key": "00"}}
    answer = json.loads(asyncio.run(dispatcher.handle(json.dumps(request))) or "{}")
    assert answer["error"]["code"] == INVALID_PARAMS


@pytest.mark.slow
def test_forged_proof_is_rejected_not_applied(
    devnet: tuple[Path, GenesisConfig],
    deposits: list[Transaction],
    tmp_path: Path,
    validator_keys: list[ValidatorSecrets],
) -> None:
    author, follower = chains(devnet, tmp_path)
    forged = replace(deposits[0], proof=bytes(len(deposits[0].proof)))
    block = author_with(author, validator_keys, 1, [forged.encode(), deposits[1].encode()])
    assert follower.chain.import_block(block).status == "imported"
    compact = json.loads(follower.chain.store.local(follower.chain.head.hash, COMPACT) or b"")
    assert [t["tx_id"] for t in compact["transactions"]] == [deposits[1].tx_id.hex()]
    assert forged.tx_id.hex() in compact["rejected"]
    assert follower.pool.head_snapshot(follower.chain.store).state.pool_value == 2_000


@pytest.mark.slow
def test_invalid_guarantee_signature(
    devnet: tuple[Path, GenesisConfig],
    deposits: list[Transaction],
    tmp_path: Path,
    validator_keys: list[ValidatorSecrets],
) -> None:
    author, follower = chains(devnet, tmp_path)
    block = author.chain.decode(author_with(author, validator_keys, 1, [deposits[0].encode()]))
    guarantee = block.extrinsic.guarantees[0]
    signature = replace(guarantee.signatures[0], signature=bytes(64))
    bad_guarantee = replace(guarantee, signatures=(signature,))
    extrinsic = replace(block.extrinsic, guarantees=(bad_guarantee,))
    secrets = validator_keys[block.header.author_index]
    resealed = author.chain.author_block(1, secrets, extrinsic=extrinsic)
    assert resealed is not None
    with pytest.raises(InvalidBlock, match="signature"):
        follower.chain.import_block(resealed)
    assert follower.chain.head.height == 0
