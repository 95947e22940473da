"""Test payloads: the (chain id, slot, header hash) of made-up blocks."""

from __future__ import annotations

from shielded.finality.contribution import FinalityPayload

CHAIN_ID = bytes(range(32))


def payload(slot: int, header: bytes = b"\x11") -> FinalityPayload:
    """The payload of a block at `slot` whose header hash starts with `header`."""
    return FinalityPayload(CHAIN_ID, slot, header.ljust(32, b"\0"))
