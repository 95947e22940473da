"""A real devnet of validator processes: blocks flow, a SIGKILLed validator catches up."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from shielded.node import devnet

VALIDATORS = 6


def free_base_port(count: int) -> int:
    """A base port with `count` free consecutive ports after it."""
    for _ in range(50):
        base = random.randrange(20_000, 60_000, 2)
        try:
            sockets = []
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise RuntimeError("no free ports")


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def heads(directory: Path) -> dict[int, tuple[int, str]]:
    return {
        row["index"]: (row["head"]["height"], row["head"]["hash"])
        for row in devnet.status(directory)
        if row["state"] == "up"
    }


@pytest.mark.slow
@pytest.mark.xdist_group("devnet")
def test_devnet_runs_and_a_killed_validator_catches_up(tmp_path: Path) -> None:
    directory = tmp_path / "devnet"
    devnet.init(directory, VALIDATORS, slot_duration=1.0, base_port=free_base_port(2 * VALIDATORS))
    try:
        devnet.up(directory)
        wait_for(
            lambda: len(h := heads(directory)) == VALIDATORS and min(v[0] for v in h.values()) >= 3,
            60,
            "all validators to reach height 3",
        )
        # Single-slot finality: every validator sees a recent block become final.
        wait_for(
            lambda: all(
                row["finalized"]["height"] >= 2 for row in devnet.status(directory)
            ),
            30,
            "finality on every validator",
        )
        # Validators agree on the canonical chain (heads may differ by an in-flight block).
        agreed = wait_for(
            lambda: len({v for v in heads(directory).values()}) == 1 and heads(directory),
            30,
            "all validators to agree on one head",
        )
        height_before_kill = agreed[0][0]

        devnet.down(directory, only=[2], hard=True)
        wait_for(
            lambda: max(v[0] for v in heads(directory).values()) >= height_before_kill + 3,
            30,
            "the others to go on without validator 2",
        )
        devnet.up(directory, only=[2])
        wait_for(
            lambda: len(h := heads(directory)) == VALIDATORS and len(set(h.values())) == 1,
            60,
            "validator 2 to catch up",
        )
        def cli_shows_all_up() -> bool:
            cli = subprocess.run(
                [sys.executable, "-m", "shielded.cli", "devnet", "status", "--dir", str(directory)],
                capture_output=True,
                text=True,
                check=True,
            )
            return cli.stdout.count(" up ") == VALIDATORS

        wait_for(cli_shows_all_up, 30, "`shielded devnet status` to show every validator up")
    finally:
        devnet.down(directory)
    assert devnet.running_pids(directory) == {}


@pytest.mark.slow
@pytest.mark.xdist_group("devnet")
def test_equivocating_validator_becomes_an_offender(tmp_path: Path) -> None:
    directory = tmp_path / "devnet"
    config = devnet.init(
        directory, VALIDATORS, slot_duration=1.0, base_port=free_base_port(2 * VALIDATORS)
    )
    culprit = 1
    culprit_key = "0x" + config.validators[culprit].ed25519
    try:
        devnet.up(directory, only=[i for i in range(VALIDATORS) if i != culprit])
        devnet.up(directory, only=[culprit], env={"JAM_FAULT_EQUIVOCATE": "1"})
        rows = wait_for(
            lambda: [r for r in devnet.status(directory) if r["state"] == "up"]
            if all(
                r["state"] == "up" and culprit_key in r["offenders"]
                for r in devnet.status(directory)
            )
            else None,
            90,
            "every validator to record the equivocation on chain",
        )
        final_before = min(r["finalized"]["height"] for r in rows)
        # Finality goes on (5 honest validators of 6 exceed t = 5).
        wait_for(
            lambda: min(
                r["finalized"]["height"] if r["state"] == "up" else -1
                for r in devnet.status(directory)
            )
            > final_before,
            30,
            "finality to continue after the equivocation",
        )
    finally:
        devnet.down(directory)
