"""Block import on jamcore's path against a large pool: the cost of a block must not grow
with the pool.

For each pool size (10k, 100k and 1M live notes) the devnet genesis sigma_0 gets the pool
service with a pool built directly in its storage items (`node_pool.grow_pool`: one epoch
subtree of dummy notes, a tenth as many revealed nullifiers, 64 notes of a bench key).
64 transfers spending those notes are proved (in worker processes); six in-process
`JamValidator`s (each its own copy of the store) carry them through the pipeline: a
guarantee of one package in block N, assurances in block N+1, which accumulates it. A
seventh store (a copy of the genesis) then imports those blocks as a validator does:

* `node.jam_block_import_ms.<size>`: import of the block that accumulates the 64 transfers
  (assurances, the pool's Psi_A reading lazily and writing its items, the state trie);
* `node.jam_guarantee_import_ms.<size>`: import of the block carrying their guarantee;
* `node.jam_block_write_bytes.<size>`: octets of state items the accumulating block wrote.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench import Figure
from bench.node_pool import (
    SIZES,
    TRANSFERS,
    VALIDATORS,
    WORKERS,
    grow_pool,
    load_keys,
    prove_transfer,
)
from shielded.circuits.artifacts import load_verifying
from shielded.circuits.spend import SpendVerifier
from shielded.native_pool import (
    NATIVE_POOL_CODE,
    NATIVE_POOL_CODE_HASH,
    NativePool,
    genesis_items,
)
from shielded.node import devnet
from shielded.node.genesis import GenesisConfig, load_validator_secrets
from shielded.node.jam_devnet import (
    POOL_BALANCE,
    POOL_FREE_GAS,
    POOL_MIN_ITEM_GAS,
    POOL_MIN_MEMO_GAS,
)
from shielded.node.jam_genesis import GenesisService, genesis_state
from shielded.node.jam_validator import JamValidator
from shielded.node.shards import ShardStore
from shielded.node.storage import ChainStore
from shielded.pool_storage import PoolStorage
from shielded.service import PoolConfig
from tests.shielded.node.test_jam_validator import Bus, outcome

POOL = 1


def figures() -> Iterator[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-node-jam-") as temporary:
        scratch = Path(temporary)
        directory = scratch / "devnet"
        config = devnet.init(directory, VALIDATORS, 1.0, devnet.free_base_port(2 * VALIDATORS))
        with ProcessPoolExecutor(
            WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=load_keys,
            initargs=(str(directory), config.vk_hash, config.chain_id),
        ) as provers:
            for label, size in SIZES.items():
                yield from _size_figures(provers, directory, config, scratch / label, label, size)


def _size_figures(
    provers: ProcessPoolExecutor,
    directory: Path,
    config: GenesisConfig,
    scratch: Path,
    label: str,
    size: int,
) -> Iterator[Figure]:
    scratch.mkdir()
    spec = config.chain_spec()
    pool_config = PoolConfig(chain_id=bytes.fromhex(config.chain_id))
    entropy = config.safrole_state().entropy[0]
    items = genesis_items(pool_config, config.balances(), entropy)
    storage = PoolStorage.load(pool_config, items.get)
    jobs = grow_pool(storage, size)
    items = {key: value for key, value in storage.all_items().items() if value}
    service = GenesisService(
        POOL, NATIVE_POOL_CODE, POOL_BALANCE, items, POOL_MIN_ITEM_GAS, POOL_MIN_MEMO_GAS
    )
    genesis = genesis_state(config, [service], always_accumulate={POOL: POOL_FREE_GAS})
    verifying = load_verifying(directory / "circuit", config.vk_hash)

    def natives() -> dict[bytes, NativePool]:
        return {NATIVE_POOL_CODE_HASH: NativePool(pool_config, SpendVerifier(verifying), spec)}

    def validator(index: int, name: str, copy: bool = True) -> JamValidator:
        path = scratch / f"{name}.sqlite"
        if copy:
            shutil.copyfile(seed, path)
        return JamValidator(
            index,
            load_validator_secrets(directory, index),
            config,
            ChainStore(path),
            natives(),
            genesis=genesis,
            shards=ShardStore(scratch / f"{name}.shards.sqlite", spec),
            pool_service=POOL,
        )

    # One genesis store, copied for every validator and the importer (seeding is slow).
    seed = scratch / "genesis.sqlite"
    validator(0, "genesis", copy=False).store.close()
    validators = [validator(index, f"chain-{index}") for index in range(VALIDATORS)]
    transactions = list(provers.map(prove_transfer, jobs))
    bus = Bus(validators)
    for transaction in transactions:
        bus.submit(0, transaction)
    accumulated_at = None
    for slot in range(1, spec.epoch_length):
        bus.slot(slot)
        if len(outcome(validators[0]).accepted) == TRANSFERS:
            accumulated_at = slot
            break
    if accumulated_at is None:
        raise RuntimeError(f"the {TRANSFERS} transfers were not accumulated")
    blocks = validators[0].store.canonical_range(1, 1_000)
    importer = validator(1, "importer")
    importer.head_root()  # the trie is built at start-up, not per block
    timings: dict[int, float] = {}
    for stored in blocks:
        began = time.perf_counter()
        importer.import_block(stored.block)
        timings[stored.slot] = 1000 * (time.perf_counter() - began)
    guarantee_slot = max(
        s.slot
        for s in blocks
        if s.slot < accumulated_at and importer.chain.decode(s.block).extrinsic.guarantees
    )
    store = importer.store
    accumulating = next(s.hash for s in blocks if s.slot == accumulated_at)
    written = sum(
        len(bytes(row[0])) + len(store.get(bytes(row[0])) or b"")
        for row in store.db.execute("SELECT key FROM undo WHERE block = ?", (accumulating,))
    )
    yield Figure(
        f"node.jam_block_import_ms.{label}",
        timings[accumulated_at],
        f"ms (accumulating {TRANSFERS} transfers, {size:,} live notes)",
    )
    yield Figure(
        f"node.jam_guarantee_import_ms.{label}",
        timings[guarantee_slot],
        f"ms (the block guaranteeing them, {size:,} live notes)",
    )
    yield Figure(
        f"node.jam_block_write_bytes.{label}", written, "octets of state items written"
    )
    for validator in (*validators, importer):
        validator.store.close()
