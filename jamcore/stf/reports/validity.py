"""Per-report validity (graypaper v0.7.2 sections 11.1 and 11.4: eq. 11.2, 11.3, 11.8,
11.29, 11.30 and 11.42): the core index, the digest count, the dependency and size limits,
the core's availability and authorization, and each digest's service, code hash and gas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jamcore.errors import ensure
from jamcore.spec import ChainSpec
from jamcore.stf.reports.errors import (
    BadCodeHash,
    BadCoreIndex,
    BadServiceId,
    CoreEngaged,
    CoreUnauthorized,
    MissingWorkResults,
    ServiceItemGasTooLow,
    TooManyDependencies,
    WorkReportGasTooHigh,
    WorkReportTooBig,
)
from jamcore.types.availability import Availability
from jamcore.types.services import ServiceInfo
from jamcore.work.report import WorkReport


def check_report_form(report: WorkReport, spec: ChainSpec) -> None:
    """The core index is below C and there are one to I digests (eq. 11.2); the
    dependencies are at most J (eq. 11.3); the authorizer trace and the successful
    outputs total at most W_R octets (eq. 11.8); the digests' gas totals at most G_A
    (eq. 11.30)."""
    # Verify the core exists (eq. 11.2).
    ensure(report.core_index < spec.cores_count, BadCoreIndex(f"core {report.core_index}"))
    # Verify the report has work digests (eq. 11.2).
    ensure(report.results, MissingWorkResults(f"report on core {report.core_index}"))
    dependencies = len(report.segment_root_lookup) + len(report.context.prerequisites)
    # Verify the dependencies are within J (eq. 11.3).
    ensure(
        dependencies <= spec.max_report_dependencies,
        TooManyDependencies(f"{dependencies} dependencies on core {report.core_index}"),
    )
    size = len(report.auth_output)
    gas = 0
    for digest in report.results:
        if digest.result.tag == "ok":
            size += len(digest.result.value)
        gas += digest.accumulate_gas
    # Verify the variable-size parts are within W_R (eq. 11.8).
    ensure(
        size <= spec.max_report_variable_size,
        WorkReportTooBig(f"{size} octets on core {report.core_index}"),
    )
    # Verify the accumulation gas is within G_A (eq. 11.30).
    ensure(
        gas <= spec.report_accumulate_gas,
        WorkReportGasTooHigh(f"{gas} gas on core {report.core_index}"),
    )


def check_core(
    report: WorkReport, assignments: Availability, auth_pools: Sequence[Sequence[bytes]]
) -> None:
    """rho-double-dagger[c] = None and r_a in alpha[c] (eq. 11.29)."""
    core = report.core_index
    # Verify no report is pending availability on the core.
    ensure(assignments[core] is None, CoreEngaged(f"core {core} is engaged"))
    # Verify the authorizer is in the core's pool.
    ensure(
        report.authorizer_hash in auth_pools[core],
        CoreUnauthorized(f"authorizer 0x{report.authorizer_hash.hex()} on core {core}"),
    )


def check_digests(report: WorkReport, accounts: Mapping[int, ServiceInfo]) -> None:
    """Each digest's service exists, its code hash is the service's (eq. 11.42) and its
    gas limit is at least the service's minimum item gas (eq. 11.30)."""
    for digest in report.results:
        service = accounts.get(digest.service_id)
        # Verify the digest's service exists.
        ensure(service is not None, BadServiceId(f"service {digest.service_id}"))
        assert service is not None
        # Verify the digest predicted the service's code hash (eq. 11.42).
        ensure(
            digest.code_hash == service.code_hash,
            BadCodeHash(f"code hash 0x{digest.code_hash.hex()} of {digest.service_id}"),
        )
        # Verify the gas limit covers the service's minimum (eq. 11.30).
        ensure(
            digest.accumulate_gas >= service.min_item_gas,
            ServiceItemGasTooLow(f"{digest.accumulate_gas} gas for {digest.service_id}"),
        )
