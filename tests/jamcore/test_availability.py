"""Data availability (graypaper 14.4, Appendix H): bundles, the availability specifier,
paged proofs, shard justifications and reconstruction from any k shards."""

from __future__ import annotations

import dataclasses
import random
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamcore.codec import HASH, Reader, seq
from jamcore.crypto.hashing import ZERO_HASH, blake2b_256
from jamcore.erasure import SEGMENT_SIZE, encode, encode_segment
from jamcore.errors import JamError
from jamcore.merkle import constant_depth_root, root_from_page, well_balanced_root
from jamcore.spec import FULL, TINY, ChainSpec
from jamcore.work.availability import (
    VALIDATOR_SHARD,
    AvailabilityError,
    BadBundle,
    BadShard,
    NotEnoughShards,
    ValidatorShard,
    WorkPackageBundle,
    availability,
    availability_spec,
    decode_bundle,
    encode_bundle,
    import_justification,
    paged_proofs,
    reconstruct_bundle,
    reconstruct_segment,
    shard_justification,
    shards_for_validators,
    verify_imports,
    verify_shard,
)
from jamcore.work.package import (
    WORK_PACKAGE,
    ExtrinsicSpec,
    ImportSpec,
    RefineContext,
    WorkItem,
    WorkPackage,
)
from jamcore.work.report import WorkPackageSpec

SPECS = [TINY, FULL]


def _segments(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(SEGMENT_SIZE) for _ in range(count)]


@cache
def _bundle(extrinsics: int = 3, imports: int = 2) -> WorkPackageBundle:
    """A bundle importing segments of an earlier package and carrying extrinsic blobs."""
    rng = random.Random(extrinsics * 100 + imports)
    blobs = tuple(rng.randbytes(rng.randrange(1, 2_400)) for _ in range(extrinsics))
    exporter = _segments(5, seed=1)
    root = constant_depth_root(exporter)
    indices = list(range(imports))
    item = WorkItem(
        service=7,
        code_hash=blake2b_256(b"code"),
        refine_gas_limit=1_000,
        accumulate_gas_limit=2_000,
        export_count=0,
        payload=b"payload",
        import_segments=tuple(ImportSpec(root, i) for i in indices),
        extrinsic=tuple(ExtrinsicSpec(blake2b_256(blob), len(blob)) for blob in blobs),
    )
    context = RefineContext(bytes(32), bytes(32), bytes(32), bytes(32), 0, ())
    package = WorkPackage(7, blake2b_256(b"auth"), context, b"token", b"config", (item,))
    return WorkPackageBundle(
        package,
        blobs,
        tuple(exporter[i] for i in indices),
        tuple(import_justification(exporter, i) for i in indices),
    )


@cache
def _coded(
    spec: ChainSpec, exports: int
) -> tuple[bytes, list[bytes], WorkPackageSpec, list[ValidatorShard]]:
    bundle = encode_bundle(_bundle())
    segments = _segments(exports, seed=2)
    package_spec, shards = availability(blake2b_256(bundle), bundle, segments, spec)
    return bundle, segments, package_spec, shards


# --- the bundle -----------------------------------------------------------------------------


def test_bundle_round_trips_and_is_prefix_free() -> None:
    bundle = _bundle()
    data = encode_bundle(bundle)
    assert decode_bundle(data) == bundle
    # E(p, x, i, j): the package, the raw blobs and segments, then length-prefixed paths.
    package = WORK_PACKAGE.encode(bundle.package)
    assert data.startswith(package + b"".join(bundle.extrinsics) + b"".join(bundle.imports))
    reader = Reader(data, len(data) - sum(1 + 32 * len(p) for p in bundle.justifications))
    assert seq(HASH).read(reader) == bundle.justifications[0]


def test_bundle_imports_verify_against_their_roots() -> None:
    bundle = _bundle()
    assert verify_imports(bundle)
    forged = dataclasses.replace(bundle, imports=(bytes(SEGMENT_SIZE), *bundle.imports[1:]))
    assert not verify_imports(forged)
    item = bundle.package.items[0]
    far = dataclasses.replace(item.import_segments[0], index=100)  # beyond the 8-leaf tree
    moved = dataclasses.replace(item, import_segments=(far, *item.import_segments[1:]))
    package = dataclasses.replace(bundle.package, items=(moved,))
    assert not verify_imports(dataclasses.replace(bundle, package=package))


