"""The wallet TUI against a real devnet: sync status, balance after funding, a transfer
made through the send screen end to end (the recipient's TUI then shows the funds), and
the error shown when sending more than the balance."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, RadioButton

from shielded.node import devnet, genesis
from tests.shielded.node.test_devnet import wait_for
from tests.wallet.tui.support import until
from wallet import keystore
from wallet.tui.app import WalletApp
from wallet.tui.prompts import RescanScreen
from wallet.tui.send import ConfirmSendScreen, SendScreen
from wallet.tui.widgets import BalancePanel, HistoryTable, ProgressPanel, StatusBar
from wallet.wallet import Wallet

VALIDATORS = 6
SLOT_SECONDS = 3.0
"""Longer than the usual 1 s: a transaction is valid only in the epoch it names, and on a
busy 2-core machine a Groth16 proof can take longer than a whole 12-slot epoch of 1 s slots,
so the builder's aimed-at epoch would pass before the proof is done."""
FUNDS = 10_000
AMOUNT = 1_234
RETURNED = 234

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("devnet")]


@dataclass
class Devnet:
    directory: Path
    sender: Wallet
    recipient: Wallet


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """One devnet for the module: a sender wallet funded by a deposit, and a recipient."""
    root = tmp_path_factory.mktemp("tui")
    directory = root / "devnet"
    base_port = devnet.free_base_port(2 * VALIDATORS)
    config = devnet.init(directory, VALIDATORS, slot_duration=SLOT_SECONDS, base_port=base_port)
    try:
        devnet.up(directory)
        url = f"http://127.0.0.1:{config.validators[0].rpc_port}/"
        wallets = [
            Wallet.create(
                root / f"{name}.wallet",
                "pw",
                node_url=url,
                circuit_dir=directory / "circuit",
                kdf=keystore.FAST_KDF,
            )
            for name in ("sender", "recipient")
        ]
        sender = wallets[0]
        wait_for(lambda: _height(sender) >= 2, 60, "the devnet's first blocks")
        alice = genesis.load_account_key(directory, "alice")
        tx_id = sender.deposit(sender.account(0), FUNDS, source=alice)
        sender.wait(tx_id)
        yield Devnet(directory, sender, wallets[1])
        for wallet in wallets:
            wallet.close()
    finally:
        devnet.down(directory)


def _height(wallet: Wallet) -> int:
    try:
        return int(wallet.client.status()["finalized"]["height"])
    except Exception:
        return -1


def shown(app: WalletApp, widget: type[StatusBar | BalancePanel]) -> str:
    return str(app.screen.query_one(widget).render())


def test_sync_status_and_balance_after_funding(chain: Devnet) -> None:
    async def scenario() -> None:
        app = WalletApp(chain.sender)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(
                pilot,
                lambda: app.view is not None and app.view.balance.spendable == FUNDS,
                30,
                "the first sync to find the deposit",
            )
            status = shown(app, StatusBar)
            info = app.status_info
            assert info.reachable and info.scanned >= info.finalized >= 0
            assert f"sync {info.scanned:,}/{info.head:,}" in status
            assert f"{info.percent}%" in status and "node online" in status
            assert "policy final" in status and f"epoch {info.epoch}" in status
            assert f"Spendable {FUNDS:,}" in shown(app, BalancePanel)
            # Rescan from height 0: the store forgets every block and finds the note again.
            scanned = info.scanned
            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, RescanScreen), 10, "the dialog")
            await pilot.press("enter")
            await until(
                pilot,
                lambda: any("Rescanning from height 0" in n.message for n in app._notifications),
                30,
                "the rescan to start",
            )
            forgotten = [n.message for n in app._notifications if "Rescanning" in n.message]
            assert forgotten == [f"Rescanning from height 0 ({scanned + 1} blocks)"]
            await until(
                pilot,
                lambda: not app.syncing and app.status_info.scanned >= scanned,
                30,
                "the rescan to finish",
            )
            assert app.view is not None and app.view.balance.spendable == FUNDS

    asyncio.run(scenario())


