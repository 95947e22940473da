"""The wallet's scanner against a real devnet with injected faults: reorg safety, crash
resume, spend detection and per-account attribution.

One devnet serves the module. Validator `equivocator` sends two different blocks for each
of its slots to the two halves of its peers (depth-1 forks); validator `partitioned` is cut
off from genesis until slot PARTITION_UNTIL, so it builds a private fork (with a deposit
submitted only to it) that loses to the longer public chain when it rejoins. One scanner of
the same wallet follows each validator while the forks happen; afterwards every store must
hold exactly the notes a fresh wallet restored from the mnemonic finds, and the balance the
canonical transactions imply.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jamcore.safrole.sealing import slot_sealer
from shielded.circuits.artifacts import load_proving
from shielded.node import devnet
from shielded.node.chain_rpc import BlockRef
from shielded.node.compact import compact_block
from shielded.node.genesis import GenesisConfig, create_devnet, load_account_key
from shielded.node.jsonrpc import NOT_FOUND, Dispatcher, Params, RpcError
from shielded.node.pool_rpc import CompactParams
from shielded.notes.encryption import encrypt_note
from shielded.notes.keys import SpendingKey
from shielded.notes.note import Note
from shielded.nullifiers.derive import derive_nullifier
from tests.wallet.conftest import ServedDispatcher
from wallet import keystore
from wallet.accounts import AccountKeys, account_keys, new_mnemonic
from wallet.builder import Quote, TransactionBuilder, payment
from wallet.keystore import FAST_KDF
from wallet.rpc import NodeClient
from wallet.scanner import ScanError, Scanner
from wallet.store import WalletStore, WalletStoreError
from wallet.wallet import Wallet


def devnet_test(test: Callable[..., None]) -> Callable[..., None]:
    """Slow, and on the xdist worker that runs the other devnet tests."""
    return pytest.mark.slow(pytest.mark.xdist_group("devnet")(test))


VALIDATORS = 6
PARTITION_UNTIL = 24
"""The slot until which the partitioned validator stays off the network."""
GENESIS_DELAY = 12.0
"""Seconds from genesis creation to slot 0: validators start and deposits are proved."""
PRIVATE_DEPOSIT = 70_000_000
PUBLIC_DEPOSIT = (100_000_000, 30_000_000)
"""The public deposit's outputs to accounts 0 and 1."""
TRANSFER = 12_000_000


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Net:
    """The module's devnet, its faulty validators and the wallet under test."""

    directory: Path
    config: GenesisConfig
    partitioned: int
    equivocator: int
    mnemonic: str
    scanners: dict[int, Scanner] = field(default_factory=dict)
    """One scanner of the wallet per honest validator (its own store each)."""
    seen: dict[int, set[tuple[int, bytes]]] = field(default_factory=dict)
    """Every (height, hash) each scanner ever recorded."""
    received: dict[int, set[tuple[bytes, int]]] = field(default_factory=dict)
    """Every (commitment, value) each scanner ever held."""
    deposits: dict[str, int] = field(default_factory=dict)
    """Submitted transaction id -> value it pays this wallet."""

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.config.validators[index].rpc_port}/"

    def client(self, index: int) -> NodeClient:
        return NodeClient(self.url(index), timeout=30.0)  # the test machine may be busy

    def accounts(self) -> list[AccountKeys]:
        return [account_keys(self.mnemonic, index) for index in (0, 1)]

    def sync_all(self) -> None:
        for index, scanner in self.scanners.items():
            scanner.sync()
            self.received.setdefault(index, set()).update(
                (n.commitment, n.value) for n in scanner.store.notes()
            )
            seen = self.seen.setdefault(index, set())
            tip = scanner.store.tip()
            while tip is not None and (tip.height, tip.hash) not in seen:
                seen.add((tip.height, tip.hash))
                tip = scanner.store.block_at(tip.height - 1)

    def canonical(self, height: int) -> bytes | None:
        return self.client(self.honest[0]).canonical_hash(height)

    @property
    def honest(self) -> list[int]:
        return [i for i in range(VALIDATORS) if i != self.equivocator]