@pytest.mark.parametrize(
    "change",
    [
        lambda b: dataclasses.replace(b, extrinsics=b.extrinsics[:-1]),
        lambda b: dataclasses.replace(
            b, extrinsics=(b"x" + b.extrinsics[0][1:], *b.extrinsics[1:])
        ),
        lambda b: dataclasses.replace(b, imports=b.imports[:-1]),
        lambda b: dataclasses.replace(b, imports=(b.imports[0][:-1], *b.imports[1:])),
    ],
    ids=["missing-extrinsic", "wrong-extrinsic", "missing-import", "short-segment"],
)
def test_bundle_not_fitting_its_package_is_refused(change) -> None:
    with pytest.raises(BadBundle):
        encode_bundle(change(_bundle()))


def test_malformed_bundle_bytes_are_refused() -> None:
    data = encode_bundle(_bundle())
    for bad in (data[:-1], data + b"\0", data[:100]):
        with pytest.raises(BadBundle) as raised:
            decode_bundle(bad)
        assert isinstance(raised.value, JamError)


# --- the availability specifier -----------------------------------------------------------


def _erasure_root_by_the_equation(bundle: bytes, segments: list[bytes], spec: ChainSpec) -> bytes:
    """eq. 14.17 written out: M_B([H(C(b)_i) ++ M_B([C_6(x)_i for x in s ++ P(s)])])."""
    coded = [encode_segment(x, spec) for x in segments + paged_proofs(segments)]
    leaves = [
        blake2b_256(chunk) + well_balanced_root([shards[i] for shards in coded])
        for i, chunk in enumerate(encode(bundle, spec))
    ]
    return well_balanced_root(leaves)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@pytest.mark.parametrize("exports", [0, 1, 65])
