"""The graypaper state in the node's store: loaded lazily, advanced by jamcore's importer,
written back as the block's changes only."""

from __future__ import annotations

from pathlib import Path

from jamcore.block import block_codecs, header_hash
from jamcore.state.delta import state_changes
from jamcore.state.keys import storage_key
from jamcore.state.merklization import state_root
from jamcore.state.overlay import changes_from, with_changes
from jamcore.state.state import state_to_keyvals
from jamcore.state.trie import StateTrie
from jamcore.stf.block import import_block
from shielded.node.genesis import GenesisConfig, ValidatorSecrets, genesis_hash
from shielded.node.jam_genesis import genesis_state
from shielded.node.jam_state import StoredItems, load_state
from shielded.node.storage import ChainStore, data_service
from tests.shielded.node.test_jam_genesis import POOL, SERVICES, author


def test_blocks_import_on_the_stored_state_and_write_back_their_changes(
    devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets], tmp_path: Path
) -> None:
    config = devnet[1]
    spec = config.chain_spec()
    codecs = block_codecs(spec)
    genesis = genesis_state(config, SERVICES)
    keyvals = state_to_keyvals(genesis, spec)
    store = ChainStore(tmp_path / "jam.sqlite")
    parent = genesis_hash(config)
    store.init_genesis(parent, 0, b"genesis", keyvals)
    loaded = load_state(store, spec)
    assert state_to_keyvals(loaded, spec) == keyvals
    assert isinstance(loaded.services[POOL].entries, StoredItems)
    assert loaded.services[POOL].entries[storage_key(POOL, b"root")] == bytes(32)
    trie = StateTrie(keyvals)
    before = keyvals
    for slot in (1, 2, spec.epoch_length, spec.epoch_length + 1):
        state = load_state(store, spec)
        before = state_to_keyvals(state, spec)
        block = author(state, parent, slot, validator_keys, spec)
        posterior = import_block(state, block, spec, prior_state_root=trie.root())
        changes = state_changes(state, posterior, spec)
        # An empty block changes components only, never a service's items.
        assert all(data_service(key) is None for key in changes)
        block_hash = header_hash(block.header, spec)
        store.import_block(block_hash, parent, slot, codecs.block.encode(block), changes)
        trie.update(changes)
        assert trie.root() == state_root(dict(store.items()))
        assert state_to_keyvals(load_state(store, spec), spec) == state_to_keyvals(posterior, spec)
        parent = block_hash
    # Rolling the head back restores the stored state the last block started from.
    trie.update(store.undo_entries(parent))
    store.roll_back_head()
    assert state_to_keyvals(load_state(store, spec), spec) == before
    assert trie.root() == state_root(before)
    store.close()


def test_stored_items_overlay_without_reading_the_rest(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "items.sqlite")
    items = {storage_key(7, bytes([i])): bytes([i]) * 3 for i in range(50)}
    store.init_genesis(b"g" * 32, 0, b"genesis", {**items, storage_key(8, b"x"): b"other"})
    stored = StoredItems(store, 7)
    assert len(stored) == 50 and dict(stored.items()) == items
    assert storage_key(8, b"x") not in stored
    changed = with_changes(stored, {storage_key(7, b"\x00"): None, storage_key(7, b"new"): b"n"})
    assert changes_from(stored, changed) == {
        storage_key(7, b"\x00"): None,
        storage_key(7, b"new"): b"n",
    }
    assert len(changed) == 50
    store.close()
