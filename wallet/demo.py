"""`shielded demo`: a throwaway devnet and two wallets going through the pool, end to end.

It creates a devnet of validator processes in a temporary directory, waits for blocks and
finality, then drives two wallets (Alice and Bob) through: a deposit from Alice's funded
transparent account (free), a shielded transfer to Bob paid with a spam proof instead of a
fee, a renewal of Bob's note before it expires, and a withdrawal to a transparent account
(priced by what it leaks). It prints every step with its timing, the final balances and the
pool's statistics, then stops the devnet and deletes the directory.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shielded.node import devnet
from shielded.node.genesis import load_account_key
from wallet.keystore import FAST_KDF
from wallet.wallet import Wallet

DEPOSIT = 100_000_000
TRANSFER = 25_000_000
WITHDRAWAL = 1_000_000


def _say(message: str) -> None:
    print(message, flush=True)


def _step(title: str, action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    _say(f"\n> {title}")
    result = action()
    _say(f"  done in {time.perf_counter() - start:.1f}s")
    return result


def _progress(step: str, fraction: float | None) -> None:
    if fraction is None:
        _say(f"    .. {step}")


def run_demo(validators: int = 6, slot_duration: float = 1.0, keep: bool = False) -> int:
    """Run the whole demo; returns 0 on success."""
    directory = Path(tempfile.mkdtemp(prefix="jam-shielded-demo-"))
    started = time.perf_counter()
    try:
        config = _step(
            f"initialising a {validators}-validator devnet in {directory} "
            "(genesis, DKG, circuit keys)",
            lambda: devnet.init(
                directory, validators, slot_duration, devnet.free_base_port(2 * validators)
            ),
        )
        _step("starting the validators", lambda: devnet.up(directory))
        _step("waiting for blocks", lambda: devnet.wait_until_producing(directory, height=2))
        rows = devnet.status(directory)
        _say(
            f"  head #{rows[0]['head']['height']}, final #{rows[0]['finalized']['height']}, "
            f"{rows[0]['peers']} peers each"
        )
        wallets = directory / "wallets"
        alice = Wallet.create(
            wallets / "alice.wallet",
            "demo",
            node_url=f"http://127.0.0.1:{config.validators[0].rpc_port}/",
            circuit_dir=directory / "circuit",
            kdf=FAST_KDF,
        )
        bob = Wallet.create(
            wallets / "bob.wallet",
            "demo",
            node_url=f"http://127.0.0.1:{config.validators[1].rpc_port}/",
            circuit_dir=directory / "circuit",
            kdf=FAST_KDF,
        )
        a, b = alice.account(0), bob.account(0)
        _say(f"  Alice: {a.address[:32]}...\n  Bob:   {b.address[:32]}...")

        def deposit() -> str:
            tx = alice.deposit(a, DEPOSIT, load_account_key(directory, "alice"), _progress)
            alice.wait(tx)
            return tx

        _step(f"Alice deposits {DEPOSIT:,} from her transparent account (fee 0)", deposit)
        alice.sync()
        _say(f"  Alice spendable: {alice.balance(a).spendable:,}")

        def transfer() -> str:
            quote = alice.quote(a, "transfer", TRANSFER, use_spam_proof=True)
            _say(f"    quote: fee {quote.fee} with a tier-{quote.spam_tier} spam proof")
            tx = alice.send(a, b.address, TRANSFER, True, b"thanks for lunch", _progress)
            alice.wait(tx)
            return tx

        _step(f"Alice sends {TRANSFER:,} to Bob, shielded, paying with a spam proof", transfer)
        bob.sync()
        alice.sync()
        note = bob.notes(b)[0]
        _say(
            f"  Bob found a note of {note.value:,} (memo {note.memo.decode()!r}), "
            f"expiring at epoch {note.expiry_epoch}"
        )

        def renew() -> list[str]:
            tx_ids = bob.renew(b, [note], _progress)
            for tx in tx_ids:
                bob.wait(tx)
            return tx_ids

        _step("Bob renews his note before it expires (a fresh note, a new lifetime)", renew)
        bob.sync()
        renewed = bob.notes(b)[0]
        _say(f"  renewed note: {renewed.value:,}, now expiring at epoch {renewed.expiry_epoch}")

        recipient = b.transparent_account

        def withdraw() -> str:
            quote = bob.quote(b, "withdrawal", WITHDRAWAL, use_spam_proof=True)
            _say(f"    quote: fee {quote.fee:,} (what the exit leaks, given the pool's size)")
            tx = bob.withdraw(b, recipient, WITHDRAWAL, True, _progress)
            bob.wait(tx)
            return tx

        _step(f"Bob withdraws {WITHDRAWAL:,} to his transparent account", withdraw)
        alice.sync()
        bob.sync()
        stats = alice.client.call("pool_getStats")
        balance_a, balance_b = alice.balance(a), bob.balance(b)
        _say("\n= what happened")
        _say(f"  Alice: spendable {balance_a.spendable:,}")
        transparent = alice.client.balance(recipient)
        _say(f"  Bob:   spendable {balance_b.spendable:,}, transparent {transparent:,}")
        for entry in bob.history(b):
            _say(
                f"  Bob history  #{entry.height:<4} {entry.kind:<10} {entry.amount:>12,}"
                f"  fee {entry.fee:,}"
            )
        _say(
            f"  pool: value {stats['pool_value']:,}, live notes {stats['live_notes']}, "
            f"nullifiers {stats['nullifiers']}, state {stats['state_bytes']:,} bytes, "
            f"fees burned {stats['fees_burned']:,}"
        )
        final = devnet.status(directory)
        _say(
            f"  chain: head #{final[0]['head']['height']}, final #{final[0]['finalized']['height']}"
            f", sealing by {final[0]['sealing']}"
        )
        _say(f"\ndemo finished in {time.perf_counter() - started:.0f}s")
        alice.close()
        bob.close()
        return 0
    finally:
        devnet.down(directory)
        if keep:
            _say(f"devnet kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
