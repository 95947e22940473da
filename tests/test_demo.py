"""The README's main command: `shielded demo` runs a devnet and the whole pool flow."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
@pytest.mark.xdist_group("devnet")
def test_demo_runs_end_to_end() -> None:
    """The wallets' whole flow and the PVM service step, on jamcore's importer."""
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout)
    for step in ("deposit", "transfer", "renewal", "withdraw", "pvm_service"):
        assert summary[step] == "ok", summary
    assert summary["finalized_height"] >= 1 and summary["blocks"] >= summary["finalized_height"]
    assert summary["finality_latency_slots"] <= 2
    assert summary["tx_per_s"] > 0
    narration = result.stderr
    assert "Alice: spendable 75,000,000" in narration
    assert "transparent 1,000,000" in narration
    assert "refined and accumulated in the PVM" in narration
