"""A large pool built directly in state, for the jam-path benchmarks (`bench.node_jam`).

`grow_pool` turns a genesis pool into one of `size` live notes without proving anything:
one epoch subtree of `size` dummy leaves (distinct leaf objects of one dummy commitment, so
the subtree's chunks are computed once per level and the tree stays consistent),
`size / 10` revealed nullifiers, and 64 real notes of a bench key (OWNER) appended last,
whose transfers `prove_transfer` proves in worker processes (`load_keys` is their
initializer). `pool_genesis` puts such a pool into sigma_0 as the devnet's pool service;
`open_validator` opens a `JamValidator` on a store as `shielded.node.jam_node` does.

Run as `python -m bench._pool_fixture DEVNET STORE BLOCK` it is a restarted validator
process: it opens STORE as a validator starting up does (the graypaper state from the
store, the state trie, the pool view and its snapshot), imports the block in the file BLOCK
and prints one JSON line: peak RSS (MiB, `peak_rss_mib`), load seconds and the import's
milliseconds. The module's name starts with `_`, so `python -m bench` does not take it for
a benchmark.
"""

from __future__ import annotations

import functools
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from jamcore.crypto.hashing import blake2b_256
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from shielded.circuits.artifacts import load_proving, load_verifying
from shielded.circuits.spend import SpendInput, SpendVerifier
from shielded.native_pool import (
    NATIVE_POOL_CODE,
    NATIVE_POOL_CODE_HASH,
    OUTCOME,
    OUTCOME_KEY,
    NativePool,
    PoolOutcome,
    genesis_items,
)
from shielded.node.genesis import GenesisConfig, load_genesis, load_validator_secrets
from shielded.node.jam_devnet import (
    POOL_BALANCE,
    POOL_FREE_GAS,
    POOL_MIN_ITEM_GAS,
    POOL_MIN_MEMO_GAS,
)
from shielded.node.jam_genesis import GenesisService, genesis_state
from shielded.node.jam_pool_view import JamPoolView
from shielded.node.jam_validator import JamValidator
from shielded.node.shards import ShardStore
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
"""Pool sizes (live notes) by the label the figures carry."""
TRANSFERS = 64
"""Transfers of the benchmark block: a full package."""
VALIDATORS = 6
WORKERS = 2
POOL = 1
"""The pool's service id (as on the devnet, `jam_devnet.POOL_SERVICE_ID`)."""
RESTARTED = 1
"""The validator index the restarted process runs as."""
NOTE_VALUE = 1_000_000
DUMMY_LEAF = 0x1234_5678_9ABC_DEF0
OWNER = SpendingKey.from_seed(blake2b_256(b"bench-node-pool/owner"))
_worker: dict[str, Any] = {}


# --- the pool --------------------------------------------------------------------------


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


def pool_config_of(config: GenesisConfig) -> PoolConfig:
    """The devnet's pool configuration: the defaults, bound to the devnet's chain id."""
    return PoolConfig(chain_id=bytes.fromhex(config.chain_id))


def pool_genesis(config: GenesisConfig, size: int | None) -> tuple[State, list[tuple[Any, ...]]]:
    """sigma_0 with the pool as service POOL (in chi_Z, as on the devnet), its storage
    items those of a pool grown to `size` live notes (`grow_pool`), or the devnet's empty
    genesis pool for None; and the proving jobs of the 64 transfers (none for None)."""
    pool_config = pool_config_of(config)
    entropy = config.safrole_state().entropy[0]
    items = genesis_items(pool_config, config.balances(), entropy)
    jobs: list[tuple[Any, ...]] = []
    if size is not None:
        storage = PoolStorage.load(pool_config, items.get)
        jobs = grow_pool(storage, size)
        items = {key: value for key, value in storage.all_items().items() if value}
    service = GenesisService(
        POOL, NATIVE_POOL_CODE, POOL_BALANCE, items, POOL_MIN_ITEM_GAS, POOL_MIN_MEMO_GAS
    )
    return genesis_state(config, [service], always_accumulate={POOL: POOL_FREE_GAS}), jobs


