"""Data availability of a work package: its bundle, availability specifier and shards.

Graypaper v0.7.2 section 14.4 with Appendices E and H:

- the bundle E(p, X#(p_w), S#(p_w), J#(p_w)) (eq. 14.16): the encoded package, then the
  extrinsic blobs, the imported segments and the imports' justifications of eq. 14.15,
  with no length prefixes but the one on each justification (their lengths follow from
  the package);
- the paged proofs P(s) (eq. 14.11): per page of 64 exported segments, one zero-padded
  segment E(var J_6(s, i), var L_6(s, i));
- the availability specifier A(h, b, s) (eq. 14.17): length |b|, erasure root
  u = M_B([b_i ++ s_i]) over the validators i, with b_i = H(C_k(P_{W_E}(b))_i) and
  s_i = M_B of validator i's shards of C#(s ++ P(s)), exports root e = M(s), count |s|;
- per validator, its shards, the trace T of its leaf b_i ++ s_i under u (eq. E.2) to
  check them by, and reconstruction from any k of them (eq. H.5).

Following eq. 14.17, the exports root covers the exported segments only; the paged
proofs are committed through the erasure root (they ride in s_i).

Not here: imports named by package hash (h-boxplus, resolved through the report's segment
root lookup; `ImportSpec` holds roots only), the W_B size bound of eq. 14.5, and the
narrower proofs of a networking layer (a bundle shard alone under s_i, or one segment
shard under b_i and its path in validator i's M_B): a shard is checked whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jamcore.codec import BLOB, HASH, U16, CodecError, Reader, Struct, seq
from jamcore.crypto.hashing import ZERO_HASH, blake2b_256
from jamcore.erasure import (
    SEGMENT_SIZE,
    ErasureError,
    encode,
    encode_segments,
    erasure_code,
    recover,
    recover_segment,
)
from jamcore.errors import JamError
from jamcore.merkle import (
    LEAF_PREFIX,
    NODE_PREFIX,
    MerkleError,
    constant_depth_root,
    justification,
    leaf_page,
    root_from_page,
    well_balanced_root,
)
from jamcore.spec import ChainSpec
from jamcore.work.package import WORK_PACKAGE, WorkPackage
from jamcore.work.report import WorkPackageSpec

PAGE_EXPONENT = 6
"""Paged proofs cover pages of 2^6 = 64 exported segments (eq. 14.11)."""
LEAF_SIZE = 64
"""Octets in an erasure-tree item b_i ++ s_i (eq. 14.17)."""
HASHES = seq(HASH)
"""var: a length-prefixed sequence of hashes (a justification or a page, eq. 14.11)."""


class AvailabilityError(JamError):
    """A bundle, shard set or reconstruction request that data availability refuses."""

    code = "availability"


class BadBundle(AvailabilityError):
    """A bundle that does not fit its own work package (eq. 14.15, 14.16)."""

    code = "bad_bundle"


class BadShard(AvailabilityError):
    """A shard whose justification does not lead to the erasure root."""

    code = "bad_shard"

    def __init__(self, index: int, message: str = "") -> None:
        super().__init__(message or f"shard {index} does not verify against the erasure root")
        self.index = index


class NotEnoughShards(AvailabilityError):
    """Fewer shards than the k that reconstruction needs, or of the wrong sizes."""

    code = "not_enough_shards"


# --- the bundle (eq. 14.15, 14.16) ------------------------------------------------------


@dataclass(frozen=True)
class WorkPackageBundle:
    """The audit bundle of eq. 14.16; sequences are flattened in work-item order."""

    package: WorkPackage
    extrinsics: tuple[bytes, ...]
    """X#(p_w): each item's extrinsic blobs, the preimages of its (hash, length) specs."""
    imports: tuple[bytes, ...]
    """S#(p_w): each item's imported W_G-octet segments."""
    justifications: tuple[tuple[bytes, ...], ...]
    """J#(p_w): per import, J_0 of its segment under the import's segment root."""


