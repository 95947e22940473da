"""Snapshots pinning the look of the wallet TUI at 80x24 (pytest-textual-snapshot), on
screens with deterministic content: a restored wallet (fixed mnemonic) that never syncs.
Update after an intended change with `pytest tests/wallet/tui --snapshot-update`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.wallet.tui.support import offline_wallet
from wallet.tui.app import WalletApp

pytest.importorskip("pytest_textual_snapshot")
pytest.importorskip("qrcode")


def test_snapshot_receive_screen(snap_compare: Any, tmp_path: Path) -> None:
    app = WalletApp(offline_wallet(tmp_path), sync_interval=None)
    assert snap_compare(app, press=["r"], terminal_size=(80, 24))


def test_snapshot_send_form_with_an_invalid_amount(snap_compare: Any, tmp_path: Path) -> None:
    app = WalletApp(offline_wallet(tmp_path), sync_interval=None)
    assert snap_compare(app, press=["s", "tab", "0", "ctrl+r"], terminal_size=(80, 24))
