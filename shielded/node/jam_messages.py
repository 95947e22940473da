"""The messages the devnet's validators exchange on jamcore's path, each JAM-codec encoded.

`shielded.node.jam_validator.JamValidator` is driven by calls and answers with `Outgoing`
messages (recipients and a message); this module gives every message one encoding, a
`Choice` (one discriminator octet, then the message's fields in order, Appendix C), so the
networking step can put them on the wire unchanged:

* `Transaction`: a pool transaction for the validators' mempools (a wallet's submission,
  gossiped; the payload of a work item, section 14.3);
* `BundleShare`: a work-package bundle E(p, x, i, j) (eq. 14.16) a guarantor of a core shares
  with its co-guarantors, with the guarantee slot t and the anchor it was refined on;
* `GuaranteeSignature`: a co-guarantor's credential entry (v, s), s over
  X_G ++ H(E(r)) (eq. 11.26), for the report of a shared bundle;
* `Guarantee`: a guarantee (r, t, a) with two or three signatures (eq. 11.23), for the
  block authors;
* `Shard`: validator i's availability shard of a guaranteed package, with its
  justification under the erasure root (eq. 14.17, H.5), and the guarantee slot;
* `Assurance`: a validator's availability assurance anchored on its head (eq. 11.10-11.13);
* `Block`: an encoded block (Appendix C.3), with the index of the validator sending it;
* `BlocksRequest` / `Blocks`: canonical blocks from a height, to catch up;
* `ServiceDeploy`: a service's code preimage E(↕m, c) (eq. 9.4) to deploy, gossiped so that
  every validator can package the registrar's work item and put the blob in a block's E_P
  once the new service solicits it (eq. 12.35-12.37);
* `WorkSubmission`: a payload for a work item of service `service` (section 14.3), gossiped
  like transactions so whichever guarantor's turn it is packages it;
* `Ticket`: a Safrole ticket envelope (attempt, ring VRF proof; eq. 6.29) for the contest
  under way, gossiped so every author can put it in E_T (`jam_tickets.py`);
* `FinalityVote`: an OSST finality contribution (`shielded.finality.contribution.Vote`),
  the project's own message (the graypaper's GRANDPA votes are not used on the devnet): the
  validator process hands it to its `voter.Voter`, not to the JamValidator core.

`decode_message` raises `MessageError` (a `ValueError`) on any octets that are not exactly
one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jamcore.block import TICKET_ENVELOPE, block_codecs
from jamcore.codec import BLOB, HASH, U16, U32, Choice, Codec, CodecError, Struct, Variant, seq
from jamcore.safrole.state import TicketEnvelope
from jamcore.spec import ChainSpec
from jamcore.work.availability import VALIDATOR_SHARD, ValidatorShard
from jamcore.work.guarantee import (
    REPORT_GUARANTEE,
    VALIDATOR_SIGNATURE,
    AvailAssurance,
    ReportGuarantee,
    ValidatorSignature,
    assurance_codec,
)

__all__ = [
    "MAX_BLOCKS_PER_BATCH",
    "Assurance",
    "Block",
    "Blocks",
    "BlocksRequest",
    "BundleShare",
    "Guarantee",
    "GuaranteeSignature",
    "Message",
    "MessageError",
    "Outgoing",
    "ServiceDeploy",
    "Shard",
    "Ticket",
    "Transaction",
    "WorkSubmission",
    "FinalityVote",
    "decode_message",
    "encode_message",
]

MAX_BLOCKS_PER_BATCH = 64
"""The most blocks one `Blocks` answer carries."""


class MessageError(ValueError):
    """Octets that do not decode to exactly one validator message."""


@dataclass(frozen=True)
class Transaction:
    """An encoded `shielded.transaction.Transaction` for the mempool."""

    transaction: bytes


@dataclass(frozen=True)
class BundleShare:
    """A guarantor's bundle for its co-guarantors of `core` to refine independently."""

    sender: int
    """The sharing guarantor's validator index (the signatures go back to it)."""
    core: int
    slot: int
    """t: the guarantee slot whose rotation assigns the guarantors (eq. 11.26)."""
    anchor: bytes
    """x_a: the header hash of the block the package's context names (eq. 11.4)."""
    bundle: bytes
    """E(p, X#, S#, J#) (eq. 14.16)."""


@dataclass(frozen=True)
class GuaranteeSignature:
    """A co-guarantor's signature of the report H(E(r)) it computed for slot t."""

    report_hash: bytes
    slot: int
    signature: ValidatorSignature


@dataclass(frozen=True)
class Guarantee:
    """A guarantee ready for a block's E_G (eq. 11.23)."""

    guarantee: ReportGuarantee


@dataclass(frozen=True)
class Shard:
    """Validator `shard.index`'s shard of the package with erasure root u (eq. 14.17)."""

    erasure_root: bytes
    report_slot: int
    """The guarantee slot t (the report enters rho at a block slot >= t)."""
    shard: ValidatorShard


@dataclass(frozen=True)
class Assurance:
    """An assurance for the block after `assurance.anchor` (eq. 11.10-11.13)."""

    assurance: AvailAssurance