def _check_bundle(bundle: WorkPackageBundle) -> None:
    specs = [spec for item in bundle.package.items for spec in item.extrinsic]
    imports = sum(len(item.import_segments) for item in bundle.package.items)
    if len(bundle.extrinsics) != len(specs):
        raise BadBundle(f"{len(bundle.extrinsics)} extrinsic blobs for {len(specs)} specs")
    for number, (blob, spec) in enumerate(zip(bundle.extrinsics, specs, strict=True)):
        if len(blob) != spec.len or blake2b_256(blob) != spec.hash:
            raise BadBundle(f"extrinsic {number} does not match its hash and length")
    if not len(bundle.imports) == len(bundle.justifications) == imports:
        raise BadBundle(
            f"{len(bundle.imports)} segments and {len(bundle.justifications)} "
            f"justifications for {imports} imports"
        )
    if any(len(segment) != SEGMENT_SIZE for segment in bundle.imports):
        raise BadBundle(f"an imported segment is not {SEGMENT_SIZE} octets")


def encode_bundle(bundle: WorkPackageBundle) -> bytes:
    """E(p, x, i, j) (eq. 14.16): only the justifications carry length prefixes."""
    _check_bundle(bundle)
    try:
        parts = [WORK_PACKAGE.encode(bundle.package), *bundle.extrinsics, *bundle.imports]
        parts += [HASHES.encode(tuple(path)) for path in bundle.justifications]
    except CodecError as error:
        raise BadBundle(f"unencodable bundle: {error}") from error
    return b"".join(parts)


def decode_bundle(data: bytes) -> WorkPackageBundle:
    """The bundle `encode_bundle` made: the package tells how many octets follow."""
    reader = Reader(data)
    try:
        package = WORK_PACKAGE.read(reader)
        extrinsics = tuple(
            reader.read(spec.len) for item in package.items for spec in item.extrinsic
        )
        count = sum(len(item.import_segments) for item in package.items)
        imports = tuple(reader.read(SEGMENT_SIZE) for _ in range(count))
        paths = tuple(HASHES.read(reader) for _ in range(count))
    except (CodecError, ValueError, TypeError) as error:
        raise BadBundle(f"malformed bundle: {error}") from error
    if reader.remaining():
        raise BadBundle(f"{reader.remaining()} trailing octets after the bundle")
    bundle = WorkPackageBundle(package, extrinsics, imports, paths)
    _check_bundle(bundle)
    return bundle


