"""Faults on a real devnet: validators down, an equivocator, hostile peers, a foreign store.

Each test runs its own 6-validator devnet of OS processes with 1 s slots. With V = 6 the
finality threshold is t = floor(2V/3) + 1 = 5 (design section 4): losing two validators
stalls finality while the four others keep authoring their slots; one equivocator leaves
five honest voters, enough for finality to go on.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from shielded.node import devnet
from shielded.node.genesis import (
    GenesisConfig,
    genesis_hash,
    load_genesis,
    load_validator_secrets,
)
from shielded.node.messages import encode_message
from shielded.node.p2p import DOMAIN, MAX_FRAME, frame

VALIDATORS = 6
SLOT = 1.0
RPC_TIMEOUT = 15.0
"""Generous: on a loaded CI machine a validator may answer late; late is not wrong."""

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("devnet")]


def wait_for(condition: Any, timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll `condition` until it returns something truthy; fail naming `what`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def start(tmp_path: Path, name: str = "devnet") -> tuple[Path, GenesisConfig]:
    directory = tmp_path / name
    config = devnet.init(
        directory, VALIDATORS, slot_duration=SLOT, base_port=devnet.free_base_port(2 * VALIDATORS)
    )
    return directory, config


def up_rows(directory: Path) -> dict[int, dict[str, Any]]:
    """system_status of every validator whose RPC answers (a slow one is waited for), by
    index."""
    rows = {}
    for validator in load_genesis(directory).validators:
        try:
            rows[validator.index] = devnet.rpc_call(
                validator.rpc_port, "system_status", timeout=RPC_TIMEOUT
            )
        except (ConnectionError, urllib.error.URLError):
            continue  # not running (or not listening yet)
    return rows


def canonical_hash(config: GenesisConfig, index: int, height: int) -> str:
    """The hash validator `index` holds at canonical `height`."""
    port = config.validators[index].rpc_port
    header = devnet.rpc_call(port, "chain_getHeader", {"height": height}, timeout=RPC_TIMEOUT)
    return str(header["hash"])


def agree_on_one_chain(config: GenesisConfig, indices: list[int], rows: dict[int, Any]) -> bool:
    """Whether the validators hold the same block at the lowest of their head heights."""
    common = min(rows[i]["head"]["height"] for i in indices)
    return len({canonical_hash(config, i, common) for i in indices}) == 1


def test_two_of_six_down_stall_finality_until_they_return(tmp_path: Path) -> None:
    directory, config = start(tmp_path)
    everyone = list(range(VALIDATORS))
    live = [0, 1, 2, 3]
    try:
        devnet.up(directory)
        rows = wait_for(
            lambda: (
                (r := up_rows(directory))
                and len(r) == VALIDATORS
                and all(row["finalized"]["height"] >= 3 for row in r.values())
                and r
            ),
            90,
            "every validator to finalize height 3",
        )
        # Record final blocks at several heights; they must stay canonical throughout.
        final_height = min(row["finalized"]["height"] for row in rows.values())
        recorded = {
            height: canonical_hash(config, 0, height)
            for height in sorted({1, final_height // 2, final_height})
            if height >= 1
        }

        devnet.down(directory, only=[4, 5], hard=True)
        time.sleep(3 * SLOT)  # votes already in flight may still complete a certificate
        stalled = up_rows(directory)
        assert sorted(stalled) == live
        stalled_final = max(row["finalized"]["height"] for row in stalled.values())
        stalled_head = min(row["head"]["height"] for row in stalled.values())

        # Verify blocks continue on the four live validators (they own 4 of 6 slots).
        advanced = wait_for(
            lambda: (
                (r := up_rows(directory))
                and min(r[i]["head"]["height"] for i in live) >= stalled_head + 4
                and r
            ),
            60,
            "the four live validators to extend the chain",
        )
        # Verify finality stalled: 4 voters are below t = 5.
        assert max(advanced[i]["finalized"]["height"] for i in live) == stalled_final
        head_at_return = max(advanced[i]["head"]["height"] for i in live)

        devnet.up(directory, only=[4, 5])
        # Verify they catch up, finality resumes and reaches the blocks made meanwhile.
        rows = wait_for(
            lambda: (
                (r := up_rows(directory))
                and len(r) == VALIDATORS
                and all(row["finalized"]["height"] >= head_at_return for row in r.values())
                and r
            ),
            120,
            "finality to resume past the blocks made while 2 validators were down",
        )
        assert wait_for(
            lambda: agree_on_one_chain(config, everyone, up_rows(directory)),
            30,
            "all six validators to agree on one chain",
        )
        # Verify the final blocks recorded before the outage were never reverted.
        for index in everyone:
            for height, block_hash in recorded.items():
                assert canonical_hash(config, index, height) == block_hash, (index, height)
        for index in live:
            assert canonical_hash(config, index, stalled_final) == canonical_hash(
                config, 4, stalled_final
            )
    finally:
        devnet.down(directory)


class FinalityWatch:
    """Polls every validator's final block and checks the final prefix only ever grows."""

    def __init__(self, config: GenesisConfig) -> None:
        self.config = config
        self.final: dict[int, str] = {}
        """Height -> the hash some validator reported final at that height."""

    def observe(self, rows: dict[int, dict[str, Any]]) -> None:
        for index, row in rows.items():
            height, block_hash = row["finalized"]["height"], row["finalized"]["hash"]
            known = self.final.setdefault(height, block_hash)
            assert known == block_hash, f"two final blocks at height {height}"
            # The latest few final heights are still canonical at this validator.
            for earlier in sorted(h for h in self.final if h <= height)[-4:]:
                assert canonical_hash(self.config, index, earlier) == self.final[earlier], (
                    f"validator {index} replaced the final block at height {earlier}"
                )

    def check_all(self, indices: list[int]) -> None:
        for index in indices:
            for height, block_hash in self.final.items():
                assert canonical_hash(self.config, index, height) == block_hash, (index, height)