@dataclass(frozen=True)
class Block:
    """An encoded block E(B) (Appendix C.3) and who sent it (where to ask for its ancestors)."""

    sender: int
    block: bytes


@dataclass(frozen=True)
class BlocksRequest:
    """Ask for up to `count` canonical blocks from height `from_height` on."""

    sender: int
    from_height: int
    count: int


@dataclass(frozen=True)
class Blocks:
    """Canonical blocks in height order (the answer to a `BlocksRequest`)."""

    sender: int
    blocks: tuple[bytes, ...]


@dataclass(frozen=True)
class ServiceDeploy:
    """A code preimage E(↕m, c) to deploy as a new service (`shielded.native_registrar`)."""

    blob: bytes


@dataclass(frozen=True)
class WorkSubmission:
    """A work item's payload w_y for service w_s (eq. 14.3), to be packaged."""

    service: int
    payload: bytes


@dataclass(frozen=True)
class Ticket:
    """A Safrole ticket envelope for the current contest (eq. 6.29)."""

    envelope: TicketEnvelope


@dataclass(frozen=True)
class FinalityVote:
    """E(vote) of an OSST finality contribution for one block (`Vote.encode`)."""

    vote: bytes


Message = (
    Transaction
    | BundleShare
    | GuaranteeSignature
    | Guarantee
    | Shard
    | Assurance
    | Block
    | BlocksRequest
    | Blocks
    | ServiceDeploy
    | WorkSubmission
    | FinalityVote
    | Ticket
)


@dataclass(frozen=True)
class Outgoing:
    """A message to send to the validators `to` (by index)."""

    to: tuple[int, ...]
    message: Message


_TAGS: tuple[tuple[str, type], ...] = (
    ("transaction", Transaction),
    ("bundle_share", BundleShare),
    ("guarantee_signature", GuaranteeSignature),
    ("guarantee", Guarantee),
    ("shard", Shard),
    ("assurance", Assurance),
    ("block", Block),
    ("blocks_request", BlocksRequest),
    ("blocks", Blocks),
    ("service_deploy", ServiceDeploy),
    ("work_submission", WorkSubmission),
    ("finality_vote", FinalityVote),
    ("ticket", Ticket),
)
_TAG_OF = {cls: tag for tag, cls in _TAGS}


@cache
def message_codec(spec: ChainSpec) -> Choice:
    """The Choice of all messages for `spec` (the assurance bitfield has ceil(C/8) octets,
    eq. C.21; a block's codec depends on the spec's sizes, Appendix C.3)."""
    codecs: dict[str, Codec[Any]] = {
        "transaction": Struct(Transaction, {"transaction": BLOB}),
        "bundle_share": Struct(
            BundleShare,
            {"sender": U16, "core": U16, "slot": U32, "anchor": HASH, "bundle": BLOB},
        ),
        "guarantee_signature": Struct(
            GuaranteeSignature,
            {"report_hash": HASH, "slot": U32, "signature": VALIDATOR_SIGNATURE},
        ),
        "guarantee": Struct(Guarantee, {"guarantee": REPORT_GUARANTEE}),
        "shard": Struct(
            Shard, {"erasure_root": HASH, "report_slot": U32, "shard": VALIDATOR_SHARD}
        ),
        "assurance": Struct(Assurance, {"assurance": assurance_codec(spec)}),
        "block": Struct(Block, {"sender": U16, "block": BLOB}),
        "blocks_request": Struct(BlocksRequest, {"sender": U16, "from_height": U32, "count": U16}),
        "blocks": Struct(
            Blocks, {"sender": U16, "blocks": seq(BLOB, max_length=MAX_BLOCKS_PER_BATCH)}
        ),
        "service_deploy": Struct(ServiceDeploy, {"blob": BLOB}),
        "work_submission": Struct(WorkSubmission, {"service": U32, "payload": BLOB}),
        "finality_vote": Struct(FinalityVote, {"vote": BLOB}),
        "ticket": Struct(Ticket, {"envelope": TICKET_ENVELOPE}),
    }
    return Choice([(tag, codecs[tag]) for tag, _ in _TAGS])


def encode_message(message: Message, spec: ChainSpec) -> bytes:
    """E(message): its discriminator octet, then its fields (Appendix C)."""
    tag = _TAG_OF.get(type(message))
    if tag is None:
        raise MessageError(f"not a validator message: {type(message).__name__}")
    try:
        return message_codec(spec).encode(Variant(tag, message))
    except (CodecError, TypeError, ValueError, OverflowError, AttributeError) as error:
        raise MessageError(f"cannot encode {tag}: {error}") from error


def decode_message(data: bytes, spec: ChainSpec) -> Message:
    """The message encoded in `data`; MessageError for anything else (trailing octets too).
    A `Block` message's block is checked to decode as a block of `spec`."""
    try:
        variant = message_codec(spec).decode(data)
    except CodecError as error:
        raise MessageError(f"malformed message: {error}") from error
    message: Message = variant.value
    if isinstance(message, Block):
        try:
            block_codecs(spec).block.decode(message.block)
        except CodecError as error:
            raise MessageError(f"malformed block: {error}") from error
    return message