def epoch_zero_slots(config: GenesisConfig) -> dict[int, list[int]]:
    """Validator index -> the slots of epoch 0 it seals (fallback keys of the genesis)."""
    state, spec = config.safrole_state(), config.chain_spec()
    index = {bytes.fromhex(v.bandersnatch): v.index for v in config.validators}
    owners: dict[int, list[int]] = {v.index: [] for v in config.validators}
    for slot in range(1, spec.epoch_length):
        key = slot_sealer(state, slot, spec).fallback_key
        if key in index:
            owners[index[key]].append(slot)
    return owners


def deposit(net: Net, node: int, source: str, outputs: list[tuple[AccountKeys, int]]) -> str:
    """A deposit from a funded demo account to this wallet's accounts, through `node`."""
    client = net.client(node)
    proving = load_proving(net.directory / "circuit", net.config.vk_hash)
    chain_id = bytes.fromhex(net.config.chain_id)
    builder = TransactionBuilder(client, outputs[0][0], lambda: proving, chain_id)
    total = sum(value for _, value in outputs)
    tx_id = builder.build_and_submit(
        payments=[payment(keys.address, value) for keys, value in outputs],
        quote=Quote(0, None, None),
        deposit_from=load_account_key(net.directory, source),
        deposit_amount=total,
    )
    net.deposits[tx_id] = total
    return tx_id


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """The devnet after its fork period: deposits made during the forks, the partitioned
    validator back on the canonical chain, the public deposit final."""
    root = tmp_path_factory.mktemp("wallet-scanner")
    directory = root / "devnet"
    config = create_devnet(
        directory,
        VALIDATORS,
        slot_duration=1.5,  # epochs of 18 s leave room to prove under CI load
        base_port=devnet.free_base_port(2 * VALIDATORS),
        genesis_delay=GENESIS_DELAY,
    )
    owners = epoch_zero_slots(config)
    # The partitioned validator seals the most slots of epoch 0 after the first few (so its
    # private fork surely holds blocks); the equivocator is the busiest of the others.
    partitioned = max(owners, key=lambda i: (len([s for s in owners[i] if s >= 3]), -i))
    equivocator = max((i for i in owners if i != partitioned), key=lambda i: (len(owners[i]), -i))
    net = Net(directory, config, partitioned, equivocator, new_mnemonic())
    try:
        normal = [i for i in range(VALIDATORS) if i not in (partitioned, equivocator)]
        devnet.up(directory, only=normal)
        devnet.up(
            directory, only=[partitioned], env={"JAM_FAULT_PARTITION_UNTIL": str(PARTITION_UNTIL)}
        )
        devnet.up(directory, only=[equivocator], env={"JAM_FAULT_EQUIVOCATE": "1"})
        for index in net.honest:
            store = WalletStore(root / f"scanner-{index}.sqlite")
            keys = [(a.index, a.spending) for a in net.accounts()]
            net.scanners[index] = Scanner(net.client(index), store, keys, parallel=False)
        wait_for(
            lambda: all(r["state"] == "up" for r in devnet.status(directory)),
            60,
            "every validator's RPC",
        )
        zero, one = net.accounts()
        public = net.honest[0] if net.honest[0] != partitioned else net.honest[1]
        # During the fork period, proved in a thread while the scanners follow every
        # validator: a deposit only the partitioned validator hears of (it lands on its
        # private fork, which loses; its validator may include it again after rejoining),
        # and a public one to both accounts.
        with ThreadPoolExecutor(1) as prover:
            private = prover.submit(deposit, net, partitioned, "alice", [(zero, PRIVATE_DEPOSIT)])
            public_deposit = prover.submit(
                deposit, net, public, "bob", [(zero, PUBLIC_DEPOSIT[0]), (one, PUBLIC_DEPOSIT[1])]
            )
            while not (private.done() and public_deposit.done()):
                net.sync_all()
                time.sleep(0.2)
            private_tx = private.result()
            public_tx = public_deposit.result()
        client = net.client(public)

        def settled() -> bool:
            net.sync_all()
            status = client.transaction_status(public_tx)
            if not (status.get("final") and status.get("canonical")):
                return False
            # The partitioned validator has rejoined: it holds the public final block.
            back = net.client(partitioned).canonical_hash(status["height"])
            if back != bytes.fromhex(status["block"]):
                return False
            # The private deposit's fate is sealed: rejected, or included in a final block
            # (when its private block lost, its validator offered it again on the public
            # chain; it may also have been refused there, e.g. for an anchor too old).
            fate = net.client(partitioned).transaction_status(private_tx)
            return fate["status"] == "rejected" or (
                fate["status"] == "included" and bool(fate.get("final"))
            )

        wait_for(settled, 180, "both deposits to be settled on every branch")
        net.sync_all()
        yield net
    finally:
        for scanner in net.scanners.values():
            scanner.store.close()
        devnet.down(directory)