def import_justification(segments: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """J_0(s, n) (eq. E.5, 14.15): the path of exported segment n under M(s)."""
    return tuple(justification(segments, index, 0))


def verify_imports(bundle: WorkPackageBundle) -> bool:
    """Whether each imported segment's J_0 leads to its import's segment root (eq. 14.15);
    BadBundle if the bundle does not fit its package."""
    _check_bundle(bundle)
    specs = [spec for item in bundle.package.items for spec in item.import_segments]
    for spec, segment, path in zip(specs, bundle.imports, bundle.justifications, strict=True):
        leaf = blake2b_256(LEAF_PREFIX + segment)
        try:
            if root_from_page([leaf], spec.index, 0, path) != spec.tree_root:
                return False
        except MerkleError:  # an index beyond the tree its path describes
            return False
    return True


# --- paged proofs and the specifier (eq. 14.11, 14.17) -----------------------------------


def paged_proofs(segments: Sequence[bytes]) -> list[bytes]:
    """P(s) (eq. 14.11): per 64 segments, P_{W_G}(E(var J_6(s, i), var L_6(s, i)))."""
    proofs = []
    for page in range(-(-len(segments) >> PAGE_EXPONENT)):
        path = justification(segments, page, PAGE_EXPONENT)
        leaves = leaf_page(segments, page, PAGE_EXPONENT)
        body = HASHES.encode(tuple(path)) + HASHES.encode(tuple(leaves))
        proofs.append(body + bytes(SEGMENT_SIZE - len(body)))
    return proofs


@dataclass(frozen=True)
class ValidatorShard:
    """What validator `index` holds of a package: its shard of the bundle, its shard of
    each segment of s ++ P(s), and the trace of its erasure-tree leaf (eq. E.2)."""

    index: int
    bundle_shard: bytes
    segment_shards: tuple[bytes, ...]
    justification: tuple[bytes, ...]
    """Siblings top first: 64-octet leaves where the sibling is one leaf, else hashes."""

    @property
    def leaf(self) -> bytes:
        """b_i ++ s_i: the shard's erasure-tree item (eq. 14.17)."""
        return blake2b_256(self.bundle_shard) + well_balanced_root(self.segment_shards)


VALIDATOR_SHARD = Struct(
    ValidatorShard,
    {
        "index": U16,
        "bundle_shard": BLOB,
        "segment_shards": seq(BLOB),
        "justification": seq(BLOB),
    },
)
"""A shard as stored and sent (the fields of JAM-NP's shard distribution, with the index)."""


class _BalancedTree:
    """N over the items (eq. E.1), keeping every inner node so that each trace T (eq. E.2)
    costs O(log n) instead of rehashing the tree."""

    def __init__(self, items: Sequence[bytes]) -> None:
        self.items = items
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.root = self._build(0, len(items))

    def _build(self, lo: int, hi: int) -> bytes:
        if hi - lo <= 1:
            return self.items[lo] if hi > lo else ZERO_HASH
        middle = lo + (hi - lo + 1) // 2
        digest = blake2b_256(NODE_PREFIX + self._build(lo, middle) + self._build(middle, hi))
        self.nodes[lo, hi] = digest
        return digest

    def trace(self, index: int) -> tuple[bytes, ...]:
        path = []
        for sibling in _sibling_ranges(index, len(self.items)):
            lo, hi = sibling
            path.append(self.items[lo] if hi - lo == 1 else self.nodes[sibling])
        return tuple(path)


def _sibling_ranges(index: int, count: int) -> list[tuple[int, int]]:
    """The item ranges of the siblings on the path to item `index` of `count`, top first."""
    ranges = []
    lo, hi = 0, count
    while hi - lo > 1:
        middle = lo + (hi - lo + 1) // 2
        if index < middle:
            ranges.append((middle, hi))
            hi = middle
        else:
            ranges.append((lo, middle))
            lo = middle
    return ranges


def shard_justification(leaves: Sequence[bytes], index: int) -> tuple[bytes, ...]:
    """T(leaves, index) (eq. E.2): the path of validator `index`'s leaf under u."""
    if not 0 <= index < len(leaves):
        raise AvailabilityError(f"shard index {index} out of range 0..{len(leaves) - 1}")
    return _BalancedTree(leaves).trace(index) if len(leaves) > 1 else ()


def _encode(
    bundle: bytes, segments: Sequence[bytes], spec: ChainSpec
) -> tuple[list[ValidatorShard], bytes]:
    """Every validator's shard with its justification, and the erasure root u."""
    try:
        bundle_shards = encode(bundle, spec)
        segment_shards = encode_segments([*segments, *paged_proofs(segments)], spec)
    except ErasureError as error:
        raise AvailabilityError(str(error)) from error
    unproven = [
        ValidatorShard(i, shard, tuple(coded[i] for coded in segment_shards), ())
        for i, shard in enumerate(bundle_shards)
    ]
    leaves = [shard.leaf for shard in unproven]
    if len(leaves) == 1:
        return unproven, well_balanced_root(leaves)
    tree = _BalancedTree(leaves)
    shards = [
        ValidatorShard(i, s.bundle_shard, s.segment_shards, tree.trace(i))
        for i, s in enumerate(unproven)
    ]
    return shards, tree.root


def shards_for_validators(
    bundle: bytes, segments: Sequence[bytes], spec: ChainSpec
) -> list[ValidatorShard]:
    """Every validator's shard of the bundle and of s ++ P(s), with its justification."""
    return _encode(bundle, segments, spec)[0]


def availability_spec(
    package_hash: bytes, bundle: bytes, exported_segments: Sequence[bytes], spec: ChainSpec
) -> WorkPackageSpec:
    """A(h, b, s) (eq. 14.17)."""
    return availability(package_hash, bundle, exported_segments, spec)[0]


def availability(
    package_hash: bytes, bundle: bytes, exported_segments: Sequence[bytes], spec: ChainSpec
) -> tuple[WorkPackageSpec, list[ValidatorShard]]:
    """A(h, b, s) (eq. 14.17) and the shards it commits to, from one erasure coding: what
    a guarantor reports and distributes."""
    if not (isinstance(package_hash, bytes) and len(package_hash) == 32):
        raise AvailabilityError(f"package hash must be 32 octets, got {package_hash!r}")
    if len(exported_segments) > spec.max_package_exports:
        raise AvailabilityError(
            f"{len(exported_segments)} exports exceed W_X = {spec.max_package_exports}"
        )
    shards, root = _encode(bundle, exported_segments, spec)
    return (
        WorkPackageSpec(
            hash=package_hash,
            length=len(bundle),
            erasure_root=root,
            exports_root=constant_depth_root(exported_segments),
            exports_count=len(exported_segments),
        ),
        shards,
    )


# --- checking and reconstruction -------------------------------------------------------


def verify_shard(
    erasure_root: bytes,
    index: int,
    shard: ValidatorShard,
    justification: Sequence[bytes],
    spec: ChainSpec,
) -> bool:
    """Whether `shard` is validator `index`'s under `erasure_root`: its leaf hashed up
    through the justification (inverse of eq. E.2; each sibling must be a 64-octet leaf
    where that subtree is one leaf, else a hash) gives u, and its segment shards have the
    size of a segment's shards."""
    count = spec.validators_count
    if not (isinstance(index, int) and 0 <= index < count and shard.index == index):
        return False
    segment_size = erasure_code(spec).shard_size(SEGMENT_SIZE)
    if any(len(part) != segment_size for part in shard.segment_shards):
        return False
    ranges = _sibling_ranges(index, count)
    if len(justification) != len(ranges):
        return False
    current = shard.leaf
    if count == 1:
        return blake2b_256(current) == erasure_root
    for sibling, (lo, hi) in zip(reversed(justification), reversed(ranges), strict=True):
        if not isinstance(sibling, bytes) or len(sibling) != (LEAF_SIZE if hi - lo == 1 else 32):
            return False
        pair = sibling + current if hi <= index else current + sibling
        current = blake2b_256(NODE_PREFIX + pair)
    return current == erasure_root


def _verified(
    shards: Mapping[int, ValidatorShard], erasure_root: bytes, spec: ChainSpec
) -> dict[int, ValidatorShard]:
    """The shards, each checked against the erasure root (BadShard for the first that fails)."""
    for index, shard in shards.items():
        if not verify_shard(erasure_root, index, shard, shard.justification, spec):
            raise BadShard(index)
    return dict(shards)


def reconstruct_bundle(
    shards: Mapping[int, ValidatorShard], erasure_root: bytes, length: int, spec: ChainSpec
) -> bytes:
    """The `length`-octet bundle from any k verified shards (R_k, eq. H.5).

    Every shard given is verified first: a bad one raises `BadShard` (its `index` says
    which, so the caller can drop it and ask another validator)."""
    checked = _verified(shards, erasure_root, spec)
    try:
        return recover({i: s.bundle_shard for i, s in checked.items()}, length, spec)
    except ErasureError as error:
        raise NotEnoughShards(str(error)) from error


def reconstruct_segment(
    shards: Mapping[int, ValidatorShard], erasure_root: bytes, segment: int, spec: ChainSpec
) -> bytes:
    """Segment `segment` of s ++ P(s) (exports, then paged proofs) from any k verified
    shards (eq. H.5 with k = W_P)."""
    checked = _verified(shards, erasure_root, spec)
    if any(not 0 <= segment < len(s.segment_shards) for s in checked.values()):
        raise NotEnoughShards(f"segment {segment} is beyond a shard's segments")
    try:
        return recover_segment({i: s.segment_shards[segment] for i, s in checked.items()}, spec)
    except ErasureError as error:
        raise NotEnoughShards(str(error)) from error
