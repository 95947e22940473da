"""The node's JSON-RPC methods (chain and system); the pool adds its own in `pool_rpc.py`.

Every method validates its parameters with a pydantic model; hashes are 0x-prefixed hex.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from jamcore.block import header_hash
from jamcore.safrole.state import TicketSeries
from jamcore.state.keys import STATE_KEY_LENGTH, storage_key
from shielded.node.jsonrpc import NOT_FOUND, Dispatcher, Params, RpcError
from shielded.node.key_record import KeyRecord, keys_fingerprint
from shielded.node.pool_rpc import register_pool_methods
from shielded.node.storage import StoredBlock

if TYPE_CHECKING:
    from shielded.node.validator import ValidatorNode


class BlockRef(Params):
    """A block by hash (0x-prefixed hex) or by canonical height; neither means the head."""

    hash: str | None = None
    height: int | None = Field(default=None, ge=0)

    @field_validator("hash")
    @classmethod
    def _hex32(cls, value: str | None) -> str | None:
        if value is None:
            return value
        text = value.removeprefix("0x")
        if len(text) != 64:
            raise ValueError("expected a 32-byte hash as 64 hex digits")
        bytes.fromhex(text)
        return text


class ProofParams(Params):
    """A state key (31 octets as hex), or a service id and one of its storage item keys."""

    key: str | None = None
    service: int | None = Field(default=None, ge=0, lt=2**32)
    item: str | None = Field(default=None, max_length=2 * 1024)

    @field_validator("key", "item")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None:
            bytes.fromhex(value.removeprefix("0x"))
        return value

    @model_validator(mode="after")
    def _one_form(self) -> ProofParams:
        if (self.key is None) == (self.service is None or self.item is None):
            raise ValueError("give either key, or service and item")
        if self.key is not None and len(self.state_key()) != STATE_KEY_LENGTH:
            raise ValueError(f"a state key is {STATE_KEY_LENGTH} octets")
        return self

    def state_key(self) -> bytes:
        if self.key is not None:
            return bytes.fromhex(self.key.removeprefix("0x"))
        assert self.service is not None and self.item is not None
        return storage_key(self.service, bytes.fromhex(self.item.removeprefix("0x")))


def block_summary(block: StoredBlock) -> dict[str, Any]:
    return {
        "hash": "0x" + block.hash.hex(),
        "parent": "0x" + block.parent.hex(),
        "height": block.height,
        "slot": block.slot,
    }


def build_dispatcher(node: ValidatorNode) -> Dispatcher:
    """The RPC methods of a validator node."""
    dispatcher = Dispatcher()
    chain = node.chain

    def resolve(ref: BlockRef) -> StoredBlock:
        if ref.hash is not None:
            block = chain.store.block(bytes.fromhex(ref.hash))
        elif ref.height is not None:
            block_hash = chain.store.canonical_hash(ref.height)
            block = chain.store.block(block_hash) if block_hash else None
        else:
            block = chain.head
        if block is None:
            raise RpcError(NOT_FOUND, "no such block")
        return block

    def finality_keys_summary(record: KeyRecord) -> dict[str, Any]:
        """The OSST keys in force: since which epoch, their fingerprint, the group key Y,
        whether this epoch's start reshared them (else they carried over), how many dealers
        they were combined from (0: the genesis keys), and the current round's dealings,
        complaints and answers on chain."""
        return {
            "epoch": record.epoch,
            "fingerprint": "0x" + keys_fingerprint(record.keys).hex(),
            "group_key": "0x" + record.keys.group_key.encoded.hex(),
            "reshared": record.keys != record.previous,
            "reshared_from": len(record.basis),
            "round": {
                "dealings": len(record.dealings),
                "complaints": len(record.complaints),
                "answers": len(record.answers),
            },
        }

    @dispatcher.method("system_status")
    def system_status(_: Params) -> dict[str, Any]:
        """Head, final block, peers, the slot clock and Safrole's mode at this validator."""
        state = chain.state()
        safrole = state.safrole
        return {
            "chain_id": "0x" + node.config.chain_id,
            "vk_hash": node.config.vk_hash,
            "epoch_length": chain.spec.epoch_length,
            "genesis_time": node.config.genesis_time,
            "validator": node.index,
            "head": block_summary(chain.head),
            "finalized": block_summary(chain.finalized),
            "peers": len(node.network.peers),
            "slot": chain.slot_at(time.time()),
            "slot_duration": node.config.slot_duration,
            "uptime_s": round(time.time() - node.started, 1),
            "epoch": safrole.slot // chain.spec.epoch_length,
            "sealing": "tickets" if isinstance(safrole.sealing_keys, TicketSeries) else "fallback",
            "ticket_accumulator": len(safrole.ticket_accumulator),
            "offenders": ["0x" + key.hex() for key in sorted(state.offenders)],
            "finality_keys": finality_keys_summary(node.finality.record(chain.store)),
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
        block = chain.decode(stored.block)
        return {
            **block_summary(stored),
            "canonical": chain.store.is_canonical(stored.hash),
            "block": chain.codecs.block.to_json(block),
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
        (graypaper Appendix D): a light client checks it with
        `jamcore.state.trie_proof.verify_proof`. An absent key gets a proof of absence."""
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

    register_pool_methods(dispatcher, node)

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