def note_set(store: WalletStore) -> set[tuple[bytes, int, int, int, bytes, bool]]:
    return {
        (n.commitment, n.account, n.value, n.position, n.nullifier, n.spent_height is None)
        for n in store.notes()
    }


def restored(net: Net, node: int, path: Path) -> Wallet:
    """A fresh wallet from the same mnemonic (both accounts), synced from genesis."""
    wallet = Wallet.create(
        path,
        "pw",
        mnemonic=net.mnemonic,
        node_url=net.url(node),
        circuit_dir=net.directory / "circuit",
        kdf=FAST_KDF,
    )
    wallet.secrets.add_account("second")
    keystore.save(path, wallet.secrets, "pw", FAST_KDF)
    wallet.sync()
    return wallet


def canonical_value(net: Net) -> int:
    """What the wallet's canonical deposits pay it, from the nodes' transaction status."""
    client = net.client(net.honest[0])
    total = 0
    for tx_id, value in net.deposits.items():
        status = client.transaction_status(tx_id)
        if status["status"] == "included" and status["canonical"]:
            total += value
    return total


@devnet_test
def test_reorgs_lose_no_note_and_count_none_twice(net: Net, tmp_path: Path) -> None:
    net.sync_all()
    fresh = restored(net, net.honest[0], tmp_path / "fresh.wallet")
    try:
        expected = note_set(fresh.store)
        value = canonical_value(net)
        # The private deposit counts only if its validator re-included it canonically.
        assert value in (sum(PUBLIC_DEPOSIT), sum(PUBLIC_DEPOSIT) + PRIVATE_DEPOSIT)
        assert sum(n.value for n in fresh.store.notes(unspent_only=True)) == value
        assert {n.value for n in fresh.store.notes(1)} == {PUBLIC_DEPOSIT[1]}
        balances = [fresh.balance(a) for a in fresh.all_accounts()]
        assert sum(b.total for b in balances) == value
        final = net.client(net.honest[0]).status()["finalized"]["height"]
        observed = 0
        for index, scanner in net.scanners.items():
            store = scanner.store
            assert note_set(store) == expected, f"scanner of validator {index}"
            assert len(store.notes()) == len({n.commitment for n in store.notes()})
            # Every block the scanner ever recorded that is not canonical now was undone by
            # a reorganisation the scanner counted.
            orphaned = [h for h, block_hash in net.seen[index] if net.canonical(h) != block_hash]
            stale = [h for h in orphaned if h <= final]
            if stale:
                observed += 1
                assert scanner.reorgs > 0, f"scanner of validator {index} missed a reorg"
                for height in stale:
                    assert store.block_at(height) is None or store.block_at(height).hash == (
                        net.canonical(height)
                    )
        # Notes some scanner held and then dropped came only from the losing private fork.
        kept = {entry[0] for entry in expected}
        dropped = {v for c, v in set().union(*net.received.values()) if c not in kept}
        assert dropped <= {PRIVATE_DEPOSIT}
        # The partitioned validator's private fork (or, if it grew longer than the
        # public chain, the public chain) was recorded by some scanner and undone.
        assert observed >= 1
    finally:
        fresh.close()


