"""Blocks: the header, the extrinsic and their encodings (graypaper sections 4-5, C.3).

The codecs of spec-dependent structures (epoch marks have V entries, tickets marks E, verdicts
a super-majority of votes) are built per `ChainSpec` by `block_codecs(spec)` and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache, cached_property

from jamcore.codec import (
    BLOB,
    BOOL,
    HASH,
    U8,
    U16,
    U32,
    Codec,
    FixedBytes,
    Struct,
    encode_natural,
    optional,
    seq,
)
from jamcore.crypto.bandersnatch import IETF_SIGNATURE_BYTES, PUBLIC_KEY_BYTES, RING_PROOF_BYTES
from jamcore.crypto.hashing import blake2b_256
from jamcore.safrole.state import EpochMark, EpochMarkValidatorKeys, TicketBody, TicketEnvelope
from jamcore.spec import ChainSpec
from jamcore.work.guarantee import (
    ED25519_SIGNATURE,
    VALIDATOR_SIGNATURE,
    AvailAssurance,
    ReportGuarantee,
    assurances_extrinsic_codec,
    guarantees_extrinsic_codec,
)
from jamcore.work.report import WORK_REPORT

BANDERSNATCH_PUBLIC = FixedBytes(PUBLIC_KEY_BYTES)
ED25519_PUBLIC = FixedBytes(32)
VRF_SIGNATURE = FixedBytes(IETF_SIGNATURE_BYTES)
RING_VRF_SIGNATURE = FixedBytes(RING_PROOF_BYTES)
GUARANTEE_SIGNATURES = seq(VALIDATOR_SIGNATURE)


# --- Tickets (section 6.7; the records are Safrole's own) -------------------------------

TICKET_ENVELOPE = Struct(TicketEnvelope, {"attempt": U8, "signature": RING_VRF_SIGNATURE})
TICKET_BODY = Struct(TicketBody, {"id": HASH, "attempt": U8})


# --- Preimages (section 12.4) ----------------------------------------------------------


@dataclass(frozen=True)
class Preimage:
    """A preimage provided for a service (eq. 12.28)."""

    requester: int
    blob: bytes


PREIMAGE = Struct(Preimage, {"requester": U32, "blob": BLOB})


# --- Disputes (section 10) -------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """One validator's vote on a work report (eq. 10.2)."""

    vote: bool
    index: int
    signature: bytes


@dataclass(frozen=True)
class Verdict:
    """A super-majority of judgements on one report (eq. 10.2)."""

    target: bytes
    age: int
    votes: tuple[Judgement, ...]


@dataclass(frozen=True)
class Culprit:
    """A guarantor of a report judged bad (eq. 10.2)."""

    target: bytes
    key: bytes
    signature: bytes


@dataclass(frozen=True)
class Fault:
    """A validator who voted against the verdict (eq. 10.2)."""

    target: bytes
    vote: bool
    key: bytes
    signature: bytes


@dataclass(frozen=True)
class DisputesExtrinsic:
    """E_D: verdicts, culprits and faults (eq. 10.2)."""

    verdicts: tuple[Verdict, ...]
    culprits: tuple[Culprit, ...]
    faults: tuple[Fault, ...]


JUDGEMENT = Struct(Judgement, {"vote": BOOL, "index": U16, "signature": ED25519_SIGNATURE})
CULPRIT = Struct(Culprit, {"target": HASH, "key": ED25519_PUBLIC, "signature": ED25519_SIGNATURE})
FAULT = Struct(
    Fault,
    {"target": HASH, "vote": BOOL, "key": ED25519_PUBLIC, "signature": ED25519_SIGNATURE},
)


# --- Header (section 5) ----------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """A block header (eq. 5.1)."""

    parent: bytes
    parent_state_root: bytes
    extrinsic_hash: bytes
    slot: int
    epoch_mark: EpochMark | None
    tickets_mark: tuple[TicketBody, ...] | None
    author_index: int
    entropy_source: bytes
    offenders_mark: tuple[bytes, ...]
    seal: bytes


@dataclass(frozen=True)
class Extrinsic:
    """The block's extrinsic data: tickets, preimages, guarantees, assurances, disputes."""

    tickets: tuple[TicketEnvelope, ...]
    preimages: tuple[Preimage, ...]
    guarantees: tuple[ReportGuarantee, ...]
    assurances: tuple[AvailAssurance, ...]
    disputes: DisputesExtrinsic


@dataclass(frozen=True)
class Block:
    """A block: header and extrinsic (eq. 4.2)."""

    header: Header
    extrinsic: Extrinsic


EPOCH_MARK_VALIDATOR_KEYS = Struct(
    EpochMarkValidatorKeys, {"bandersnatch": BANDERSNATCH_PUBLIC, "ed25519": ED25519_PUBLIC}
)

HEADER_FIELDS_BEFORE_SEAL = (
    "parent",
    "parent_state_root",
    "extrinsic_hash",
    "slot",
    "epoch_mark",
    "tickets_mark",
    "author_index",
    "entropy_source",
    "offenders_mark",
)