def test_sending_more_than_the_balance_is_refused_with_the_reason(chain: Devnet) -> None:
    async def scenario() -> None:
        app = WalletApp(chain.sender)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.view is not None, 30, "the first sync")
            await pilot.press("s")
            screen = app.screen
            assert isinstance(screen, SendScreen)
            screen.query_one("#address", Input).value = chain.recipient.account(0).address
            screen.query_one("#amount", Input).focus()
            await pilot.press(*str(FUNDS * 10), "enter")
            await until(pilot, lambda: screen.error, 30, "the refusal")
            assert screen.error == (
                f"Cannot send: insufficient spendable funds: need {FUNDS * 10}, have {FUNDS}"
            )
            assert not screen.busy and app.screen is screen

    asyncio.run(scenario())


async def send_through_tui(
    app: WalletApp, pilot: Pilot[None], address: str, amount: int, pay_fee: bool
) -> int:
    """Fill the send form, check the quote, confirm, and follow the progress until the
    transfer is final; returns the fee paid."""
    await until(pilot, lambda: app.view is not None, 30, "the first sync")
    await pilot.press("s")
    screen = app.screen
    assert isinstance(screen, SendScreen)
    screen.query_one("#address", Input).value = address
    await pilot.press("tab", *str(amount))
    await until(pilot, lambda: "spam proof" in screen.quote_text, 30, "the free quote")
    assert "Cost: free: tier-1 spam proof" in screen.quote_text
    assert "of solving" in screen.quote_text
    fee = 0
    if pay_fee:
        screen.query_one("#mode-fee", RadioButton).value = True
        await until(pilot, lambda: "fee " in screen.quote_text, 30, "the fee quote")
        fee = int(screen.quote_text.split("fee ")[1].split()[0].replace(",", ""))
        assert fee > 0
    screen.query_one("#memo", Input).focus()
    await pilot.press(*"for lunch", "enter")
    await until(pilot, lambda: isinstance(app.screen, ConfirmSendScreen), 30, "the confirmation")
    cost = str(app.screen.query_one("#confirm-cost").render())
    assert f"fee {fee:,}" in cost if pay_fee else "free: tier-1 spam proof" in cost
    panel = screen.query_one(ProgressPanel)
    steps: set[str] = set()
    screen.watch(panel, "step", lambda step: steps.add(step.split(" ")[0]), init=False)
    await pilot.press("y")
    await until(pilot, lambda: screen.sent or screen.error, 120, "the transfer")
    assert not screen.error, screen.error
    assert {"proving", "submitting", "submitted"} <= steps
    if not pay_fee:
        assert "solving" in steps
    assert panel.step.startswith(f"Sent {amount:,}: transaction")
    return fee


def test_two_wallets_send_to_each_other_through_the_tui(chain: Devnet) -> None:
    sender_address = chain.sender.account(0).address
    recipient_address = chain.recipient.account(0).address

    async def send() -> None:
        app = WalletApp(chain.sender)
        async with app.run_test(size=(80, 24)) as pilot:
            fee = await send_through_tui(app, pilot, recipient_address, AMOUNT, pay_fee=True)
            await until(
                pilot,
                lambda: app.view is not None and app.view.balance.total == FUNDS - AMOUNT - fee,
                30,
                "the sender's change",
            )

    async def receive_and_send_back() -> None:
        app = WalletApp(chain.recipient)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(
                pilot,
                lambda: app.view is not None and app.view.balance.spendable == AMOUNT,
                30,
                "the recipient's sync",
            )
            assert f"Spendable {AMOUNT:,}" in shown(app, BalancePanel)
            history = app.view.history if app.view is not None else ()
            assert [(e.kind, e.amount) for e in history] == [("received", AMOUNT)]
            await pilot.press("h")
            table = app.screen.query_one(HistoryTable)
            await until(pilot, lambda: table.display and table.row_count == 1, 10, "history")
            row = table.get_row_at(0)
            assert row[1:4] == ["received", f"{AMOUNT:,}", "0"]
            tx_id = history[0].transaction_id
            assert tx_id is not None and row[4] == tx_id.hex()[:16] + "…"
            # And back, free of charge with a spam proof.
            await send_through_tui(app, pilot, sender_address, RETURNED, pay_fee=False)

    asyncio.run(send())
    asyncio.run(receive_and_send_back())
    chain.sender.sync()
    received = [e for e in chain.sender.history(chain.sender.account(0)) if e.kind == "received"]
    assert [e.amount for e in received] == [RETURNED]