@devnet_test
def test_spend_disappears_and_same_wallet_receipt_is_attributed(net: Net, tmp_path: Path) -> None:
    sender = restored(net, net.honest[0], tmp_path / "sender.wallet")
    try:
        zero, one = sender.all_accounts()
        before = sender.store.notes(0, unspent_only=True)
        assert PUBLIC_DEPOSIT[0] in {n.value for n in before}
        # A block carrying it may lose to the equivocator's twin; the nodes offer it again,
        # and should that carry it past its epoch, the wallet builds it again (`complete`).
        tx_id = sender.complete(
            lambda: sender.send(zero, one.address, TRANSFER, use_spam_proof=False, memo=b"to me")
        )
        status = sender.client.transaction_status(tx_id)
        sender.sync()
        spent = {n.commitment for n in before} - {
            n.commitment for n in sender.store.notes(0, unspent_only=True)
        }
        assert spent, "the spent note is still listed as unspent"
        for note in sender.store.notes(0):
            if note.commitment in spent:
                assert note.spent_height == status["height"]
        received = [n for n in sender.store.notes(1) if n.received_height == status["height"]]
        assert [(n.account, n.value, n.memo) for n in received] == [(1, TRANSFER, b"to me")]
        kinds = {(e.account, e.kind, e.amount) for e in sender.history(zero)} | {
            (e.account, e.kind, e.amount) for e in sender.history(one)
        }
        assert (0, "sent", TRANSFER) in kinds and (1, "received", TRANSFER) in kinds
        # Every scanner, whichever branch its validator followed, agrees.
        net.sync_all()
        for scanner in net.scanners.values():
            assert note_set(scanner.store) == note_set(sender.store)
    finally:
        sender.close()


CHILD = """
import sys
import wallet.scanner as scanner_module
from wallet.accounts import account_keys
from wallet.rpc import NodeClient
from wallet.store import WalletStore, WalletStoreError

url, path, mnemonic = sys.argv[1:4]
scanner_module.BATCH_BLOCKS = 2
keys = [(i, account_keys(mnemonic, i).spending) for i in (0, 1)]
client = NodeClient(url, timeout=30.0)
scanner = scanner_module.Scanner(client, WalletStore(path), keys, parallel=False)
scanner.sync(lambda p: print(p.scanned, flush=True))
print("done", flush=True)
"""


@devnet_test
def test_killed_sync_resumes_to_a_clean_sync(net: Net, tmp_path: Path) -> None:
    node = net.honest[0]
    path = tmp_path / "killed.sqlite"
    # Killed twice: the second sync resumes the first's store and dies mid-way too.
    tips = []
    for batches in (3, 4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, net.url(node), str(path), net.mnemonic],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            lines = [child.stdout.readline() for _ in range(batches)]
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        assert all(line.strip().isdigit() for line in lines), lines
        reopened = WalletStore(path)
        tip = reopened.tip()
        reopened.close()
        assert tip is not None
        tips.append(tip.height)
    assert tips[0] < tips[1], "the second sync did not resume past the first"
    keys = [(a.index, a.spending) for a in net.accounts()]
    store = WalletStore(path)
    clean = WalletStore(tmp_path / "clean.sqlite")
    try:
        interrupted = store.tip()
        assert interrupted is not None
        head = net.client(node).status()["head"]["height"]
        assert interrupted.height < head, "the sync finished before it was killed"
        final = net.client(node).status()["finalized"]["height"]
        Scanner(net.client(node), store, keys, parallel=False).sync()  # resumes
        Scanner(net.client(node), clean, keys, parallel=False).sync()
        assert note_set(store) == note_set(clean)
        assert store.notes() and len(store.notes()) == len(note_set(store))
        assert store.history() == clean.history()
        for height in range(final + 1):
            assert store.block_at(height) == clean.block_at(height)
        # The resumed chain of blocks is contiguous and linked.
        tip = store.tip()
        assert tip is not None
        for height in range(1, tip.height + 1):
            block, parent = store.block_at(height), store.block_at(height - 1)
            assert block is not None and parent is not None and block.parent == parent.hash
    finally:
        store.close()
        clean.close()


# --- deterministic reorgs: a JSON-RPC node whose canonical chain the test switches ------


