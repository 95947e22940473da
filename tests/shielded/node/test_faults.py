"""Faults on a real devnet: validators down, an equivocator, hostile peers, a foreign store.

Each test runs its own 6-validator devnet of OS processes with 1 s slots. With V = 6 the
finality threshold is t = floor(2V/3) + 1 = 5 (design section 4): losing two validators
stalls finality while the four others keep authoring their slots; one equivocator leaves
five honest voters, enough for finality to go on.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import threading
import time
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jamcore.block import DisputesExtrinsic, Extrinsic, header_hash
from jamcore.safrole.authoring import claim_slot
from jamcore.safrole.errors import SafroleError
from jamcore.stf.block import safrole_state
from shielded.finality.contribution import Vote
from shielded.node import devnet, jam_messages
from shielded.node.genesis import (
    GenesisConfig,
    ValidatorSecrets,
    genesis_hash,
    load_genesis,
    load_validator_secrets,
)
from shielded.node.jam_authoring import seal_block
from shielded.node.jam_chain import JamChain
from shielded.node.jam_devnet import devnet_genesis
from shielded.node.p2p import DOMAIN, MAX_FRAME, frame
from shielded.node.storage import ChainStore

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


def init_devnet(tmp_path: Path, name: str = "devnet") -> tuple[Path, GenesisConfig]:
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


def lowest_final(rows: dict[int, dict[str, Any]]) -> int:
    """The lowest final height among the validators that answered."""
    return min(row["finalized"]["height"] for row in rows.values())


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
    directory, config = init_devnet(tmp_path)
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
        final_height = lowest_final(rows)
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

    def poll(self, directory: Path) -> dict[int, dict[str, Any]]:
        """The running validators' statuses, observed."""
        rows = up_rows(directory)
        self.observe(rows)
        return rows

    def check_all(self, indices: list[int]) -> None:
        for index in indices:
            for height, block_hash in self.final.items():
                assert canonical_hash(self.config, index, height) == block_hash, (index, height)


def test_equivocation_goes_on_chain_and_final_blocks_are_never_replaced(
    tmp_path: Path,
) -> None:
    """The evidence goes on chain through the finality service
    (`shielded.native_finality`): refined, guaranteed, assured and accumulated."""
    directory, config = init_devnet(tmp_path)
    culprit = 1
    culprit_key = "0x" + config.validators[culprit].ed25519
    everyone = list(range(VALIDATORS))
    watch = FinalityWatch(config)

    try:
        devnet.up(directory, only=[i for i in everyone if i != culprit])
        devnet.up(
            directory, only=[culprit], env={"JAM_FAULT_EQUIVOCATE": "1"}
        )
        # Verify the evidence reaches the chain of every validator (offenders).
        rows = wait_for(
            lambda: (
                (r := watch.poll(directory))
                and len(r) == VALIDATORS
                and all(culprit_key in row["offenders"] for row in r.values())
                and r
            ),
            120,
            "every validator to hold the equivocation evidence on chain",
        )
        final_before = lowest_final(rows)
        # Verify finality goes on (five honest voters reach t = 5) and one chain wins.
        wait_for(
            lambda: lowest_final(watch.poll(directory)) >= final_before + 3,
            60,
            "finality to continue after the equivocation",
        )
        assert wait_for(
            lambda: agree_on_one_chain(config, everyone, watch.poll(directory)),
            30,
            "every validator to end on one canonical chain",
        )
        assert (
            "FAULT: equivocated"
            in (directory / "validators" / str(culprit) / "node.log").read_text()
        )
        watch.check_all(everyone)
        # Every block below the lowest final head is the same at every validator. (Polls are
        # sparse under load, so the heights seen final may skip; check the whole prefix.)
        final_now = lowest_final(watch.poll(directory))
        assert final_now >= final_before + 3
        for height in range(1, final_now + 1):
            assert len({canonical_hash(config, i, height) for i in everyone}) == 1, height
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


def _bad_messages(config: GenesisConfig, sender: int) -> list[bytes]:
    """An undecodable block and a malformed transaction in the JAM-codec message encoding
    of `jam_messages`."""
    spec = config.chain_spec()
    return [
        jam_messages.encode_message(jam_messages.Block(sender, os.urandom(300)), spec),
        jam_messages.encode_message(jam_messages.Transaction(b"\x00" * 10), spec),
    ]


