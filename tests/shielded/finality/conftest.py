"""Shared fixture: one genesis DKG for 6 validators (the tiny spec's set)."""

from __future__ import annotations

import pytest

from shielded.finality.dkg import KeyingOutcome, run_dkg


@pytest.fixture(scope="package")
def genesis() -> KeyingOutcome:
    """The genesis DKG of a 6-validator (tiny) devnet."""
    return run_dkg(6)
