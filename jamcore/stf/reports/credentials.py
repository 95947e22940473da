"""Guarantee credentials (graypaper v0.7.2 section 11.4, eq. 11.23-11.27).

A guarantee carries two or three (validator index, signature) pairs, strictly ascending
by index. Each signer must be assigned to the report's core in the rotation of the
guarantee's slot (G if it is tau''s rotation, else G*), the slot must lie between the
start of the previous rotation and tau', and the signature must be the signer's ed25519
signature of X_G ++ H(E(report)). The signers' keys form the reporters set R.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from jamcore.crypto import ed25519
from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import ensure
from jamcore.spec import GUARANTEE_CONTEXT, ChainSpec
from jamcore.stf.reports.assignment import Assignments
from jamcore.stf.reports.errors import (
    BadSignature,
    BadValidatorIndex,
    BannedValidator,
    FutureReportSlot,
    InsufficientGuarantees,
    NotSortedOrUniqueGuarantors,
    ReportEpochBeforeLast,
    WrongAssignment,
)
from jamcore.work.guarantee import ReportGuarantee
from jamcore.work.report import WORK_REPORT

MIN_GUARANTORS = 2
MAX_GUARANTORS = 3
"""A credential holds two or three signatures (eq. 11.23)."""
NULL_ED25519 = bytes(32)
"""The ed25519 key of the null validator key that Phi puts in an offender's place."""


@dataclass(frozen=True)
class SignatureCheck:
    """One guarantor signature still to verify: key, message and signature."""

    validator_index: int
    key: bytes
    message: bytes
    signature: bytes


def guarantee_message(report_hash: bytes) -> bytes:
    """X_G ++ H(E(r)): the message a guarantor signs (eq. 11.26)."""
    return GUARANTEE_CONTEXT + report_hash


def check_guarantee_slot(guarantee_slot: int, slot: int, spec: ChainSpec) -> None:
    """R(floor(tau' / R) - 1) <= t <= tau' (eq. 11.26)."""
    rotation = spec.rotation_period
    # Verify the guarantee is not from the future.
    ensure(
        guarantee_slot <= slot,
        FutureReportSlot(f"guarantee slot {guarantee_slot} after block slot {slot}"),
    )
    # Verify the guarantee is no older than the previous rotation's start.
    ensure(
        guarantee_slot >= rotation * (slot // rotation - 1),
        ReportEpochBeforeLast(f"guarantee slot {guarantee_slot} before the last rotation"),
    )


def check_credential(
    guarantee: ReportGuarantee, assignments: Assignments, slot: int, spec: ChainSpec
) -> list[SignatureCheck]:
    """Check g_a against eq. 11.23, 11.25 and 11.26 except the signatures themselves, and
    return the signatures to verify, each with its signer's ed25519 key."""
    credential = guarantee.signatures
    # Verify the credential has two or three signatures (eq. 11.23).
    ensure(
        MIN_GUARANTORS <= len(credential) <= MAX_GUARANTORS,
        InsufficientGuarantees(
            f"{len(credential)} signatures on core {guarantee.report.core_index}"
        ),
    )
    previous = -1
    for entry in credential:
        # Verify the signer is a validator.
        ensure(
            entry.validator_index < spec.validators_count,
            BadValidatorIndex(f"validator index {entry.validator_index}"),
        )
        # Verify the signers are strictly ascending, hence unique (eq. 11.25).
        ensure(
            entry.validator_index > previous,
            NotSortedOrUniqueGuarantors(f"validator {entry.validator_index} after {previous}"),
        )
        previous = entry.validator_index
    check_guarantee_slot(guarantee.slot, slot, spec)
    assignment = assignments.for_guarantee(guarantee.slot)
    report = guarantee.report
    message = guarantee_message(blake2b_256(WORK_REPORT.encode(report)))
    checks: list[SignatureCheck] = []
    for entry in credential:
        index = entry.validator_index
        # Verify the signer is assigned to the report's core (eq. 11.26).
        ensure(
            assignment.cores[index] == report.core_index,
            WrongAssignment(f"validator {index} is not assigned to core {report.core_index}"),
        )
        key = assignment.keys[index].ed25519
        # Verify the signer is not an offender, whose key Phi nulled (eq. 11.21-11.22).
        ensure(key != NULL_ED25519, BannedValidator(f"validator {index} is an offender"))
        checks.append(SignatureCheck(index, key, message, entry.signature))
    return checks


def verify_signatures(checks: Iterable[SignatureCheck]) -> None:
    """s in E_k<X_G ++ H(E(r))> for every credential entry (eq. 11.26), each verified
    once."""
    for check in checks:
        # Verify the guarantor's signature of the report.
        ensure(
            ed25519.verify(check.key, check.message, check.signature),
            BadSignature(f"signature of validator {check.validator_index}"),
        )
