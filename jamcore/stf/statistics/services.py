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


def service_statistics(
    incoming_reports: Sequence[WorkReport],
    preimages: Sequence[Preimage],
    accumulation_statistics: AccumulationStatistics,
) -> ServicesStatistics:
    """pi_S' (eq. 13.12-13.16), ordered by service id.

    For s in s = s^R u s^P u K(S): imports, extrinsic count and size, exports and the
    refinement pair (n, gas) are R(s), the sums over the digests of the incoming reports I
    whose service is s, counting each digest once (eq. 13.16); the provision pair is the
    count and octets of s's preimages in E_P; the accumulation pair (count, gas) is taken
    from S[s] = (G(s), N(s)) as accumulate_count = N(s), accumulate_gas_used = G(s)
    (eq. 12.29 orders S's pair (gas, count)), or (0, 0) when s was not accumulated.
    """
    refined: dict[int, list[int]] = {}
    for report in incoming_reports:
        for digest in report.results:
            load = digest.refine_load
            totals = refined.get(digest.service_id)
            if totals is None:
                totals = refined[digest.service_id] = [0, 0, 0, 0, 0, 0]
            totals[0] += 1
            totals[1] += load.gas_used
            totals[2] += load.imports
            totals[3] += load.extrinsic_count
            totals[4] += load.extrinsic_size
            totals[5] += load.exports
    provided = provision_statistics(preimages)

    # s = s^R u s^P u K(S) (eq. 13.13-13.15).
    active = set(refined) | set(provided) | set(accumulation_statistics)
    result: ServicesStatistics = {}
    no_refinement = (0, 0, 0, 0, 0, 0)
    for service in sorted(active):
        count, gas, imports, extrinsic_count, extrinsic_size, exports = refined.get(
            service, no_refinement
        )
        provided_count, provided_size = provided.get(service, (0, 0))
        accumulate_gas, accumulate_count = accumulation_statistics.get(service, (0, 0))
        result[service] = ServiceActivityRecord(
            provided_count=provided_count,
            provided_size=provided_size,
            refinement_count=count,
            refinement_gas_used=gas,
            imports=imports,
            extrinsic_count=extrinsic_count,
            extrinsic_size=extrinsic_size,
            exports=exports,
            accumulate_count=accumulate_count,
            accumulate_gas_used=accumulate_gas,
        )
    return result


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