def test_malformed_peer_input_does_not_crash_a_node(tmp_path: Path) -> None:
    directory, config = init_devnet(tmp_path)
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
        for message in _bad_messages(config, impostor):
            connection.sendall(frame(message))
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


STORE_FILE = "jam-chain.sqlite"


@pytest.fixture(scope="module")
def foreign_store_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Validator 0 of a fresh devnet started on validator 0's store of another devnet:
    whether it exited, its log, and whether the other five went on."""
    store = STORE_FILE
    base = tmp_path_factory.mktemp("foreign")
    other, _ = init_devnet(base, "other")
    try:
        devnet.up(other, only=[0])
        wait_for(lambda: 0 in up_rows(other), 90, "the other devnet's validator 0 to start")
    finally:
        devnet.down(other)  # SIGTERM: the store is closed cleanly (WAL checkpointed)
    directory, config = init_devnet(base)
    for name in (store, store + "-wal"):  # the WAL too, had it survived
        source = other / "validators" / "0" / name
        if source.exists():
            shutil.copyfile(source, directory / "validators" / "0" / name)
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


def test_refusing_a_foreign_store_logs_a_clear_error_not_a_traceback(
    foreign_store_run: dict[str, Any],
) -> None:
    log = foreign_store_run["log"]
    assert "different genesis" in log
    assert "Traceback" not in log


class ConflictingVotes(AssertionError):
    """An honest validator voted for two blocks on conflicting branches."""


class PeerTap:
    """The test's authenticated connection to one validator: frames arrive on a thread."""

    def __init__(self, connection: socket.socket, decode: Callable[[bytes], Any]) -> None:
        self.connection = connection
        self.decode = decode
        self.messages: queue.Queue[Any] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        self.connection.settimeout(None)
        try:
            while True:
                self.messages.put(self.decode(_read_frame(self.connection)))
        except (OSError, ConnectionError):
            return

    def send_raw(self, message: bytes) -> None:
        self.connection.sendall(frame(message))

    def close(self) -> None:
        self.connection.close()


def _sealer(chain: JamChain, slot: int, validators: list[ValidatorSecrets]) -> int:
    """Which validator Safrole gives `slot` on top of the jam chain's head (eq. 6.15)."""
    state = safrole_state(chain.head_state())
    for secrets in validators:
        try:
            claim_slot(state, slot, secrets.bandersnatch_secret, chain.spec)
        except SafroleError:
            continue
        return secrets.index
    raise AssertionError(f"nobody may seal slot {slot}")


