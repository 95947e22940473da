"""The devnet's genesis as a graypaper state, and jamcore's block importer on it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from jamcore.block import (
    Block,
    DisputesExtrinsic,
    Extrinsic,
    encode_unsigned_header,
    header_hash,
)
from jamcore.codec import Variant
from jamcore.conformance.trace import read_genesis
from jamcore.crypto.hashing import blake2b_256
from jamcore.errors import JamError
from jamcore.pvm.host_calls.refine import lookup_historical, split_metadata
from jamcore.pvm.invocations.is_authorized import authorization_code, is_authorized
from jamcore.safrole.authoring import slot_author
from jamcore.safrole.sealing import make_seal
from jamcore.spec import TINY, ChainSpec
from jamcore.state.keys import storage_key
from jamcore.state.state import State, state_from_keyvals, state_to_keyvals
from jamcore.stf.block import import_block, root_of, safrole_state
from jamcore.stf.header import BadEpochMark, BadParent, BadParentStateRoot, BadSeal
from jamcore.work.package import RefineContext, WorkItem, WorkPackage
from shielded.node.genesis import GenesisConfig, GenesisError, ValidatorSecrets, genesis_hash
from shielded.node.jam_authoring import seal_block
from shielded.node.jam_genesis import (
    GenesisService,
    authorizer_code_hash,
    authorizer_hash,
    authorizer_preimage,
    genesis_state,
    native_code,
    native_code_hash,
)

POOL, FINALITY = 1, 2
POOL_STORAGE = {b"config": b"\x01" * 40, b"root": bytes(32)}
SERVICES = (
    GenesisService(POOL, native_code("pool/v1"), 10**12, POOL_STORAGE, 1_000, 100),
    GenesisService(FINALITY, native_code("finality/v1"), 10**12, {}, 1_000, 100),
)
EMPTY = Extrinsic((), (), (), (), DisputesExtrinsic((), (), ()))
TRACES = Path(os.environ.get("JAM_TEST_VECTORS", "../shared/jamtestvectors")) / "traces"


@pytest.fixture(scope="module")
def genesis(devnet: tuple[Path, GenesisConfig]) -> State:
    return genesis_state(devnet[1], SERVICES)


def author(
    state: State,
    parent: bytes,
    slot: int,
    keys: list[ValidatorSecrets],
    spec: ChainSpec,
    body: Extrinsic = EMPTY,
) -> Block:
    """A block for `slot` on `state` sealed by the slot's sealer among `keys`
    (`shielded.node.jam_authoring.seal_block`, eq. 6.15-6.17, 6.27-6.28)."""
    found = slot_author(safrole_state(state), slot, [key.bandersnatch_secret for key in keys], spec)
    assert found is not None, f"no validator may seal slot {slot}"
    secret = keys[found[0]].bandersnatch_secret
    block = seal_block(state, parent, root_of(state, spec), slot, secret, body, spec)
    assert block is not None
    return block


def reseal(block: Block, keys: list[ValidatorSecrets], spec: ChainSpec, state: State) -> Block:
    """`block` with its header's seal remade by its author (after editing the header)."""
    prior = safrole_state(state)
    found = slot_author(prior, block.header.slot, [k.bandersnatch_secret for k in keys], spec)
    assert found is not None
    position, claim = found
    unsealed = encode_unsigned_header(block.header, spec)
    seal = make_seal(keys[position].bandersnatch_secret, claim.sealer, unsealed)
    return replace(block, header=replace(block.header, seal=seal))


# -- the genesis state -----------------------------------------------------------------------


def test_genesis_state_round_trips_through_its_serialization(
    devnet: tuple[Path, GenesisConfig], genesis: State
) -> None:
    spec = devnet[1].chain_spec()
    keyvals = state_to_keyvals(genesis, spec)
    decoded = state_from_keyvals(keyvals, spec)
    assert decoded == genesis
    assert state_to_keyvals(decoded, spec) == keyvals
    assert len(root_of(genesis, spec)) == 32


def test_genesis_safrole_is_the_devnets(
    devnet: tuple[Path, GenesisConfig], genesis: State
) -> None:
    config = devnet[1]
    assert safrole_state(genesis) == config.safrole_state()
    ed25519 = [key.ed25519 for key in genesis.current_validators]
    assert ed25519 == config.validator_keys()
    assert genesis.slot == 0
    assert genesis.recent_blocks.history[0].header_hash == genesis_hash(config)
    assert genesis.recent_blocks.history[0].state_root == bytes(32)
    assert genesis.recent_blocks.mmr.peaks == ()


