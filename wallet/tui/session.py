"""The bridge between the TUI and the wallet library: one lock around every wallet call
(the library is synchronous and its SQLite store is shared by the UI's worker threads),
and `WalletView`, an immutable picture of the wallet that the UI renders.

Everything here blocks; the app calls it from `@work(thread=True)` workers only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from shielded.pow.errors import SpamProofError
from wallet.accounts import AccountKeys
from wallet.builder import Quote, SendError, payment, select_notes
from wallet.rpc import NodeError, NodeUnavailable
from wallet.scanner import ScanError, SyncProgress, decode_note
from wallet.store import HistoryEntry, OwnedNote
from wallet.wallet import Balance, Wallet, WalletError

HASHES_PER_SECOND = 1.5e6
"""Spam-proof solving speed assumed for time estimates (the builder's own estimate)."""

Progress = Callable[[str, float | None], None]


class WalletBusy(Exception):
    """Another wallet action holds the lock (e.g. a periodic sync during a send)."""


@dataclass(frozen=True)
class WalletView:
    """What the UI shows about one account, as of the last sync."""

    balance: Balance
    notes: tuple[OwnedNote, ...]
    history: tuple[HistoryEntry, ...]
    due_for_renewal: tuple[OwnedNote, ...]
    policy: str
    node_head: int
    """The node's head height at the last sync (-1 before any)."""
    progress: SyncProgress | None = None
    """The result of the sync that produced this view (None if it failed)."""
    node_error: str | None = None
    """Why the last sync failed (node unreachable, refused, another chain), else None."""
    status: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendPlan:
    """A checked transfer, ready to be confirmed: recipient, amount, memo and its quote."""

    address: str
    amount: int
    memo: bytes
    use_spam_proof: bool
    quote: Quote
    inputs: int
    """How many notes it spends."""


def expected_solve_seconds(quote: Quote) -> float:
    """About how long solving the quote's spam proof takes (2^bits hashes on average)."""
    if quote.spam_bits is None:
        return 0.0
    return 2.0**quote.spam_bits / HASHES_PER_SECOND


def describe_error(error: BaseException) -> str:
    """A one-line message for the user: what went wrong, in wallet terms."""
    if isinstance(error, NodeUnavailable):
        return f"Node unreachable: {error}"
    if isinstance(error, NodeError):
        return f"The node refused: {error}"
    if isinstance(error, SendError):
        text = str(error)
        if "consolidate" in text:
            text += " (in this app: press w on the main screen to renew and consolidate)"
        return f"Cannot send: {text}"
    if isinstance(error, WalletError | ScanError | SpamProofError):
        return str(error)
    return f"Unexpected error ({type(error).__name__}): {error}"


def parse_amount(text: str) -> int:
    """The amount typed in the send form; ValueError says what is expected."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned.isdigit() or int(cleaned) == 0:
        raise ValueError(f"amount must be a whole number above 0, not {text.strip()!r}")
    return int(cleaned)


def tier_name(note: OwnedNote) -> str:
    return decode_note(note.note).tier.name.lower()


def expiry_countdown(note: OwnedNote, epoch: int) -> str:
    """'expires in N epochs' (or 'never' for permanent notes, 'expired')."""
    if note.permanent:
        return "never expires"
    left = note.expiry_epoch - epoch
    if left < 0:
        return "expired"
    if left == 0:
        return "expires this epoch"
    return f"expires in {left} epoch{'s' if left != 1 else ''}"


class WalletSession:
    """One account of an opened wallet, used from the TUI's worker threads."""

    def __init__(self, wallet: Wallet, account: int | str = 0) -> None:
        self.wallet = wallet
        self.account: AccountKeys = wallet.account(account)
        self._lock = threading.Lock()

    @contextmanager
    def locked(self, wait: bool = True) -> Iterator[Wallet]:
        """The wallet, exclusively; WalletBusy at once if `wait` is False and it is taken."""
        if not self._lock.acquire(blocking=wait):
            raise WalletBusy("the wallet is busy with another action")
        try:
            yield self.wallet
        finally:
            self._lock.release()

    @property
    def address(self) -> str:
        return self.account.address

    def view(
        self, progress: SyncProgress | None = None, node_error: str | None = None
    ) -> WalletView:
        """The account's picture from the store (no node call)."""
        with self.locked() as wallet:
            return self._view(wallet, progress, node_error)

    def _view(
        self, wallet: Wallet, progress: SyncProgress | None, node_error: str | None
    ) -> WalletView:
        status = wallet.chain_status()
        return WalletView(
            balance=wallet.balance(self.account),
            notes=tuple(wallet.notes(self.account)),
            history=tuple(reversed(wallet.history(self.account))),
            due_for_renewal=tuple(wallet.due_for_renewal(self.account)),
            policy=wallet.setting("policy", "final"),
            node_head=int(status["head"]["height"]) if status else -1,
            progress=progress,
            node_error=node_error,
            status=status,
        )

    def sync(
        self, on_progress: Callable[[SyncProgress], None] | None = None, wait: bool = False
    ) -> WalletView:
        """Scan new blocks, then the view; a node failure is reported in the view, not
        raised. WalletBusy if another action holds the wallet and `wait` is False."""
        with self.locked(wait) as wallet:
            try:
                progress = wallet.sync(on_progress)
            except (NodeError, ScanError) as error:
                return self._view(wallet, None, describe_error(error))
            return self._view(wallet, progress, None)

    def forget_from(self, height: int) -> int:
        """Forget every scanned block from `height` on (the next sync scans them again);
        returns how many blocks were forgotten."""
        if height < 0:
            raise ValueError(f"rescan height must be 0 or more, not {height}")
        with self.locked() as wallet:
            return wallet.store.roll_back_to(height - 1)

    def set_policy(self, policy: str) -> None:
        with self.locked() as wallet:
            wallet.set_setting("policy", policy)

    def quote(self, amount: int, use_spam_proof: bool) -> Quote:
        """The node's quote for a transfer (no store access, so no lock: a long sync does
        not hold up the send form)."""
        return self.wallet.quote(self.account, "transfer", amount, use_spam_proof)

    def plan_send(self, address: str, amount: int, memo: bytes, use_spam_proof: bool) -> SendPlan:
        """Check a transfer before asking for confirmation: the address parses, the node
        quotes it, and the spendable notes cover amount + fee (SendError says why not)."""
        payment(address, amount, memo=memo)  # SendError on a malformed address
        with self.locked() as wallet:
            quote = wallet.quote(self.account, "transfer", amount, use_spam_proof)
            notes = select_notes(wallet.spendable_notes(self.account), amount + quote.fee)
        return SendPlan(address, amount, memo, use_spam_proof, quote, len(notes))

    def send(self, plan: SendPlan, progress: Progress) -> str:
        """Solve or pay, prove and submit `plan`; returns the transaction id."""
        with self.locked() as wallet:
            return wallet.send(
                self.account,
                plan.address,
                plan.amount,
                use_spam_proof=plan.use_spam_proof,
                memo=plan.memo,
                progress=progress,
            )

    def track(self, tx_id: str, progress: Progress) -> None:
        """Wait until the submitted transaction is final (SendError if it is rejected or
        takes too long)."""
        progress(f"submitted {tx_id[:16]}…; waiting for finality", None)
        self.wallet.wait(tx_id, final=True, progress=progress)

    def renew(self, notes: list[OwnedNote], progress: Progress) -> list[str]:
        """Renew `notes` (two per transaction) into fresh notes of this account."""
        with self.locked() as wallet:
            return wallet.renew(self.account, notes, progress=progress)
