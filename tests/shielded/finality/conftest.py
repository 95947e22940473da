"""Shared fixtures: one genesis DKG for 6 validators and a payload factory."""

from __future__ import annotations

import pytest

from shielded.finality.contribution import FinalityPayload
from shielded.finality.dkg import KeyingOutcome, run_dkg

CHAIN_ID = bytes(range(32))


def payload(slot: int, header: bytes = b"\x11") -> FinalityPayload:
    """The payload of a block at `slot` whose header hash starts with `header`."""
    return FinalityPayload(CHAIN_ID, slot, header.ljust(32, b"\0"))


@pytest.fixture(scope="package")
def genesis() -> KeyingOutcome:
    """The genesis DKG of a 6-validator (tiny) devnet."""
    return run_dkg(6)
