"""Building transactions: note selection, fee quote, spam proof, witnesses, proof, submission.

A send goes through these steps (each reported to a progress callback, so the CLI and the
TUI can show them): select at most two spendable notes covering amount + fee (the circuit
has two inputs; more notes must be consolidated first), quote the fee from the node (or
solve a spam proof bound to a recent block hash instead of paying), fetch membership
witnesses at one anchor, prove (about 2 s), and submit. A transaction is valid only in the
epoch it names, so the builder aims at the epoch in which it will land and rebuilds once if
the epoch turned while it was proving.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey

from shielded.circuits.artifacts import ProvingArtifacts
from shielded.circuits.spend import SpendInput
from shielded.notes.address import ShieldedAddress
from shielded.notes.note import Tier
from shielded.notes.tree import MembershipWitness
from shielded.pow import solve_parallel
from shielded.transaction import (
    Payment,
    TransactionError,
    TransactionPlan,
    WithdrawalTarget,
    build_transaction,
)
from wallet.accounts import AccountKeys
from wallet.rpc import NodeClient, NodeError
from wallet.scanner import decode_note
from wallet.store import OwnedNote

PROVING_ESTIMATE_S = 3.0
"""Initial guess of one proof's wall time; replaced by what proofs actually take here."""
MAX_INPUTS = 2

Progress = Callable[[str, float | None], None]
"""(step description, fraction done or None)."""


class SendError(Exception):
    """A transaction the wallet cannot make; the message says why, in the user's terms."""