class SwitchableNode:
    """A JSON-RPC node (the devnet's `RpcServer` and `Dispatcher`) serving compact blocks
    of a canonical chain the test replaces at will, as a validator's fork choice would."""

    def __init__(self) -> None:
        self.chain: list[dict[str, Any]] = []
        dispatcher = Dispatcher()

        @dispatcher.method("system_status")
        def status(_: Params) -> dict[str, Any]:
            head = self.chain[-1]
            return {"head": {"height": head["height"]}, "finalized": {"height": 0}}

        @dispatcher.method("pool_getCompactBlocks", CompactParams)
        def compact(params: CompactParams) -> list[dict[str, Any]]:
            return self.chain[params.from_height : params.from_height + params.count]

        @dispatcher.method("chain_getHeader", BlockRef)
        def header(ref: BlockRef) -> dict[str, Any]:
            if ref.height is None or ref.height >= len(self.chain):
                raise RpcError(NOT_FOUND, "no such block")
            return {"hash": self.chain[ref.height]["hash"], "height": ref.height}

        self.served = ServedDispatcher(dispatcher)
        self.url = self.served.url

    def close(self) -> None:
        self.served.close()


@pytest.fixture
def node() -> Iterator[SwitchableNode]:
    served = SwitchableNode()
    yield served
    served.close()


OWNER = SpendingKey.from_seed(b"wallet/test_scanner".ljust(32, b"\0"))
KEYS = [(0, OWNER)]


@dataclass(frozen=True)
class Out:
    """An output in a made-up block: `value` to the wallet at tree `position`."""

    value: int
    position: int

    def note(self) -> Note:
        return Note(self.value, OWNER.pk, 1000 + self.position, 50)

    def nullifier(self) -> str:
        return hex(derive_nullifier(OWNER.nk, self.note().commitment, self.position))


def made_chain(
    tag: bytes, body: dict[int, tuple[list[Out], list[Out]]], length: int, base: list[Any]
) -> list[dict[str, Any]]:
    """`base` extended to `length` blocks; block h carries one transaction receiving
    body[h][0] and spending body[h][1]. Hashes depend on `tag`, so branches differ."""
    chain = list(base)
    for height in range(len(chain), length):
        parent = bytes.fromhex(chain[-1]["hash"][2:]) if chain else bytes(32)
        received, spent = body.get(height, ([], []))
        transactions = []
        if received or spent:
            transactions.append(
                {
                    "tx_id": hashlib.blake2b(tag + bytes([height]), digest_size=32).hexdigest(),
                    "kind": "transfer",
                    "fee": 0,
                    "deposit": None,
                    "withdrawal": None,
                    "nullifiers": [out.nullifier() for out in spent],
                    "outputs": [
                        {
                            "commitment": hex(out.note().commitment),
                            "position": out.position,
                            "permanent": False,
                            "ciphertext": encrypt_note(out.note(), OWNER.address).hex(),
                        }
                        for out in received
                    ],
                }
            )
        block_hash = hashlib.blake2b(tag + height.to_bytes(4, "big"), digest_size=32).digest()
        chain.append(
            json.loads(compact_block(height, block_hash, parent, height, 0, transactions, {}))
        )
    return chain


def state(store: WalletStore) -> tuple[Any, ...]:
    tip = store.tip()
    blocks = [store.block_at(h) for h in range(-1 if tip is None else tip.height + 1)]
    return blocks, store.notes(), store.history()


def synced_from_scratch(node: SwitchableNode, path: Path) -> tuple[Any, ...]:
    store = WalletStore(path)
    try:
        Scanner(NodeClient(node.url), store, KEYS, parallel=False).sync()
        return state(store)
    finally:
        store.close()


def test_reorg_to_a_longer_branch_undoes_receipts_and_spends(
    node: SwitchableNode, tmp_path: Path
) -> None:
    a, b, c = Out(7, 0), Out(5, 1), Out(9, 1)
    common = made_chain(b"main", {1: ([a], [])}, 3, [])
    node.chain = made_chain(b"main", {3: ([b], [a])}, 5, common)
    store = WalletStore(tmp_path / "wallet.sqlite")
    scanner = Scanner(NodeClient(node.url), store, KEYS, parallel=False)
    scanner.sync()
    assert [(n.value, n.spent_height) for n in store.notes()] == [(7, 3), (5, None)]
    # The node switches to a longer branch from height 2: b never existed, a is unspent,
    # then spent again at another height, and c arrives.
    node.chain = made_chain(b"fork", {4: ([c], []), 5: ([], [a])}, 7, common)
    progress = scanner.sync()
    assert scanner.reorgs == 1 and progress.reorgs == 1 and progress.scanned == 6
    assert [(n.value, n.spent_height) for n in store.notes()] == [(7, 5), (9, None)]
    assert [(e.height, e.kind, e.amount) for e in store.history()] == [
        (1, "received", 7),
        (4, "received", 9),
        (5, "sent", 7),
    ]
    assert state(store) == synced_from_scratch(node, tmp_path / "fresh.sqlite")
    scanner.sync()
    assert scanner.reorgs == 1  # nothing new: no spurious reorganisation


