"""`shielded demo`: a throwaway devnet and two wallets going through the pool, end to end.

It creates a devnet of validator processes in a temporary directory, waits for blocks and
finality, then drives two wallets (Alice and Bob) through: a deposit from Alice's funded
transparent account (free), a shielded transfer to Bob paid with a spam proof instead of a
fee, a renewal of Bob's note before it expires, and a withdrawal to a transparent account
(priced by what it leaks). The validators import graypaper blocks with jamcore's transition;
the pool is a JAM service whose transactions go through guarantees, erasure-coded
availability and assurances. A last step deploys the project's sample PVM service through
the registrar and sends it a work package, refined and accumulated in the PVM on every
validator. It prints every step with its timing, the final balances and the
pool's statistics, then stops the devnets and deletes the directory. With --json the
narration goes to stderr and stdout gets one JSON object: blocks, finalized_height, each
step "ok" or its error, tx_per_s (transactions proved, submitted and finalized per second of
the wallets' time: proving dominates), finality_latency_slots (median, inclusion to final).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shielded.node import devnet, devnet_services
from shielded.node.genesis import load_account_key
from shielded.node.sample_service import SAMPLE_OUTPUT_KEY, sample_refine_output
from wallet.keystore import FAST_KDF
from wallet.pins import ChainPins
from wallet.wallet import Wallet

STEPS = ("deposit", "transfer", "renewal", "withdraw", "pvm_service")
DEPOSIT = 100_000_000
TRANSFER = 25_000_000
WITHDRAWAL = 1_000_000


_OUT = sys.stdout
"""Where the human-readable narration goes (stderr when --json keeps stdout for JSON)."""


def _say(message: str) -> None:
    print(message, file=_OUT, flush=True)


def _step(title: str, action: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    _say(f"\n> {title}")
    result = action()
    _say(f"  done in {time.perf_counter() - start:.1f}s")
    return result


class _Tracker:
    """Outcome of each pool step, transaction counts and finality latencies (for --json)."""

    def __init__(self) -> None:
        self.steps: dict[str, str] = {}
        self.durations: dict[str, float] = {}
        self.transactions = 0
        self.transaction_seconds = 0.0
        self.latencies: list[int] = []

    def run(self, name: str, title: str, action: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            result = _step(title, action)
        except Exception as error:  # report and go on: later steps say what still works
            self.steps[name] = f"error: {error}"
            _say(f"  FAILED: {error}")
            return None
        self.steps[name] = "ok"
        self.durations[name] = round(time.perf_counter() - start, 2)
        return result


def _progress(step: str, fraction: float | None) -> None:
    if fraction is None:
        _say(f"    .. {step}")


def _complete(
    wallet: Wallet, make: Callable[[], str], tracker: _Tracker, started: float
) -> str:
    """Build and submit with `make` (rebuilt if the chain drops it at an epoch boundary),
    wait until final, and record the slots from inclusion to finality."""
    tx_id = wallet.complete(make, final=False, progress=_progress)
    included = wallet.client.transaction_status(tx_id)
    block = wallet.client.call("chain_getHeader", {"height": included["height"]})
    wallet.wait(tx_id, final=True)
    status = wallet.client.status()
    # The slot clock when finality was seen, minus the block's slot (polling adds <= 0.5 s).
    tracker.latencies.append(max(0, int(status["slot"]) - int(block["slot"])))
    tracker.transactions += 1
    tracker.transaction_seconds += time.perf_counter() - started
    return tx_id


def _pvm_service(directory: Path, validators: int) -> int:
    """Deploy the sample PVM service on the running devnet and call it; the service's id."""
    service = devnet_services.deploy(directory, devnet_services.read_blob("sample"))
    _say(f"    service {service} created by the registrar's accumulate, code in E_P")
    payload = b"hello, JAM"
    devnet_services.submit(directory, service, payload)
    expected = sample_refine_output(payload)
    for index in range(validators):
        devnet_services.wait_for_item(directory, service, SAMPLE_OUTPUT_KEY, expected, index)
    _say(
        f"    every validator's state holds {SAMPLE_OUTPUT_KEY.decode()!r} = "
        f"0x{expected.hex()}: the payload's hash, refined and accumulated in the PVM"
    )
    return service


