"""The pool's JSON-RPC methods: what wallets use (design section 5).

Field elements (commitments, nullifiers, anchors) are 0x-prefixed hex integers; byte
strings (transactions, accounts, ciphertexts) are hex. Every method validates its
parameters with pydantic and answers bad input with a JSON-RPC error.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, Literal, Protocol

from pydantic import Field, field_validator

from shielded.fees import FeeError
from shielded.node.jsonrpc import NOT_FOUND, REJECTED, UNAVAILABLE, Dispatcher, Params, RpcError
from shielded.node.storage import StoredBlock
from shielded.notes.address import ShieldedAddress
from shielded.notes.errors import NotesError
from shielded.notes.note import Tier
from shielded.pool_storage import PoolSnapshot
from shielded.service import quote
from shielded.transaction import Kind

MAX_COMPACT_BLOCKS = 200
MAX_TRANSACTION_BYTES = 64 * 1024


def _hex_bytes(value: str, length: int | None, what: str) -> str:
    text = value.removeprefix("0x")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{what} must be hex") from None
    if length is not None and len(raw) != length:
        raise ValueError(f"{what} must be {length} bytes")
    return text


class SubmitParams(Params):
    transaction: str = Field(max_length=2 * MAX_TRANSACTION_BYTES + 2)

    @field_validator("transaction")
    @classmethod
    def _hex(cls, value: str) -> str:
        return _hex_bytes(value, None, "transaction")


class WitnessParams(Params):
    position: int = Field(ge=0, lt=2**28)
    permanent: bool = False


class CompactParams(Params):
    from_height: int = Field(ge=0)
    count: int = Field(default=50, ge=1, le=MAX_COMPACT_BLOCKS)


class QuoteParams(Params):
    kind: Literal["deposit", "transfer", "withdrawal"]
    amount: int = Field(default=0, ge=0, lt=2**64)
    output_tiers: list[Literal["ephemeral", "collateral", "personhood"]] = Field(
        default_factory=lambda: ["ephemeral", "ephemeral"], min_length=2, max_length=2
    )
    spam_proof: bool = False


class AccountParams(Params):
    account: str

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        return _hex_bytes(value, 32, "account")


class TransactionParams(Params):
    tx_id: str

    @field_validator("tx_id")
    @classmethod
    def _tx_id(cls, value: str) -> str:
        return _hex_bytes(value, 32, "tx_id")


class FaucetParams(Params):
    address: str = Field(max_length=300)
    amount: int = Field(gt=0, le=10**12)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            ShieldedAddress.decode(value)
        except (NotesError, ValueError) as error:
            raise ValueError(f"not a shielded address: {error}") from None
        return value


KINDS = {"deposit": Kind.DEPOSIT, "transfer": Kind.TRANSFER, "withdrawal": Kind.WITHDRAWAL}
TIERS = {"ephemeral": Tier.EPHEMERAL, "collateral": Tier.COLLATERAL, "personhood": Tier.PERSONHOOD}


class PoolNode(Protocol):
    """What the pool methods need of a validator."""

    faucet_available: bool

    @property
    def pool_head(self) -> StoredBlock: ...

    @property
    def epoch_length(self) -> int: ...

    def pool_snapshot(self) -> PoolSnapshot: ...

    def current_slot(self) -> int: ...

    def spam_anchor(self) -> bytes: ...

    def recent_hashes(self) -> list[bytes]: ...

    def compact_blocks(self, from_height: int, count: int) -> list[Any]: ...

    def pool_footprint(self) -> tuple[int, int]: ...

    def mempool_size(self) -> int: ...

    def submit_transaction(
        self, raw: bytes
    ) -> tuple[bytes, str | None] | Awaitable[tuple[bytes, str | None]]: ...

    def transaction_status(self, tx_id: bytes) -> dict[str, object]: ...

    async def faucet(self, address: ShieldedAddress, amount: int) -> tuple[bytes, str | None]: ...


def register_pool_methods(dispatcher: Dispatcher, node: PoolNode) -> None:
    """Add the pool_* and faucet_* methods of `node` to `dispatcher`."""

    @dispatcher.method("pool_submitTransaction", SubmitParams)
    async def submit(params: SubmitParams) -> dict[str, Any]:
        """Check a transaction and queue it for the next blocks."""
        result = node.submit_transaction(bytes.fromhex(params.transaction))
        tx_id, error = await result if inspect.isawaitable(result) else result
        if error is not None:
            raise RpcError(REJECTED, f"transaction rejected: {error}")
        return {"tx_id": tx_id.hex()}

    @dispatcher.method("pool_getTransactionStatus", TransactionParams)
    def transaction_status(params: TransactionParams) -> dict[str, Any]:
        """pending, included (with the block height and whether it is final), rejected, or
        unknown."""
        return dict(node.transaction_status(bytes.fromhex(params.tx_id)))

    @dispatcher.method("pool_getStats")
    def stats(_: Params) -> dict[str, Any]:
        """Pool statistics at the head: value, notes, nullifiers, state size, fees burned."""
        state = node.pool_snapshot().state
        items, size = node.pool_footprint()
        return {
            "height": node.pool_head.height,
            "epoch": state.epoch,
            "pool_value": state.pool_value,
            "live_notes": state.trees.live.leaf_count(),
            "permanent_notes": len(state.trees.permanent),
            "nullifiers": len(state.nullifiers),
            "state_bytes": state.storage_bytes(),
            "stored_items": items,
            "stored_bytes": size,
            "fees_burned": state.fee_ledger.burned,
            "locked_collateral": state.locked_collateral,
            "anchor": hex(state.trees.anchor),
            "mempool": node.mempool_size(),
        }

    @dispatcher.method("pool_getAnchor")
    def anchor(_: Params) -> dict[str, Any]:
        """The spend anchor at the head, its epoch, the pool statistics fees use, and what a
        spam proof binds to (`spam_anchor`)."""
        state = node.pool_snapshot().state
        head = node.pool_head
        statistics = state.statistics()
        return {
            "anchor": hex(state.trees.anchor),
            "epoch": state.epoch,
            "slot_epoch": node.current_slot() // node.epoch_length,
            "height": head.height,
            "slot": head.slot,
            "block_hash": "0x" + head.hash.hex(),
            "spam_anchor": "0x" + node.spam_anchor().hex(),
            "recent_block_hashes": ["0x" + h.hex() for h in node.recent_hashes()],
            "pool_value": statistics.pool_value,
            "live_notes": statistics.live_notes,
            "lifetime": state.config.lifetime,
            "collateral_per_note": state.config.collateral_per_note,
        }

    @dispatcher.method("pool_getWitness", WitnessParams)
    def witness(params: WitnessParams) -> dict[str, Any]:
        """The Merkle path of a note at the head's anchor (for proving a spend)."""
        state = node.pool_snapshot().state
        try:
            found = state.trees.witness(params.position, params.permanent)
        except NotesError as error:
            raise RpcError(NOT_FOUND, str(error)) from None
        return {
            "anchor": hex(state.trees.anchor),
            "epoch": state.epoch,
            "position": found.position,
            "siblings": [hex(s) for s in found.siblings],
            "other_root": hex(found.other_root),
        }

    @dispatcher.method("pool_getCompactBlocks", CompactParams)
    def compact_blocks(params: CompactParams) -> list[Any]:
        """Per canonical block from `from_height`: outputs, nullifiers, transaction ids."""
        return node.compact_blocks(params.from_height, params.count)

    @dispatcher.method("pool_quoteFee", QuoteParams)
    def quote_fee(params: QuoteParams) -> dict[str, Any]:
        """The least fee of a transaction at the head's pool statistics."""
        state = node.pool_snapshot().state
        try:
            fee = quote(
                state.config,
                KINDS[params.kind],
                state.statistics(),
                amount=params.amount,
                output_tiers=[TIERS[t] for t in params.output_tiers],
                spam_proof=params.spam_proof,
            )
        except FeeError as error:
            raise RpcError(REJECTED, f"no fee for this transaction: {error}") from None
        return {"fee": fee, "spam_tiers": _tiers(state)}

    @dispatcher.method("pool_getBalance", AccountParams)
    def balance(params: AccountParams) -> dict[str, Any]:
        """A transparent account's balance at the head."""
        state = node.pool_snapshot().state
        account = bytes.fromhex(params.account)
        return {"account": params.account, "balance": state.balances.get(account, 0)}

    @dispatcher.method("faucet_request", FaucetParams)
    async def faucet(params: FaucetParams) -> dict[str, Any]:
        """Devnet only: deposit `amount` from the faucet account into a shielded address."""
        if not node.faucet_available:
            raise RpcError(UNAVAILABLE, "this node offers no faucet")
        tx_id, error = await node.faucet(ShieldedAddress.decode(params.address), params.amount)
        if error is not None:
            raise RpcError(REJECTED, f"faucet deposit failed: {error}")
        return {"tx_id": tx_id.hex()}


def _tiers(state: Any) -> list[dict[str, Any]]:
    spec = state.config.spec
    return [
        {"tier": number, "name": tier.name, "difficulty_bits": tier.difficulty_bits}
        for number, tier in enumerate(spec.tiers, start=1)
    ]
