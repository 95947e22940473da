"""Errors of the work-report guarantees transition (graypaper v0.7.2 section 11.4).

Each class names one rule of eq. 11.23-11.42 (or 11.3, 11.8) and carries the w3f
`stf/reports` error code in `code`.
"""

from __future__ import annotations

from jamcore.errors import JamError


class ReportsError(JamError):
    """A guarantees extrinsic the graypaper rejects."""


class BadCoreIndex(ReportsError):
    """A report for a core index not below C (eq. 11.2)."""

    code = "bad_core_index"


class OutOfOrderGuarantee(ReportsError):
    """Guarantees not strictly ascending by core (eq. 11.24)."""

    code = "out_of_order_guarantee"


class MissingWorkResults(ReportsError):
    """A report with no work digests (eq. 11.2: one to I digests)."""

    code = "missing_work_results"


class TooManyDependencies(ReportsError):
    """Prerequisites plus segment-root lookups above J (eq. 11.3)."""

    code = "too_many_dependencies"


class WorkReportTooBig(ReportsError):
    """Authorizer trace plus successful outputs above W_R octets (eq. 11.8)."""

    code = "work_report_too_big"


class WorkReportGasTooHigh(ReportsError):
    """Digests' accumulation gas summing above G_A (eq. 11.30)."""

    code = "work_report_gas_too_high"


class InsufficientGuarantees(ReportsError):
    """A credential of fewer than two (or more than three) signatures (eq. 11.23)."""

    code = "insufficient_guarantees"


class NotSortedOrUniqueGuarantors(ReportsError):
    """Credential signatures not strictly ascending by validator index (eq. 11.25)."""

    code = "not_sorted_or_unique_guarantors"


class BadValidatorIndex(ReportsError):
    """A guarantor index not below V."""

    code = "bad_validator_index"


class FutureReportSlot(ReportsError):
    """A guarantee slot after the block's slot (eq. 11.26)."""

    code = "future_report_slot"


class ReportEpochBeforeLast(ReportsError):
    """A guarantee slot before the previous rotation (eq. 11.26)."""

    code = "report_epoch_before_last"


class WrongAssignment(ReportsError):
    """A guarantor not assigned to the report's core in the rotation used (eq. 11.26)."""

    code = "wrong_assignment"


class BannedValidator(ReportsError):
    """A guarantor whose key is an offender's, nulled by Phi (eq. 11.21-11.22, 6.14)."""

    code = "banned_validator"


class BadSignature(ReportsError):
    """A guarantor signature that does not verify (eq. 11.26)."""

    code = "bad_signature"


class CoreEngaged(ReportsError):
    """A report on a core with a report pending availability (eq. 11.29)."""

    code = "core_engaged"


class CoreUnauthorized(ReportsError):
    """A report whose authorizer is not in its core's pool (eq. 11.29)."""

    code = "core_unauthorized"


class BadServiceId(ReportsError):
    """A digest for a service with no account (eq. 11.30, 11.42)."""

    code = "bad_service_id"


class BadCodeHash(ReportsError):
    """A digest predicting the wrong code hash for its service (eq. 11.42)."""

    code = "bad_code_hash"


class ServiceItemGasTooLow(ReportsError):
    """A digest's accumulation gas below its service's minimum item gas (eq. 11.30)."""

    code = "service_item_gas_too_low"


class DuplicatePackage(ReportsError):
    """A package reported twice in the extrinsic or already in the pipeline (eq. 11.32,
    11.38)."""

    code = "duplicate_package"


class AnchorNotRecent(ReportsError):
    """A context anchor not among the recent blocks (eq. 11.33)."""

    code = "anchor_not_recent"


class BadStateRoot(ReportsError):
    """A context state root differing from the anchor block's (eq. 11.33)."""

    code = "bad_state_root"


class BadBeefyMmrRoot(ReportsError):
    """A context accumulation-output super-peak differing from the anchor block's
    (eq. 11.33)."""

    code = "bad_beefy_mmr_root"


class LookupAnchorNotRecent(ReportsError):
    """A lookup anchor older than L slots (eq. 11.34)."""

    code = "lookup_anchor_not_recent"


class DependencyMissing(ReportsError):
    """A prerequisite package neither in the extrinsic nor in recent history (eq. 11.39)."""

    code = "dependency_missing"


class SegmentRootLookupInvalid(ReportsError):
    """A segment-root lookup entry not matching the extrinsic or recent history
    (eq. 11.39-11.41)."""

    code = "segment_root_lookup_invalid"
