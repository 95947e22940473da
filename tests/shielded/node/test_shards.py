"""A 6-validator devnet's shard stores: store, survive losing two thirds, assure."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from jamcore.crypto.hashing import blake2b_256
from jamcore.stf.assurances import BadSignature, check_assurances
from jamcore.work.availability import (
    ValidatorShard,
    WorkPackageBundle,
    availability,
    decode_bundle,
    encode_bundle,
    reconstruct_bundle,
)
from jamcore.work.package import ExtrinsicSpec, RefineContext, WorkItem, WorkPackage
from jamcore.work.report import WorkPackageSpec
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.shards import ShardStore, ShardStoreError, make_assurance

REPORT_SLOT = 10
PARENT = blake2b_256(b"parent block")


def _pool_bundle(transactions: int = 8) -> bytes:
    """A pool work package carrying `transactions` ~2.3 KB transactions as extrinsics."""
    rng = random.Random(5)
    blobs = tuple(rng.randbytes(2_300) for _ in range(transactions))
    item = WorkItem(
        service=1,
        code_hash=blake2b_256(b"jam-shielded/native/pool/v1"),
        refine_gas_limit=1_000_000,
        accumulate_gas_limit=10_000_000,
        export_count=0,
        payload=b"",
        import_segments=(),
        extrinsic=tuple(ExtrinsicSpec(blake2b_256(blob), len(blob)) for blob in blobs),
    )
    context = RefineContext(bytes(32), bytes(32), bytes(32), PARENT, 9, ())
    package = WorkPackage(1, bytes(32), context, b"", b"", (item,))
    return encode_bundle(WorkPackageBundle(package, blobs, (), ()))


@pytest.fixture(scope="module")
def reported(
    devnet: tuple[Path, GenesisConfig],
) -> tuple[bytes, WorkPackageSpec, list[ValidatorShard]]:
    _, config = devnet
    bundle = _pool_bundle()
    package_spec, shards = availability(blake2b_256(bundle), bundle, [], config.chain_spec())
    return bundle, package_spec, shards


def _stores(directory: Path, config: GenesisConfig) -> list[ShardStore]:
    spec = config.chain_spec()
    return [
        ShardStore(directory / f"shards-{i}.sqlite", spec) for i in range(config.validators_count)
    ]


def test_two_thirds_of_the_stores_lost_and_the_bundle_still_comes_back(
    tmp_path: Path,
    devnet: tuple[Path, GenesisConfig],
    validator_keys: list[ValidatorSecrets],
    reported: tuple[bytes, WorkPackageSpec, list[ValidatorShard]],
) -> None:
    _, config = devnet
    spec = config.chain_spec()
    bundle, package_spec, shards = reported
    root = package_spec.erasure_root
    stores = _stores(tmp_path, config)
    for index, store in enumerate(stores):
        store.put(root, shards[index], REPORT_SLOT)
        assert store.get(root, index) == shards[index]
        assert store.indices(root) == [index]
        store.close()
    # Drop the stores of validators 0..3, two thirds of six, among them both data shards.
    dropped = 2 * config.validators_count // 3
    for index in range(dropped):
        (tmp_path / f"shards-{index}.sqlite").unlink()
    survivors = {
        index: ShardStore(tmp_path / f"shards-{index}.sqlite", spec)
        for index in range(dropped, config.validators_count)
    }
    held = {index: store.get(root, index) for index, store in survivors.items()}
    recovered = reconstruct_bundle(held, root, package_spec.length, spec)
    assert recovered == bundle
    assert decode_bundle(recovered).package.items[0].service == 1

    # Each survivor assures core 0 (pool), where the report is pending; core 1 is idle.
    pending = [root, None]
    assurances = []
    for index, store in survivors.items():
        cores = store.held_cores(pending, index)
        assert cores == [0]
        key = validator_keys[index].signing_key
        assurances.append(make_assurance(PARENT, cores, index, key, spec))
        store.close()
    kappa = config.safrole_state().active_validators
    assert check_assurances(assurances, PARENT, kappa, [True, False]) == [len(survivors), 0]

    forged = dataclasses.replace(assurances[0], bitfield=bytes([0]))
    with pytest.raises(BadSignature):
        check_assurances([forged, *assurances[1:]], PARENT, kappa, [True, False])
    stolen = make_assurance(PARENT, [0], dropped, validator_keys[0].signing_key, spec)
    with pytest.raises(BadSignature):
        check_assurances([stolen], PARENT, kappa, [True, False])


def test_bad_shards_are_refused_and_writes_are_all_or_nothing(
    tmp_path: Path,
    devnet: tuple[Path, GenesisConfig],
    reported: tuple[bytes, WorkPackageSpec, list[ValidatorShard]],
) -> None:
    _, config = devnet
    _, package_spec, shards = reported
    root = package_spec.erasure_root
    with ShardStore(tmp_path / "shards.sqlite", config.chain_spec()) as store:
        forged = dataclasses.replace(shards[2], bundle_shard=bytes(len(shards[2].bundle_shard)))
        for bad_root, bad_shard, slot in (
            (root, forged, REPORT_SLOT),
            (root, shards[2], -1),
            (root[:31], shards[2], REPORT_SLOT),
            (blake2b_256(b"another package"), shards[2], REPORT_SLOT),
            (root, dataclasses.replace(shards[2], index=6), REPORT_SLOT),
            (root, b"not a shard", REPORT_SLOT),
        ):
            with pytest.raises(ShardStoreError):
                store.put(bad_root, bad_shard, slot)  # type: ignore[arg-type]
        with pytest.raises(ShardStoreError):
            store.put_many(root, [shards[0], forged, shards[3]], REPORT_SLOT)
        assert store.indices(root) == []
        store.put_many(root, shards, REPORT_SLOT)
        assert store.indices(root) == list(range(config.validators_count))
        with pytest.raises(ShardStoreError):
            store.get(root, config.validators_count)


def test_prune_drops_timed_out_reports_only(
    tmp_path: Path,
    devnet: tuple[Path, GenesisConfig],
    reported: tuple[bytes, WorkPackageSpec, list[ValidatorShard]],
) -> None:
    _, config = devnet
    spec = config.chain_spec()
    _, package_spec, shards = reported
    root = package_spec.erasure_root
    timeout = REPORT_SLOT + spec.assurance_timeout_period  # eq. 11.17: H_t >= slot + U
    with ShardStore(tmp_path / "shards.sqlite", spec) as store:
        store.put(root, shards[0], REPORT_SLOT)
        assert store.prune(timeout - 1) == 0
        assert store.prune(timeout, keep=[root]) == 0
        assert store.prune(timeout) == 1
        assert store.get(root, 0) is None
        store.put(root, shards[0], REPORT_SLOT)
        store.put(root, shards[0], REPORT_SLOT + 3)  # re-reported later: kept longer
        assert store.prune(timeout) == 0
        assert store.prune(timeout + 3) == 1


def test_make_assurance_refuses_bad_input(
    devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> None:
    _, config = devnet
    spec = config.chain_spec()
    key = validator_keys[0].signing_key
    assurance = make_assurance(PARENT, [1], 0, key, spec)
    assert assurance.bitfield == bytes([0b10]) and assurance.anchor == PARENT
    for parent, cores, index, signer in (
        (PARENT, [spec.cores_count], 0, key),
        (PARENT, [-1], 0, key),
        (PARENT, [0], spec.validators_count, key),
        (PARENT[:8], [0], 0, key),
        (PARENT, [0], 0, b"seed"),
    ):
        with pytest.raises(ShardStoreError):
            make_assurance(parent, cores, index, signer, spec)  # type: ignore[arg-type]
