"""The main screen: status bar, balance panel, notes and history tabs, and the keys that
open the other screens (send, receive, renew, rescan) or change the spending policy."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from wallet.tui.session import WalletView
from wallet.tui.widgets import BalancePanel, HistoryTable, NotesTable, StatusBar


class MainScreen(Screen[None]):
    """Follows the app's `view` (refreshed after every sync)."""

    CSS_PATH = "main.tcss"
    BINDINGS = [
        Binding("s", "app.send", "Send"),
        Binding("r", "app.receive", "Receive"),
        Binding("n", "show_tab('notes')", "Notes"),
        Binding("h", "show_tab('history')", "History"),
        Binding("w", "app.renew", "Renew"),
        Binding("x", "app.rescan", "Rescan"),
        Binding("p", "app.toggle_policy", "Policy"),
        Binding("g", "app.sync_now", "Sync", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        balance = BalancePanel(id="balance")
        balance.border_title = "Balance"
        yield balance
        with TabbedContent(initial="notes"):
            with TabPane("Notes", id="notes"):
                yield NotesTable(id="notes-table")
            with TabPane("History", id="history"):
                yield HistoryTable(id="history-table")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "view", self.show)

    def show(self, view: WalletView | None) -> None:
        if view is None:
            return
        panel = self.query_one(BalancePanel)
        panel.policy = view.policy
        panel.balance = view.balance
        self.query_one(NotesTable).show(
            view.notes, view.balance.epoch, view.balance.finalized_height
        )
        self.query_one(HistoryTable).show(view.history)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
