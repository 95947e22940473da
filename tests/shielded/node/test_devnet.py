"""A real devnet of validator processes: blocks flow, a SIGKILLed validator catches up."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from shielded.node import devnet

VALIDATORS = 6


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
    base_port = devnet.free_base_port(2 * VALIDATORS)
    devnet.init(directory, VALIDATORS, slot_duration=1.0, base_port=base_port)
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
                [sys.executable, "-m", "app.cli", "devnet", "status", "--dir", str(directory)],
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
def test_finality_keys_are_reshared_at_each_epoch_change(tmp_path: Path) -> None:
    """Design section 4: at every epoch change the validators reshare the OSST keys on chain
    (the round's dealings, complaints and answers are the finality service's work items);
    Y stays, the public shares change, and blocks keep being finalized with the new shares."""
    directory = tmp_path / "devnet"
    slot = 1.0
    base_port = devnet.free_base_port(2 * VALIDATORS)
    devnet.init(directory, VALIDATORS, slot_duration=slot, base_port=base_port)
    try:
        devnet.up(directory)
        genesis = wait_for(
            lambda: [r for r in devnet.status(directory) if r["state"] == "up"],
            60,
            "a validator to answer",
        )[0]["finality_keys"]
        assert genesis["reshared_from"] == 0

        def reshared_after(epoch: int) -> list[dict[str, Any]] | None:
            """Every validator's status once all hold keys reshared for a later epoch."""
            rows = devnet.status(directory)
            if all(
                r["state"] == "up"
                and r["finality_keys"]["epoch"] > epoch
                and r["finality_keys"]["reshared"]
                and r["finality_keys"]["reshared_from"] >= 5  # t = 5 of the 6 dealt
                for r in rows
            ):
                return rows
            return None

        # The first epoch change may carry the keys over: the nodes start after genesis,
        # possibly after the dealing window of epoch 0.
        first = wait_for(lambda: reshared_after(0), 60, "reshared keys on every validator")
        epoch = first[0]["finality_keys"]["epoch"]
        second = wait_for(lambda: reshared_after(epoch), 60, "a reshare at the next change")
        for rows in (first, second):
            keys = [r["finality_keys"] for r in rows]
            assert {k["group_key"] for k in keys} == {genesis["group_key"]}
            assert len({k["fingerprint"] for k in keys if k["epoch"] == keys[0]["epoch"]}) == 1
        fingerprints = {r["finality_keys"]["fingerprint"] for r in first + second}
        assert genesis["fingerprint"] not in fingerprints and len(fingerprints) >= 2
        epoch_length = first[0]["epoch_length"]
        wait_for(
            lambda: all(
                r["state"] == "up" and r["finalized"]["slot"] // epoch_length > epoch
                for r in devnet.status(directory)
            ),
            30,
            "blocks after the second reshare to be final (votes with the new shares)",
        )

        # A validator down through a reshare derives its new share from the chain when it
        # returns: with another one down, finality (t = 5 of 6) then needs its votes.
        devnet.down(directory, only=[2], hard=True)
        during_epoch = wait_for(
            lambda: _reshared_without(directory, second[0]["finality_keys"]["epoch"], 2),
            60,
            "a reshare while validator 2 is down",
        )
        devnet.up(directory, only=[2])
        wait_for(
            lambda: _all_hold_one_sharing(directory, since=during_epoch),
            60,
            "validator 2 to catch up to the keys reshared while it was down",
        )
        devnet.down(directory, only=[3], hard=True)
        final_before = max(r["finalized"]["height"] for r in _up(directory))
        wait_for(
            lambda: min(r["finalized"]["height"] for r in _up(directory)) >= final_before + 3,
            30,
            "finality with validator 3 down, which needs validator 2's votes",
        )
    finally:
        devnet.down(directory)


def _up(directory: Path) -> list[dict[str, Any]]:
    return [r for r in devnet.status(directory) if r["state"] == "up"]


def _reshared_without(directory: Path, after_epoch: int, down: int) -> int | None:
    """The epoch of keys reshared after `after_epoch` that every running validator holds
    (validator `down` is stopped), if they all hold the same."""
    rows = _up(directory)
    keys = [r["finality_keys"] for r in rows if r["index"] != down]
    if len(keys) == VALIDATORS - 1 and all(
        k["epoch"] > after_epoch and k["reshared"] and k["reshared_from"] >= 5 for k in keys
    ):
        if len({k["fingerprint"] for k in keys}) == 1:
            return int(keys[0]["epoch"])
    return None


def _all_hold_one_sharing(directory: Path, since: int) -> bool:
    """Every validator is up and holds the same reshared keys, of epoch `since` or later."""
    keys = [r["finality_keys"] for r in _up(directory)]
    return (
        len(keys) == VALIDATORS
        and len({k["fingerprint"] for k in keys}) == 1
        and keys[0]["epoch"] >= since
        and keys[0]["reshared_from"] >= 5
    )