@dataclass(frozen=True)
class ChainClock:
    """Slot and epoch arithmetic from the node's status."""

    genesis_time: float
    slot_duration: float
    epoch_length: int
    inclusion_slots: int = 1
    """Slots from a submission to its inclusion at best (the node's `inclusion_slots`:
    packaged, guaranteed, then assured and accumulated)."""

    @classmethod
    def of(cls, status: dict[str, Any]) -> ChainClock:
        return cls(
            float(status["genesis_time"]),
            float(status["slot_duration"]),
            int(status["epoch_length"]),
            max(1, int(status.get("inclusion_slots", 1))),
        )

    def epoch_at(self, moment: float) -> int:
        slot = max(0, int((moment - self.genesis_time) // self.slot_duration))
        return slot // self.epoch_length


@dataclass(frozen=True)
class Quote:
    """What a transaction will cost: the fee, or a spam proof of some tier instead."""

    fee: int
    spam_tier: int | None
    spam_bits: int | None


def select_notes(notes: Sequence[OwnedNote], target: int) -> list[OwnedNote]:
    """At most two notes worth at least `target`: the smallest single note that covers it,
    else the best pair; SendError if the funds are short or need consolidating first."""
    if target < 0:
        raise SendError(f"cannot select notes for a negative amount ({target})")
    candidates = sorted(notes, key=lambda n: n.value)
    if target == 0:
        return []
    for note in candidates:
        if note.value >= target:
            return [note]
    if len(candidates) >= 2 and candidates[-1].value + candidates[-2].value >= target:
        # The smallest pair that covers the target: keep large notes for later.
        largest = candidates[-1]
        for note in candidates[:-1]:
            if note.value + largest.value >= target:
                return [note, largest]
    total = sum(n.value for n in candidates)
    if total >= target:
        raise SendError(
            f"{target} needs more than {MAX_INPUTS} notes ({len(candidates)} notes hold {total}):"
            " consolidate dust first (`shielded wallet renew --all`)"
        )
    raise SendError(f"insufficient spendable funds: need {target}, have {total}")


class TransactionBuilder:
    """Builds, proves and submits one account's transactions for the chain `chain_id` (the
    wallet's pinned genesis chain id, never one a node reports)."""

    proving_estimate: float = PROVING_ESTIMATE_S
    """Seconds a proof (with its spam proof) takes here: an average over recent builds."""

    def __init__(
        self,
        client: NodeClient,
        account: AccountKeys,
        proving: Callable[[], ProvingArtifacts],
        chain_id: bytes,
    ) -> None:
        self.client = client
        self.account = account
        self.proving = proving
        self.chain_id = chain_id
        status = client.status()
        self.clock = ChainClock.of(status)

    # --- quoting --------------------------------------------------------------------------

    def quote(
        self, kind: str, amount: int = 0, use_spam_proof: bool = True, tier: int = 1
    ) -> Quote:
        """The fee of a transaction now; with a spam proof a casual transfer is free."""
        answer = self.client.quote(kind, amount, spam_proof=use_spam_proof)
        if not use_spam_proof:
            return Quote(int(answer["fee"]), None, None)
        tiers = {t["tier"]: t for t in answer["spam_tiers"]}
        if tier not in tiers:
            raise SendError(f"the pool has no spam-proof tier {tier}")
        return Quote(int(answer["fee"]), tier, int(tiers[tier]["difficulty_bits"]))

    # --- building -------------------------------------------------------------------------

    def _inputs(self, notes: Sequence[OwnedNote]) -> tuple[int, list[SpendInput]]:
        """Witnesses of `notes` at one anchor (retried if a block lands in between)."""
        keys = self.account.spending
        for _ in range(5):
            anchors = set()
            inputs = []
            for owned in notes:
                witness = self.client.witness(owned.position, owned.permanent)
                anchors.add(witness["anchor"])
                membership = MembershipWitness(
                    witness["position"],
                    tuple(int(s, 16) for s in witness["siblings"]),
                    int(witness["other_root"], 16),
                )
                inputs.append(SpendInput(decode_note(owned.note), keys.ask, keys.nk, membership))
            if len(anchors) <= 1:
                anchor_hex = anchors.pop() if anchors else self.client.anchor()["anchor"]
                return int(anchor_hex, 16), inputs
        raise SendError("the chain moved too fast to fetch witnesses at one anchor; retry")

    def build_and_submit(
        self,
        *,
        notes: Sequence[OwnedNote] = (),
        payments: Sequence[Payment] = (),
        quote: Quote,
        deposit_from: SigningKey | None = None,
        deposit_amount: int = 0,
        withdrawal: WithdrawalTarget | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Prove and submit; returns the transaction id (hex). SendError with the node's
        reason if it refuses."""
        report = progress or (lambda _step, _fraction: None)
        last_error = "not attempted"
        for _attempt in range(3):
            report("fetching witnesses", None)
            anchor_info = self.client.anchor()
            anchor, inputs = self._inputs(notes)
            landing = self.clock.inclusion_slots * self.clock.slot_duration
            ready = time.time() + self.proving_estimate + landing
            if quote.spam_bits is not None:
                ready += 2.0 ** quote.spam_bits / 1.5e6
            epoch = self.clock.epoch_at(ready)
            stale = [i for i in inputs if i.note.expiry_epoch < epoch]
            if stale:
                raise SendError(
                    f"a selected note expires at epoch {stale[0].note.expiry_epoch}, before "
                    f"the transaction lands (epoch {epoch}); it can no longer be spent"
                )
            spam = None
            if quote.spam_bits is not None:
                # What spam proofs bind to: a recent block hash, or on the jamcore path the
                # newest entropy of the pool's window (pool_getAnchor names it).
                spam_anchor = bytes.fromhex(
                    str(anchor_info.get("spam_anchor", anchor_info["block_hash"]))[2:]
                )
                bits, tier = quote.spam_bits, quote.spam_tier or 1

                def spam(
                    tx_id: bytes,
                    spam_anchor: bytes = spam_anchor,
                    bits: int = bits,
                    tier: int = tier,
                ) -> bytes:
                    report(f"solving a tier-{tier} spam proof ({bits} bits)", None)
                    found = solve_parallel(
                        spam_anchor,
                        tx_id,
                        bits,
                        tier=tier,
                        progress=lambda p: report(
                            f"spam proof: {p.hashes_done:,} hashes, "
                            f"~{p.expected_remaining:,} to go",
                            min(1.0, p.hashes_done / max(1, p.expected_total)),
                        ),
                    )
                    return found.encode()

            plan = TransactionPlan(
                anchor=anchor,
                epoch=epoch,
                lifetime=int(anchor_info["lifetime"]),
                change_key=self.account.spending,
                chain_id=self.chain_id,
                spends=tuple(inputs),
                payments=tuple(payments),
                fee=quote.fee,
                deposit_from=deposit_from,
                deposit_amount=deposit_amount,
                withdrawal=withdrawal,
                collateral_per_note=int(anchor_info["collateral_per_note"]),
                spam=spam,
            )
            keys = self.proving()
            report(f"proving (Groth16, about {self.proving_estimate:.0f} s)", None)
            begun = time.perf_counter()
            try:
                transaction = build_transaction(keys, plan)
            except TransactionError as error:
                raise SendError(str(error)) from error
            # Aim later transactions by what proving really takes on this machine.
            took = time.perf_counter() - begun
            TransactionBuilder.proving_estimate = 0.5 * self.proving_estimate + 0.5 * took
            if self.clock.epoch_at(time.time() + landing) > epoch:
                # Proving took longer than aimed: it would land after its epoch. Build again.
                last_error = f"proving ran past epoch {epoch}: the transaction would land late"
                continue
            report("submitting", None)
            try:
                return self.client.submit(transaction.encode())
            except NodeError as error:
                last_error = str(error)
                if "epoch" not in last_error and "anchor" not in last_error:
                    raise SendError(last_error) from error
        raise SendError(last_error)

    def wait(
        self,
        tx_id: str,
        final: bool = True,
        timeout: float = 120.0,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Poll until the transaction is included in the canonical chain (and final, unless
        `final` is False). SendError if it is rejected, or if the block that included it
        left the chain for good (a reorganisation below the final block dropped it)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.client.transaction_status(tx_id)
            if status["status"] == "rejected":
                raise SendError(f"transaction rejected: {status.get('reason')}")
            if status["status"] == "included":
                canonical = status.get("canonical", True)
                if not canonical and status.get("final"):
                    raise SendError(
                        f"transaction {tx_id[:16]} was in block #{status.get('height')}, which "
                        "a reorganisation removed; it is not on chain: sync and send again"
                    )
                if canonical and (status.get("final") or not final):
                    return status
            if progress is not None:
                progress(f"waiting for {'finality' if final else 'inclusion'}", None)
            time.sleep(0.5)
        raise SendError(f"transaction {tx_id[:16]} not {'final' if final else 'included'} yet")


def payment(address: str, amount: int, tier: Tier = Tier.EPHEMERAL, memo: bytes = b"") -> Payment:
    """A payment to a bech32m address; SendError if the address is malformed or the amount
    is not positive."""
    if amount <= 0:
        raise SendError(f"a payment amount must be positive, got {amount}")
    try:
        return Payment(ShieldedAddress.decode(address), amount, tier, memo)
    except ValueError as error:
        raise SendError(f"invalid address {address[:20]}...: {error}") from error
