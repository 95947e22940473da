"""Calibration: measure state growth on a running devnet and compare it with the model.

Design section 7. `calibrate(directory)` reads the first validator's RPC port from
`directory/genesis.json`, reads `pool_getStats`, drives simulated users through the devnet
faucet (each user gets one deposit: the wallet library's transfer builder is not available
to drive yet, so deposits are the behaviour both sides replay), waits until the deposits are
in blocks, reads `pool_getStats` again and compares the growth with what the model predicts
for the same transactions: every pool transaction appends 2 leaves and reveals 2 nullifiers
(dummies included), and each leaf costs `StateSizes.bytes_per_leaf` amortized, each
nullifier `bytes_per_nullifier`. The state-bytes error also contains the tree paths that a
fresh epoch subtree adds (up to SUBTREE_DEPTH nodes) and, if an epoch boundary passed, the
expiry and pruning of that boundary: run it on an otherwise idle devnet.

If the devnet, its RPC or the pool statistics are missing, `CalibrationUnavailable` says which.
"""

from __future__ import annotations

import json
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shielded.node.devnet import rpc_call
from shielded.notes.keys import SpendingKey
from shielded.sim.pricing import ARITY
from shielded.sim.sizes import StateSizes, measure_sizes


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


def predict(sizes: StateSizes, transactions: int) -> list[Comparison]:
    """The model's growth for `transactions` ephemeral transactions: leaves, nullifiers, bytes
    (measured values are filled in by `compare`)."""
    leaves = nullifiers = ARITY * transactions
    state = round(leaves * sizes.bytes_per_leaf + nullifiers * sizes.bytes_per_nullifier)
    return [
        Comparison("live_notes", 0, leaves),
        Comparison("nullifiers", 0, nullifiers),
        Comparison("state_bytes", 0, state),
    ]


def compare(
    before: dict[str, Any], after: dict[str, Any], transactions: int, sizes: StateSizes
) -> list[Comparison]:
    """Measured growth between two `pool_getStats` answers against the model's prediction."""
    return [
        Comparison(
            item.quantity, int(after[item.quantity]) - int(before[item.quantity]), item.predicted
        )
        for item in predict(sizes, transactions)
    ]


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
    before and after and the comparison with the model."""
    port = rpc_port(directory)
    before = pool_stats(port)
    included = drive_deposits(port, users, amount, timeout)
    time.sleep(0.5)
    after = pool_stats(port)
    return before, after, compare(before, after, included, measure_sizes())


def format_report(
    before: dict[str, Any], after: dict[str, Any], comparisons: list[Comparison]
) -> str:
    """The calibration as text: epochs covered, then measured vs model per quantity."""
    lines = [
        f"devnet epochs {before['epoch']}..{after['epoch']}, "
        f"heights {before['height']}..{after['height']}",
        f"{'quantity':>12}  {'measured':>10}  {'model':>10}  {'error':>8}",
    ]
    for item in comparisons:
        lines.append(
            f"{item.quantity:>12}  {item.measured:>10,}  {item.predicted:>10,}  {item.error:>8.2%}"
        )
    if before["epoch"] != after["epoch"]:
        lines.append(
            "note: an epoch boundary passed: expiry and pruning are in the measured growth"
        )
    return "\n".join(lines)
