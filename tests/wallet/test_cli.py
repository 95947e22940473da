"""`shielded wallet` commands that work without a node, and their error handling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MNEMONIC = (
    "legal winner thank year wave sausage worth useful legal winner thank yellow"
)


def wallet(tmp_path: Path, *args: str, passphrase: str = "pw") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SHIELDED_WALLET_PASSPHRASE": passphrase,
        "SHIELDED_WALLET_MNEMONIC": MNEMONIC,
    }
    path = str(tmp_path / "w.wallet")
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "wallet", *args, "--file", path],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_restore_then_address_is_deterministic(tmp_path: Path) -> None:
    created = wallet(tmp_path, "restore", "--json")
    assert created.returncode == 0, created.stderr
    restored_address = json.loads(created.stdout)["address"]
    assert restored_address.startswith("jsh1")
    shown = wallet(tmp_path, "address", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["address"] == restored_address
    assert len(json.loads(shown.stdout)["transparent"]) == 64


def test_invalid_wrong_passphrase_is_one_clear_line(tmp_path: Path) -> None:
    assert wallet(tmp_path, "restore").returncode == 0
    failed = wallet(tmp_path, "address", passphrase="nope")
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        "shielded wallet: wrong passphrase, or the wallet file was modified"
    ]


def test_invalid_node_unreachable(tmp_path: Path) -> None:
    assert wallet(tmp_path, "restore", "--node", "http://127.0.0.1:9/").returncode == 0
    failed = wallet(tmp_path, "balance")
    assert failed.returncode == 1
    assert "unreachable" in failed.stderr


def test_invalid_amount(tmp_path: Path) -> None:
    assert wallet(tmp_path, "restore", "--node", "http://127.0.0.1:9/").returncode == 0
    failed = wallet(tmp_path, "deposit", "ten")
    assert failed.returncode == 1
    assert "not a whole number" in failed.stderr
