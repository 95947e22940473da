"""The receive screen: this account's shielded address and its QR code (qr.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from wallet.tui.qr import QrUnavailable, qr_lines
from wallet.tui.widgets import StatusBar


class QrCode(Static):
    """A QR code drawn dark-on-light with half blocks, whatever the terminal's colours."""

    def __init__(self, text: str, **kwargs: str) -> None:
        super().__init__(**kwargs)
        self.text = text

    def render(self) -> Text:
        try:
            rows = qr_lines(self.text)
        except QrUnavailable as missing:
            return Text(f"(no QR code: {missing})", style="dim")
        return Text("\n".join(rows), style="#000000 on #ffffff", no_wrap=True)


class ReceiveScreen(Screen[None]):
    """Shows the address to give to payers; c copies it to the clipboard."""

    CSS_PATH = "receive.tcss"
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("c", "copy", "Copy address"),
    ]

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with VerticalScroll(id="receive"):
            yield Label("Receive: your shielded address", classes="title")
            yield Static(self.address, id="address")
            with Center():
                yield QrCode(self.address, id="qr")
        yield Footer()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.address)
        self.notify("Address copied to the clipboard")
