"""The send screen: recipient, amount, fee mode (free spam proof or a paid fee) and memo;
a confirmation step that shows the quote; then solving, proving, submitting and tracking
until final, with progress, in a worker thread. Errors (insufficient funds, notes that need
consolidating, a malformed address, a node refusal) are shown under the form."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Static
from textual.worker import get_current_worker

from wallet.builder import Quote
from wallet.tui.session import (
    SendPlan,
    WalletSession,
    describe_error,
    expected_solve_seconds,
    parse_amount,
)
from wallet.tui.widgets import ProgressPanel, StatusBar


def describe_quote(quote: Quote, use_spam_proof: bool) -> str:
    """The cost of a transfer in words: the fee, or the spam-proof tier and expected time."""
    if use_spam_proof and quote.spam_bits is not None:
        seconds = expected_solve_seconds(quote)
        cost = "free" if quote.fee == 0 else f"fee {quote.fee:,}"
        return (
            f"{cost}: tier-{quote.spam_tier} spam proof ({quote.spam_bits} bits, "
            f"about {max(seconds, 0.1):.1f} s of solving)"
        )
    return f"fee {quote.fee:,} (paid from your notes, no spam proof)"


class ConfirmSendScreen(ModalScreen[bool]):
    """Shows what will be sent and what it costs; y sends, n or escape goes back."""

    CSS_PATH = "send.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Send"),
        Binding("n,escape", "answer(False)", "Back"),
    ]

    def __init__(self, plan: SendPlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        with Vertical(id="confirm-box"):
            yield Label("Confirm the transfer", classes="title")
            yield Static(f"To      {plan.address}", id="confirm-to")
            yield Static(f"Amount  {plan.amount:,}", id="confirm-amount")
            yield Static(
                f"Cost    {describe_quote(plan.quote, plan.use_spam_proof)}", id="confirm-cost"
            )
            total = plan.amount + plan.quote.fee
            yield Static(f"Total   {total:,} from {plan.inputs} note(s)", id="confirm-total")
            if plan.memo:
                yield Static(f"Memo    {plan.memo.decode(errors='replace')}")
            with Horizontal(classes="buttons"):
                yield Button("Send (y)", variant="primary", id="confirm-yes")
                yield Button("Back (n)", id="confirm-no")

    def action_answer(self, confirmed: bool) -> None:
        self.dismiss(confirmed)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)


class SendScreen(Screen[str | None]):
    """The send form; dismisses with the transaction id once it is final (or None)."""

    CSS_PATH = "send.tcss"
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("ctrl+r", "review", "Review"),
    ]

    quote_text: reactive[str] = reactive("")
    error: reactive[str] = reactive("")
    busy: reactive[bool] = reactive(False)

    def __init__(self, session: WalletSession) -> None:
        super().__init__()
        self.session = session
        self.sent: str | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with VerticalScroll(id="send-form"):
            yield Label("Send", classes="title")
            yield Input(placeholder="jsh1…", id="address")
            yield Input(placeholder="whole units", id="amount", restrict=r"[0-9,_]*")
            with RadioSet(id="fee-mode"):
                yield RadioButton("spam proof (free)", value=True, id="mode-spam")
                yield RadioButton("pay a fee", id="mode-fee")
            yield Input(placeholder="a note to the recipient", id="memo", max_length=200)
            yield Static(id="quote")
            yield Static(id="error")
            yield ProgressPanel(id="send-progress")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#address", Input).border_title = "Recipient address"
        self.query_one("#amount", Input).border_title = "Amount"
        self.query_one("#fee-mode", RadioSet).border_title = "Fee"
        self.query_one("#memo", Input).border_title = "Memo (optional)"
        self.query_one("#address", Input).focus()

    # --- form -----------------------------------------------------------------------------

    @property
    def use_spam_proof(self) -> bool:
        return self.query_one("#mode-spam", RadioButton).value

    def watch_quote_text(self, text: str) -> None:
        self.query_one("#quote", Static).update(text)

    def watch_error(self, text: str) -> None:
        self.query_one("#error", Static).update(text)

    @on(Input.Changed, "#amount")
    @on(RadioSet.Changed)
    def _requote(self) -> None:
        try:
            amount = parse_amount(self.query_one("#amount", Input).value)
        except ValueError:
            self.quote_text = ""
            return
        self._fetch_quote(amount, self.use_spam_proof)

    @work(thread=True, exclusive=True, group="quote")
    def _fetch_quote(self, amount: int, use_spam_proof: bool) -> None:
        try:
            text = describe_quote(self.session.quote(amount, use_spam_proof), use_spam_proof)
        except Exception as error:  # shown, never raised in the UI
            text = describe_error(error)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(setattr, self, "quote_text", f"Cost: {text}")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Enter reviews the transfer once address and amount are filled, else it moves to
        the first of them that is empty."""
        for required in ("#address", "#amount"):
            field = self.query_one(required, Input)
            if not field.value.strip():
                field.focus()
                return
        self.action_review()

    def action_close(self) -> None:
        if not self.busy:
            self.dismiss(self.sent)

    # --- review and send --------------------------------------------------------------------

    def action_review(self) -> None:
        """Check the form and ask the node for a quote, then ask for confirmation."""
        if self.busy:
            return
        address = self.query_one("#address", Input).value.strip()
        if not address:
            self.error = "Enter the recipient's address."
            return
        try:
            amount = parse_amount(self.query_one("#amount", Input).value)
        except ValueError as problem:
            self.error = f"Invalid amount: {problem}"
            return
        memo = self.query_one("#memo", Input).value.encode()
        self.error = ""
        self.busy = True
        self._plan(address, amount, memo, self.use_spam_proof)

    @work(thread=True, exclusive=True, group="send")
    def _plan(self, address: str, amount: int, memo: bytes, use_spam_proof: bool) -> None:
        try:
            plan = self.session.plan_send(address, amount, memo, use_spam_proof)
        except Exception as error:
            self.app.call_from_thread(self._failed, describe_error(error))
            return
        self.app.call_from_thread(self._confirm, plan)

    def _confirm(self, plan: SendPlan) -> None:
        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.query_one(ProgressPanel).report("starting", None)
                self._send(plan)
            else:
                self.busy = False

        self.app.push_screen(ConfirmSendScreen(plan), answered)

    @work(thread=True, exclusive=True, group="send")
    def _send(self, plan: SendPlan) -> None:
        panel = self.query_one(ProgressPanel)

        def report(step: str, fraction: float | None) -> None:
            self.app.call_from_thread(panel.report, step, fraction)

        try:
            tx_id = self.session.send(plan, report)
        except Exception as error:
            self.app.call_from_thread(self._failed, describe_error(error))
            return
        try:
            self.session.track(tx_id, report)
        except Exception as error:
            reason = describe_error(error).removeprefix("Cannot send: ")
            self.app.call_from_thread(
                self._failed, f"Submitted transaction {tx_id[:16]}…, but: {reason}"
            )
            return
        self.app.call_from_thread(self._sent, plan, tx_id)

    def _failed(self, message: str) -> None:
        self.busy = False
        panel = self.query_one(ProgressPanel)
        panel.running = False
        panel.remove_class("shown")
        self.error = message

    def _sent(self, plan: SendPlan, tx_id: str) -> None:
        self.busy = False
        self.sent = tx_id
        panel = self.query_one(ProgressPanel)
        panel.add_class("shown")
        panel.finish(f"Sent {plan.amount:,}: transaction {tx_id[:16]}… is final.")
        for field in ("#address", "#amount", "#memo"):
            self.query_one(field, Input).value = ""
        self.app.notify(f"Sent {plan.amount:,} (transaction {tx_id[:16]}…)", title="Sent")
        if hasattr(self.app, "request_sync"):
            self.app.request_sync()