def test_an_honest_validator_never_votes_for_conflicting_blocks(tmp_path: Path) -> None:
    """Validator 0 runs alone; the test plays the others with their genesis keys over one
    authenticated connection, follows validator 0 with a replica `JamChain` and seals
    graypaper blocks for the other validators' slots:
    block A, then a longer sibling branch B1 <- B2; validator 0 votes for A and never for B,
    and its head stays on A's branch."""
    directory, config = init_devnet(tmp_path)
    spec = config.chain_spec()
    validators = [load_validator_secrets(directory, i) for i in range(VALIDATORS)]
    genesis = devnet_genesis(directory, config)
    replica = JamChain(
        config, ChainStore(tmp_path / "replica.sqlite"), genesis.state, genesis.natives
    )
    votes: list[Vote] = []
    tap = None
    empty = Extrinsic((), (), (), (), DisputesExtrinsic((), (), ()))
    try:
        devnet.up(directory, only=[0])
        wait_for(lambda: 0 in up_rows(directory), 90, "validator 0 to start")
        tap = PeerTap(
            _authenticate(directory, config, 5, config.validators[0].p2p_port),
            lambda raw: jam_messages.decode_message(raw, spec),
        )
        tap.send_raw(jam_messages.encode_message(jam_messages.BlocksRequest(5, 1, 64), spec))

        def drain() -> None:
            """Follow validator 0: import its blocks into the replica, keep its votes."""
            while True:
                try:
                    message = tap.messages.get_nowait()
                except queue.Empty:
                    return
                if isinstance(message, jam_messages.Block):
                    replica.import_block(message.block)
                if isinstance(message, jam_messages.Blocks):
                    for block in message.blocks:
                        replica.import_block(block)
                if isinstance(message, jam_messages.FinalityVote):
                    vote = Vote.decode(message.vote)
                    if vote.contribution.index == 0:
                        votes.append(vote)

        def fork_window() -> tuple[int, int, int] | None:
            drain()
            head = replica.head
            now = config.slot_at(time.time())
            slots = range(head.slot + 1, now + 4)
            if any(_sealer(replica, s, validators) == 0 for s in slots):
                return None
            epoch = spec.epoch_length
            usable = [s for s in slots if s <= now and s // epoch == now // epoch]
            return (usable[-3], usable[-2], usable[-1]) if len(usable) >= 3 else None

        slot_a, slot_b1, slot_b2 = wait_for(fork_window, 90, "a window of free slots", 0.2)
        parent = replica.head_hash

        def author(slot: int) -> bytes:
            secret = validators[_sealer(replica, slot, validators)].bandersnatch_secret
            block = seal_block(
                replica.head_state(), replica.head_hash, replica.head_root(), slot, secret,
                empty, spec,
            )
            assert block is not None
            return replica.codecs.block.encode(block)

        def send_block(encoded: bytes) -> None:
            tap.send_raw(jam_messages.encode_message(jam_messages.Block(5, encoded), spec))

        block_a = author(slot_a)
        block_b1 = author(slot_b1)
        assert replica.import_block(block_b1).status == "imported"
        block_b2 = author(slot_b2)
        assert replica.import_block(block_b2).status == "imported"
        hash_a = header_hash(replica.decode(block_a).header, spec)
        branch_b = {replica.head.hash, replica.head.parent}
        assert replica.decode(block_a).header.parent == parent

        send_block(block_a)
        wait_for(
            lambda: drain() or any(v.payload.header_hash == hash_a for v in votes),
            15,
            "validator 0 to vote for block A",
            0.1,
        )
        send_block(block_b1)
        send_block(block_b2)
        head_b2 = "0x" + replica.head.hash.hex()

        def knows_b2() -> bool:
            try:
                devnet.rpc_call(
                    config.validators[0].rpc_port,
                    "chain_getHeader",
                    {"hash": head_b2},
                    timeout=RPC_TIMEOUT,
                )
            except RuntimeError:
                return False
            return True

        wait_for(knows_b2, 15, "validator 0 to import B1 <- B2")
        head = devnet.rpc_call(config.validators[0].rpc_port, "chain_getHead", timeout=RPC_TIMEOUT)
        assert bytes.fromhex(head["hash"][2:]) not in branch_b
        time.sleep(2 * SLOT)
        drain()
        conflicting = [v for v in votes if v.payload.header_hash in branch_b]
        if conflicting:
            raise ConflictingVotes(
                f"validator 0 voted for block A (slot {slot_a}) and then for "
                f"{len(conflicting)} block(s) of the sibling branch (slot "
                f"{conflicting[0].payload.slot}) that does not contain A"
            )
    finally:
        if tap is not None:
            tap.close()
        devnet.down(directory)
        replica.store.close()


@pytest.mark.slow
@pytest.mark.xdist_group("devnet")
def test_a_one_sided_equivocator_does_not_stall_finality(tmp_path: Path) -> None:
    """The culprit sends twin blocks to the two halves of its peers but votes for one only,
    so honest votes split with no evidence to show for it. Validators locked on the branch
    that is not the longest build on their lock's branch (`_follow_lock`), so finality keeps
    going through many such splits, and final blocks are never replaced."""
    directory, config = init_devnet(tmp_path)
    culprit = 1
    everyone = list(range(VALIDATORS))
    watch = FinalityWatch(config)
    log_file = directory / "validators" / str(culprit) / "node.log"

    def equivocations() -> int:
        return log_file.read_text().count("FAULT: equivocated") if log_file.exists() else 0

    try:
        devnet.up(directory, only=[i for i in everyone if i != culprit])
        devnet.up(
            directory, only=[culprit], env={"JAM_FAULT_EQUIVOCATE": "one"}
        )
        wait_for(lambda: equivocations() >= 2, 90, "two equivocations")
        final_before = lowest_final(watch.poll(directory))
        wait_for(lambda: equivocations() >= 5, 90, "five equivocations")
        wait_for(
            lambda: (
                len(rows := watch.poll(directory)) == VALIDATORS
                and lowest_final(rows) >= final_before + 10
            ),
            60,
            "finality to go on through the split votes",
        )
        assert wait_for(
            lambda: agree_on_one_chain(config, everyone, watch.poll(directory)),
            30,
            "every validator to end on one canonical chain",
        )
        watch.check_all(everyone)
    finally:
        devnet.down(directory)