def run_demo(
    validators: int = 6,
    slot_duration: float = 2.0,
    keep: bool = False,
    as_json: bool = False,
) -> int:
    """Run the whole demo; returns 0 when every step succeeded."""
    global _OUT
    _OUT = sys.stderr if as_json else sys.stdout
    directory = Path(tempfile.mkdtemp(prefix="jam-shielded-demo-"))
    started = time.perf_counter()
    tracker = _Tracker()
    summary: dict[str, Any] = {}
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
            pins=ChainPins.of_genesis(config),
        )
        bob = Wallet.create(
            wallets / "bob.wallet",
            "demo",
            node_url=f"http://127.0.0.1:{config.validators[1].rpc_port}/",
            circuit_dir=directory / "circuit",
            kdf=FAST_KDF,
            pins=ChainPins.of_genesis(config),
        )
        a, b = alice.account(0), bob.account(0)
        _say(f"  Alice: {a.address[:32]}...\n  Bob:   {b.address[:32]}...")

        def deposit() -> str:
            source = load_account_key(directory, "alice")
            return _complete(
                alice,
                lambda: alice.deposit(a, DEPOSIT, source, _progress),
                tracker,
                time.perf_counter(),
            )

        tracker.run(
            "deposit", f"Alice deposits {DEPOSIT:,} from her transparent account (fee 0)", deposit
        )
        alice.sync()
        _say(f"  Alice spendable: {alice.balance(a).spendable:,}")

        def transfer() -> str:
            quote = alice.quote(a, "transfer", TRANSFER, use_spam_proof=True)
            _say(f"    quote: fee {quote.fee} with a tier-{quote.spam_tier} spam proof")
            tx = _complete(
                alice,
                lambda: alice.send(a, b.address, TRANSFER, True, b"thanks for lunch", _progress),
                tracker,
                time.perf_counter(),
            )
            bob.sync()
            note = bob.notes(b)[0]
            _say(
                f"  Bob found a note of {note.value:,} (memo {note.memo.decode()!r}), "
                f"expiring at epoch {note.expiry_epoch}"
            )
            return tx

        tracker.run(
            "transfer",
            f"Alice sends {TRANSFER:,} to Bob, shielded, paying with a spam proof",
            transfer,
        )
        alice.sync()

        def renew() -> list[str]:
            notes = bob.notes(b)
            if not notes:
                raise RuntimeError("Bob has no note to renew")
            tx_ids = [
                _complete(
                    bob, lambda: bob.renew(b, notes[:1], _progress)[0], tracker, time.perf_counter()
                )
            ]
            bob.sync()
            renewed = bob.notes(b)[0]
            _say(
                f"  renewed note: {renewed.value:,}, now expiring at epoch {renewed.expiry_epoch}"
            )
            return tx_ids

        tracker.run(
            "renewal", "Bob renews his note before it expires (a fresh note, a new lifetime)", renew
        )

        recipient = b.transparent_account

        def withdraw() -> str:
            quote = bob.quote(b, "withdrawal", WITHDRAWAL, use_spam_proof=True)
            _say(f"    quote: fee {quote.fee:,} (what the exit leaks, given the pool's size)")
            return _complete(
                bob,
                lambda: bob.withdraw(b, recipient, WITHDRAWAL, True, _progress),
                tracker,
                time.perf_counter(),
            )

        tracker.run(
            "withdraw", f"Bob withdraws {WITHDRAWAL:,} to his transparent account", withdraw
        )
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
        tracker.run(
            "pvm_service",
            "a PVM service: deploy it through the registrar, then send it a work package",
            lambda: _pvm_service(directory, validators),
        )
        _say(f"\ndemo finished in {time.perf_counter() - started:.0f}s")
        latencies = sorted(tracker.latencies)
        summary = {
            "blocks": final[0]["head"]["height"],
            "finalized_height": final[0]["finalized"]["height"],
            **{name: tracker.steps.get(name, "not run") for name in STEPS},
            "step_seconds": tracker.durations,
            "tx_per_s": round(tracker.transactions / tracker.transaction_seconds, 3)
            if tracker.transaction_seconds
            else 0.0,
            "finality_latency_slots": latencies[len(latencies) // 2] if latencies else None,
            "pool": stats,
            "seconds": round(time.perf_counter() - started, 1),
        }
        alice.close()
        bob.close()
        if as_json:
            print(json.dumps(summary, indent=2))
        return 0 if all(tracker.steps.get(name) == "ok" for name in STEPS) else 1
    finally:
        devnet.down(directory)
        if keep:
            _say(f"devnet kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
