"""The wallet's Textual application: `run_tui(wallet)` opens it on the terminal.

The app owns the wallet session and the periodic sync: every `sync_interval` seconds a
worker thread scans new blocks (never blocking the UI) and publishes a fresh `WalletView`
and `StatusInfo`, which the screens follow. It asks before renewing notes that are about
to expire, and offers rescanning from a height.
"""

from __future__ import annotations

from dataclasses import replace
from multiprocessing import resource_tracker

from textual import work
from textual.app import App
from textual.reactive import reactive

from wallet.scanner import SyncProgress
from wallet.tui.main import MainScreen
from wallet.tui.prompts import RenewScreen, RescanScreen
from wallet.tui.receive import ReceiveScreen
from wallet.tui.send import SendScreen
from wallet.tui.session import WalletBusy, WalletSession, WalletView, describe_error
from wallet.tui.widgets import StatusInfo
from wallet.wallet import POLICIES, Wallet

SYNC_INTERVAL_S = 2.0


class WalletApp(App[None]):
    """A terminal wallet for one account of an opened `Wallet`."""

    TITLE = "Shielded wallet"
    ENABLE_COMMAND_PALETTE = False
    CSS_PATH = ["app.tcss", "widgets.tcss"]

    view: reactive[WalletView | None] = reactive(None)
    status_info: reactive[StatusInfo] = reactive(StatusInfo)

    def __init__(
        self,
        wallet: Wallet,
        account: int | str = 0,
        sync_interval: float | None = SYNC_INTERVAL_S,
    ) -> None:
        """`sync_interval` None: no automatic sync (press g to sync)."""
        super().__init__()
        start_resource_tracker()
        self.session = WalletSession(wallet, account)
        self.sync_interval = sync_interval
        self.syncing = False
        self.renewal_asked: set[bytes] = set()
        self._last_node_error: str | None = None

    def on_mount(self) -> None:
        self.push_screen(MainScreen())
        if self.sync_interval is not None:
            self.request_sync()
            self.set_interval(self.sync_interval, self.request_sync)

    # --- sync -----------------------------------------------------------------------------

    def request_sync(self) -> None:
        """Start a sync in the background unless one is running."""
        if not self.syncing:
            self.syncing = True
            self.status_info = _replace_syncing(self.status_info, True)
            self._sync()

    def action_sync_now(self) -> None:
        self.request_sync()

    @work(thread=True, group="sync", exit_on_error=False)
    def _sync(self, forget_from: int | None = None) -> None:
        def progressed(progress: SyncProgress) -> None:
            self.call_from_thread(self._progressed, progress)

        try:
            if forget_from is not None:
                forgotten = self.session.forget_from(forget_from)
                self.call_from_thread(
                    self.notify, f"Rescanning from height {forget_from} ({forgotten} blocks)"
                )
            view = self.session.sync(progressed, wait=forget_from is not None)
        except WalletBusy:
            view = None  # a send or renewal holds the wallet; the next tick syncs
        except Exception as error:
            self.call_from_thread(self.notify, describe_error(error), severity="error")
            view = None
        self.call_from_thread(self._synced, view)

    def _progressed(self, progress: SyncProgress) -> None:
        info = self.status_info
        self.status_info = StatusInfo(
            progress.scanned,
            progress.head,
            progress.finalized,
            info.epoch,
            info.policy,
            True,
            syncing=True,
        )

    def _synced(self, view: WalletView | None) -> None:
        self.syncing = False
        if view is None:
            self.status_info = _replace_syncing(self.status_info, False)
            return
        self.view = view
        self.status_info = StatusInfo.of(view)
        if view.node_error is not None and view.node_error != self._last_node_error:
            self.notify(view.node_error, title="Node", severity="error")
        self._last_node_error = view.node_error
        self._offer_renewal(view)

    def _offer_renewal(self, view: WalletView) -> None:
        """Ask (once per set of notes) before renewing notes that are about to expire."""
        due = [n for n in view.due_for_renewal if n.commitment not in self.renewal_asked]
        if due and len(self.screen_stack) <= 2 and isinstance(self.screen, MainScreen):
            self.action_renew()

    # --- actions of the main screen ---------------------------------------------------------

    def action_send(self) -> None:
        self.push_screen(SendScreen(self.session), lambda _tx: self.request_sync())

    def action_receive(self) -> None:
        self.push_screen(ReceiveScreen(self.session.address))

    def action_renew(self) -> None:
        view = self.view
        if view is None or not view.due_for_renewal:
            self.notify("No notes expire within the next epochs: nothing to renew.")
            return
        due = list(view.due_for_renewal)
        self.renewal_asked.update(n.commitment for n in due)

        def done(ids: list[str] | None) -> None:
            if ids:
                self.notify(f"Renewal submitted ({len(ids)} transaction(s))", title="Renew")
                self.request_sync()

        self.push_screen(RenewScreen(self.session, due, view.balance.epoch), done)

    def action_rescan(self) -> None:
        def chosen(height: int | None) -> None:
            if height is not None:
                self.syncing = True
                self._sync(forget_from=height)

        self.push_screen(RescanScreen(), chosen)

    def action_toggle_policy(self) -> None:
        current = self.view.policy if self.view is not None else "final"
        self._set_policy(POLICIES[(POLICIES.index(current) + 1) % len(POLICIES)])

    @work(thread=True, group="settings")
    def _set_policy(self, policy: str) -> None:
        self.session.set_policy(policy)
        view = self.session.view()
        self.call_from_thread(self._policy_set, view)

    def _policy_set(self, view: WalletView) -> None:
        self.view = view
        self.status_info = replace(self.status_info, policy=view.policy)
        self.notify(f"Spending policy: {view.policy}")


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, while sys.stderr is the real one.

    The spam-proof solver and the parallel scanner start worker processes from the app's
    worker threads; the first of them would start the tracker, passing it
    sys.stderr.fileno(), which is -1 once Textual captures output ("bad value(s) in
    fds_to_keep"). Started early, the tracker is reused and stderr is never asked."""
    resource_tracker.ensure_running()


def _replace_syncing(info: StatusInfo, syncing: bool) -> StatusInfo:
    return replace(info, syncing=syncing)


def run_tui(wallet: Wallet, account: int | str = 0) -> None:
    """Run the wallet TUI on the terminal until the user quits."""
    app = WalletApp(wallet, account)
    app.run()
    with app.session.locked():
        pass  # a sync still running in a worker thread finishes before the caller closes
