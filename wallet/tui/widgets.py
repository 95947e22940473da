"""The main screen's panels: the status bar (sync and node state, shown on every screen),
the balance panel, the notes and history tables, and the progress panel used while a
transaction is solved, proved and submitted. Their CSS is in widgets.tcss."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import DataTable, Label, LoadingIndicator, ProgressBar, Static

from wallet.store import HistoryEntry, OwnedNote
from wallet.tui.session import WalletView, expiry_countdown, tier_name
from wallet.wallet import Balance


@dataclass(frozen=True)
class StatusInfo:
    """What the status bar shows."""

    scanned: int = -1
    head: int = -1
    finalized: int = -1
    epoch: int = 0
    policy: str = "final"
    reachable: bool | None = None
    """None until the first sync attempt."""
    syncing: bool = False

    @property
    def percent(self) -> int:
        if self.head <= 0:
            return 100 if self.scanned >= self.head >= 0 else 0
        return min(100, max(0, self.scanned) * 100 // self.head)

    @classmethod
    def of(cls, view: WalletView, syncing: bool = False) -> StatusInfo:
        balance = view.balance
        head = view.progress.head if view.progress is not None else view.node_head
        return cls(
            scanned=balance.scanned_height,
            head=max(head, balance.scanned_height),
            finalized=balance.finalized_height,
            epoch=balance.epoch,
            policy=view.policy,
            reachable=view.node_error is None,
            syncing=syncing,
        )


class StatusBar(Static):
    """One line: scanned height / node head (percent), final height, node, epoch, policy.
    Follows the app's `status_info`, so every screen shows the same state."""

    info: reactive[StatusInfo] = reactive(StatusInfo)

    def on_mount(self) -> None:
        if hasattr(self.app, "status_info"):
            self.watch(self.app, "status_info", self._follow)

    def _follow(self, info: StatusInfo) -> None:
        self.info = info

    def render(self) -> Text:
        info = self.info
        text = Text()
        if info.scanned < 0 and info.head < 0:
            text.append("not synced yet", style="bold")
        else:
            text.append("⟳ " if info.syncing else "✓ ", style="bold")
            text.append(f"sync {max(info.scanned, 0):,}/{max(info.head, 0):,} ")
            text.append(f"{info.percent}%", style="bold")
            text.append(f" │ final {max(info.finalized, 0):,}")
        text.append(" │ node ")
        if info.reachable is None:
            text.append("…", style="dim")
        elif info.reachable:
            text.append("online", style="bold green")
        else:
            text.append("UNREACHABLE", style="bold red")
        text.append(f" │ epoch {info.epoch} │ policy {info.policy}")
        return text


class BalancePanel(Static):
    """Spendable and pending funds, and what expires soon."""

    balance: reactive[Balance | None] = reactive(None)
    policy: reactive[str] = reactive("final")

    def render(self) -> Text:
        balance = self.balance
        if balance is None:
            return Text("Balance: waiting for the first sync…", style="dim")
        text = Text()
        text.append("Spendable ")
        text.append(f"{balance.spendable:,}", style="bold green")
        text.append("   Pending ")
        text.append(f"{balance.pending:,}", style="bold yellow")
        text.append(" (spendable now)" if self.policy == "optimistic" else " (not final)")
        text.append("   Expiring soon ")
        text.append(f"{balance.expiring:,}", style="bold red" if balance.expiring else "")
        text.append(f"   Notes {balance.notes}")
        return text


class NotesTable(DataTable[str]):
    """The account's unspent notes with their tier and expiry countdown."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("Value", "Tier", "Expiry", "Countdown", "Received", "State")

    def show(self, notes: tuple[OwnedNote, ...], epoch: int, finalized: int) -> None:
        self.clear()
        for note in sorted(notes, key=lambda n: (n.expiry_epoch, n.value)):
            self.add_row(
                f"{note.value:,}",
                tier_name(note),
                "—" if note.permanent else f"epoch {note.expiry_epoch}",
                expiry_countdown(note, epoch),
                f"{note.received_height:,}",
                "final" if note.received_height <= finalized else "pending",
                key=note.commitment.hex(),
            )


class HistoryTable(DataTable[str]):
    """The account's transactions, newest first."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("Height", "Kind", "Amount", "Fee", "Transaction")

    def show(self, history: tuple[HistoryEntry, ...]) -> None:
        self.clear()
        for entry in history:
            tx = entry.transaction_id.hex()[:16] + "…" if entry.transaction_id else "—"
            self.add_row(f"{entry.height:,}", entry.kind, f"{entry.amount:,}", f"{entry.fee:,}", tx)


class ProgressPanel(Static):
    """The current step of a long action, a progress bar (indeterminate when the step's
    fraction is unknown) and a spinner while it runs."""

    step: reactive[str] = reactive("")
    fraction: reactive[float | None] = reactive(None)
    running: reactive[bool] = reactive(False)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="progress-line"):
            yield LoadingIndicator()
            yield Label(id="progress-step")
        yield ProgressBar(total=None, show_eta=False, id="progress-bar")

    def watch_step(self, step: str) -> None:
        self.query_one("#progress-step", Label).update(step)

    def watch_fraction(self, fraction: float | None) -> None:
        bar = self.query_one(ProgressBar)
        if fraction is None:
            bar.update(total=None)
        else:
            bar.update(total=100, progress=round(fraction * 100))

    def watch_running(self, running: bool) -> None:
        self.set_class(running, "running")
        self.query_one(LoadingIndicator).display = running

    def report(self, step: str, fraction: float | None) -> None:
        """Show a builder progress report (call on the UI thread)."""
        self.running = True
        self.step = step
        self.fraction = fraction

    def finish(self, message: str) -> None:
        self.running = False
        self.step = message
        self.fraction = 1.0
