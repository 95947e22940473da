"""Core activity statistics pi_C (graypaper v0.7.2 section 13.2, eq. 13.6, 13.8-13.11).

Core statistics cover the latest block only: each core's record is rebuilt from the
incoming work-reports I (eq. 11.28: the reports of the block's guarantees), the reports
that just became available W (eq. 11.16) and the availability assurances E_A. The
incoming reports' share, R(c) and L(c), is `with_core_loads`, which the guarantees
section also applies to the w3f `stf/reports` vectors' statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from jamcore.spec import ChainSpec
from jamcore.types.statistics import CoreActivityRecord
from jamcore.work.guarantee import AvailAssurance
from jamcore.work.report import WorkReport

_SET_BITS = tuple(tuple(bit for bit in range(8) if octet >> bit & 1) for octet in range(256))
"""The set bit positions of each octet value."""


def data_availability_load(report: WorkReport, spec: ChainSpec) -> int:
    """One available report's term of D(c) (eq. 13.11): its bundle length plus
    W_G * ceil(n * 65 / 64) for its n exported segments (with their paged proofs)."""
    package = report.package_spec
    return package.length + spec.segment_size * ((package.exports_count * 65 + 63) // 64)


def with_core_loads(
    cores: Sequence[CoreActivityRecord], reports: Sequence[WorkReport]
) -> tuple[CoreActivityRecord, ...]:
    """pi_C with each report's R(c) (imports, extrinsic count and size, exports, gas used:
    the sums over its digests' refinement loads, eq. 13.9) and L(c) (its bundle length,
    eq. 13.10) added to its core's record."""
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


def core_statistics(
    incoming_reports: Sequence[WorkReport],
    available_reports: Sequence[WorkReport],
    assurances: Sequence[AvailAssurance],
    spec: ChainSpec,
) -> tuple[CoreActivityRecord, ...]:
    """pi_C' (eq. 13.8-13.11): for each core c,

    - imports, extrinsic count and size, exports and gas used: R(c), the sums over the
      digests of the incoming reports I on core c (eq. 13.9);
    - bundle size: L(c), the sum of the bundle lengths of those reports (eq. 13.10);
    - DA load: D(c), over the newly available reports W on core c (eq. 13.11);
    - popularity: the number of assurances in E_A whose bitfield has bit c set (eq. 13.8).
    """
    cores = spec.cores_count
    loaded = with_core_loads((CoreActivityRecord.zero(),) * cores, incoming_reports)
    da_load = [0] * cores
    popularity = [0] * (8 * spec.avail_bitfield_bytes)

    for report in available_reports:
        da_load[report.core_index] += data_availability_load(report, spec)

    # Assurers mostly sign identical bitfields: count each distinct one once.
    bitfields: dict[bytes, int] = {}
    for assurance in assurances:
        bitfields[assurance.bitfield] = bitfields.get(assurance.bitfield, 0) + 1
    for bitfield, assurers in bitfields.items():
        # Bit c of the bitfield is bit c % 8 of octet c // 8 (least significant first, C.9).
        for octet_index, octet in enumerate(bitfield):
            if octet:
                base = octet_index * 8
                for bit in _SET_BITS[octet]:
                    popularity[base + bit] += assurers

    return tuple(
        CoreActivityRecord(
            da_load=da_load[core],
            popularity=popularity[core],
            imports=record.imports,
            extrinsic_count=record.extrinsic_count,
            extrinsic_size=record.extrinsic_size,
            exports=record.exports,
            bundle_size=record.bundle_size,
            gas_used=record.gas_used,
        )
        for core, record in enumerate(loaded)
    )
