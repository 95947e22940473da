"""Guarantees and availability assurances: the work-related extrinsics (sections 11.2, 11.4)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jamcore.codec import HASH, U16, U32, Codec, FixedBytes, Struct, seq
from jamcore.spec import ChainSpec
from jamcore.work.report import WORK_REPORT, WorkReport

ED25519_SIGNATURE = FixedBytes(64)


@dataclass(frozen=True)
class ValidatorSignature:
    """A guarantor's credential: its validator index and ed25519 signature."""

    validator_index: int
    signature: bytes


@dataclass(frozen=True)
class ReportGuarantee:
    """A work report with the slot and the signatures of its guarantors (eq. 11.23)."""

    report: WorkReport
    slot: int
    signatures: tuple[ValidatorSignature, ...]


@dataclass(frozen=True)
class AvailAssurance:
    """A validator's assurance of which cores' reported packages it holds (eq. 11.10)."""

    anchor: bytes
    bitfield: bytes
    validator_index: int
    signature: bytes


VALIDATOR_SIGNATURE = Struct(
    ValidatorSignature, {"validator_index": U16, "signature": ED25519_SIGNATURE}
)

REPORT_GUARANTEE = Struct(
    ReportGuarantee,
    {"report": WORK_REPORT, "slot": U32, "signatures": seq(VALIDATOR_SIGNATURE)},
)


@cache
def guarantees_extrinsic_codec(spec: ChainSpec) -> Codec[tuple[ReportGuarantee, ...]]:
    """E_G: at most one guarantee per core (eq. 11.23, C.20)."""
    return seq(REPORT_GUARANTEE, max_length=spec.cores_count)


@cache
def assurance_codec(spec: ChainSpec) -> Struct[AvailAssurance]:
    """One assurance; its bitfield has one bit per core (eq. C.21)."""
    return Struct(
        AvailAssurance,
        {
            "anchor": HASH,
            "bitfield": FixedBytes(spec.avail_bitfield_bytes),
            "validator_index": U16,
            "signature": ED25519_SIGNATURE,
        },
    )


@cache
def assurances_extrinsic_codec(spec: ChainSpec) -> Codec[tuple[AvailAssurance, ...]]:
    """E_A: at most one assurance per validator (eq. 11.10, C.21)."""
    return seq(assurance_codec(spec), max_length=spec.validators_count)