def test_availability_spec_fields(spec: ChainSpec, exports: int) -> None:
    bundle, segments, package_spec, shards = _coded(spec, exports)
    assert package_spec.hash == blake2b_256(bundle)
    assert package_spec.length == len(bundle)
    assert package_spec.exports_count == exports
    assert package_spec.exports_root == constant_depth_root(segments)
    assert package_spec.erasure_root == _erasure_root_by_the_equation(bundle, segments, spec)
    assert availability_spec(package_spec.hash, bundle, segments, spec) == package_spec
    assert len(shards) == spec.validators_count
    assert all(len(s.segment_shards) == exports + -(-exports // 64) for s in shards)
    if exports == 0:  # s_i = M_B([]) is the zero hash
        assert all(shard.leaf[32:] == ZERO_HASH for shard in shards)


def test_paged_proofs_justify_each_page_under_the_exports_root() -> None:
    segments = _segments(130, seed=3)
    root = constant_depth_root(segments)
    proofs = paged_proofs(segments)
    assert len(proofs) == 3 and all(len(proof) == SEGMENT_SIZE for proof in proofs)
    for page, proof in enumerate(proofs):
        reader = Reader(proof)
        path, leaves = seq(HASH).read(reader), seq(HASH).read(reader)
        assert proof[reader.pos :] == bytes(SEGMENT_SIZE - reader.pos)
        assert len(leaves) == min(64, 130 - 64 * page)
        assert root_from_page(leaves, page, 6, path) == root
    assert paged_proofs([]) == []


# --- shards and their justifications ------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_shard_verifies(spec: ChainSpec) -> None:
    _, _, package_spec, shards = _coded(spec, 3)
    root = package_spec.erasure_root
    assert all(verify_shard(root, s.index, s, s.justification, spec) for s in shards)
    leaves = [shard.leaf for shard in shards]
    for index in (0, 1, spec.validators_count - 1):
        assert shard_justification(leaves, index) == shards[index].justification
    assert VALIDATOR_SHARD.decode(VALIDATOR_SHARD.encode(shards[1])) == shards[1]


def _flip(data: bytes, position: int = 0) -> bytes:
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1 :]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_tampered_shards_do_not_verify(spec: ChainSpec) -> None:
    _, _, package_spec, shards = _coded(spec, 3)
    root, shard = package_spec.erasure_root, shards[4]
    path = shard.justification
    tampered = [
        dataclasses.replace(shard, bundle_shard=_flip(shard.bundle_shard)),
        dataclasses.replace(
            shard, segment_shards=(_flip(shard.segment_shards[0]),) + shard.segment_shards[1:]
        ),
        dataclasses.replace(shard, segment_shards=shard.segment_shards[:-1]),
        dataclasses.replace(shard, index=5),
    ]
    for bad in tampered:
        assert not verify_shard(root, 4, bad, path, spec)
    assert not verify_shard(root, 4, shard, (_flip(path[0]), *path[1:]), spec)
    assert not verify_shard(root, 4, shard, path[:-1], spec)
    assert not verify_shard(root, 4, shard, (*path, ZERO_HASH), spec)
    assert not verify_shard(root, 5, shards[5], shards[4].justification, spec)
    assert not verify_shard(_flip(root), 4, shard, path, spec)
    assert not verify_shard(root, spec.validators_count, shard, path, spec)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_reconstruction_refuses_a_tampered_shard(spec: ChainSpec) -> None:
    bundle, _, package_spec, shards = _coded(spec, 3)
    k = spec.ec_data_shards
    chosen = {i: shards[i] for i in range(spec.validators_count - k, spec.validators_count)}
    last = spec.validators_count - 1
    chosen[last] = dataclasses.replace(shards[last], bundle_shard=_flip(shards[last].bundle_shard))
    with pytest.raises(BadShard) as raised:
        reconstruct_bundle(chosen, package_spec.erasure_root, len(bundle), spec)
    assert raised.value.index == last and isinstance(raised.value, JamError)
    with pytest.raises(BadShard):
        reconstruct_segment(chosen, package_spec.erasure_root, 0, spec)
    fewer = {i: shards[i] for i in range(k - 1)}
    with pytest.raises(NotEnoughShards):
        reconstruct_bundle(fewer, package_spec.erasure_root, len(bundle), spec)
    with pytest.raises(BadShard):  # a shard filed under another validator's index
        reconstruct_bundle({0: shards[1], 1: shards[1]}, package_spec.erasure_root, 1, spec)


def _check_reconstruction(spec: ChainSpec, order: list[int]) -> None:
    bundle, segments, package_spec, shards = _coded(spec, 3)
    chosen = {i: shards[i] for i in order[: spec.ec_data_shards]}
    root = package_spec.erasure_root
    assert reconstruct_bundle(chosen, root, len(bundle), spec) == bundle
    assert reconstruct_segment(chosen, root, 2, spec) == segments[2]
    assert reconstruct_segment(chosen, root, 3, spec) == paged_proofs(segments)[0]


@settings(max_examples=25, deadline=None)
@given(order=st.permutations(range(TINY.validators_count)))
def test_tiny_reconstructs_from_any_third(order: list[int]) -> None:
    _check_reconstruction(TINY, order)


@settings(max_examples=12, deadline=None)
@given(order=st.permutations(range(FULL.validators_count)))
def test_full_reconstructs_from_any_342_of_1023(order: list[int]) -> None:
    _check_reconstruction(FULL, order)


def test_full_reconstructs_from_parity_shards_only() -> None:
    _check_reconstruction(FULL, list(range(FULL.validators_count))[::-1])


def test_bad_inputs_are_typed_errors() -> None:
    with pytest.raises(AvailabilityError):
        availability_spec(b"short", b"bundle", [], TINY)
    with pytest.raises(AvailabilityError):
        shards_for_validators(b"bundle", [b"not a segment"], TINY)
    with pytest.raises(AvailabilityError):
        shard_justification([bytes(64)] * 6, 6)
    with pytest.raises(AvailabilityError):
        too_many = [bytes(SEGMENT_SIZE)] * (TINY.max_package_exports + 1)
        availability_spec(bytes(32), b"bundle", too_many, TINY)
