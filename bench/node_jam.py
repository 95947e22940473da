"""Block import on the validator program (jamcore's graypaper importer) against a large
pool: the cost of a block must not grow with the pool.

For each pool size (10k, 100k and 1M live notes) the devnet genesis sigma_0 gets the pool
service with a pool built directly in its storage items (`_pool_fixture.grow_pool`: one
epoch subtree of dummy notes, a tenth as many revealed nullifiers, 64 notes of a bench
key; nothing is proved for them). 64 transfers spending those notes are proved (in worker
processes); six in-process `JamValidator`s (each its own copy of the store) carry them
through the pipeline: a guarantee of one package in block N, assurances in block N+1,
which accumulates it; then EMPTY_BLOCKS empty blocks follow. IMPORT_PASSES more stores
(copies of the genesis, each with its state trie built first as at start-up and the pool
view that writes each block's compact block as `jam_node` does) then import those blocks
as a validator does; each block's figure is the fastest of those imports:

* `node.block_import_ms.<size>`: import of the block that accumulates the 64 transfers
  (the assurances, the pool's Psi_A reading lazily and writing its items, the compact
  block, the state trie). No spend proof is verified at import on this path: the pool's
  refine, run by the guarantors, verified them;
* `node.guarantee_import_ms.<size>`: import of the block carrying their guarantee (the
  report's credentials and context);
* `node.block_import_empty_ms.<size>`: median import of the empty blocks after them (the
  pool still accumulates each block: chi_Z);
* `node.block_write_bytes.<size>`: octets of state items (keys and values) the
  accumulating block wrote.

With the largest pool, `node.rss_mib` and `node.pool_load_s`: a fresh process
(`python -m bench._pool_fixture`) opens a copy of the store as it was before the
accumulating block, as a validator starting up does (the head state, the state trie, the
pool view and its snapshot of the pool), then imports that block: its peak RSS (VmHWM)
and the seconds of opening.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench import Figure
from bench._pool_fixture import (
    POOL,
    SIZES,
    TRANSFERS,
    VALIDATORS,
    WORKERS,
    load_keys,
    open_validator,
    pool_config_of,
    pool_genesis,
    pool_outcome,
    prove_transfer,
)
from jamcore.state.state import State
from shielded.node import devnet
from shielded.node.genesis import GenesisConfig
from shielded.node.jam_chain import JamChain
from shielded.node.jam_pool_view import JamPoolView
from shielded.node.jam_validator import JamValidator
from shielded.node.storage import StoredBlock
from tests.shielded.node.test_jam_validator import Bus

EMPTY_BLOCKS = 4
"""Empty blocks after the accumulating one, for node.block_import_empty_ms."""
IMPORT_PASSES = 3
"""Importers (each a fresh copy of the genesis store) that import the blocks; each block's
figure is the fastest of them (a shared machine's noise only ever adds time)."""


def figures() -> Iterator[Figure]:
    """The import figures at each pool size, then the restart figures at the largest."""
    with tempfile.TemporaryDirectory(prefix="bench-node-jam-") as temporary:
        scratch = Path(temporary)
        directory = scratch / "devnet"
        config = devnet.init(directory, VALIDATORS, 1.0, devnet.free_base_port(2 * VALIDATORS))
        largest = max(SIZES, key=SIZES.__getitem__)
        with ProcessPoolExecutor(
            WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=load_keys,
            initargs=(str(directory), config.vk_hash, config.chain_id),
        ) as provers:
            for label, size in SIZES.items():
                yield from _size_figures(
                    provers, directory, config, scratch / label, label, size, label == largest
                )


def _copy(seed: Path, path: Path) -> Path:
    """`path`, a copy of the store file `seed`."""
    shutil.copyfile(seed, path)
    return path


def _close(validator: JamValidator) -> None:
    """Close a validator's chain and shard stores."""
    validator.store.close()
    validator.shards.close()


def _size_figures(
    provers: ProcessPoolExecutor,
    directory: Path,
    config: GenesisConfig,
    scratch: Path,
    label: str,
    size: int,
    restart: bool,
) -> Iterator[Figure]:
    """The figures of one pool size (module docstring), in `scratch`; with `restart`, the
    restarted validator's too."""
    scratch.mkdir()
    spec = config.chain_spec()
    began = time.perf_counter()
    genesis, jobs = pool_genesis(config, size)

    def validator(index: int, name: str) -> JamValidator:
        return open_validator(directory, config, genesis, index, _copy(seed, scratch / name))

    # One genesis store, copied for every validator and the importer (seeding is slow).
    seed = scratch / "genesis.sqlite"
    _close(open_validator(directory, config, genesis, 0, seed))
    print(
        f"bench node_jam: {label} pool genesis in {time.perf_counter() - began:.0f} s, "
        f"{seed.stat().st_size / 2**20:.0f} MiB store",
        file=sys.stderr,
    )
    validators = [validator(index, f"chain-{index}.sqlite") for index in range(VALIDATORS)]
    transactions = list(provers.map(prove_transfer, jobs))
    bus = Bus(validators)
    for transaction in transactions:
        bus.submit(0, transaction)
    accumulated_at = None
    for slot in range(1, spec.epoch_length):
        bus.slot(slot)
        if len(pool_outcome(validators[0]).accepted) == TRANSFERS:
            accumulated_at = slot
            break
    if accumulated_at is None or accumulated_at + EMPTY_BLOCKS >= spec.epoch_length:
        raise RuntimeError(f"the {TRANSFERS} transfers were not accumulated in time")
    for slot in range(accumulated_at + 1, accumulated_at + 1 + EMPTY_BLOCKS):
        bus.slot(slot)  # empty blocks, in the same epoch (no epoch turn)
    blocks = validators[0].store.canonical_range(1, 1_000)
    for chain in validators:
        _close(chain)

    accumulating = next(s for s in blocks if s.slot == accumulated_at)
    passes = [
        _import_pass(validator(1, f"importer-{n}.sqlite"), blocks, accumulating)
        for n in range(IMPORT_PASSES)
    ]
    timings = {s.slot: min(p[0][s.slot] for p in passes) for s in blocks}
    written = passes[-1][1]
    extrinsics = {s.slot: passes[-1][2].decode(s.block).extrinsic for s in blocks}
    guarantee_slot = max(
        slot for slot, e in extrinsics.items() if slot < accumulated_at and e.guarantees
    )
    empty = [
        timings[slot]
        for slot, e in extrinsics.items()
        if slot > accumulated_at and not (e.guarantees or e.assurances or e.preimages)
    ]
    yield Figure(
        f"node.block_import_ms.{label}",
        timings[accumulated_at],
        f"ms (accumulating {TRANSFERS} transfers, {size:,} live notes, best of {IMPORT_PASSES})",
    )
    yield Figure(
        f"node.guarantee_import_ms.{label}",
        timings[guarantee_slot],
        f"ms (the block guaranteeing them, {size:,} live notes, best of {IMPORT_PASSES})",
    )
    yield Figure(
        f"node.block_import_empty_ms.{label}",
        statistics.median(empty),
        f"ms (empty block, median of {len(empty)} each best of {IMPORT_PASSES}, {size:,} notes)",
    )
    yield Figure(f"node.block_write_bytes.{label}", written, "octets of state items written")
    if restart:
        yield from _restart_figures(directory, config, genesis, seed, blocks, accumulating, size)


def _import_pass(
    importer: JamValidator, blocks: list[StoredBlock], accumulating: StoredBlock
) -> tuple[dict[int, float], int, JamChain]:
    """Import `blocks` in order on `importer` (fresh, on the genesis): the milliseconds of
    each by slot, the octets of state items (keys and values) the accumulating block wrote,
    and the importer's chain (closed)."""
    # compact blocks, as jam_node writes them
    JamPoolView(importer.chain, pool_config_of(importer.config), POOL)
    importer.head_root()  # the trie is built at start-up, not per block
    timings: dict[int, float] = {}
    for stored in blocks:
        began = time.perf_counter()
        result = importer.import_block(stored.block)
        timings[stored.slot] = 1000 * (time.perf_counter() - began)
        if result.status != "imported":
            raise RuntimeError(f"block {stored.slot} not imported: {result.status}")
        if stored is accumulating and len(pool_outcome(importer).accepted) != TRANSFERS:
            raise RuntimeError("the importer's pool did not accept the transfers")
    store = importer.store
    written = sum(
        len(bytes(row[0])) + len(store.get(bytes(row[0])) or b"")
        for row in store.db.execute("SELECT key FROM undo WHERE block = ?", (accumulating.hash,))
    )
    _close(importer)
    return timings, written, importer.chain


def _restart_figures(
    directory: Path,
    config: GenesisConfig,
    genesis: State,
    seed: Path,
    blocks: list[StoredBlock],
    accumulating: StoredBlock,
    size: int,
) -> Iterator[Figure]:
    """RSS and opening time of a fresh validator process on the store as it was before
    the accumulating block, which it then imports."""
    path = _copy(seed, seed.with_name("restarted.sqlite"))
    before = open_validator(directory, config, genesis, 1, path)
    JamPoolView(before.chain, pool_config_of(config), POOL)
    for stored in blocks:
        if stored.slot >= accumulating.slot:
            break
        before.import_block(stored.block)
    _close(before)
    block_path = seed.with_name("accumulating.block")
    block_path.write_bytes(accumulating.block)
    output = subprocess.run(
        [sys.executable, "-m", "bench._pool_fixture", str(directory), str(path), str(block_path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    measured = json.loads(output.strip().splitlines()[-1])
    if measured["accepted"] != TRANSFERS:
        raise RuntimeError(f"the restarted validator accepted {measured['accepted']} transfers")
    print(
        f"bench node_jam: the restarted validator imported the block in "
        f"{measured['import_ms']:.0f} ms",
        file=sys.stderr,
    )
    yield Figure(
        "node.rss_mib",
        measured["rss_mib"],
        f"MiB (peak, fresh validator process: {size:,} live notes, one block imported)",
    )
    yield Figure(
        "node.pool_load_s",
        measured["load_s"],
        f"s (opening the store of {size:,} live notes: state, trie, pool snapshot)",
    )
