"""Validator-to-validator messages, JAM-codec encoded inside p2p frames.

Each message is a `Choice` (one discriminator octet, then the payload):
* status: the sender's head and final block (sent on connect, answered when behind);
* block: one encoded block (authored or relayed);
* blocks_request: ask for canonical blocks from a height (sync);
* blocks: a batch of encoded blocks in height order (the answer);
* ticket: a Safrole ticket envelope for the current contest;
* transaction: an encoded pool transaction (like a work item sent to guarantors);
* contribution: an encoded OSST finality contribution;
* reshare: a signed dealing, complaint or answer of the epoch's reshare round.
"""

from __future__ import annotations

from dataclasses import dataclass

from jamcore.block import TICKET_ENVELOPE
from jamcore.codec import BLOB, HASH, U16, U32, Choice, CodecError, Struct, Variant, seq
from jamcore.safrole.state import TicketEnvelope

MAX_BLOCKS_PER_BATCH = 64


@dataclass(frozen=True)
class Status:
    head: bytes
    height: int
    finalized: bytes


@dataclass(frozen=True)
class BlocksRequest:
    from_height: int
    count: int


STATUS = Struct(Status, {"head": HASH, "height": U32, "finalized": HASH})
BLOCKS_REQUEST = Struct(BlocksRequest, {"from_height": U32, "count": U16})

MESSAGE = Choice(
    [
        ("status", STATUS),
        ("block", BLOB),
        ("blocks_request", BLOCKS_REQUEST),
        ("blocks", seq(BLOB, max_length=MAX_BLOCKS_PER_BATCH)),
        ("ticket", TICKET_ENVELOPE),
        ("transaction", BLOB),
        ("contribution", BLOB),
        ("reshare", BLOB),
    ]
)


def encode_message(kind: str, payload: object) -> bytes:
    return MESSAGE.encode(Variant(kind, payload))


def decode_message(raw: bytes) -> Variant:
    """The message in `raw`; CodecError for anything malformed."""
    return MESSAGE.decode(raw)


__all__ = [
    "MAX_BLOCKS_PER_BATCH",
    "BlocksRequest",
    "CodecError",
    "Status",
    "TicketEnvelope",
    "decode_message",
    "encode_message",
]
