"""Block import against a large pool: the cost of a block must not grow with the pool.

For each pool size (10k, 100k and 1M live notes) a devnet genesis store gets a pool built
directly in its state (not through proving): one epoch subtree of `size` notes (distinct
leaf objects of one dummy commitment, so the subtree's chunks are computed once per level
and the tree stays consistent), `size / 10` revealed nullifiers, and 64 real notes of a
bench key appended last. 64 transfers spending those notes are proved (in worker
processes) against the pool's anchor, one block carries them, and a second store (a copy)
imports it:

* `node.block_import_ms.<size>`: the import with every spend proof verified (cold);
  `node.block_import_warm_ms.<size>`: the same block re-imported after a rollback, the
  proofs' verdicts cached (as for a validator that refined them from its mempool), so the
  rest of import (refine, accumulate, storage writes, state root) shows; best of 2.
* `node.block_write_bytes.<size>`: octets of state items (keys and values) the block wrote.
* `node.rss_mib` / `node.pool_load_s`: a fresh process opening the 1M-note store as a
  restarted validator does (pool from its storage items, state trie from the store).
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from shielded.node.assemble import AssembledChain, assemble_chain, author_slot
from shielded.node.guarantees import POOL_SERVICE_ID
from shielded.node.pool_layer import COMPACT, POOL_BATCH, pool_state_key

from bench import Figure
from jamcore.crypto.hashing import blake2b_256
from shielded.circuits.artifacts import load_proving
from shielded.circuits.spend import SpendInput
from shielded.node import devnet
from shielded.node.genesis import GenesisConfig, load_genesis, load_validator_secrets
from shielded.node.storage import ChainStore
from shielded.notes.keys import SpendingKey
from shielded.notes.merkle_tree import MerkleTree, zero_root
from shielded.notes.note import Note, Tier
from shielded.notes.poseidon import poseidon_pair
from shielded.notes.tree import SUBTREE_DEPTH, LiveTree
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.pool_storage import PoolStorage
from shielded.service import PoolConfig, quote
from shielded.transaction import Kind, Payment, TransactionPlan, build_transaction

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
TRANSFERS = 64
VALIDATORS = 6
WORKERS = 2
NOTE_VALUE = 1_000_000
DUMMY_LEAF = 0x1234_5678_9ABC_DEF0
OWNER = SpendingKey.from_seed(blake2b_256(b"bench-node-pool/owner"))
_worker: dict[str, Any] = {}


def figures() -> Iterator[Figure]:
    with tempfile.TemporaryDirectory(prefix="bench-node-pool-") as temporary:
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
                yield from _size_figures(provers, directory, config, scratch, label, size)
        largest = max(SIZES, key=SIZES.__getitem__)
        yield from _restart_figures(directory, scratch / f"{largest}-importer.sqlite")


def _size_figures(
    provers: ProcessPoolExecutor,
    directory: Path,
    config: GenesisConfig,
    scratch: Path,
    label: str,
    size: int,
) -> Iterator[Figure]:
    author_path, importer_path = (
        scratch / f"{label}-author.sqlite",
        scratch / f"{label}-importer.sqlite",
    )
    jobs = _build_pool_store(directory, config, author_path, size)
    shutil.copyfile(author_path, importer_path)
    transactions = list(provers.map(prove_transfer, jobs))
    author, importer = (
        assemble_chain(directory, config, ChainStore(path)) for path in (author_path, importer_path)
    )
    validators = [load_validator_secrets(directory, i) for i in range(VALIDATORS)]
    slot = 1
    block = author_slot(
        author.chain, validators, slot, {POOL_SERVICE_ID: POOL_BATCH.encode(tuple(transactions))}
    )
    now = config.genesis_time + (slot + 1) * config.slot_duration
    importer.pool.head_snapshot(importer.chain.store)  # loaded at start-up, not per block
    importer.chain.head_state_root()
    cold = _timed_import(importer, block, now)
    written = _written_bytes(importer)
    warm = []
    block_hash = importer.chain.head.hash
    for _ in range(2):
        importer.chain._roll_back_to(importer.chain.store.genesis or b"")
        importer.pool.head_snapshot(importer.chain.store)  # the reload after a rollback
        importer.chain.head_state_root()
        warm.append(_timed_switch(importer, block_hash))
    yield Figure(
        f"node.block_import_ms.{label}", cold, f"ms ({TRANSFERS} transfers, {size:,} live notes)"
    )
    yield Figure(f"node.block_import_warm_ms.{label}", min(warm), "ms (proof verdicts cached)")
    yield Figure(f"node.block_write_bytes.{label}", written, "octets of state items written")
    for replica in (author, importer):
        replica.chain.store.close()


def _timed_import(replica: AssembledChain, block: bytes, now: float) -> float:
    began = time.perf_counter()
    outcome = replica.chain.import_block(block, now=now)
    elapsed = 1000 * (time.perf_counter() - began)
    if outcome.status not in ("imported", "reorg"):
        raise RuntimeError(f"benchmark block not imported: {outcome.status}")
    compact = json.loads(replica.chain.store.local(outcome.hash, COMPACT) or b"{}")
    if len(compact.get("transactions", [])) != TRANSFERS:
        raise RuntimeError(f"transfers rejected: {compact.get('rejected')}")
    return elapsed


def _timed_switch(replica: AssembledChain, block_hash: bytes) -> float:
    """Re-apply a known block (rolled back before) as the head: its import, warm."""
    began = time.perf_counter()
    outcome = replica.chain.switch_to(block_hash)
    elapsed = 1000 * (time.perf_counter() - began)
    if replica.chain.head.hash != block_hash:
        raise RuntimeError(f"benchmark block not re-applied: {outcome.status}")
    return elapsed


def _written_bytes(replica: AssembledChain) -> int:
    store = replica.chain.store
    keys = [
        bytes(row[0])
        for row in store.db.execute("SELECT key FROM undo WHERE block = ?", (store.head,))
    ]
    return sum(len(key) + len(store.get(key) or b"") for key in keys)


@functools.cache
def _full_root(level: int) -> int:
    """The root of 2^level dummy leaves."""
    return DUMMY_LEAF if level == 0 else poseidon_pair(_full_root(level - 1), _full_root(level - 1))


def _bulk_subtree(size: int) -> MerkleTree:
    """An epoch subtree of `size` dummy leaves, built from its chunks without hashing each."""

    @functools.cache
    def node(level: int, index: int) -> int:
        if (index + 1) << level <= size:
            return _full_root(level)
        if index << level >= size:
            return zero_root(level)
        return poseidon_pair(node(level - 1, 2 * index), node(level - 1, 2 * index + 1))

    probe = MerkleTree(SUBTREE_DEPTH)

    def read_chunk(chunk: tuple[int, int]) -> list[int]:
        level, index = chunk
        width = probe.width(level)
        count = min(1 << width, -(-size >> level) - (index << width))
        if level == 0:  # distinct objects, as real commitments are
            return [int.from_bytes(DUMMY_LEAF.to_bytes(32, "big"), "big") for _ in range(count)]
        return [node(level, (index << width) + k) for k in range(count)]

    return MerkleTree.restore(SUBTREE_DEPTH, size, read_chunk)


def _build_pool_store(
    directory: Path, config: GenesisConfig, path: Path, size: int
) -> list[tuple[Any, ...]]:
    """Write a pool of `size` live notes into the genesis state at `path`; returns the
    proving jobs of the transfers that spend its 64 bench notes."""
    assembled = assemble_chain(directory, config, ChainStore(path))
    store = assembled.chain.store
    storage = PoolStorage.load(PoolConfig(), lambda item: store.get(pool_state_key(item)))
    jobs = grow_pool(storage, size)
    items = storage.all_items()
    store.seed_state({pool_state_key(item): value for item, value in items.items()})
    store.close()
    return jobs


def grow_pool(storage: PoolStorage, size: int) -> list[tuple[Any, ...]]:
    """Grow the pool of `storage` in place to `size` dummy live notes (one epoch subtree),
    `size / 10` revealed nullifiers and 64 bench notes of OWNER appended last; the proving
    jobs (`prove_transfer`) of the transfers spending those notes."""
    state = storage.state
    pool_config = state.config
    live = state.trees.live
    subtrees = [live.subtree(slot) for slot in range(live.slots)]
    subtrees[0] = _bulk_subtree(size)
    live.top.update(0, subtrees[0].root)
    state.trees.live = LiveTree.from_parts(
        live.lifetime, live.epoch, live.slot_epochs(), subtrees, live.top
    )
    notes = [
        Note(NOTE_VALUE, OWNER.pk, blinding=i + 1, expiry_epoch=pool_config.lifetime)
        for i in range(TRANSFERS)
    ]
    positions = state.trees.live.append([note.commitment for note in notes])
    state.nullifiers.insert(
        RevealedNullifier(int.from_bytes(blake2b_256(b"nf%d" % i), "big") >> 8, 0)
        for i in range(size // 10)
    )
    state.pool_value += NOTE_VALUE * TRANSFERS
    anchor = state.trees.record_anchor()
    state.anchor_statistics[anchor] = state.statistics()
    fee = quote(pool_config, Kind.TRANSFER, state.statistics())
    return [
        (i, anchor, pool_config.lifetime, fee, note, state.trees.witness(position, False))
        for i, (note, position) in enumerate(zip(notes, positions, strict=True))
    ]


def load_keys(directory: str, vk_hash: str, chain_id: str) -> None:
    _worker["chain_id"] = bytes.fromhex(chain_id)
    _worker["keys"] = load_proving(Path(directory) / "circuit", vk_hash)


def prove_transfer(job: tuple[Any, ...]) -> bytes:
    number, anchor, lifetime, fee, note, witness = job
    payee = SpendingKey.from_seed(blake2b_256(b"bench-node-pool/payee%d" % number))
    plan = TransactionPlan(
        anchor=anchor,
        epoch=0,
        lifetime=lifetime,
        change_key=OWNER,
        chain_id=_worker["chain_id"],
        spends=(SpendInput(note, OWNER.ask, OWNER.nk, witness),),
        payments=(Payment(payee.address, NOTE_VALUE - fee, Tier.EPHEMERAL),),
        fee=fee,
    )
    return build_transaction(_worker["keys"], plan).encode()


def _restart_figures(directory: Path, store_path: Path) -> Iterator[Figure]:
    """RSS and load time of a fresh process opening the 1M-note store."""
    output = subprocess.run(
        [sys.executable, "-m", "bench.node_pool", str(directory), str(store_path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    measured = json.loads(output.strip().splitlines()[-1])
    yield Figure("node.rss_mib", measured["rss_mib"], "MiB (validator process, 1M live notes)")
    yield Figure("node.pool_load_s", measured["load_s"], "s (pool and state trie from the store)")


def _open_store(directory: Path, store_path: Path) -> dict[str, float]:
    began = time.perf_counter()
    config = load_genesis(directory)
    replica = assemble_chain(directory, config, ChainStore(store_path))
    replica.pool.head_snapshot(replica.chain.store)
    replica.chain.head_state_root()
    load_s = time.perf_counter() - began
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rss_mib": rss_mib, "load_s": load_s}


if __name__ == "__main__":
    print(json.dumps(_open_store(Path(sys.argv[1]), Path(sys.argv[2]))))
