"""The wallet: an encrypted key file, its SQLite store, a node connection, and the actions
users take (sync, balance, send, withdraw, deposit, renew). The CLI, the TUI and the demo
all go through this class.

Files: `<name>.wallet` (secrets, encrypted, and the chain pins; see keystore.py) and
`<name>.sqlite` beside it (scan results and settings, no secrets).

Pins (`wallet.pins`): the wallet is pinned to one chain id and one verifying-key hash, given
when it is created (from the devnet's genesis file or by the user) and checked against the
node's `system_status` before every sync and every transaction; a node that disagrees is
refused. An unpinned wallet (created without pins, or a version 1 wallet file) pins what its
first node reports and says so in `notices`. Spendability policy `final` (default) spends only
notes received in final blocks; `optimistic` also spends notes in non-final blocks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from shielded.circuits.artifacts import (
    ProvingArtifacts,
    default_directory,
    load_proving,
    load_verifying,
)
from shielded.circuits.errors import CircuitError
from shielded.transaction import WithdrawalTarget
from wallet import keystore
from wallet.accounts import AccountKeys, account_keys, new_mnemonic
from wallet.builder import (
    ChainClock,
    Progress,
    Quote,
    SendError,
    TransactionBuilder,
    payment,
    select_notes,
)
from wallet.pins import ChainPins, PinError, check_status
from wallet.rpc import DEFAULT_URL, NodeClient
from wallet.scanner import Scanner, SyncProgress
from wallet.store import HistoryEntry, OwnedNote, WalletStore

POLICIES = ("final", "optimistic")
RENEW_WITHIN_EPOCHS = 2
"""Notes expiring within this many epochs are due for renewal."""
RETRY_ATTEMPTS = 3
"""Builds of one transaction when the chain drops it for a stale epoch or anchor."""


class WalletError(Exception):
    """A wallet action that cannot be done; the message says why."""


@dataclass(frozen=True)
class Balance:
    """An account's funds as of the last sync."""

    spendable: int
    pending: int
    """Received in blocks that are not final yet (spendable under the optimistic policy)."""
    expiring: int
    """Spendable value in notes that expire within RENEW_WITHIN_EPOCHS epochs."""
    notes: int
    epoch: int
    scanned_height: int
    finalized_height: int

    @property
    def total(self) -> int:
        return self.spendable + self.pending