def test_genesis_mirrors_the_traces_genesis_layout(
    devnet: tuple[Path, GenesisConfig], genesis: State
) -> None:
    """Each component has the shape the w3f traces' genesis.bin gives it."""
    path = TRACES / "fallback" / "genesis.bin"
    if not path.is_file():
        pytest.skip("no jam test vectors")
    trace = state_from_keyvals(read_genesis(path.read_bytes(), TINY).state.keyvals, TINY)
    spec = devnet[1].chain_spec()
    for state in (trace, genesis):
        assert len(state.recent_blocks.history) == 1
        entry = state.recent_blocks.history[0]
        assert (entry.beefy_root, entry.state_root, entry.reported) == (bytes(32), bytes(32), ())
        assert state.recent_blocks.mmr.peaks == ()
        assert all(len(pool) == spec.auth_pool_size for pool in state.auth_pools)
        assert all(len(queue) == spec.auth_queue_size for queue in state.auth_queues)
        assert len({h for pool in state.auth_pools for h in pool}) == 1
        assert state.previous_validators == state.current_validators == state.next_validators
        assert state.gamma_k == state.current_validators and state.gamma_a == ()
        assert state.statistics.services == {} and state.accumulation_outputs == ()
        assert state.privileges.always_acc == {}
    # The trace's null authorizer hash is H(H(preimage) ++ config) with an empty config.
    host = trace.services[0]
    blobs = [value for value in host.entries.values() if len(value) > 5]
    assert trace.auth_pools[0][0] in {blake2b_256(blake2b_256(blob)) for blob in blobs}


def test_service_accounts_hold_code_storage_and_footprint(genesis: State) -> None:
    pool = genesis.services[POOL]
    assert pool.info is not None
    assert pool.info.code_hash == native_code_hash("pool/v1")
    code = lookup_historical(pool, POOL, 0, pool.info.code_hash)
    assert code == native_code("pool/v1") and split_metadata(code) == b""
    assert pool.entries[storage_key(POOL, b"root")] == bytes(32)
    # Eq. 9.8: two items and 81 + z octets per preimage, one item and 34 + |k| + |v| per
    # storage entry; the pool also hosts the authorizer.
    preimages = [native_code("pool/v1"), authorizer_preimage()]
    assert pool.info.items == 2 * len(preimages) + len(POOL_STORAGE)
    assert pool.info.bytes == sum(81 + len(p) for p in preimages) + sum(
        34 + len(k) + len(v) for k, v in POOL_STORAGE.items()
    )
    assert (pool.info.creation_slot, pool.info.last_accumulation_slot, pool.info.version) == (
        0,
        0,
        0,
    )
    finality = genesis.services[FINALITY]
    assert finality.info is not None and finality.info.items == 2
    assert finality.info.bytes == 81 + len(native_code("finality/v1"))


def test_authorizer_authorizes_every_package(
    devnet: tuple[Path, GenesisConfig], genesis: State
) -> None:
    spec = devnet[1].chain_spec()
    assert all(authorizer_hash() in pool for pool in genesis.auth_pools)
    context = RefineContext(bytes(32), bytes(32), bytes(32), bytes(32), 0, ())
    item = WorkItem(POOL, native_code_hash("pool/v1"), 1000, 1000, 0, b"payload", (), ())
    package = WorkPackage(POOL, authorizer_code_hash(), context, b"token", b"", (item,))
    assert authorization_code(package, genesis.services) is not None
    for core in range(spec.cores_count):
        outcome = is_authorized(package, core, genesis.services, spec)
        assert outcome.result == Variant("ok", b"")


def test_genesis_refuses_bad_services(devnet: tuple[Path, GenesisConfig]) -> None:
    config = devnet[1]
    with pytest.raises(GenesisError):
        genesis_state(config, ())
    with pytest.raises(GenesisError):
        genesis_state(config, (SERVICES[0], SERVICES[0]))
    with pytest.raises(GenesisError):  # a bare marker is no E(↕m, c) code preimage
        genesis_state(config, (replace(SERVICES[0], code=b"jam-shielded/native/pool"),))
    with pytest.raises(GenesisError):
        genesis_state(config, (replace(SERVICES[0], balance=0),))
    with pytest.raises(GenesisError):
        genesis_state(config, SERVICES, auth_host=7)


