"""Dialogs of the main screen: the renewal prompt (shown when notes are about to expire;
renews only after the user says yes, with progress) and the rescan dialog (the height to
rescan from)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from wallet.store import OwnedNote
from wallet.tui.session import WalletSession, describe_error
from wallet.tui.widgets import ProgressPanel


class RenewScreen(ModalScreen[list[str] | None]):
    """Asks before renewing notes that expire soon; dismisses with the transaction ids
    (None if the user declined or it failed)."""

    CSS_PATH = "prompts.tcss"
    BINDINGS = [
        Binding("y", "renew", "Renew"),
        Binding("n,escape", "decline", "Not now"),
    ]

    def __init__(self, session: WalletSession, due: list[OwnedNote], epoch: int) -> None:
        super().__init__()
        self.session = session
        self.due = due
        self.epoch = epoch
        self.busy = False

    def compose(self) -> ComposeResult:
        value = sum(n.value for n in self.due)
        first = min(n.expiry_epoch for n in self.due)
        with Vertical(classes="dialog"):
            yield Label("Notes about to expire", classes="title")
            yield Static(
                f"{len(self.due)} note(s) worth {value:,} expire soon (the first at epoch "
                f"{first}; now epoch {self.epoch}). Expired notes can no longer be spent.\n"
                "Renew them now into fresh notes to yourself (free, with spam proofs)?",
                id="renew-text",
            )
            yield Static(id="renew-error", classes="error")
            yield ProgressPanel(id="renew-progress")
            with Horizontal(classes="buttons"):
                yield Button("Renew (y)", variant="primary", id="renew-yes")
                yield Button("Not now (n)", id="renew-no")

    @on(Button.Pressed, "#renew-yes")
    def action_renew(self) -> None:
        if not self.busy:
            self.busy = True
            self.query_one(ProgressPanel).report("starting", None)
            self._renew()

    @on(Button.Pressed, "#renew-no")
    def action_decline(self) -> None:
        if not self.busy:
            self.dismiss(None)

    @work(thread=True, exclusive=True)
    def _renew(self) -> None:
        panel = self.query_one(ProgressPanel)

        def report(step: str, fraction: float | None) -> None:
            self.app.call_from_thread(panel.report, step, fraction)

        try:
            ids = self.session.renew(self.due, report)
        except Exception as error:
            self.app.call_from_thread(self._failed, describe_error(error))
            return
        self.app.call_from_thread(self.dismiss, ids)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.query_one(ProgressPanel).running = False
        self.query_one("#renew-error", Static).update(message)


class RescanScreen(ModalScreen[int | None]):
    """Asks for the height to rescan from; dismisses with it (None on escape)."""

    CSS_PATH = "prompts.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Rescan", classes="title")
            yield Static(
                "Forget what was scanned from this height on and scan it again "
                "(0 rescans the whole chain). Enter to start, escape to cancel."
            )
            yield Input(value="0", id="rescan-height", restrict=r"[0-9]*")
            yield Static(id="rescan-error", classes="error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text.isdigit():
            self.query_one("#rescan-error", Static).update(
                f"the height must be a whole number, not {text!r}"
            )
            return
        self.dismiss(int(text))

    def action_cancel(self) -> None:
        self.dismiss(None)