class Wallet:
    """One wallet file and its store."""

    def __init__(
        self,
        path: Path,
        secrets: keystore.WalletSecrets,
        store: WalletStore,
        pins: ChainPins | None = None,
    ) -> None:
        self.path = path
        self.secrets = secrets
        self.store = store
        self.pins = pins
        self.notices: list[str] = []
        """What the wallet did that its user should know of (a first-contact pin)."""
        self._proving: ProvingArtifacts | None = None
        self._client: NodeClient | None = None

    # --- files ----------------------------------------------------------------------------

    @staticmethod
    def store_path(path: Path) -> Path:
        return path.with_suffix(".sqlite")

    @classmethod
    def create(
        cls,
        path: Path | str,
        passphrase: str,
        mnemonic: str | None = None,
        node_url: str = DEFAULT_URL,
        circuit_dir: Path | str | None = None,
        kdf: keystore.KdfParams | None = None,
        pins: ChainPins | None = None,
    ) -> Wallet:
        """A new wallet from a fresh or restored mnemonic (restoring rescans from genesis),
        pinned to `pins` (`wallet.pins.pins_from_genesis`, or the user's values; None pins
        on first contact). Everything is checked before anything is written: a bad
        mnemonic, or circuit keys in `circuit_dir` that are missing, truncated, for another
        circuit or not the pinned key, raise WalletError and leave no file behind."""
        path = Path(path)
        if path.exists():
            raise WalletError(f"{path} already exists")
        words = mnemonic if mnemonic is not None else new_mnemonic()
        account_keys(words, 0)  # validates the mnemonic before anything is written
        if circuit_dir is not None:
            circuit_dir = Path(circuit_dir).resolve()
            try:
                load_verifying(circuit_dir, None if pins is None else pins.vk_hash)
            except CircuitError as error:
                raise WalletError(f"wallet not created: circuit keys unusable: {error}") from error
        secrets = keystore.WalletSecrets(" ".join(words.split()))
        keystore.save(path, secrets, passphrase, kdf or keystore.KdfParams(), pins)
        store = WalletStore(cls.store_path(path))
        store.set_meta("node_url", node_url)
        store.set_meta("policy", "final")
        if circuit_dir is not None:
            store.set_meta("circuit_dir", str(circuit_dir))
        return cls(path, secrets, store, pins)

    @classmethod
    def open(cls, path: Path | str, passphrase: str) -> Wallet:
        path = Path(path)
        try:
            secrets = keystore.load(path, passphrase)
            pins = keystore.read_pins(path)
        except keystore.WalletFileError as error:
            raise WalletError(str(error)) from error
        return cls(path, secrets, WalletStore(cls.store_path(path)), pins)

    def close(self) -> None:
        self.store.close()

    def set_setting(self, name: str, value: str) -> None:
        if name == "policy" and value not in POLICIES:
            raise WalletError(f"policy must be one of {POLICIES}, not {value!r}")
        self.store.set_meta(name, value)

    def setting(self, name: str, default: str = "") -> str:
        return self.store.get_meta(name) or default

    @property
    def client(self) -> NodeClient:
        if self._client is None:
            self._client = NodeClient(self.setting("node_url", DEFAULT_URL))
        return self._client

    # --- accounts ---------------------------------------------------------------------------

    def account(self, name_or_index: str | int = 0) -> AccountKeys:
        try:
            entry = self.secrets.account(name_or_index)
        except keystore.WalletFileError as error:
            raise WalletError(str(error)) from error
        return account_keys(self.secrets.mnemonic, entry.index)

    def add_account(self, name: str, passphrase: str) -> AccountKeys:
        entry = self.secrets.add_account(name)
        keystore.save(
            self.path, self.secrets, passphrase, keystore.kdf_params(self.path), self.pins
        )
        return account_keys(self.secrets.mnemonic, entry.index)

    def all_accounts(self) -> list[AccountKeys]:
        return [account_keys(self.secrets.mnemonic, a.index) for a in self.secrets.accounts]

    # --- the node -------------------------------------------------------------------------

    def node_status(self) -> dict[str, Any]:
        """The node's `system_status`, once it is checked against the wallet's pins
        (WalletError if the node is on another chain or uses another verifying key). An
        unpinned wallet pins what this first node reports (trust on first use) and says so
        in `notices`."""
        status = self.client.status()
        node = self.setting("node_url", DEFAULT_URL)
        try:
            if self.pins is None:
                pins = ChainPins.parse(status.get("chain_id"), status.get("vk_hash"))
                keystore.write_pins(self.path, pins)
                self.pins = pins
                self.notices.append(
                    f"pinned chain 0x{pins.chain_id.hex()} and verifying key {pins.vk_hash} "
                    f"as reported by the node at {node} (trust on first use: this wallet was "
                    "created without --genesis); later nodes must agree"
                )
            else:
                check_status(self.pins, status, node)
        except (PinError, keystore.WalletFileError) as error:
            raise WalletError(str(error)) from error
        return status

    def pinned(self) -> ChainPins:
        """The wallet's pins, checked against its node (pinning an unpinned wallet)."""
        self.node_status()
        assert self.pins is not None
        return self.pins

    # --- scanning ---------------------------------------------------------------------------

    def sync(self, progress: Callable[[SyncProgress], None] | None = None) -> SyncProgress:
        """Scan new blocks (handling reorgs) and remember the node's chain status; the node
        is checked against the pins first."""
        self.node_status()
        scanner = Scanner(
            self.client, self.store, [(a.index, a.spending) for a in self.all_accounts()]
        )
        result = scanner.sync(progress)
        status = self.client.status()
        self.store.set_meta("status", json.dumps(status))
        return result

    def chain_status(self) -> dict[str, Any]:
        """The node status seen at the last sync (empty before the first)."""
        return json.loads(self.setting("status", "{}"))

    def current_epoch(self) -> int:
        status = self.chain_status()
        if not status:
            return 0
        return int(status["slot"]) // int(status["epoch_length"])

    def finalized_height(self) -> int:
        status = self.chain_status()
        return int(status["finalized"]["height"]) if status else -1

    def spendable_notes(self, account: AccountKeys) -> list[OwnedNote]:
        epoch = self.current_epoch()
        final = self.finalized_height()
        optimistic = self.setting("policy", "final") == "optimistic"
        return [
            note
            for note in self.store.notes(account.index, unspent_only=True)
            if note.expiry_epoch >= epoch and (optimistic or note.received_height <= final)
        ]

    def balance(self, account: AccountKeys) -> Balance:
        epoch, final = self.current_epoch(), self.finalized_height()
        unspent = [
            n for n in self.store.notes(account.index, unspent_only=True) if n.expiry_epoch >= epoch
        ]
        confirmed = [n for n in unspent if n.received_height <= final]
        tip = self.store.tip()
        return Balance(
            spendable=sum(n.value for n in confirmed),
            pending=sum(n.value for n in unspent if n.received_height > final),
            expiring=sum(
                n.value for n in confirmed if n.expiry_epoch <= epoch + RENEW_WITHIN_EPOCHS
            ),
            notes=len(unspent),
            epoch=epoch,
            scanned_height=-1 if tip is None else tip.height,
            finalized_height=final,
        )

    def notes(self, account: AccountKeys, include_spent: bool = False) -> list[OwnedNote]:
        return self.store.notes(account.index, unspent_only=not include_spent)

    def history(self, account: AccountKeys) -> list[HistoryEntry]:
        return self.store.history(account.index)

    # --- transactions -----------------------------------------------------------------------

    def proving(self) -> ProvingArtifacts:
        """The proving key (loaded once), checked against the pinned verifying-key hash."""
        if self._proving is None:
            directory = Path(self.setting("circuit_dir") or default_directory())
            vk_hash = self.pinned().vk_hash
            try:
                self._proving = load_proving(directory, vk_hash)
            except CircuitError as error:  # missing, corrupt or not the pinned key
                raise WalletError(
                    f"no usable proving key in {directory} ({error}); point the wallet at the "
                    "devnet's circuit directory with --circuit DEVNET/circuit"
                ) from error
        return self._proving

    def builder(self, account: AccountKeys) -> TransactionBuilder:
        """A builder of `account`'s transactions for the pinned chain (the node checked)."""
        return TransactionBuilder(self.client, account, self.proving, self.pinned().chain_id)

    def quote(self, account: AccountKeys, kind: str, amount: int, use_spam_proof: bool) -> Quote:
        return self.builder(account).quote(kind, amount, use_spam_proof)

    def send(
        self,
        account: AccountKeys,
        address: str,
        amount: int,
        use_spam_proof: bool = True,
        memo: bytes = b"",
        progress: Progress | None = None,
    ) -> str:
        """A shielded transfer of `amount` to `address`; returns the transaction id."""
        builder = self.builder(account)
        quote = builder.quote("transfer", amount, use_spam_proof)
        notes = select_notes(self.spendable_notes(account), amount + quote.fee)
        change = sum(n.value for n in notes) - amount - quote.fee
        payments = [payment(address, amount, memo=memo)]
        if change:
            payments.append(payment(account.address, change))
        return builder.build_and_submit(
            notes=notes, payments=payments, quote=quote, progress=progress
        )

    def withdraw(
        self,
        account: AccountKeys,
        recipient: bytes,
        amount: int,
        use_spam_proof: bool = True,
        progress: Progress | None = None,
    ) -> str:
        """Move `amount` out of the pool to a transparent account (priced by what it leaks)."""
        builder = self.builder(account)
        quote = builder.quote("withdrawal", amount, use_spam_proof)
        notes = select_notes(self.spendable_notes(account), amount + quote.fee)
        change = sum(n.value for n in notes) - amount - quote.fee
        payments = [payment(account.address, change)] if change else []
        return builder.build_and_submit(
            notes=notes,
            payments=payments,
            quote=quote,
            withdrawal=WithdrawalTarget(recipient, amount),
            progress=progress,
        )

    def deposit(
        self,
        account: AccountKeys,
        amount: int,
        source: SigningKey | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Move `amount` from a transparent account (default: this account's) into a note."""
        builder = self.builder(account)
        quote = builder.quote("deposit", amount, use_spam_proof=False)
        if quote.fee:
            raise WalletError(f"deposits are free, but the node quoted {quote.fee}")
        return builder.build_and_submit(
            payments=[payment(account.address, amount)],
            quote=quote,
            deposit_from=source or account.transparent,
            deposit_amount=amount,
            progress=progress,
        )

    def due_for_renewal(self, account: AccountKeys) -> list[OwnedNote]:
        epoch = self.current_epoch()
        return [
            n
            for n in self.spendable_notes(account)
            if not n.permanent and n.expiry_epoch <= epoch + RENEW_WITHIN_EPOCHS
        ]

    def renew(
        self,
        account: AccountKeys,
        notes: list[OwnedNote] | None = None,
        progress: Progress | None = None,
    ) -> list[str]:
        """Re-create notes about to expire (two at a time, which also consolidates dust)
        as fresh notes to this account; returns the transaction ids."""
        due = self.due_for_renewal(account) if notes is None else notes
        builder = self.builder(account)
        submitted = []
        for start in range(0, len(due), 2):
            pair = due[start : start + 2]
            quote = builder.quote("transfer", 0, use_spam_proof=True)
            value = sum(n.value for n in pair) - quote.fee
            if value < 0:
                raise SendError("these notes are worth less than the renewal fee")
            submitted.append(
                builder.build_and_submit(
                    notes=pair,
                    payments=[payment(account.address, value)] if value else [],
                    quote=quote,
                    progress=progress,
                )
            )
        return submitted

    def wait(
        self,
        tx_id: str,
        final: bool = True,
        progress: Progress | None = None,
        timeout: float = 120.0,
    ) -> dict[str, Any]:
        """The transaction's status once it is on the canonical chain (and final, unless
        `final` is False); SendError if it is rejected or does not get there in time."""
        return self.builder(self.account(0)).wait(tx_id, final, timeout, progress)

    def complete(
        self,
        make: Callable[[], str],
        final: bool = True,
        attempts: int = RETRY_ATTEMPTS,
        progress: Progress | None = None,
    ) -> str:
        """Run `make` (build and submit a transaction) and wait until it is final; if the
        chain drops it because its epoch or anchor went stale before a block took it (slow
        blocks at an epoch boundary) or a reorganisation removed its block, build it again.
        Returns the final transaction id."""
        for attempt in range(1, attempts + 1):
            tx_id = make()
            try:
                self.wait(tx_id, final=final, progress=progress)
                return tx_id
            except SendError as error:
                message = str(error)
                retryable = ("epoch", "anchor", "reorganisation")
                if attempt == attempts or not any(word in message for word in retryable):
                    raise
                if progress is not None:
                    progress(f"rebuilding: {message}", None)
                self.sync()
        raise AssertionError("unreachable")

    @staticmethod
    def clock(status: dict[str, Any]) -> ChainClock:
        return ChainClock.of(status)
