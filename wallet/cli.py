"""`shielded wallet ...`: the wallet's plain command-line interface (human output or --json).

    shielded wallet create | restore [--genesis DEVNET/genesis.json | --chain-id HEX --vk-hash HEX]
    shielded wallet address | balance | notes | history | sync
    shielded wallet send ADDRESS AMOUNT [--pay-fee] [--memo TEXT] [--no-wait]
    shielded wallet withdraw ACCOUNT_HEX AMOUNT [--pay-fee]
    shielded wallet deposit AMOUNT [--from-key FILE]
    shielded wallet renew [--all]
    shielded wallet faucet AMOUNT            (devnets)
    shielded wallet                          (the TUI)

The wallet file defaults to $SHIELDED_WALLET or ~/.jam-shielded/default.wallet; the
passphrase comes from $SHIELDED_WALLET_PASSPHRASE or is asked for (never echoed, never
logged). Every failure is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from wallet.accounts import AccountKeyError
from wallet.builder import SendError
from wallet.keystore import WalletFileError
from wallet.pins import ChainPins, PinError, pins_from_genesis
from wallet.rpc import NodeError
from wallet.scanner import ScanError, SyncProgress
from wallet.store import WalletStoreError
from wallet.wallet import Wallet, WalletError

ACTIONS = (
    "tui",
    "create",
    "restore",
    "address",
    "balance",
    "notes",
    "history",
    "sync",
    "send",
    "withdraw",
    "deposit",
    "renew",
    "faucet",
    "set",
)


def default_wallet_path() -> Path:
    return Path(
        os.environ.get("SHIELDED_WALLET", Path.home() / ".jam-shielded" / "default.wallet")
    )


def add_wallet_arguments(parser: argparse.ArgumentParser) -> None:
    """The `shielded wallet` arguments."""
    parser.add_argument("action", nargs="?", default="tui", choices=ACTIONS)
    parser.add_argument("args", nargs="*", help="the action's arguments (see --help)")
    parser.add_argument("--file", type=Path, default=None, help="wallet file")
    parser.add_argument("--node", default=None, help="node RPC URL (create/restore/set)")
    parser.add_argument("--circuit", default=None, help="circuit key directory (DEVNET/circuit)")
    parser.add_argument(
        "--genesis",
        type=Path,
        default=None,
        help="pin the wallet to this devnet's genesis.json (create/restore)",
    )
    parser.add_argument("--chain-id", default=None, help="pin this genesis chain id (hex)")
    parser.add_argument("--vk-hash", default=None, help="pin this verifying-key hash (hex)")
    parser.add_argument("--account", default="0", help="account name or index (default 0)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--pay-fee", action="store_true", help="pay a fee instead of a spam proof")
    parser.add_argument("--memo", default="", help="memo for the recipient (send)")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for finality")
    parser.add_argument("--from-key", type=Path, default=None, help="deposit source key file")
    parser.add_argument("--all", action="store_true", help="all notes (notes, renew)")


def _passphrase(confirm: bool = False) -> str:
    value = os.environ.get("SHIELDED_WALLET_PASSPHRASE")
    if value:
        return value
    first = getpass.getpass("wallet passphrase: ")
    if confirm and getpass.getpass("repeat passphrase: ") != first:
        raise WalletError("the passphrases differ")
    return first


def _amount(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise WalletError(f"amount {text!r} is not a whole number of base units") from None
    if not 0 < value < 2**64:
        raise WalletError(f"amount {value} must be in 1..2^64-1")
    return value


def _arg(args: argparse.Namespace, index: int, name: str) -> str:
    if len(args.args) <= index:
        raise WalletError(f"`shielded wallet {args.action}` needs {name}")
    return str(args.args[index])


def _account_ref(args: argparse.Namespace) -> str | int:
    return int(args.account) if str(args.account).isdigit() else str(args.account)


def _progress(step: str, fraction: float | None) -> None:
    if fraction is None:
        print(f"  .. {step}", file=sys.stderr, flush=True)


def _sync_progress(progress: SyncProgress) -> None:
    print(
        f"\r  scanned {progress.scanned}/{progress.head} ({100 * progress.fraction:.0f}%)",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _emit(args: argparse.Namespace, data: Any, human: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else human)


def run_wallet(args: argparse.Namespace) -> int:
    """Entry point of `shielded wallet`; returns the exit status."""
    try:
        return _run(args)
    except (
        WalletError,
        WalletFileError,
        SendError,
        NodeError,
        ScanError,
        WalletStoreError,
        AccountKeyError,
        PinError,
    ) as error:
        print(f"shielded wallet: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nshielded wallet: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    path = args.file or default_wallet_path()
    if args.action in ("create", "restore"):
        mnemonic = None
        if args.action == "restore":
            mnemonic = os.environ.get("SHIELDED_WALLET_MNEMONIC") or input("mnemonic: ")
        pins = _pins(args)
        path.parent.mkdir(parents=True, exist_ok=True)
        wallet = Wallet.create(
            path,
            _passphrase(confirm=not os.environ.get("SHIELDED_WALLET_PASSPHRASE")),
            mnemonic=mnemonic,
            node_url=args.node or "http://127.0.0.1:30334/",
            circuit_dir=args.circuit,
            pins=pins,
        )
        account = wallet.account(0)
        data: dict[str, Any] = {"file": str(path), "address": account.address}
        human = f"wallet created at {path}\naddress: {account.address}"
        data["pins"] = None if pins is None else pins.to_json()
        if pins is None:
            human += (
                "\nnot pinned to a chain yet: the first node it syncs with will be trusted "
                "(pass --genesis DEVNET/genesis.json to pin it now)"
            )
        else:
            human += f"\npinned to chain 0x{pins.chain_id.hex()}, verifying key {pins.vk_hash}"
        if mnemonic is None:
            data["mnemonic"] = wallet.secrets.mnemonic
            human += (
                "\n\nwrite down these words; they are the only way to restore the wallet:\n"
                f"  {wallet.secrets.mnemonic}"
            )
        _emit(args, data, human)
        return 0

    wallet = Wallet.open(path, _passphrase())
    try:
        return _act(args, wallet)
    finally:
        for notice in wallet.notices:
            print(f"shielded wallet: {notice}", file=sys.stderr)
        wallet.close()


def _pins(args: argparse.Namespace) -> ChainPins | None:
    """The pins of `create`/`restore`: from --genesis, or from --chain-id and --vk-hash."""
    if args.genesis is not None:
        if args.chain_id or args.vk_hash:
            raise WalletError("give either --genesis or --chain-id with --vk-hash, not both")
        return pins_from_genesis(args.genesis)
    if args.chain_id or args.vk_hash:
        if not (args.chain_id and args.vk_hash):
            raise WalletError("--chain-id and --vk-hash pin a wallet together: give both")
        return ChainPins.parse(args.chain_id, args.vk_hash)
    return None


def _act(args: argparse.Namespace, wallet: Wallet) -> int:
    account = wallet.account(_account_ref(args))
    action = args.action
    if action == "tui":
        from wallet.tui.app import run_tui

        run_tui(wallet)
        return 0
    if action == "set":
        if args.node:
            wallet.set_setting("node_url", args.node)
        if args.circuit:
            wallet.set_setting("circuit_dir", str(Path(args.circuit).resolve()))
        if args.args:
            name, _, value = _arg(args, 0, "NAME=VALUE").partition("=")
            wallet.set_setting(name, value)
        _emit(args, {"ok": True}, "settings saved")
        return 0
    if action == "address":
        _emit(
            args,
            {"address": account.address, "transparent": account.transparent_account.hex()},
            f"shielded address:    {account.address}\n"
            f"transparent account: {account.transparent_account.hex()}",
        )
        return 0
    if action == "sync":
        result = wallet.sync(None if args.json else _sync_progress)
        if not args.json:
            print(file=sys.stderr)
        _emit(args, asdict(result), f"synced to height {result.scanned} (final {result.finalized})")
        return 0
    if action in ("balance", "notes", "history"):
        wallet.sync()
        return _report(args, wallet, account)
    if action == "faucet":
        amount = _amount(_arg(args, 0, "AMOUNT"))
        return _finish(
            args, wallet, lambda: wallet.client.faucet(account.address, amount), f"faucet {amount}"
        )
    if action == "deposit":
        amount = _amount(_arg(args, 0, "AMOUNT"))
        source = _signing_key(args.from_key) if args.from_key else None
        return _finish(
            args,
            wallet,
            lambda: wallet.deposit(account, amount, source, progress=_progress),
            f"deposit of {amount}",
        )
    wallet.sync()
    if action == "send":
        address, amount = _arg(args, 0, "ADDRESS"), _amount(_arg(args, 1, "AMOUNT"))
        quote = wallet.quote(account, "transfer", amount, not args.pay_fee)
        _describe_quote(quote)
        memo = args.memo.encode()
        return _finish(
            args,
            wallet,
            lambda: wallet.send(account, address, amount, not args.pay_fee, memo, _progress),
            f"sent {amount}",
        )
    if action == "withdraw":
        recipient_hex, amount = _arg(args, 0, "ACCOUNT_HEX"), _amount(_arg(args, 1, "AMOUNT"))
        try:
            recipient = bytes.fromhex(recipient_hex.removeprefix("0x"))
        except ValueError:
            raise WalletError("the recipient account must be 32 bytes of hex") from None
        if len(recipient) != 32:
            raise WalletError("the recipient account must be 32 bytes of hex")
        quote = wallet.quote(account, "withdrawal", amount, not args.pay_fee)
        _describe_quote(quote)
        return _finish(
            args,
            wallet,
            lambda: wallet.withdraw(account, recipient, amount, not args.pay_fee, _progress),
            f"withdrew {amount}",
        )
    if action == "renew":
        notes = wallet.notes(account) if args.all else wallet.due_for_renewal(account)
        notes = [n for n in notes if not n.permanent and n.value > 0]
        if not notes:
            _emit(args, {"renewed": []}, "no notes need renewing")
            return 0
        tx_ids = wallet.renew(account, notes, progress=_progress)
        for tx_id in tx_ids:
            if not args.no_wait:
                wallet.wait(tx_id, progress=None)
        summary = f"renewed {len(notes)} notes in {len(tx_ids)} transactions"
        _emit(args, {"renewed": tx_ids}, summary)
        return 0
    raise WalletError(f"unknown action {action!r}")


def _describe_quote(quote: Any) -> None:
    if quote.spam_bits is not None:
        print(
            f"  fee {quote.fee} + a tier-{quote.spam_tier} spam proof ({quote.spam_bits} bits)",
            file=sys.stderr,
        )
    else:
        print(f"  fee {quote.fee}", file=sys.stderr)


def _finish(
    args: argparse.Namespace, wallet: Wallet, make: Callable[[], str], what: str
) -> int:
    """Submit with `make`; unless --no-wait, wait until final (rebuilding if the chain drops
    the transaction at an epoch boundary)."""
    tx_id = make() if args.no_wait else wallet.complete(make, progress=_progress)
    state = "submitted" if args.no_wait else "final"
    _emit(args, {"tx_id": tx_id, "status": state}, f"{what}: {state} (tx {tx_id[:16]}...)")
    return 0


def _report(args: argparse.Namespace, wallet: Wallet, account: Any) -> int:
    if args.action == "balance":
        balance = wallet.balance(account)
        _emit(
            args,
            asdict(balance),
            f"spendable {balance.spendable}   pending {balance.pending}   "
            f"expiring soon {balance.expiring}\n"
            f"{balance.notes} notes, epoch {balance.epoch}, scanned #{balance.scanned_height}, "
            f"final #{balance.finalized_height}",
        )
    elif args.action == "notes":
        notes = wallet.notes(account, include_spent=args.all)
        epoch = wallet.current_epoch()
        rows = [
            {
                "value": n.value,
                "tier": "permanent" if n.permanent else "ephemeral",
                "expiry_epoch": None if n.permanent else n.expiry_epoch,
                "expires_in_epochs": None if n.permanent else n.expiry_epoch - epoch,
                "received_height": n.received_height,
                "spent_height": n.spent_height,
            }
            for n in notes
        ]
        lines = [f"{'value':>14}  {'tier':<9}  {'expires':>10}  {'received':>8}  spent"]
        for row in rows:
            expires = "never" if row["expiry_epoch"] is None else f"in {row['expires_in_epochs']}"
            lines.append(
                f"{row['value']:>14}  {row['tier']:<9}  {expires:>10}  "
                f"#{row['received_height']:>7}  {row['spent_height'] or ''}"
            )
        _emit(args, rows, "\n".join(lines))
    else:
        entries = [
            asdict(e) | {"transaction_id": (e.transaction_id or b"").hex()}
            for e in wallet.history(account)
        ]
        lines = [f"{'height':>7}  {'kind':<10} {'amount':>14} {'fee':>10}  tx"]
        for e in entries:
            lines.append(
                f"#{e['height']:>6}  {e['kind']:<10} {e['amount']:>14} {e['fee']:>10}  "
                f"{e['transaction_id'][:16]}"
            )
        _emit(args, entries, "\n".join(lines))
    return 0


def _signing_key(path: Path) -> SigningKey:
    """An ed25519 key from a JSON file with "ed25519_seed" (devnet account files)."""
    try:
        return SigningKey(bytes.fromhex(json.loads(path.read_text())["ed25519_seed"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise WalletError(f"{path} is not a key file with an ed25519_seed") from error
