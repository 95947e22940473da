"""The incoming reports' share of the core and service statistics (graypaper v0.7.2
section 13.2, eq. 13.9, 13.10 and 13.16).

The reports transition adds, for each incoming report I, its digests' refinement loads and
its bundle length to its core's record, and the digests' loads and refinement count and gas
to their services' records; the other components (DA load, popularity, provision,
accumulation) belong to other sections and are left as given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from jamcore.types.statistics import CoreActivityRecord, ServiceActivityRecord
from jamcore.work.report import WorkReport


def with_core_loads(
    cores: Sequence[CoreActivityRecord], reports: Sequence[WorkReport]
) -> tuple[CoreActivityRecord, ...]:
    """pi_C with each report's R(c) (imports, extrinsic count and size, exports, gas used;
    eq. 13.9) and L(c) (bundle size; eq. 13.10) added to its core's record."""
    result = list(cores)
    for report in reports:
        core = report.core_index
        record = result[core]
        imports, extrinsic_count = record.imports, record.extrinsic_count
        extrinsic_size, exports, gas_used = record.extrinsic_size, record.exports, record.gas_used
        for digest in report.results:
            load = digest.refine_load
            imports += load.imports
            extrinsic_count += load.extrinsic_count
            extrinsic_size += load.extrinsic_size
            exports += load.exports
            gas_used += load.gas_used
        result[core] = replace(
            record,
            imports=imports,
            extrinsic_count=extrinsic_count,
            extrinsic_size=extrinsic_size,
            exports=exports,
            bundle_size=record.bundle_size + report.package_spec.length,
            gas_used=gas_used,
        )
    return tuple(result)


def with_service_loads(
    services: Mapping[int, ServiceActivityRecord], reports: Sequence[WorkReport]
) -> dict[int, ServiceActivityRecord]:
    """pi_S with each digest's R(s) (refinement count and gas, imports, extrinsic count and
    size, exports; eq. 13.16) added to its service's record (a zero record if new),
    ordered by service id."""
    result = dict(services)
    for report in reports:
        for digest in report.results:
            load = digest.refine_load
            record = result.get(digest.service_id) or ServiceActivityRecord.zero()
            result[digest.service_id] = replace(
                record,
                refinement_count=record.refinement_count + 1,
                refinement_gas_used=record.refinement_gas_used + load.gas_used,
                imports=record.imports + load.imports,
                extrinsic_count=record.extrinsic_count + load.extrinsic_count,
                extrinsic_size=record.extrinsic_size + load.extrinsic_size,
                exports=record.exports + load.exports,
            )
    return dict(sorted(result.items()))
