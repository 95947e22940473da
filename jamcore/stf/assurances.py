"""Availability assurances (graypaper v0.7.2 section 11.2, eq. 11.10-11.17).

Validators assure, per core, that they hold their erasure-coded chunk of the package the
core's pending report describes. A block's assurances are checked (anchored on the parent,
ordered by validator, signed, only for engaged cores); a report assured by a
super-majority becomes available and leaves rho, as does one whose assurance period of U
slots has run out. The output is W, the newly available reports in core order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from jamcore.codec import HASH, U32, Struct, seq
from jamcore.crypto import ed25519
from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import JamError, ensure
from jamcore.spec import AVAILABLE_CONTEXT, ChainSpec
from jamcore.types.availability import Availability, AvailabilityAssignment, availability_codec
from jamcore.types.validators import ValidatorKey, validators_codec
from jamcore.work.guarantee import AvailAssurance, assurances_extrinsic_codec
from jamcore.work.report import WORK_REPORT, WorkReport


class AssuranceError(JamError):
    """An assurances extrinsic the graypaper rejects."""


class BadAttestationParent(AssuranceError):
    """An assurance anchored on a block other than the parent (eq. 11.11)."""

    code = "bad_attestation_parent"


class BadValidatorIndex(AssuranceError):
    """An assurer index that is not a validator of kappa."""

    code = "bad_validator_index"


class NotSortedOrUniqueAssurers(AssuranceError):
    """Assurances not strictly ordered by validator index (eq. 11.12)."""

    code = "not_sorted_or_unique_assurers"


class BadSignature(AssuranceError):
    """An assurance signature that does not verify under the assurer's key (eq. 11.13)."""

    code = "bad_signature"


class CoreNotEngaged(AssuranceError):
    """A bit set for a core with no report pending availability (eq. 11.15)."""

    code = "core_not_engaged"


@dataclass(frozen=True)
class AssurancesState:
    """rho-double-dagger, the pending reports after disputes, and kappa, the validators."""

    avail_assignments: Availability
    curr_validators: tuple[ValidatorKey, ...]


@dataclass(frozen=True)
class AssurancesInput:
    """E_A, H_t and H_p."""

    assurances: tuple[AvailAssurance, ...]
    slot: int
    parent: bytes


@dataclass(frozen=True)
class AssurancesOutput:
    """W (eq. 11.16): the reports that became available, in core order."""

    reported: tuple[WorkReport, ...]


@cache
def assurances_state_codec(spec: ChainSpec) -> Struct[AssurancesState]:
    """The w3f `stf/assurances` state: avail_assignments then curr_validators."""
    return Struct(
        AssurancesState,
        {
            "avail_assignments": availability_codec(spec),
            "curr_validators": validators_codec(spec),
        },
    )


@cache
def assurances_input_codec(spec: ChainSpec) -> Struct[AssurancesInput]:
    """The w3f `stf/assurances` input: assurances, slot, parent."""
    return Struct(
        AssurancesInput,
        {"assurances": assurances_extrinsic_codec(spec), "slot": U32, "parent": HASH},
    )


ASSURANCES_OUTPUT = Struct(AssurancesOutput, {"reported": seq(WORK_REPORT)})
"""The ok value of the w3f `stf/assurances` output."""


def assurance_message(parent: bytes, bitfield: bytes) -> bytes:
    """X_A ++ H(E(H_p, a_f)): the message an assurer signs (eq. 11.13)."""
    return AVAILABLE_CONTEXT + blake2b_256(parent + bitfield)


def engaged_cores(assignments: Availability) -> list[bool]:
    """For each core, whether a report is pending availability on it (rho-ddagger[c])."""
    return [assignment is not None for assignment in assignments]


def assured_cores(bitfield: bytes, cores_count: int) -> list[int]:
    """The cores a_f[c] marks, in ascending order: bit c mod 8 of octet c div 8, least
    significant first (eq. C.9). Padding bits past the last core come out as cores >= C,
    which no report is pending on, so the caller rejects them as not engaged."""
    cores: list[int] = []
    for byte_index, byte in enumerate(bitfield):
        if not byte:
            continue
        for bit in range(8):
            if byte >> bit & 1:
                cores.append(byte_index * 8 + bit)
    return cores


def check_assurances(
    assurances: Sequence[AvailAssurance],
    parent: bytes,
    validators: Sequence[ValidatorKey],
    engaged: Sequence[bool],
) -> list[int]:
    """Validate E_A (eq. 11.10-11.15) and return, per core, how many assurers set its bit."""
    cores_count = len(engaged)
    counts = [0] * cores_count
    previous = -1
    for assurance in assurances:
        # Verify the assurance is anchored on the parent block (eq. 11.11).
        ensure(
            assurance.anchor == parent,
            BadAttestationParent(f"assurance anchored on 0x{assurance.anchor.hex()}"),
        )
        # Verify the assurer is a current validator.
        ensure(
            assurance.validator_index < len(validators),
            BadValidatorIndex(f"validator index {assurance.validator_index}"),
        )
        # Verify the assurers are strictly increasing, hence unique (eq. 11.12).
        ensure(
            assurance.validator_index > previous,
            NotSortedOrUniqueAssurers(f"validator {assurance.validator_index} after {previous}"),
        )
        previous = assurance.validator_index
        for core in assured_cores(assurance.bitfield, cores_count):
            # Verify a bit is only set for a core with a pending report (eq. 11.15).
            ensure(
                core < cores_count and engaged[core],
                CoreNotEngaged(f"validator {assurance.validator_index} assures core {core}"),
            )
            counts[core] += 1
    for assurance in assurances:
        key = validators[assurance.validator_index].ed25519
        # Verify the assurer signed the parent and bitfield (eq. 11.13).
        ensure(
            ed25519.verify(key, assurance_message(parent, assurance.bitfield), assurance.signature),
            BadSignature(f"assurance of validator {assurance.validator_index}"),
        )
    return counts


def transition(
    pre: AssurancesState, inputs: AssurancesInput, spec: ChainSpec
) -> tuple[AssurancesState, AssurancesOutput]:
    """rho-ddagger (eq. 11.17) and W (eq. 11.16): a core's report is available when more
    than two thirds of the validators assured it; it leaves rho when available or when
    H_t >= its report slot + U (timed out). W lists the available reports in core order.
    """
    assignments = pre.avail_assignments
    counts = check_assurances(
        inputs.assurances, inputs.parent, pre.curr_validators, engaged_cores(assignments)
    )
    threshold = spec.validators_super_majority  # floor(2V/3) + 1, i.e. > 2V/3
    available: list[WorkReport] = []
    posterior: list[AvailabilityAssignment | None] = []
    for core, assignment in enumerate(assignments):
        if assignment is None:
            posterior.append(None)
        elif counts[core] >= threshold:
            available.append(assignment.report)
            posterior.append(None)
        elif inputs.slot >= assignment.timeout + spec.assurance_timeout_period:
            posterior.append(None)
        else:
            posterior.append(assignment)
    post = AssurancesState(tuple(posterior), pre.curr_validators)
    return post, AssurancesOutput(tuple(available))
