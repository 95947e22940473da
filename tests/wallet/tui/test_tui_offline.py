"""The wallet TUI without a node: receive screen and QR code, form validation, and how an
unreachable node is shown."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.pilot import Pilot

from shielded.notes.note import Note
from tests.wallet.tui.support import MNEMONIC, offline_wallet, until
from wallet.accounts import account_keys
from wallet.scanner import encode_note
from wallet.store import OwnedNote, ScannedBlock
from wallet.tui.app import WalletApp
from wallet.tui.main import MainScreen
from wallet.tui.prompts import RenewScreen
from wallet.tui.qr import qr_lines, qr_modules
from wallet.tui.receive import QrCode, ReceiveScreen
from wallet.tui.send import SendScreen
from wallet.tui.widgets import BalancePanel, NotesTable, StatusBar
from wallet.wallet import Wallet


def test_qr_rows_pack_two_module_rows_per_line() -> None:
    pytest.importorskip("qrcode")
    address = account_keys(MNEMONIC, 0).address
    modules = qr_modules(address)
    assert len(modules) == 35  # version 4 (alphanumeric, upper case) + 1-module quiet zone
    unpack = {" ": (False, False), "▀": (True, False), "▄": (False, True), "█": (True, True)}
    rows: list[list[bool]] = [[], []]
    rebuilt: list[list[bool]] = []
    for line in qr_lines(address):
        rows = [[unpack[c][0] for c in line], [unpack[c][1] for c in line]]
        rebuilt.extend(rows)
    assert rebuilt[: len(modules)] == modules
    assert not any(rebuilt[len(modules) :][0])  # the padding row is light
    # Finder pattern in the top-left corner: a dark 7x7 ring inside the quiet zone.
    assert all(modules[1][1:8]) and all(row[1] for row in modules[1:8])


async def open_receive_screen(app: WalletApp, pilot: Pilot[None]) -> None:
    await pilot.press("r")
    await until(pilot, lambda: isinstance(app.screen, ReceiveScreen))


def test_receive_screen_shows_the_address(tmp_path: Path) -> None:
    async def scenario() -> None:
        wallet = offline_wallet(tmp_path)
        address = wallet.account(0).address
        app = WalletApp(wallet, sync_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_receive_screen(app, pilot)
            assert str(app.screen.query_one("#address").render()) == address
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MainScreen))
        wallet.close()

    asyncio.run(scenario())


def test_receive_screen_qr_code_fits_80x24(tmp_path: Path) -> None:
    pytest.importorskip("qrcode")

    async def scenario() -> None:
        wallet = offline_wallet(tmp_path)
        address = wallet.account(0).address
        app = WalletApp(wallet, sync_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_receive_screen(app, pilot)
            qr = app.screen.query_one(QrCode)
            assert str(qr.render()).splitlines() == qr_lines(address)
            # The whole code is on screen above the footer, not scrolled away.
            assert qr.region.bottom <= 23 and qr.region.height == len(qr_lines(address))
        wallet.close()

    asyncio.run(scenario())


def test_invalid_address_and_amount_are_explained(tmp_path: Path) -> None:
    async def scenario() -> None:
        wallet = offline_wallet(tmp_path)
        app = WalletApp(wallet, sync_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SendScreen))
            screen = app.screen
            assert isinstance(screen, SendScreen)
            await pilot.press(*"jsh1notanaddress", "tab", "0", "ctrl+r")
            await until(pilot, lambda: bool(screen.error))
            assert screen.error.startswith("Invalid amount: amount must be a whole number above 0")
            await pilot.press("backspace", *"25", "ctrl+r")
            await until(pilot, lambda: screen.error.startswith("Cannot send: invalid address"))
            assert not screen.busy
        wallet.close()

    asyncio.run(scenario())


def test_unreachable_node_is_shown_in_the_status_bar(tmp_path: Path) -> None:
    async def scenario() -> None:
        wallet = offline_wallet(tmp_path)
        app = WalletApp(wallet, sync_interval=0.5)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.status_info.reachable is False)
            text = str(app.screen.query_one(StatusBar).render())
            assert "node UNREACHABLE" in text and "policy final" in text
            assert any("unreachable" in n.message for n in app._notifications)
        wallet.close()

    asyncio.run(scenario())


def test_policy_toggle_is_saved(tmp_path: Path) -> None:
    async def scenario() -> None:
        policy = "optimistic"
        wallet = offline_wallet(tmp_path)
        app = WalletApp(wallet, sync_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("p")
            await until(pilot, lambda: app.status_info.policy == policy)
            assert f"policy {policy}" in str(app.screen.query_one(StatusBar).render())
        assert wallet.setting("policy") == policy
        wallet.close()

    asyncio.run(scenario())


def record_expiring_note(wallet: Wallet, value: int, expiry_epoch: int, epoch: int) -> None:
    """A scanned block holding one note of account 0, and the node status last seen (as a
    sync leaves them), so the wallet believes it is `epoch` and the note is final."""
    note = Note(value, wallet.account(0).spending.address.pk, 7, expiry_epoch)
    block = ScannedBlock(0, b"\x01" * 32, b"\x00" * 32, 0, 0)
    owned = OwnedNote(
        commitment=b"\x02" * 32,
        account=0,
        value=value,
        expiry_epoch=expiry_epoch,
        permanent=False,
        position=0,
        nullifier=b"\x03" * 32,
        note=encode_note(note),
        memo=b"",
        received_height=0,
    )
    wallet.store.record_block(block, [owned])
    status = {
        "slot": epoch * 12,
        "epoch_length": 12,
        "head": {"height": 0},
        "finalized": {"height": 0},
    }
    wallet.store.set_meta("status", json.dumps(status))


def test_renewal_is_asked_once_and_a_failure_is_explained(tmp_path: Path) -> None:
    async def scenario() -> None:
        wallet = offline_wallet(tmp_path)
        record_expiring_note(wallet, 500, expiry_epoch=3, epoch=2)
        app = WalletApp(wallet, sync_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("g")
            await until(pilot, lambda: isinstance(app.screen, RenewScreen))
            text = str(app.screen.query_one("#renew-text").render())
            assert "1 note(s) worth 500 expire soon (the first at epoch 3; now epoch 2)" in text
            # Yes, but the node is down: the reason is shown and nothing is renewed.
            await pilot.press("y")
            error = app.screen.query_one("#renew-error")
            await until(pilot, lambda: "Node unreachable" in str(error.render()))
            assert [n.value for n in wallet.notes(wallet.account(0))] == [500]
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, MainScreen))
            row = app.screen.query_one(NotesTable).get_row_at(0)
            assert row == ["500", "ephemeral", "epoch 3", "expires in 1 epoch", "0", "final"]
            assert "Expiring soon 500" in str(app.screen.query_one(BalancePanel).render())
            # Declined: the next sync does not ask again about the same notes.
            await pilot.press("g")
            await until(pilot, lambda: not app.syncing)
            await pilot.pause(0.3)
            assert isinstance(app.screen, MainScreen)
        wallet.close()

    asyncio.run(scenario())
