"""The JSON-RPC methods every validator program serves the same way: blocks, headers and
state proofs, from any chain kept in a `ChainStore` (`Chain` or `JamChain`).

Hashes are 0x-prefixed hex; blocks and headers are the JSON form of the JAM codec
(Appendix C); a state proof is a path in the head's state trie (Appendix D).
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import Field, field_validator, model_validator

from jamcore.block import Block, BlockCodecs, header_hash
from jamcore.spec import ChainSpec
from jamcore.state.keys import STATE_KEY_LENGTH, storage_key
from jamcore.state.trie import StateTrie
from shielded.node.jsonrpc import NOT_FOUND, Dispatcher, Params, RpcError
from shielded.node.storage import ChainStore, StoredBlock


class ServedChain(Protocol):
    """What the chain methods read of a chain."""

    store: ChainStore
    spec: ChainSpec
    codecs: BlockCodecs

    @property
    def head(self) -> StoredBlock: ...

    @property
    def finalized(self) -> StoredBlock: ...

    def decode(self, encoded: bytes) -> Block: ...

    def head_trie(self) -> StateTrie: ...


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


def register_chain_methods(dispatcher: Dispatcher, chain: ServedChain) -> None:
    """chain_getHead, chain_getFinalized, chain_getBlock, chain_getHeader, state_getProof."""

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


def register_method_list(dispatcher: Dispatcher) -> None:
    """rpc_methods (register it last: it lists what is registered when called)."""

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
