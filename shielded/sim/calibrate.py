"""Calibration: measure state growth on a running devnet and compare it with the model.

Design section 7. `calibrate(directory)` reads the first validator's RPC port from
`directory/genesis.json`, reads `pool_getStats`, drives simulated users through the devnet
faucet (each user gets one deposit: the wallet library's transfer builder cannot be driven
yet, so deposits are the behaviour), waits until the deposits are in blocks and reads
`pool_getStats` again. The model then replays the same blocks (`pool_getCompactBlocks`:
each transaction's outputs with their tier and its nullifiers, dummies included, and the
block's epoch) with the model's own rules (live window of N + 1 epoch subtrees, nullifier
pruning after N epochs, per-item sizes of `shielded.sim.sizes`) and predicts the pool
statistics before and after; the growth measured on the devnet is compared with the growth
the model predicts, quantity by quantity. Other traffic on the devnet is replayed too, so
it does not spoil the comparison.

If the devnet, its RPC or the pool statistics are missing, `CalibrationUnavailable` says which.
"""

from __future__ import annotations

import json
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shielded.node.devnet import rpc_call
from shielded.notes.keys import SpendingKey
from shielded.service import PoolConfig
from shielded.sim.sizes import StateSizes, measure_sizes, state_bytes

QUANTITIES = ("live_notes", "permanent_notes", "nullifiers", "state_bytes")
"""The `pool_getStats` fields the model predicts (live_notes counts live-tree leaves)."""
MAX_BATCH = 200
"""Compact blocks per RPC call (the node's limit)."""


class CalibrationUnavailable(RuntimeError):
    """The devnet cannot be calibrated against; the message says what is missing."""


@dataclass(frozen=True)
class Comparison:
    """One quantity's growth on the devnet and in the model."""

    quantity: str
    measured: int
    predicted: int

    @property
    def error(self) -> float:
        """(measured - predicted) / predicted; 0 when both are 0."""
        if self.predicted == 0:
            return 0.0 if self.measured == 0 else float("inf")
        return (self.measured - self.predicted) / self.predicted


def rpc_port(directory: Path) -> int:
    """validators[0].rpc_port of `directory/genesis.json`."""
    path = directory / "genesis.json"
    try:
        genesis = json.loads(path.read_text())
        return int(genesis["validators"][0]["rpc_port"])
    except FileNotFoundError:
        raise CalibrationUnavailable(
            f"no devnet in {directory}: {path} is missing (run `shielded devnet init --dir "
            f"{directory}` and `shielded devnet up --dir {directory}`)"
        ) from None
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise CalibrationUnavailable(f"{path} has no validators[0].rpc_port: {error}") from None


def pool_stats(port: int) -> dict[str, Any]:
    """`pool_getStats` of the validator on `port`, or CalibrationUnavailable saying why."""
    try:
        return dict(rpc_call(port, "pool_getStats"))
    except (OSError, urllib.error.URLError) as error:
        raise CalibrationUnavailable(
            f"no validator answers on 127.0.0.1:{port} ({error}): start the devnet with "
            "`shielded devnet up --dir DIR`"
        ) from None
    except RuntimeError as error:
        raise CalibrationUnavailable(
            f"the validator on port {port} offers no pool statistics (pool_getStats: {error})"
        ) from None


def replay(blocks: list[dict[str, Any]], epoch: int, lifetime: int, sizes: StateSizes) -> dict:
    """The model's pool statistics after `blocks` (compact blocks from height 0) at `epoch`:
    live leaves per epoch of the window [epoch - N, epoch], permanent leaves, nullifiers
    revealed within the window (the ephemeral pruning rule; the devnet spends no permanent
    notes here) and the state bytes these imply (`sizes.state_bytes`)."""
    window = np.zeros(lifetime + 1, dtype=np.int64)
    permanent = nullifiers = 0
    for block in blocks:
        age = epoch - int(block["epoch"])
        for transaction in block["transactions"]:
            outputs = transaction["outputs"]
            kept = sum(1 for output in outputs if output["permanent"])
            permanent += kept
            if 0 <= age <= lifetime:
                window[age] += len(outputs) - kept
                nullifiers += len(transaction["nullifiers"])
    return {
        "live_notes": int(window.sum()),
        "permanent_notes": permanent,
        "nullifiers": nullifiers,
        "state_bytes": state_bytes(sizes, window, permanent, nullifiers),
    }