def test_switch_to_a_branch_no_longer_than_the_tip_is_noticed(
    node: SwitchableNode, tmp_path: Path
) -> None:
    common = made_chain(b"main", {}, 3, [])
    node.chain = made_chain(b"main", {3: ([Out(4, 0)], []), 4: ([Out(6, 1)], [])}, 5, common)
    store = WalletStore(tmp_path / "wallet.sqlite")
    scanner = Scanner(NodeClient(node.url), store, KEYS, parallel=False)
    scanner.sync()
    assert sum(n.value for n in store.notes()) == 10
    # A shorter branch becomes canonical (as when finality certifies it): the node has
    # nothing above the wallet's tip, yet the tip and its note are gone.
    node.chain = made_chain(b"fork", {}, 4, common)
    scanner.sync()
    assert scanner.reorgs == 1
    assert store.notes() == [] and store.history() == []
    assert state(store) == synced_from_scratch(node, tmp_path / "fresh.sqlite")
    # Same height, another block at the tip.
    node.chain = made_chain(b"other", {3: ([Out(8, 0)], [])}, 4, common)
    scanner.sync()
    assert scanner.reorgs == 2 and [n.value for n in store.notes()] == [8]


def test_another_chain_is_refused_and_changes_nothing(node: SwitchableNode, tmp_path: Path) -> None:
    node.chain = made_chain(b"main", {1: ([Out(3, 0)], [])}, 3, [])
    store = WalletStore(tmp_path / "wallet.sqlite")
    scanner = Scanner(NodeClient(node.url), store, KEYS, parallel=False)
    scanner.sync()
    before = state(store)
    node.chain = made_chain(b"elsewhere", {}, 5, [])
    with pytest.raises(ScanError, match="shares no block"):
        scanner.sync()
    assert state(store) == before


def _corrupt(chain: list[dict[str, Any]], path: tuple[Any, ...], value: Any) -> None:
    target: Any = chain
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ((2, "height"), 7, "compact block 2 height: expected 2, got 7"),
        ((2, "parent"), "0x12", "compact block 2 parent: expected 0x"),
        ((2, "transactions"), None, "compact block 2 transactions: expected a JSON array"),
        ((1, "transactions", 0, "nullifiers"), ["0xzz"], "nullifier: expected a hex field"),
        ((1, "transactions", 0, "outputs", 0, "ciphertext"), "00" * 10, "ciphertext: expected"),
        ((1, "transactions", 0, "outputs", 0, "commitment"), hex(2**256), "commitment"),
        ((1, "transactions", 0, "outputs", 0, "position"), -1, "position: expected a natural"),
        ((1, "transactions", 0, "fee"), "1", "fee: expected a natural number, got '1'"),
    ],
)
def test_a_node_sending_garbage_gets_a_clear_error_and_changes_nothing(
    node: SwitchableNode, tmp_path: Path, path: tuple[Any, ...], value: Any, message: str
) -> None:
    node.chain = made_chain(b"main", {1: ([Out(3, 0)], [Out(2, 9)])}, 4, [])
    _corrupt(node.chain, path, value)
    store = WalletStore(tmp_path / "wallet.sqlite")
    with pytest.raises(ScanError, match=re.escape(message)):
        Scanner(NodeClient(node.url), store, KEYS, parallel=False).sync()
    assert store.tip() is None and store.notes() == [] and store.history() == []


def test_a_corrupted_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "wallet.sqlite"
    path.write_bytes(b"this is not an SQLite database, just some bytes" * 100)
    with pytest.raises(WalletStoreError, match="is not a usable wallet store"):
        WalletStore(path)
    assert path.read_bytes().startswith(b"this is not an SQLite database")