def natives(directory: Path, config: GenesisConfig) -> dict[bytes, NativePool]:
    """The native pool a validator runs (its spend verifier from the devnet's circuit)."""
    verifying = load_verifying(directory / "circuit", config.vk_hash)
    spec = config.chain_spec()
    pool = NativePool(pool_config_of(config), SpendVerifier(verifying), spec)
    return {NATIVE_POOL_CODE_HASH: pool}


def open_validator(
    directory: Path, config: GenesisConfig, genesis: State, index: int, path: Path
) -> JamValidator:
    """Validator `index` on the chain store at `path` (initialised with `genesis` if new)
    and a shard store beside it, as `jam_node.JamNode` opens them."""
    return JamValidator(
        index,
        load_validator_secrets(directory, index),
        config,
        ChainStore(path),
        natives(directory, config),
        genesis=genesis,
        shards=ShardStore(path.with_suffix(".shards.sqlite"), config.chain_spec()),
        pool_service=POOL,
    )


def pool_outcome(validator: JamValidator) -> PoolOutcome:
    """The pool's outcome item at the validator's head (what its last accumulate did)."""
    entries = validator.head_state().services[POOL].entries
    return OUTCOME.decode(entries[storage_key(POOL, OUTCOME_KEY)])


# --- proving workers ---------------------------------------------------------------------


def load_keys(directory: str, vk_hash: str, chain_id: str) -> None:
    """Worker initializer: load the devnet's proving key; transactions for `chain_id`."""
    _worker["keys"] = load_proving(Path(directory) / "circuit", vk_hash)
    _worker["chain_id"] = bytes.fromhex(chain_id)


def prove_transfer(job: tuple[Any, ...]) -> bytes:
    """A fee-paying transfer of one bench note (a `grow_pool` job) to a fresh key, for
    epoch 0; encoded."""
    number, anchor, lifetime, fee, note, witness = job
    payee = SpendingKey.from_seed(blake2b_256(b"bench-node-pool/payee%d" % number))
    plan = TransactionPlan(
        chain_id=_worker["chain_id"],
        anchor=anchor,
        epoch=0,
        lifetime=lifetime,
        change_key=OWNER,
        spends=(SpendInput(note, OWNER.ask, OWNER.nk, witness),),
        payments=(Payment(payee.address, NOTE_VALUE - fee, Tier.EPHEMERAL),),
        fee=fee,
    )
    return build_transaction(_worker["keys"], plan).encode()


# --- a restarted validator -----------------------------------------------------------


def restart_and_import(directory: Path, store_path: Path, block_path: Path) -> dict[str, float]:
    """In this (fresh) process: open the store at `store_path` as validator RESTARTED
    starting up (genesis config and the devnet's genesis state as `jam_node` derives them,
    the head state and trie, the pool view and its snapshot of the head's pool), then
    import the block in `block_path`. Peak RSS in MiB, load seconds, import milliseconds
    and how many transactions the pool accepted in the block."""
    began = time.perf_counter()
    config = load_genesis(directory)
    genesis, _ = pool_genesis(config, None)  # sigma_0 is derived, the store already has it
    validator = open_validator(directory, config, genesis, RESTARTED, store_path)
    view = JamPoolView(validator.chain, pool_config_of(config), POOL)
    validator.head_root()
    view.snapshot()
    load_s = time.perf_counter() - began
    block = block_path.read_bytes()
    began = time.perf_counter()
    result = validator.import_block(block)
    import_ms = 1000 * (time.perf_counter() - began)
    if result.status != "imported":
        raise RuntimeError(f"the block was not imported: {result.status}")
    accepted = len(pool_outcome(validator).accepted)
    view.snapshot()  # the new head's pool, as the RPC reads it
    validator.store.close()
    validator.shards.close()
    return {
        "rss_mib": peak_rss_mib(),
        "load_s": load_s,
        "import_ms": import_ms,
        "accepted": accepted,
    }


def peak_rss_mib() -> float:
    """This process's peak resident set in MiB: VmHWM of /proc/self/status where there is
    one. Not ru_maxrss: on Linux a process started by fork (or vfork) and exec inherits in
    ru_maxrss the peak RSS of the parent's memory it was forked from, so a small process
    started by a large one (the benchmark) would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    print(json.dumps(restart_and_import(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))))
