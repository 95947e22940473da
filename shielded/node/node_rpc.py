"""The node's JSON-RPC methods (system; the chain's in `chain_rpc.py`, the pool's in
`pool_rpc.py`).

Every method validates its parameters with a pydantic model; hashes are 0x-prefixed hex.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jamcore.safrole.state import TicketSeries
from shielded.node.chain_rpc import block_summary, register_chain_methods, register_method_list
from shielded.node.jsonrpc import Dispatcher, Params
from shielded.node.key_record import finality_keys_summary
from shielded.node.pool_rpc import register_pool_methods

if TYPE_CHECKING:
    from shielded.node.validator import ValidatorNode


def build_dispatcher(node: ValidatorNode) -> Dispatcher:
    """The RPC methods of a validator node."""
    dispatcher = Dispatcher()
    chain = node.chain

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

    register_chain_methods(dispatcher, chain)
    register_pool_methods(dispatcher, node)

    register_method_list(dispatcher)
    return dispatcher