@pytest.mark.xfail(
    strict=False,
    reason="node bug (race, seen under CPU load): a validator votes for every new head, "
    "also one on a branch that conflicts with a block it voted for at an earlier slot, so "
    "two conflicting blocks can both be certified and validators finalize different "
    "chains; the deterministic reproduction is "
    "test_an_honest_validator_never_votes_for_conflicting_blocks",
)
def test_equivocation_goes_on_chain_and_final_blocks_are_never_replaced(
    tmp_path: Path,
) -> None:
    directory, config = start(tmp_path)
    culprit = 1
    culprit_key = "0x" + config.validators[culprit].ed25519
    everyone = list(range(VALIDATORS))
    watch = FinalityWatch(config)

    def observed() -> dict[int, dict[str, Any]]:
        rows = up_rows(directory)
        watch.observe(rows)
        return rows

    try:
        devnet.up(directory, only=[i for i in everyone if i != culprit])
        devnet.up(directory, only=[culprit], env={"JAM_FAULT_EQUIVOCATE": "1"})
        # Verify the evidence reaches the chain of every validator (offenders).
        rows = wait_for(
            lambda: (
                (r := observed())
                and len(r) == VALIDATORS
                and all(culprit_key in row["offenders"] for row in r.values())
                and r
            ),
            120,
            "every validator to hold the equivocation evidence on chain",
        )
        final_before = min(row["finalized"]["height"] for row in rows.values())
        # Verify finality goes on (five honest voters reach t = 5) and one chain wins.
        wait_for(
            lambda: (
                min(row["finalized"]["height"] for row in observed().values()) >= final_before + 3
            ),
            60,
            "finality to continue after the equivocation",
        )
        assert wait_for(
            lambda: agree_on_one_chain(config, everyone, observed()),
            30,
            "every validator to end on one canonical chain",
        )
        assert (
            "FAULT: equivocated"
            in (directory / "validators" / str(culprit) / "node.log").read_text()
        )
        watch.check_all(everyone)
        assert len(watch.final) >= 3
    finally:
        devnet.down(directory)


def _raw_exchange(port: int, payload: bytes, wait: float = 2.0) -> bytes:
    """Send `payload` on a fresh TCP connection; what came back before the node closed it
    (or `wait` seconds passed)."""
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        connection.sendall(payload)
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return received


def _read_frame(connection: socket.socket) -> bytes:
    header = _read_exactly(connection, 4)
    return _read_exactly(connection, int.from_bytes(header, "little"))


