"""The disputes state transition: verdicts, culprits and faults (graypaper 0.7.2, section 10).

A block's disputes extrinsic E_D = (E_V, E_C, E_F) records verdicts on work reports and the
validators who offended against them (eq. 10.2). The transition checks every rule of
eq. 10.3-10.13, then folds the verdicts into psi (eq. 10.16-10.19), clears the cores whose
pending report was judged bad or wonky (eq. 10.15) and yields the header's offenders mark
(eq. 10.20).

All cheap structural checks run first; the ed25519 signatures are verified last, each once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jamcore.block import Culprit, DisputesExtrinsic, Fault, Verdict
from jamcore.crypto import ed25519
from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import JamError, ensure
from jamcore.spec import GUARANTEE_CONTEXT, INVALID_CONTEXT, VALID_CONTEXT, ChainSpec
from jamcore.types import AvailabilityAssignment, DisputesRecords, ValidatorKey
from jamcore.work.report import WORK_REPORT

# --- Errors (codes of the w3f `stf/disputes` vectors) -----------------------------------


class DisputesError(JamError):
    """A disputes extrinsic that section 10 rejects."""


class AlreadyJudged(DisputesError):
    code = "already_judged"


class BadVoteSplit(DisputesError):
    code = "bad_vote_split"


class VerdictsNotSortedUnique(DisputesError):
    code = "verdicts_not_sorted_unique"


class JudgementsNotSortedUnique(DisputesError):
    code = "judgements_not_sorted_unique"


class CulpritsNotSortedUnique(DisputesError):
    code = "culprits_not_sorted_unique"


class FaultsNotSortedUnique(DisputesError):
    code = "faults_not_sorted_unique"


class NotEnoughCulprits(DisputesError):
    code = "not_enough_culprits"


class NotEnoughFaults(DisputesError):
    code = "not_enough_faults"


class CulpritsVerdictNotBad(DisputesError):
    code = "culprits_verdict_not_bad"


class FaultVerdictWrong(DisputesError):
    code = "fault_verdict_wrong"


class OffenderAlreadyReported(DisputesError):
    code = "offender_already_reported"


class BadJudgementAge(DisputesError):
    code = "bad_judgement_age"


class BadValidatorIndex(DisputesError):
    code = "bad_validator_index"


class BadSignature(DisputesError):
    code = "bad_signature"


class BadGuarantorKey(DisputesError):
    code = "bad_guarantor_key"


class BadAuditorKey(DisputesError):
    code = "bad_auditor_key"


# --- State, input and output --------------------------------------------------------------


@dataclass(frozen=True)
class DisputesState:
    """What section 10 reads and writes: psi, rho, and the slot and validator sets it reads."""

    psi: DisputesRecords
    rho: tuple[AvailabilityAssignment | None, ...]
    tau: int
    kappa: tuple[ValidatorKey, ...]
    lambda_: tuple[ValidatorKey, ...]
    """lambda (JSON key `lambda`): the previous epoch's validators."""


@dataclass(frozen=True)
class DisputesInput:
    """The block's disputes extrinsic E_D (eq. 10.2)."""

    disputes: DisputesExtrinsic


@dataclass(frozen=True)
class DisputesOutput:
    """H_o: the ed25519 keys of this block's new offenders, culprits then faults (eq. 10.20)."""

    offenders_mark: tuple[bytes, ...]


Signature = tuple[bytes, bytes, bytes]
"""(public key, message, signature): one ed25519 signature still to verify."""


# --- Verdicts ---------------------------------------------------------------------------