# -- jamcore imports the devnet's blocks -----------------------------------------------------


def test_empty_block_of_slot_one_imports(
    devnet: tuple[Path, GenesisConfig],
    validator_keys: list[ValidatorSecrets],
    genesis: State,
) -> None:
    config = devnet[1]
    spec = config.chain_spec()
    parent = genesis_hash(config)
    block = author(genesis, parent, 1, validator_keys, spec)
    posterior = import_block(genesis, block, spec)
    assert posterior.slot == 1
    history = posterior.recent_blocks.history
    assert [entry.header_hash for entry in history] == [parent, header_hash(block.header, spec)]
    assert history[0].state_root == root_of(genesis, spec)
    assert posterior.services == genesis.services
    assert posterior.statistics.vals_curr[block.header.author_index].blocks == 1


def test_chain_of_empty_blocks_across_an_epoch_boundary(
    devnet: tuple[Path, GenesisConfig],
    validator_keys: list[ValidatorSecrets],
    genesis: State,
) -> None:
    config = devnet[1]
    spec = config.chain_spec()
    state, parent = genesis, genesis_hash(config)
    length = spec.epoch_length
    # Two epoch changes: into epoch 1 at its first slot, then into epoch 3 (epoch 2 empty).
    slots = (1, 2, 5, length - 1, length, length + 2, 3 * length + 1)
    previous = 0
    for slot in slots:
        block = author(state, parent, slot, validator_keys, spec)
        new_epoch = slot // length != previous // length
        assert (block.header.epoch_mark is not None) == new_epoch
        if new_epoch:
            # Verify an epoch's first block must carry the epoch mark (eq. 6.27).
            unmarked = reseal(
                replace(block, header=replace(block.header, epoch_mark=None)),
                validator_keys,
                spec,
                state,
            )
            with pytest.raises(BadEpochMark):
                import_block(state, unmarked, spec)
        posterior = import_block(state, block, spec)
        if new_epoch:
            assert posterior.entropy[1] == state.entropy[0]  # eta rotates (eq. 6.23)
            assert posterior.previous_validators == state.current_validators
        state, parent, previous = posterior, header_hash(block.header, spec), slot
    assert state.slot == slots[-1]
    history = state.recent_blocks.history
    assert len(history) == min(1 + len(slots), spec.recent_history_size)
    assert history[-1].header_hash == parent


def test_blocks_with_a_wrong_seal_parent_or_root_are_refused(
    devnet: tuple[Path, GenesisConfig],
    validator_keys: list[ValidatorSecrets],
    genesis: State,
) -> None:
    config = devnet[1]
    spec = config.chain_spec()
    block = author(genesis, genesis_hash(config), 1, validator_keys, spec)
    forged = bytes([block.header.seal[0] ^ 1]) + block.header.seal[1:]
    with pytest.raises(BadSeal) as refused:
        import_block(genesis, replace(block, header=replace(block.header, seal=forged)), spec)
    assert isinstance(refused.value, JamError)
    # A seal by a validator that does not hold the slot.
    sealer = block.header.author_index
    other = next(k for k in validator_keys if k.index != sealer)
    prior = safrole_state(genesis)
    found = slot_author(prior, 1, [validator_keys[sealer].bandersnatch_secret], spec)
    assert found is not None
    wrong = make_seal(
        other.bandersnatch_secret, found[1].sealer, encode_unsigned_header(block.header, spec)
    )
    with pytest.raises(BadSeal) as refused:
        import_block(genesis, replace(block, header=replace(block.header, seal=wrong)), spec)
    assert isinstance(refused.value, JamError)
    orphan = replace(block, header=replace(block.header, parent=bytes(32)))
    bad_parent = reseal(orphan, validator_keys, spec, genesis)
    with pytest.raises(BadParent):
        import_block(genesis, bad_parent, spec)
    bad_root = reseal(
        replace(block, header=replace(block.header, parent_state_root=bytes(32))),
        validator_keys,
        spec,
        genesis,
    )
    with pytest.raises(BadParentStateRoot):
        import_block(genesis, bad_root, spec)
