"""The state trie of a chain store's head, kept in step with the store.

The header's parent state root is M_sigma of the head's state (graypaper eq. 5.8, D.3-D.6).
`HeadTrie` builds the trie from the store once, then follows the head: a committed block
updates it with that block's changes, a rolled-back block with the entries the undo log
restores, so a block's root costs what the block changed. Whenever the head moved in any
other way (a failed commit, another writer) the trie is rebuilt from the store.
"""

from __future__ import annotations

from collections.abc import Mapping

from jamcore.state.trie import StateTrie
from shielded.node.storage import ChainStore, StateChanges


class HeadTrie:
    """A `StateTrie` of `store`'s head state."""

    def __init__(self, store: ChainStore) -> None:
        self.store = store
        self._trie: StateTrie | None = None
        self._at: bytes | None = None
        """The block whose post-state `_trie` holds (None: rebuild from the store)."""

    def trie(self) -> StateTrie:
        """The head's trie (read it, never change it)."""
        head = self.store.head or b""
        if self._trie is None or self._at != head:
            self._trie = None
            self._trie = StateTrie(dict(self.store.items()))
            self._at = head
        return self._trie

    def root(self) -> bytes:
        """M_sigma of the head's state (eq. D.6)."""
        return self.trie().root()

    def commit(
        self,
        block_hash: bytes,
        parent: bytes,
        slot: int,
        encoded: bytes,
        changes: StateChanges,
        local: Mapping[str, bytes] | None = None,
    ) -> None:
        """`ChainStore.import_block`, then the trie updated with `changes`."""
        trie = self.trie()
        self._at = None  # stale until the block commits
        self.store.import_block(block_hash, parent, slot, encoded, changes, local)
        trie.update(changes)
        trie.root()
        self._at = block_hash

    def roll_back(self) -> bytes:
        """`ChainStore.roll_back_head`, the trie following it; returns the block that left."""
        head = self.store.head or b""
        restored = self.store.undo_entries(head)
        following = self._trie is not None and self._at == head
        self._at = None
        self.store.roll_back_head()
        if following and self._trie is not None:
            self._trie.update(restored)
            self._at = self.store.head
        return head
