"""rho: the work reports pending availability on each core (graypaper eq. 11.1)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from jamcore.codec import U32, Codec, Struct, optional, seq
from jamcore.spec import ChainSpec
from jamcore.work.report import WORK_REPORT, WorkReport


@dataclass(frozen=True)
class AvailabilityAssignment:
    """A core's report awaiting availability and the slot it was reported at (eq. 11.1)."""

    report: WorkReport
    timeout: int
    """The slot of the block that reported it (its timeout counts from here)."""


AVAILABILITY_ASSIGNMENT = Struct(AvailabilityAssignment, {"report": WORK_REPORT, "timeout": U32})

Availability = tuple[AvailabilityAssignment | None, ...]
"""rho: one optional assignment per core."""


@cache
def availability_codec(spec: ChainSpec) -> Codec[Availability]:
    """C(10): rho as C optional assignments (eq. D.2)."""
    return seq(optional(AVAILABILITY_ASSIGNMENT), spec.cores_count)
