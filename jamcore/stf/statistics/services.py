"""Service activity statistics pi_S (graypaper v0.7.2 section 13.2, eq. 13.7, 13.12-13.16).

Service statistics cover the latest block only: pi_S' has a record for each service that
was reported in an incoming work-report (s^R), provided a preimage (s^P) or was
accumulated (the keys of the accumulation statistics S, eq. 12.29), and for no other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from jamcore.block import Preimage
from jamcore.types.statistics import ServiceActivityRecord
from jamcore.work.report import WorkReport

ServicesStatistics = dict[int, ServiceActivityRecord]

AccumulationStatistics = Mapping[int, tuple[int, int]]
"""S (eq. 12.28-12.29): service id -> (G(s) gas used, N(s) work-items accumulated)."""


def provision_statistics(preimages: Iterable[Preimage]) -> dict[int, tuple[int, int]]:
    """The provision component p of eq. 13.12 for each s in s^P (eq. 13.15): the sum over
    (s, d) in E_P of (1, |d|), i.e. the count and total octets of s's provided preimages."""
    provided: dict[int, tuple[int, int]] = {}
    for preimage in preimages:
        count, size = provided.get(preimage.requester, (0, 0))
        provided[preimage.requester] = (count + 1, size + len(preimage.blob))
    return provided


def with_service_loads(
    services: Mapping[int, ServiceActivityRecord], reports: Sequence[WorkReport]
) -> ServicesStatistics:
    """pi_S with each digest's R(s) (refinement count and gas, imports, extrinsic count and
    size, exports, each digest counted once; eq. 13.16) added to its service's record (a
    zero record if new), ordered by service id. The guarantees section applies it to the
    w3f `stf/reports` vectors' statistics."""
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


def service_statistics(
    incoming_reports: Sequence[WorkReport],
    preimages: Sequence[Preimage],
    accumulation_statistics: AccumulationStatistics,
) -> ServicesStatistics:
    """pi_S' (eq. 13.12-13.16), ordered by service id: a record for each s in
    s = s^R u s^P u K(S) (eq. 13.13-13.15), with

    - imports, extrinsic count and size, exports and the refinement pair (n, gas): R(s),
      over the digests of the incoming reports I whose service is s (`with_service_loads`);
    - the provision pair: the count and octets of s's preimages in E_P (`with_provisions`);
    - the accumulation pair (count, gas): S[s] = (G(s), N(s)) taken as
      accumulate_count = N(s), accumulate_gas_used = G(s) (eq. 12.29 orders S's pair
      (gas, count)), or (0, 0) when s was not accumulated.
    """
    result = with_provisions(with_service_loads({}, incoming_reports), preimages)
    for service, (gas, count) in accumulation_statistics.items():
        record = result.get(service) or ServiceActivityRecord.zero()
        result[service] = replace(record, accumulate_count=count, accumulate_gas_used=gas)
    return dict(sorted(result.items()))


def with_provisions(
    statistics: Mapping[int, ServiceActivityRecord], preimages: Iterable[Preimage]
) -> ServicesStatistics:
    """pi_S as the preimages section sees it: the provision pair of eq. 13.12 set for each
    s in s^P (eq. 13.15), every other component and service left as given.

    This is the part of pi_S' that the w3f preimages vectors check (provided_count,
    provided_size); the block importer builds the whole of pi_S' with
    `service_statistics`."""
    result = dict(statistics)
    for service, (count, size) in provision_statistics(preimages).items():
        record = result.get(service) or ServiceActivityRecord.zero()
        result[service] = replace(record, provided_count=count, provided_size=size)
    return dict(sorted(result.items()))
