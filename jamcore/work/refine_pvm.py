"""Refining a work-package whose services are PVM code (graypaper 0.7.2 section 14.4).

`refine_package` is the part of the work-report computation Ξ (eq. 14.12) that runs code:
Ψ_I for the authorizer trace, then Ψ_R for each work item with the export offset ℓ
counted up over the items before it, each result checked against the report's blob
budget W_R and its declared export count, and turned into a work digest by the
item-to-digest function C (eq. 14.11). The availability specification (erasure root,
segment root) is left to the caller; the exports it needs are returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jamcore.codec import Variant
from jamcore.errors import JamError, ensure
from jamcore.pvm.host import Mode
from jamcore.pvm.host_calls.general import MAX_REPORT_BLOBS, SEGMENT_SIZE
from jamcore.pvm.invocations.is_authorized import is_authorized
from jamcore.pvm.invocations.refine import refine
from jamcore.spec import ChainSpec
from jamcore.types.services import ServiceAccount
from jamcore.work.package import WorkPackage
from jamcore.work.report import WorkResult, item_digest

if TYPE_CHECKING:
    from jamcore.pvm.invocations.native import Natives

ZERO_SEGMENT = bytes(SEGMENT_SIZE)
"""The zero segment that replaces the exports of a failed work item (eq. 14.12)."""


class NotAuthorized(JamError):
    """Ψ_I gave no authorizer trace within W_R octets, so Ξ(p, c) = ∇ (eq. 14.12)."""

    code = "not_authorized"


@dataclass(frozen=True)
class RefinedPackage:
    """The code-dependent parts of a work report: the authorizer trace and its gas, one
    work digest per item, and each item's exported segments (eq. 14.12)."""

    auth_trace: bytes
    auth_gas_used: int
    results: tuple[WorkResult, ...]
    exports: tuple[tuple[bytes, ...], ...]


def refine_package(
    package: WorkPackage,
    core: int,
    accounts: Mapping[int, ServiceAccount],
    imports: Sequence[Sequence[bytes]],
    extrinsics: Sequence[Sequence[bytes]],
    spec: ChainSpec,
    *,
    mode: Mode = "fast",
    natives: Natives | None = None,
) -> RefinedPackage:
    """Ψ_I then I(p, j) for every item j (eq. 14.12): the digests r and exports e.

    `imports` and `extrinsics` are ī and x̄, one sequence per item, already fetched and
    verified by the caller. `natives` (code hash -> native implementation) is passed to
    Ψ_R: those items run Python code through the same host calls (see
    `jamcore.pvm.invocations.native`). Raises NotAuthorized when Ξ(p, c) = ∇."""
    authorization = is_authorized(package, core, accounts, spec, mode=mode)
    trace = authorization.result.value
    # Verify the package is authorized with a trace within W_R
    ensure(
        authorization.result.tag == "ok" and len(trace) <= MAX_REPORT_BLOBS,
        NotAuthorized(f"is-authorized gave {authorization.result.tag}"),
    )
    results: list[WorkResult] = []
    exports: list[tuple[bytes, ...]] = []
    offset = 0  # ℓ: exports declared by the items before this one
    blob_size = len(trace)  # z: the trace and every earlier item's output
    for j, item in enumerate(package.items):
        outcome = refine(
            core, j, package, trace, imports, offset, accounts, extrinsics, spec, mode=mode,
            natives=natives,
        )
        result, segments = outcome.result, outcome.exports
        zeros = (ZERO_SEGMENT,) * item.export_count
        output_size = len(result.value) if result.tag == "ok" else 0
        # Verify the output keeps the report within W_R
        if output_size + blob_size > MAX_REPORT_BLOBS:
            result, segments = Variant("output_oversize"), zeros
        # Verify the item exported what it declared
        elif len(segments) != item.export_count:
            result, segments = Variant("bad_exports"), zeros
        elif result.tag != "ok":
            segments = zeros
        else:
            blob_size += output_size
        results.append(item_digest(item, result, outcome.gas_used))
        exports.append(tuple(segments))
        offset += item.export_count
    return RefinedPackage(trace, authorization.gas_used, tuple(results), tuple(exports))