def _read_exactly(connection: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed by the node")
        data += chunk
    return data


def _authenticate(
    directory: Path, config: GenesisConfig, as_index: int, port: int
) -> socket.socket:
    """A raw connection that passes the p2p handshake with validator `as_index`'s key."""
    secrets = load_validator_secrets(directory, as_index)
    own_key = bytes(secrets.signing_key.verify_key)
    genesis = genesis_hash(config)
    nonce = os.urandom(32)
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(frame(genesis + own_key + nonce))
    hello = _read_frame(connection)
    peer_nonce = hello[64:]
    proof = secrets.signing_key.sign(DOMAIN + genesis + peer_nonce + nonce + own_key).signature
    connection.sendall(frame(proof))
    _read_frame(connection)  # the node's own proof
    return connection


def _closed_by_node(connection: socket.socket, within: float) -> bool:
    deadline = time.time() + within
    connection.settimeout(0.5)
    while time.time() < deadline:
        try:
            if connection.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def test_malformed_peer_input_does_not_crash_a_node(tmp_path: Path) -> None:
    directory, config = start(tmp_path)
    target = config.validators[0]
    impostor = 5  # not started: its key is used by the test's raw socket
    try:
        devnet.up(directory, only=[0, 1, 2, 3, 4])
        wait_for(
            lambda: (
                len(r := up_rows(directory)) == 5
                and all(row["head"]["height"] >= 2 for row in r.values())
            ),
            90,
            "five validators to produce blocks",
        )
        before = devnet.rpc_call(target.rpc_port, "chain_getHead", timeout=RPC_TIMEOUT)["height"]

        # Unauthenticated garbage, an oversized frame header, a hello from another chain,
        # a hello with a key outside the genesis, and a truncated frame.
        _raw_exchange(target.p2p_port, os.urandom(4096))
        _raw_exchange(target.p2p_port, (MAX_FRAME + 1).to_bytes(4, "little") + b"\x00" * 64)
        _raw_exchange(target.p2p_port, b"\xff\xff\xff\xff")
        stranger = os.urandom(32) + os.urandom(32) + os.urandom(32)
        _raw_exchange(target.p2p_port, frame(stranger))
        foreign_key = genesis_hash(config) + os.urandom(32) + os.urandom(32)
        _raw_exchange(target.p2p_port, frame(foreign_key))
        _raw_exchange(target.p2p_port, (1000).to_bytes(4, "little") + b"partial", wait=0.5)

        # An authenticated peer sending an oversized frame header is disconnected.
        connection = _authenticate(directory, config, impostor, target.p2p_port)
        connection.sendall((MAX_FRAME + 1).to_bytes(4, "little"))
        assert _closed_by_node(connection, 10)
        connection.close()

        # An authenticated peer sending undecodable messages and invalid blocks is scored
        # down and banned (4 malformed messages reach the ban score).
        connection = _authenticate(directory, config, impostor, target.p2p_port)
        connection.sendall(frame(encode_message("block", os.urandom(300))))
        connection.sendall(frame(encode_message("transaction", b"\x00" * 10)))
        for _ in range(4):
            connection.sendall(frame(b"\xee" + os.urandom(100)))
        assert _closed_by_node(connection, 10)
        connection.close()
        # The banned key is refused when it comes back.
        connection = _authenticate(directory, config, impostor, target.p2p_port)
        assert _closed_by_node(connection, 10)
        connection.close()

        # Verify the node keeps producing (importing) blocks and answering RPC.
        wait_for(
            lambda: (
                devnet.rpc_call(target.rpc_port, "chain_getHead", timeout=RPC_TIMEOUT)["height"]
                >= before + 3
            ),
            30,
            "validator 0 to keep importing blocks",
        )
        assert devnet.running_pids(directory).keys() == {0, 1, 2, 3, 4}
        wait_for(
            lambda: (
                devnet.rpc_call(target.rpc_port, "system_status", timeout=RPC_TIMEOUT)["peers"] == 4
            ),
            15,
            "validator 0 to keep its four honest peers",
        )
        log = (directory / "validators" / "0" / "node.log").read_text()
        assert "malformed message" in log
        assert "banned" in log
        assert "Traceback" not in log
    finally:
        devnet.down(directory)


@pytest.fixture(scope="module")
def foreign_store_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Validator 0 of a fresh devnet started on validator 0's store of another devnet:
    whether it exited, its log, and whether the other five went on."""
    base = tmp_path_factory.mktemp("foreign")
    other, _ = start(base, "other")
    try:
        devnet.up(other, only=[0])
        wait_for(lambda: 0 in up_rows(other), 90, "the other devnet's validator 0 to start")
    finally:
        devnet.down(other)  # SIGTERM: the store is closed cleanly (WAL checkpointed)
    directory, config = start(base)
    store = directory / "validators" / "0" / "chain.sqlite"
    shutil.copyfile(other / "validators" / "0" / "chain.sqlite", store)
    try:
        devnet.up(directory)
        exited = wait_for(
            lambda: 0 not in devnet.running_pids(directory), 60, "validator 0 to exit"
        )
        others = wait_for(
            lambda: (
                (r := up_rows(directory))
                and len(r) == 5
                and all(row["head"]["height"] >= 3 for row in r.values())
                and r
            ),
            90,
            "the other five validators to produce blocks",
        )
        log = (directory / "validators" / "0" / "node.log").read_text()
        return {
            "exited": exited,
            "log": log,
            "others": sorted(others),
            "rpc_up": 0 in up_rows(directory),
        }
    finally:
        devnet.down(directory)


def test_node_refuses_another_devnets_store(foreign_store_run: dict[str, Any]) -> None:
    assert foreign_store_run["exited"]
    assert not foreign_store_run["rpc_up"]
    assert foreign_store_run["others"] == [1, 2, 3, 4, 5]
    assert "different genesis" in foreign_store_run["log"]


@pytest.mark.xfail(
    strict=True,
    reason="validator.main() lets StorageError from Chain.__init__ escape: the process dies "
    "with a Python traceback instead of logging one clear error line and exiting",
)
def test_refusing_a_foreign_store_logs_a_clear_error_not_a_traceback(
    foreign_store_run: dict[str, Any],
) -> None:
    log = foreign_store_run["log"]
    assert "different genesis" in log
    assert "Traceback" not in log
