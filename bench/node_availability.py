"""Data-availability benchmarks: sharding and reconstructing the bundle of a full block.

The bundle is one pool work package carrying 64 transactions of 2.3 KB each as extrinsics
(about 150 KB encoded). Sharding is the guarantor's whole job for it: erasure coding, the
erasure root and every validator's justification (`availability`). Reconstruction is an
auditor's: verifying each shard against the erasure root, then Reed-Solomon recovery, from
parity shards only (the worst case: no data shard to copy), 2 of 6 for `tiny` and 342 of
1023 for `full`. The recovery matrix for a set of shard indices is cached after its first
use, as it is for a node recovering many packages from the same validators. (The module
is named `node_availability` so that `python -m bench node` runs it with the other `node.`
figures.)
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from bench import Figure, best_seconds
from jamcore.crypto.hashing import blake2b_256
from jamcore.spec import FULL, TINY, ChainSpec
from jamcore.work.availability import (
    WorkPackageBundle,
    availability,
    encode_bundle,
    reconstruct_bundle,
)
from jamcore.work.package import ExtrinsicSpec, RefineContext, WorkItem, WorkPackage

TRANSACTIONS = 64
TRANSACTION_SIZE = 2_300


def full_block_bundle() -> bytes:
    """E(p, x, i, j) of a package whose one pool work item carries 64 transactions."""
    rng = random.Random(0)
    blobs = tuple(rng.randbytes(TRANSACTION_SIZE) for _ in range(TRANSACTIONS))
    item = WorkItem(
        service=1,
        code_hash=blake2b_256(b"jam-shielded/native/pool/v1"),
        refine_gas_limit=1_000_000_000,
        accumulate_gas_limit=10_000_000,
        export_count=0,
        payload=b"",
        import_segments=(),
        extrinsic=tuple(ExtrinsicSpec(blake2b_256(blob), len(blob)) for blob in blobs),
    )
    context = RefineContext(bytes(32), bytes(32), bytes(32), bytes(32), 0, ())
    package = WorkPackage(1, bytes(32), context, b"", b"", (item,))
    return encode_bundle(WorkPackageBundle(package, blobs, (), ()))


def _figures(spec: ChainSpec, bundle: bytes, suffix: str) -> Iterator[Figure]:
    package_hash = blake2b_256(bundle)
    yield Figure(
        f"node.bundle_shard{suffix}_ms",
        best_seconds(lambda: availability(package_hash, bundle, [], spec)) * 1e3,
        "ms",
    )
    package_spec, shards = availability(package_hash, bundle, [], spec)
    k, n = spec.ec_data_shards, spec.validators_count
    survivors = {index: shards[index] for index in range(n - k, n)}  # parity shards only
    root, length = package_spec.erasure_root, package_spec.length
    assert reconstruct_bundle(survivors, root, length, spec) == bundle
    yield Figure(
        f"node.bundle_reconstruct{suffix}_ms",
        best_seconds(lambda: reconstruct_bundle(survivors, root, length, spec)) * 1e3,
        "ms",
    )


def figures() -> Iterator[Figure]:
    bundle = full_block_bundle()
    yield Figure("node.bundle_bytes", len(bundle), "B")
    yield from _figures(TINY, bundle, "")
    yield from _figures(FULL, bundle, "_full")
