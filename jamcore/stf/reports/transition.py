"""The work-report guarantees transition (graypaper v0.7.2 section 11.4, eq. 11.23-11.43).

Every guarantee of E_G is checked (form and limits, credential and assignment, core
availability and authorization, context, digests), then the extrinsic as a whole
(duplicate packages, prerequisites, segment-root lookups), and the signatures last, each
verified once. The reports then occupy their cores in rho' with the block's slot, and
their refinement loads are added to the core and service statistics.
"""

from __future__ import annotations

from dataclasses import replace

from jamcore.errors import ensure
from jamcore.spec import ChainSpec
from jamcore.stf.reports.assignment import Assignments
from jamcore.stf.reports.context import (
    blocks_by_hash,
    check_anchor,
    check_dependencies,
    check_lookup_anchor,
    check_new_packages,
    recently_reported,
)
from jamcore.stf.reports.credentials import SignatureCheck, check_credential, verify_signatures
from jamcore.stf.reports.errors import OutOfOrderGuarantee
from jamcore.stf.reports.state import ReportedPackage, ReportsInput, ReportsOutput, ReportsState
from jamcore.stf.reports.validity import check_core, check_digests, check_report_form
from jamcore.stf.statistics.cores import with_core_loads
from jamcore.stf.statistics.services import with_service_loads
from jamcore.types.availability import AvailabilityAssignment
from jamcore.work.report import WorkReport


def transition(
    pre: ReportsState, inputs: ReportsInput, spec: ChainSpec
) -> tuple[ReportsState, ReportsOutput]:
    """rho' (eq. 11.43) from rho-double-dagger and E_G, with the reported packages and the
    reporters R (eq. 11.26); raises a `ReportsError` for an invalid extrinsic."""
    slot = inputs.slot
    assignments = Assignments(
        slot, pre.entropy, pre.curr_validators, pre.prev_validators, pre.offenders, spec
    )
    blocks = blocks_by_hash(pre.recent_blocks)
    reports: list[WorkReport] = []
    signatures: list[SignatureCheck] = []
    previous_core = -1
    for guarantee in inputs.guarantees:
        report = guarantee.report
        check_report_form(report, spec)
        # Verify the guarantees are strictly ascending by core (eq. 11.24).
        ensure(
            report.core_index > previous_core,
            OutOfOrderGuarantee(f"core {report.core_index} after {previous_core}"),
        )
        previous_core = report.core_index
        signatures.extend(check_credential(guarantee, assignments, slot, spec))
        check_core(report, pre.avail_assignments, pre.auth_pools)
        check_anchor(report.context, blocks)
        check_lookup_anchor(report.context, slot, spec)
        check_digests(report, pre.accounts)
        reports.append(report)

    reported = recently_reported(pre.recent_blocks)
    check_new_packages(
        [report.package_spec.hash for report in reports],
        frozenset(inputs.known_packages),
        reported,
    )
    incoming = {report.package_spec.hash: report.package_spec.exports_root for report in reports}
    check_dependencies(reports, incoming, reported)
    verify_signatures(signatures)

    availability = list(pre.avail_assignments)
    for report in reports:
        availability[report.core_index] = AvailabilityAssignment(report, slot)
    post = replace(
        pre,
        avail_assignments=tuple(availability),
        cores_statistics=with_core_loads(pre.cores_statistics, reports),
        services_statistics=with_service_loads(pre.services_statistics, reports),
    )
    output = ReportsOutput(
        reported=tuple(
            ReportedPackage(package, root) for package, root in sorted(incoming.items())
        ),
        reporters=tuple(sorted({check.key for check in signatures})),
    )
    return post, output
