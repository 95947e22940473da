"""JSON-RPC of a validator on jamcore's rules (`jam_node.JamNode`).

The methods answer from the graypaper state at the head: blocks and headers in the JAM
codec's JSON form, state proofs from the head's trie (Appendix D), the pool's methods from
its storage items and compact blocks (`jam_pool_view`), and the PVM services' methods. Parameter
models, summaries and the chain methods are the other program's (`chain_rpc`, `pool_rpc`),
so clients see one API.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.host_calls.general import MAX_SERVICE_CODE
from jamcore.safrole.state import TicketSeries
from shielded.node.chain_rpc import block_summary, register_chain_methods, register_method_list
from shielded.node.jam_guarantee_flow import INCLUSION_SLOTS
from shielded.node.jam_services import (
    MAX_WORK_PAYLOAD,
    ServiceError,
    check_blob,
    code_ready,
)
from shielded.node.jsonrpc import REJECTED, Dispatcher, Params, RpcError
from shielded.node.key_record import finality_keys_summary
from shielded.node.pool_rpc import register_pool_methods

if TYPE_CHECKING:
    from shielded.node.jam_node import JamNode

MAX_BLOB_HEX = 2 * MAX_SERVICE_CODE + 2
MAX_PAYLOAD_HEX = 2 * MAX_WORK_PAYLOAD + 2
MAX_ITEM_KEY_HEX = 2 * 1024


def _hex(value: str, what: str) -> str:
    try:
        bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise ValueError(f"{what} must be hex") from None
    return value.removeprefix("0x")


class DeployParams(Params):
    """A PVM code blob: a code preimage E(metadata, code) or a bare standard program."""

    blob: str = Field(max_length=MAX_BLOB_HEX)

    @field_validator("blob")
    @classmethod
    def _blob(cls, value: str) -> str:
        return _hex(value, "blob")


class WorkParams(Params):
    """A work item's payload for service `service`."""

    service: int = Field(ge=0, lt=2**32)
    payload: str = Field(max_length=MAX_PAYLOAD_HEX)

    @field_validator("payload")
    @classmethod
    def _payload(cls, value: str) -> str:
        return _hex(value, "payload")


class CodeHashParams(Params):
    """A code hash (32 octets, hex)."""

    code_hash: str

    @field_validator("code_hash")
    @classmethod
    def _code_hash(cls, value: str) -> str:
        text = _hex(value, "code_hash")
        if len(text) != 64:
            raise ValueError("code_hash must be 32 bytes")
        return text


class ItemParams(Params):
    """One storage item of a service."""

    service: int = Field(ge=0, lt=2**32)
    key: str = Field(max_length=MAX_ITEM_KEY_HEX)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        return _hex(value, "key")


def build_jam_dispatcher(node: JamNode) -> Dispatcher:
    """The RPC methods of a jamcore validator process."""
    dispatcher = Dispatcher()
    validator = node.validator
    chain = validator.chain

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
            "inclusion_slots": INCLUSION_SLOTS,
            "uptime_s": round(time.time() - node.started, 1),
            "epoch": state.slot // chain.spec.epoch_length,
            "sealing": "tickets" if isinstance(state.gamma_s, TicketSeries) else "fallback",
            "pending_reports": sum(1 for pending in state.availability if pending is not None),
            "mempool": len(validator.mempool),
            "in_flight": len(validator.inflight),
            "offenders": ["0x" + key.hex() for key in node.offenders()],
            "finality_keys": finality_keys_summary(node.finality.record()),
        }

    register_chain_methods(dispatcher, chain)

    register_pool_methods(dispatcher, node)

    @dispatcher.method("service_deploy", DeployParams)
    async def deploy(params: DeployParams) -> dict[str, Any]:
        """Deploy a PVM service: the registrar's accumulate creates it (`new`), an author
        provides its code in E_P; the id shows in service_getDeployed once accumulated."""
        blob = bytes.fromhex(params.blob)
        try:
            outgoing = validator.deploy(blob)
            code_hash = blake2b_256(check_blob(blob))
        except ServiceError as error:
            raise RpcError(REJECTED, f"deploy refused: {error}") from None
        await node.send(outgoing)
        return {"code_hash": "0x" + code_hash.hex()}

    @dispatcher.method("service_getDeployed", CodeHashParams)
    def get_deployed(params: CodeHashParams) -> dict[str, Any]:
        """The service id the registrar created for a code hash (null until then), and
        whether its code is provided and available to refine."""
        service = validator.deployed_service(bytes.fromhex(params.code_hash))
        ready = service is not None and code_ready(validator.head_state(), service, chain.spec)
        return {"service": service, "code_ready": ready}

    @dispatcher.method("service_submit", WorkParams)
    async def submit_work(params: WorkParams) -> dict[str, Any]:
        """Send service `service` a work package of one item with `payload`: refined by
        its code in the PVM, guaranteed, assured and accumulated by every validator."""
        try:
            outgoing = validator.submit_work(params.service, bytes.fromhex(params.payload))
        except ServiceError as error:
            raise RpcError(REJECTED, f"work refused: {error}") from None
        await node.send(outgoing)
        return {"service": params.service, "queued": True}

    @dispatcher.method("service_getItem", ItemParams)
    def get_item(params: ItemParams) -> dict[str, Any]:
        """A service's storage item a_s[key] at the head (null if absent)."""
        value = validator.service_item(params.service, bytes.fromhex(params.key))
        return {
            "block": "0x" + chain.head.hash.hex(),
            "value": None if value is None else "0x" + value.hex(),
        }

    register_method_list(dispatcher)
    return dispatcher
