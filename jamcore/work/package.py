"""Work packages and work items (graypaper section 14.3) and their encodings (Appendix C.3).

A work package is what a builder submits to a core: an authorization, a refinement context
and one to sixteen work items, each addressed to a service.
"""

from __future__ import annotations

from dataclasses import dataclass

from jamcore.codec import (
    BLOB,
    HASH,
    U16,
    U32,
    U64,
    Codec,
    CodecError,
    Reader,
    Struct,
    ensure,
    seq,
)

MAX_WORK_ITEMS = 16
"""I: the most work items in one package (graypaper I.4.4)."""
IMPORT_INDEX_BITS = 15
"""Segment indices are below 2^15; the top bit of E_2 flags an exported-by-package root."""


@dataclass(frozen=True)
class RefineContext:
    """The chain state a work package is refined against (eq. 11.4)."""

    anchor: bytes
    state_root: bytes
    beefy_root: bytes
    lookup_anchor: bytes
    lookup_anchor_slot: int
    prerequisites: tuple[bytes, ...]


@dataclass(frozen=True)
class ImportSpec:
    """A segment to import: the root of its segment tree and its index (eq. C.33, I(h, i))."""

    tree_root: bytes
    index: int


@dataclass(frozen=True)
class ExtrinsicSpec:
    """An extrinsic blob a work item uses: its hash and length."""

    hash: bytes
    len: int


@dataclass(frozen=True)
class WorkItem:
    """One unit of work for one service (eq. 14.3)."""

    service: int
    code_hash: bytes
    refine_gas_limit: int
    accumulate_gas_limit: int
    export_count: int
    payload: bytes
    import_segments: tuple[ImportSpec, ...]
    extrinsic: tuple[ExtrinsicSpec, ...]


@dataclass(frozen=True)
class WorkPackage:
    """A package of work items with its authorization (eq. 14.2)."""

    auth_code_host: int
    auth_code_hash: bytes
    context: RefineContext
    authorization: bytes
    authorizer_config: bytes
    items: tuple[WorkItem, ...]


class ImportIndex(Codec[int]):
    """E_2 of a segment index below 2^15 (eq. C.33; the flagged form is not in the JSON)."""

    min_size = 2

    def encode_into(self, value: int, out: bytearray) -> None:
        if not 0 <= value < 1 << IMPORT_INDEX_BITS:
            raise CodecError(f"import index {value} out of range 0..2^15-1")
        out += value.to_bytes(2, "little")

    def read(self, reader: Reader) -> int:
        value = int.from_bytes(reader.read(2), "little")
        ensure(value < 1 << IMPORT_INDEX_BITS, f"import index {value} has the flag bit set")
        return value

    def to_json(self, value: int) -> int:
        return value

    def from_json(self, data: object) -> int:
        return U16.from_json(data)


REFINE_CONTEXT = Struct(
    RefineContext,
    {
        "anchor": HASH,
        "state_root": HASH,
        "beefy_root": HASH,
        "lookup_anchor": HASH,
        "lookup_anchor_slot": U32,
        "prerequisites": seq(HASH),
    },
)

IMPORT_SPEC = Struct(ImportSpec, {"tree_root": HASH, "index": ImportIndex()})
EXTRINSIC_SPEC = Struct(ExtrinsicSpec, {"hash": HASH, "len": U32})

WORK_ITEM = Struct(
    WorkItem,
    {
        "service": U32,
        "code_hash": HASH,
        "refine_gas_limit": U64,
        "accumulate_gas_limit": U64,
        "export_count": U16,
        "payload": BLOB,
        "import_segments": seq(IMPORT_SPEC),
        "extrinsic": seq(EXTRINSIC_SPEC),
    },
)

WORK_PACKAGE = Struct(
    WorkPackage,
    {
        "auth_code_host": U32,
        "auth_code_hash": HASH,
        "context": REFINE_CONTEXT,
        "authorization": BLOB,
        "authorizer_config": BLOB,
        "items": seq(WORK_ITEM, min_length=1, max_length=MAX_WORK_ITEMS),
    },
)
