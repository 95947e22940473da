"""Shared pieces of the TUI tests: a wallet that never reaches a node, and waiting on the
app under the pilot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from wallet import keystore
from wallet.wallet import Wallet

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
UNREACHABLE = "http://127.0.0.1:9/"


def offline_wallet(directory: Path) -> Wallet:
    """A restored wallet (fixed mnemonic, so fixed address) whose node is unreachable."""
    return Wallet.create(
        directory / "w.wallet",
        "pw",
        mnemonic=MNEMONIC,
        node_url=UNREACHABLE,
        kdf=keystore.FAST_KDF,
    )


async def until(
    pilot: Pilot[None],
    condition: Callable[[], object],
    timeout: float = 10.0,
    what: str = "the TUI",
) -> None:
    """Let the app run until `condition` holds."""
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"timed out waiting for {what}")