def judge_verdicts(
    verdicts: Sequence[Verdict],
    psi: DisputesRecords,
    kappa: Sequence[ValidatorKey],
    lambda_: Sequence[ValidatorKey],
    tau: int,
    spec: ChainSpec,
    signatures: list[Signature],
) -> list[tuple[bytes, int]]:
    """v: each verdict's report hash and count of positive judgements (eq. 10.11-10.12),
    after the checks of eq. 10.3-10.4, 10.7-10.10; queues the judgements' signatures."""
    epoch = tau // spec.epoch_length
    super_majority = spec.validators_super_majority
    allowed_totals = (0, spec.validators_count // 3, super_majority)
    judged = set(psi.good)
    judged.update(psi.bad, psi.wonky)
    result: list[tuple[bytes, int]] = []
    previous: bytes | None = None
    for verdict in verdicts:
        target = verdict.target
        # Verify verdicts are ordered by report hash with no duplicates (eq. 10.7).
        ensure(previous is None or previous < target, VerdictsNotSortedUnique())
        previous = target
        # Verify the report has not been judged before (eq. 10.9).
        ensure(target not in judged, AlreadyJudged())
        # Verify the age is the prior epoch index or the one before it (eq. 10.3).
        ensure(verdict.age == epoch or verdict.age + 1 == epoch, BadJudgementAge())
        keys = kappa if verdict.age == epoch else lambda_
        # Verify the verdict holds exactly floor(2V/3)+1 judgements (eq. 10.2).
        ensure(len(verdict.votes) == super_majority, BadVoteSplit("wrong number of votes"))
        valid_message = VALID_CONTEXT + target
        invalid_message = INVALID_CONTEXT + target
        approvals = 0
        last_index = -1
        for judgement in verdict.votes:
            index = judgement.index
            # Verify judgements are ordered by validator index with no duplicates (eq. 10.10).
            ensure(index > last_index, JudgementsNotSortedUnique())
            last_index = index
            # Verify the judge is a validator of the chosen set (eq. 10.3).
            ensure(index < len(keys), BadValidatorIndex())
            if judgement.vote:
                approvals += 1
                message = valid_message
            else:
                message = invalid_message
            signatures.append((keys[index].ed25519, message, judgement.signature))
        # Verify the positive judgements number 0, floor(V/3) or floor(2V/3)+1 (eq. 10.11).
        ensure(approvals in allowed_totals, BadVoteSplit())
        result.append((target, approvals))
    return result


# --- Offences -----------------------------------------------------------------------------


def check_culprits(
    culprits: Sequence[Culprit],
    bad: set[bytes],
    validators: set[bytes],
    offenders: set[bytes],
    signatures: list[Signature],
) -> None:
    """Check the culprits' ordering, reports and keys (eq. 10.5, 10.8); queue signatures."""
    previous: bytes | None = None
    for culprit in culprits:
        key = culprit.key
        # Verify culprits are ordered by ed25519 key with no duplicates (eq. 10.8).
        ensure(previous is None or previous < key, CulpritsNotSortedUnique())
        previous = key
        # Verify the guaranteed report is judged bad (eq. 10.5).
        ensure(culprit.target in bad, CulpritsVerdictNotBad())
        # Verify the key is not already punished and belongs to lambda or kappa (eq. 10.5).
        ensure(key not in offenders, OffenderAlreadyReported())
        ensure(key in validators, BadGuarantorKey())
        signatures.append((key, GUARANTEE_CONTEXT + culprit.target, culprit.signature))


def check_faults(
    faults: Sequence[Fault],
    good: set[bytes],
    bad: set[bytes],
    validators: set[bytes],
    offenders: set[bytes],
    signatures: list[Signature],
) -> None:
    """Check the faults' ordering, votes and keys (eq. 10.6, 10.8); queue signatures."""
    previous: bytes | None = None
    for fault in faults:
        key = fault.key
        # Verify faults are ordered by ed25519 key with no duplicates (eq. 10.8).
        ensure(previous is None or previous < key, FaultsNotSortedUnique())
        previous = key
        # Verify r in psi'_B <=> r not in psi'_G <=> v: the vote contradicts the verdict
        # (eq. 10.6).
        is_bad = fault.target in bad
        ensure(is_bad != (fault.target in good) and fault.vote == is_bad, FaultVerdictWrong())
        # Verify the key is not already punished and belongs to lambda or kappa (eq. 10.6).
        ensure(key not in offenders, OffenderAlreadyReported())
        ensure(key in validators, BadAuditorKey())
        context = VALID_CONTEXT if fault.vote else INVALID_CONTEXT
        signatures.append((key, context + fault.target, fault.signature))


def verify_signatures(signatures: Sequence[Signature]) -> None:
    """Verify each queued ed25519 signature once (eq. 10.3-10.6)."""
    for key, message, signature in signatures:
        ensure(ed25519.verify(key, message, signature), BadSignature())


# --- Transition -----------------------------------------------------------------------------


def clear_judged_cores(
    rho: tuple[AvailabilityAssignment | None, ...], cleared: set[bytes]
) -> tuple[AvailabilityAssignment | None, ...]:
    """rho^dagger: drop each pending report whose hash was judged bad or wonky (eq. 10.15)."""
    if not cleared:
        return rho
    return tuple(
        None
        if assignment is not None and blake2b_256(WORK_REPORT.encode(assignment.report)) in cleared
        else assignment
        for assignment in rho
    )


def transition(
    pre: DisputesState, inputs: DisputesInput, spec: ChainSpec
) -> tuple[DisputesState, DisputesOutput]:
    """Apply E_D to psi and rho (graypaper section 10, eq. 10.1-10.20).

    Raises a `DisputesError` carrying the w3f error code if the extrinsic is invalid; the
    prior state is never modified.
    """
    disputes = inputs.disputes
    psi = pre.psi
    if not (disputes.verdicts or disputes.culprits or disputes.faults):
        return pre, DisputesOutput(())
    signatures: list[Signature] = []
    verdicts = judge_verdicts(
        disputes.verdicts, psi, pre.kappa, pre.lambda_, pre.tau, spec, signatures
    )
    super_majority = spec.validators_super_majority
    wonky_total = spec.validators_count // 3
    new_good = {target for target, total in verdicts if total == super_majority}
    new_bad = {target for target, total in verdicts if total == 0}
    new_wonky = {target for target, total in verdicts if total == wonky_total}
    good = new_good.union(psi.good)
    bad = new_bad.union(psi.bad)

    offenders = set(psi.offenders)
    validators = {key.ed25519 for key in pre.kappa}
    validators.update(key.ed25519 for key in pre.lambda_)
    check_culprits(disputes.culprits, bad, validators, offenders, signatures)
    check_faults(disputes.faults, good, bad, validators, offenders, signatures)

    culprit_targets = [culprit.target for culprit in disputes.culprits]
    fault_targets = {fault.target for fault in disputes.faults}
    for target in new_bad:
        # Verify a bad verdict comes with at least two culprits (eq. 10.14).
        ensure(culprit_targets.count(target) >= 2, NotEnoughCulprits())
    for target in new_good:
        # Verify a good verdict comes with at least one fault (eq. 10.13).
        ensure(target in fault_targets, NotEnoughFaults())

    verify_signatures(signatures)

    culprit_keys = tuple(culprit.key for culprit in disputes.culprits)
    fault_keys = tuple(fault.key for fault in disputes.faults)
    posterior_psi = DisputesRecords(
        good=tuple(sorted(good)),
        bad=tuple(sorted(bad)),
        wonky=tuple(sorted(new_wonky.union(psi.wonky))),
        offenders=tuple(sorted(offenders.union(culprit_keys, fault_keys))),
    )
    posterior = DisputesState(
        psi=posterior_psi,
        rho=clear_judged_cores(pre.rho, new_bad | new_wonky),
        tau=pre.tau,
        kappa=pre.kappa,
        lambda_=pre.lambda_,
    )
    return posterior, DisputesOutput(culprit_keys + fault_keys)
