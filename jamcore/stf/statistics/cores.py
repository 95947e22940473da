"""Core activity statistics pi_C (graypaper v0.7.2 section 13.2, eq. 13.6, 13.8-13.11).

Core statistics cover the latest block only: each core's record is rebuilt from the
incoming work-reports I (eq. 11.28: the reports of the block's guarantees), the reports
that just became available W (eq. 11.16) and the availability assurances E_A.
"""

from __future__ import annotations

from collections.abc import Sequence

from jamcore.spec import ChainSpec
from jamcore.types.statistics import CoreActivityRecord
from jamcore.work.guarantee import AvailAssurance
from jamcore.work.report import WorkReport

SEGMENT_SIZE = 4104
"""W_G: octets in an exported segment (Appendix I.4.4)."""

_SET_BITS = tuple(tuple(bit for bit in range(8) if octet >> bit & 1) for octet in range(256))
"""The set bit positions of each octet value."""


def data_availability_load(report: WorkReport) -> int:
    """One available report's term of D(c) (eq. 13.11): its bundle length plus
    W_G * ceil(n * 65 / 64) for its n exported segments (with their paged proofs)."""
    spec = report.package_spec
    return spec.length + SEGMENT_SIZE * ((spec.exports_count * 65 + 63) // 64)


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
    imports = [0] * cores
    extrinsic_count = [0] * cores
    extrinsic_size = [0] * cores
    exports = [0] * cores
    gas_used = [0] * cores
    bundle_size = [0] * cores
    da_load = [0] * cores
    popularity = [0] * (8 * spec.avail_bitfield_bytes)

    for report in incoming_reports:
        core = report.core_index
        bundle_size[core] += report.package_spec.length
        for digest in report.results:
            load = digest.refine_load
            imports[core] += load.imports
            extrinsic_count[core] += load.extrinsic_count
            extrinsic_size[core] += load.extrinsic_size
            exports[core] += load.exports
            gas_used[core] += load.gas_used

    for report in available_reports:
        da_load[report.core_index] += data_availability_load(report)

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
            imports=imports[core],
            extrinsic_count=extrinsic_count[core],
            extrinsic_size=extrinsic_size[core],
            exports=exports[core],
            bundle_size=bundle_size[core],
            gas_used=gas_used[core],
        )
        for core in range(cores)
    )
