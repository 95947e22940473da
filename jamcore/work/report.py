"""Work reports and work digests (graypaper sections 11.1.1-11.1.4) and their encodings.

A work report is what a core's guarantors attest to: the availability specification of
the package, its refinement context, and one digest per work item with its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from jamcore.codec import (
    BLOB,
    HASH,
    NATURAL,
    U16,
    U32,
    U64,
    Choice,
    Dictionary,
    Struct,
    Variant,
    seq,
)
from jamcore.crypto.hashing import blake2b_256
from jamcore.work.package import MAX_WORK_ITEMS, REFINE_CONTEXT, RefineContext, WorkItem

WORK_EXEC_RESULT = Choice(
    [
        ("ok", BLOB),
        ("out_of_gas", None),
        ("panic", None),
        ("bad_exports", None),
        ("output_oversize", None),
        ("bad_code", None),
        ("code_oversize", None),
    ]
)
"""O(o): a work result, the output blob or one of the errors, numbered as in eq. C.32."""


@dataclass(frozen=True)
class RefineLoad:
    """Resources a work item used during refinement (eq. 11.6, all variable-length)."""

    gas_used: int
    imports: int
    extrinsic_count: int
    extrinsic_size: int
    exports: int


@dataclass(frozen=True)
class WorkResult:
    """The digest of one refined work item (eq. 11.6)."""

    service_id: int
    code_hash: bytes
    payload_hash: bytes
    accumulate_gas: int
    result: Variant
    refine_load: RefineLoad


def item_digest(item: WorkItem, result: Variant, gas_used: int) -> WorkResult:
    """C(w, r, u) (eq. 14.11): the work digest of item `item` with result r and gas u."""
    return WorkResult(
        service_id=item.service,
        code_hash=item.code_hash,
        payload_hash=blake2b_256(item.payload),
        accumulate_gas=item.accumulate_gas_limit,
        result=result,
        refine_load=RefineLoad(
            gas_used=gas_used,
            imports=len(item.import_segments),
            extrinsic_count=len(item.extrinsic),
            extrinsic_size=sum(spec.len for spec in item.extrinsic),
            exports=item.export_count,
        ),
    )


@dataclass(frozen=True)
class WorkPackageSpec:
    """The availability specification of a package (eq. 11.5)."""

    hash: bytes
    length: int
    erasure_root: bytes
    exports_root: bytes
    exports_count: int


@dataclass(frozen=True)
class WorkReport:
    """A work report (eq. 11.2); `segment_root_lookup` maps package hash -> segment root."""

    package_spec: WorkPackageSpec
    context: RefineContext
    core_index: int
    authorizer_hash: bytes
    auth_gas_used: int
    auth_output: bytes
    segment_root_lookup: dict[bytes, bytes]
    results: tuple[WorkResult, ...]


REFINE_LOAD = Struct(
    RefineLoad,
    {
        "gas_used": NATURAL,
        "imports": NATURAL,
        "extrinsic_count": NATURAL,
        "extrinsic_size": NATURAL,
        "exports": NATURAL,
    },
)

WORK_RESULT = Struct(
    WorkResult,
    {
        "service_id": U32,
        "code_hash": HASH,
        "payload_hash": HASH,
        "accumulate_gas": U64,
        "result": WORK_EXEC_RESULT,
        "refine_load": REFINE_LOAD,
    },
)

WORK_PACKAGE_SPEC = Struct(
    WorkPackageSpec,
    {
        "hash": HASH,
        "length": U32,
        "erasure_root": HASH,
        "exports_root": HASH,
        "exports_count": U16,
    },
)

SEGMENT_ROOT_LOOKUP = Dictionary(
    HASH, HASH, key_name="work_package_hash", value_name="segment_tree_root"
)

WORK_REPORT = Struct(
    WorkReport,
    {
        "package_spec": WORK_PACKAGE_SPEC,
        "context": REFINE_CONTEXT,
        "core_index": NATURAL,
        "authorizer_hash": HASH,
        "auth_gas_used": NATURAL,
        "auth_output": BLOB,
        "segment_root_lookup": SEGMENT_ROOT_LOOKUP,
        # At most I digests; a report with none decodes, so that the guarantees section can
        # reject it as `missing_work_results` (eq. 11.2) rather than the codec.
        "results": seq(WORK_RESULT, max_length=MAX_WORK_ITEMS),
    },
)
