"""Compact blocks: the wallet's view of a block (design section 5).

A compact block lists each accepted transaction's kind, fee, public amounts, nullifiers and
outputs (commitment, tree position, ciphertext) and the rejected transactions with the
reason: all a wallet needs to find its notes and spends without the proofs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shielded.transaction import Transaction

COMPACT = "compact"
"""The node-local data key of a block's compact block (the store's `local` rows)."""


def compact_entry(tx: Transaction, placed: Mapping[int, tuple[int, bool]]) -> dict[str, Any]:
    """One accepted transaction; `placed` maps each output commitment to its (tree
    position, permanent) as the pool appended it."""
    return {
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


def compact_block(
    height: int,
    block_hash: bytes,
    parent: bytes,
    slot: int,
    epoch: int,
    transactions: list[dict[str, Any]],
    rejected: Mapping[str, str],
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
            "rejected": dict(rejected),
        },
        separators=(",", ":"),
    ).encode()
