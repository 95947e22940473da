"""Benchmarks of the wallet: scanning outputs and blocks, and sending (design section 6).

* `wallet.scan_outputs_per_s`: trial decryption through `wallet.scanner.decrypt_outputs`
  with a process pool over all cores (target >= 40,000 outputs/s on the 2-core machine).
  The batch holds SCAN_OUTPUTS real note ciphertexts (`encrypt_note` to random addresses,
  a few to the wallet); to keep the module short, DISTINCT_OUTPUTS distinct ciphertexts
  are made and repeated (trial decryption costs the same for a repeat: nothing is cached).
* `wallet.send_total_s`: `Wallet.send` (note selection, fee quote, witnesses, Groth16
  proof, submission; not the wait for inclusion) against a real 6-validator devnet with
  1 s slots, best of SENDS sends from distinct final notes.
* `wallet.scan_blocks_per_s`: a fresh `Scanner` syncing that devnet's chain from genesis
  (at least MIN_CHAIN blocks over JSON-RPC, all but the few carrying the benchmark's
  transactions empty), best of three, with only the serving validator still running.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from nacl.bindings import crypto_scalarmult_base

from bench import Figure, best_seconds
from shielded.circuits.artifacts import load_proving
from shielded.node import devnet
from shielded.node.genesis import load_account_key
from shielded.notes.address import ShieldedAddress
from shielded.notes.encryption import encrypt_note
from shielded.notes.keys import SpendingKey
from shielded.notes.note import Note
from shielded.notes.poseidon import FIELD_MODULUS
from wallet.builder import Quote, TransactionBuilder, payment
from wallet.keystore import FAST_KDF
from wallet.rpc import NodeClient
from wallet.scanner import Scanner, decrypt_outputs
from wallet.store import WalletStore
from wallet.wallet import Wallet

SCAN_OUTPUTS = 20_000
DISTINCT_OUTPUTS = 4_000
MINE_EVERY = 1_000
"""One output in this many is addressed to the wallet."""
VALIDATORS = 6
SENDS = 2
NOTE_VALUES = (10_000_000, 20_000_000)
"""The deposit's notes; send i pays a bit less than note i, so each send spends its own."""
MIN_CHAIN = 50


def _random_outputs(count: int) -> list[tuple[int, bytes]]:
    """`count` (commitment, ciphertext) pairs of notes to random addresses."""
    outputs = []
    for _ in range(count):
        address = ShieldedAddress(
            secrets.randbelow(FIELD_MODULUS), crypto_scalarmult_base(os.urandom(32))
        )
        note = Note(secrets.randbelow(10**9) + 1, address.pk, secrets.randbelow(FIELD_MODULUS), 9)
        outputs.append((note.commitment, encrypt_note(note, address)))
    return outputs


def scan_outputs_per_s() -> tuple[float, int]:
    """Outputs per second trial-decrypted by `decrypt_outputs` over a pool of all cores;
    returns (rate, workers)."""
    workers = os.cpu_count() or 1
    key = SpendingKey.from_seed(b"bench/wallet-scan".ljust(32, b"\0"))
    with ProcessPoolExecutor(workers) as pool:
        chunks = [DISTINCT_OUTPUTS // workers] * workers
        distinct = [o for part in pool.map(_random_outputs, chunks) for o in part]
        batch = [distinct[i % len(distinct)] for i in range(SCAN_OUTPUTS)]
        address = key.address
        for index in range(0, SCAN_OUTPUTS, MINE_EVERY):
            note = Note(index + 1, address.pk, secrets.randbelow(FIELD_MODULUS), 9)
            batch[index] = (note.commitment, encrypt_note(note, address))
        found: list[object] = []

        def run() -> None:
            found[:] = decrypt_outputs(key.incoming_viewing_key, batch, pool)

        run()  # start the workers before timing
        seconds = best_seconds(run, repeats=3)
    if len(found) != SCAN_OUTPUTS // MINE_EVERY:
        raise RuntimeError(f"found {len(found)} of the wallet's notes, expected 20")
    return SCAN_OUTPUTS / seconds, workers


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise TimeoutError(f"devnet benchmark: timed out waiting for {what}")


def devnet_figures(directory: Path) -> Iterator[Figure]:
    """Send and block-scan figures against a fresh devnet in `directory`."""
    config = devnet.init(
        directory / "devnet", VALIDATORS, 1.0, devnet.free_base_port(2 * VALIDATORS)
    )
    net = directory / "devnet"
    try:
        devnet.up(net)
        devnet.wait_until_producing(net, height=1, timeout=120)
        url = f"http://127.0.0.1:{config.validators[0].rpc_port}/"
        wallet = Wallet.create(
            directory / "bench.wallet",
            "bench",
            node_url=url,
            circuit_dir=net / "circuit",
            kdf=FAST_KDF,
        )
        account = wallet.account(0)
        client = NodeClient(url, timeout=30.0)
        proving = load_proving(net / "circuit", config.vk_hash)
        funding = TransactionBuilder(client, account, lambda: proving)
        tx_id = funding.build_and_submit(
            payments=[payment(account.address, value) for value in NOTE_VALUES],
            quote=Quote(0, None, None),
            deposit_from=load_account_key(net, "alice"),
            deposit_amount=sum(NOTE_VALUES),
        )
        funding.wait(tx_id, final=True, timeout=120)
        wallet.sync()
        wallet.proving()  # load the proving key once, outside the timing
        recipient = SpendingKey.from_seed(b"bench/wallet-recipient".ljust(32, b"\0"))
        best = float("inf")
        for value in NOTE_VALUES[:SENDS]:
            fee = wallet.quote(account, "transfer", 1, use_spam_proof=False).fee
            start = time.perf_counter()
            wallet.send(account, recipient.address.encode(), value - fee, use_spam_proof=False)
            best = min(best, time.perf_counter() - start)
        yield Figure(
            "wallet.send_total_s",
            best,
            f"s per send (select + quote + witnesses + prove + submit; fee, no spam proof; "
            f"best of {SENDS}; 6-validator devnet)",
        )
        _wait(lambda: client.status()["head"]["height"] >= MIN_CHAIN, 150, f"{MIN_CHAIN} blocks")
        # Only the node that serves the scan keeps running, so the other validators do not
        # compete for the cores while the scan is timed.
        devnet.down(net, only=list(range(1, VALIDATORS)))
        keys = [(account.index, account.spending)]
        scanned = [0]

        def scan() -> None:
            with tempfile.TemporaryDirectory() as scratch:
                store = WalletStore(Path(scratch) / "scan.sqlite")
                try:
                    progress = Scanner(client, store, keys, parallel=False).sync()
                    scanned[0] = progress.scanned + 1
                finally:
                    store.close()

        seconds = best_seconds(scan, repeats=3)
        yield Figure(
            "wallet.scan_blocks_per_s",
            scanned[0] / seconds,
            f"blocks/s (fresh sync of a real devnet chain of {scanned[0]} blocks over JSON-RPC,"
            " all but <= 3 empty)",
        )
        wallet.close()
    finally:
        devnet.down(net)


def figures() -> Iterator[Figure]:
    outputs_rate, workers = scan_outputs_per_s()
    yield Figure(
        "wallet.scan_outputs_per_s",
        outputs_rate,
        f"outputs/s ({workers} processes; {SCAN_OUTPUTS:,} outputs, {DISTINCT_OUTPUTS:,} "
        "distinct real ciphertexts)",
    )
    directory = Path(tempfile.mkdtemp(prefix="bench-wallet-"))
    try:
        yield from devnet_figures(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
