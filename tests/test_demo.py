"""The README's main command: `shielded demo` runs a devnet and the whole pool flow."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("devnet")
def test_demo_runs_end_to_end() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shielded.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for step in ("deposits", "sends", "renews", "withdraws", "what happened"):
        assert step in out
    assert "Alice: spendable 75,000,000" in out
    assert "transparent 1,000,000" in out