class BlockCodecs:
    """The codecs of every block structure for one chain spec (Appendix C.3)."""

    def __init__(self, spec: ChainSpec) -> None:
        self.spec = spec

    @cached_property
    def tickets_extrinsic(self) -> Codec[tuple[TicketEnvelope, ...]]:
        """E_T: at most K tickets per block (eq. 6.30)."""
        return seq(TICKET_ENVELOPE, max_length=self.spec.max_tickets_per_extrinsic)

    @cached_property
    def preimages_extrinsic(self) -> Codec[tuple[Preimage, ...]]:
        return seq(PREIMAGE)

    @cached_property
    def verdict(self) -> Struct[Verdict]:
        return Struct(
            Verdict,
            {
                "target": HASH,
                "age": U32,
                "votes": seq(JUDGEMENT, self.spec.validators_super_majority),
            },
        )

    @cached_property
    def disputes_extrinsic(self) -> Struct[DisputesExtrinsic]:
        return Struct(
            DisputesExtrinsic,
            {"verdicts": seq(self.verdict), "culprits": seq(CULPRIT), "faults": seq(FAULT)},
        )

    @cached_property
    def guarantees_extrinsic(self) -> Codec[tuple[ReportGuarantee, ...]]:
        return guarantees_extrinsic_codec(self.spec)

    @cached_property
    def assurances_extrinsic(self) -> Codec[tuple[AvailAssurance, ...]]:
        return assurances_extrinsic_codec(self.spec)

    @cached_property
    def extrinsic(self) -> Struct[Extrinsic]:
        return Struct(
            Extrinsic,
            {
                "tickets": self.tickets_extrinsic,
                "preimages": self.preimages_extrinsic,
                "guarantees": self.guarantees_extrinsic,
                "assurances": self.assurances_extrinsic,
                "disputes": self.disputes_extrinsic,
            },
        )

    @cached_property
    def epoch_mark(self) -> Struct[EpochMark]:
        return Struct(
            EpochMark,
            {
                "entropy": HASH,
                "tickets_entropy": HASH,
                "validators": seq(EPOCH_MARK_VALIDATOR_KEYS, self.spec.validators_count),
            },
        )

    @cached_property
    def tickets_mark(self) -> Codec[tuple[TicketBody, ...]]:
        return seq(TICKET_BODY, self.spec.epoch_length)

    @cached_property
    def header(self) -> Struct[Header]:
        return Struct(
            Header,
            {
                "parent": HASH,
                "parent_state_root": HASH,
                "extrinsic_hash": HASH,
                "slot": U32,
                "epoch_mark": optional(self.epoch_mark),
                "tickets_mark": optional(self.tickets_mark),
                "author_index": U16,
                "entropy_source": VRF_SIGNATURE,
                "offenders_mark": seq(ED25519_PUBLIC),
                "seal": VRF_SIGNATURE,
            },
        )

    @cached_property
    def block(self) -> Struct[Block]:
        return Struct(Block, {"header": self.header, "extrinsic": self.extrinsic})


@cache
def block_codecs(spec: ChainSpec) -> BlockCodecs:
    """The (cached) block codecs for `spec`."""
    return BlockCodecs(spec)


def encode_unsigned_header(header: Header, spec: ChainSpec) -> bytes:
    """E_U(H): the header encoding without the seal, which is what the seal signs (C.3)."""
    encoded = block_codecs(spec).header.encode(replace(header, seal=bytes(IETF_SIGNATURE_BYTES)))
    return encoded[:-IETF_SIGNATURE_BYTES]


def header_hash(header: Header, spec: ChainSpec) -> bytes:
    """H(E(H)): the hash by which blocks refer to their parent (eq. 5.2)."""
    return blake2b_256(block_codecs(spec).header.encode(header))


def extrinsic_hash(extrinsic: Extrinsic, spec: ChainSpec) -> bytes:
    """H_x = H(E(H#(a))): the hash of the five extrinsic parts' hashes, with guarantees
    committed by the hash of their report rather than the report itself (eq. 5.4-5.6)."""
    codecs = block_codecs(spec)
    guarantees = bytearray(encode_natural(len(extrinsic.guarantees)))
    for guarantee in extrinsic.guarantees:
        guarantees += blake2b_256(WORK_REPORT.encode(guarantee.report))
        guarantees += U32.encode(guarantee.slot)
        guarantees += GUARANTEE_SIGNATURES.encode(guarantee.signatures)
    parts = (
        codecs.tickets_extrinsic.encode(extrinsic.tickets),
        codecs.preimages_extrinsic.encode(extrinsic.preimages),
        bytes(guarantees),
        codecs.assurances_extrinsic.encode(extrinsic.assurances),
        codecs.disputes_extrinsic.encode(extrinsic.disputes),
    )
    return blake2b_256(b"".join(blake2b_256(part) for part in parts))