def compare(
    measured: tuple[dict[str, Any], dict[str, Any]], model: tuple[dict[str, Any], dict[str, Any]]
) -> list[Comparison]:
    """Growth between two `pool_getStats` answers against the model's growth over the same
    blocks, then the values at the head, for every quantity the model predicts."""
    growth = [
        Comparison(
            name,
            int(measured[1][name]) - int(measured[0][name]),
            int(model[1][name]) - int(model[0][name]),
        )
        for name in QUANTITIES
    ]
    at_head = [
        Comparison(f"{name} at head", int(measured[1][name]), int(model[1][name]))
        for name in QUANTITIES
    ]
    return growth + at_head


def compact_blocks(port: int, height: int) -> list[dict[str, Any]]:
    """Compact blocks 0..height of the canonical chain."""
    blocks: list[dict[str, Any]] = []
    while len(blocks) <= height:
        count = min(MAX_BATCH, height + 1 - len(blocks))
        batch = rpc_call(
            port, "pool_getCompactBlocks", {"from_height": len(blocks), "count": count}
        )
        if not batch:
            break
        blocks.extend(batch)
    return blocks[: height + 1]


def drive_deposits(port: int, users: int, amount: int, timeout: float) -> int:
    """Give each simulated user one faucet deposit; returns how many reached a block."""
    pending = []
    for index in range(users):
        key = SpendingKey.from_seed(
            f"jam-shielded/sim-calibration/{index}".encode().ljust(32, b".")
        )
        try:
            answer = rpc_call(
                port, "faucet_request", {"address": key.address.encode(), "amount": amount}, 120
            )
        except (OSError, RuntimeError, urllib.error.URLError) as error:
            raise CalibrationUnavailable(f"faucet_request failed: {error}") from None
        pending.append(answer["tx_id"])
    included, deadline = 0, time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        time.sleep(1.0)
        still = []
        for tx_id in pending:
            status = rpc_call(port, "pool_getTransactionStatus", {"tx_id": tx_id})
            if status.get("status") == "included":
                included += 1
            elif status.get("status") in ("pending", "unknown"):
                still.append(tx_id)
        pending = still
    return included


def calibrate(
    directory: Path, users: int = 4, amount: int = 1_000, timeout: float = 180.0
) -> tuple[dict[str, Any], dict[str, Any], list[Comparison]]:
    """Drive `users` deposits through the devnet in `directory`; returns the statistics
    before and after and the comparison of their growth with the model's."""
    port = rpc_port(directory)
    before = pool_stats(port)
    drive_deposits(port, users, amount, timeout)
    after = pool_stats(port)
    blocks = compact_blocks(port, int(after["height"]))
    sizes, lifetime = measure_sizes(), PoolConfig().lifetime
    model = (
        replay(blocks[: int(before["height"]) + 1], int(before["epoch"]), lifetime, sizes),
        replay(blocks, int(after["epoch"]), lifetime, sizes),
    )
    return before, after, compare((before, after), model)


def format_report(
    before: dict[str, Any], after: dict[str, Any], comparisons: list[Comparison]
) -> str:
    """The calibration as text: epochs covered, then measured vs model per quantity."""
    lines = [
        f"devnet epochs {before['epoch']}..{after['epoch']}, "
        f"heights {before['height']}..{after['height']}",
        f"{'quantity (growth unless at head)':>32}  {'measured':>10}  {'model':>10}  {'error':>8}",
    ]
    for item in comparisons:
        lines.append(
            f"{item.quantity:>32}  {item.measured:>10,}  {item.predicted:>10,}  {item.error:>8.2%}"
        )
    if before["epoch"] != after["epoch"]:
        lines.append("an epoch boundary passed: the model replayed its expiry and pruning too")
    return "\n".join(lines)
