"""A validator's chain on jamcore's rules: import, fork choice and finality over a ChainStore.

`JamChain` keeps the graypaper state sigma (eq. 4.4) in the node's `ChainStore` as T(sigma)
(eq. D.2) and imports blocks with `jamcore.stf.block.import_block` (Upsilon, eq. 4.1):

1. decode the block with the devnet spec's codecs (Appendix C.3) and find its parent;
2. on the head: sigma' = Upsilon(sigma, B) with sigma loaded lazily from the store
   (`jam_state.load_state`), M_sigma(sigma) from the incremental trie (eq. D.3-D.6), the
   lookup-anchor ancestry A from the store (eq. 11.35) and the native services;
3. the keyvals that changed (`jamcore.state.delta.state_changes`, eq. D.2) commit with the
   block and the new head in one SQLite transaction, and the trie takes the same changes.

A block on another branch is kept (`ChainStore.add_block`); once its branch is longer than
the canonical one the head rolls back to the fork point and the branch is re-applied (the
longest chain that keeps the final block, graypaper section 19; a final block is never
reverted). A block that breaks a rule raises `InvalidBlock`
and changes nothing: the store, the trie and the head are as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from jamcore.block import Block, block_codecs, header_hash
from jamcore.codec import CodecError
from jamcore.errors import JamError
from jamcore.pvm.invocations.native import NativeService
from jamcore.state.delta import state_changes
from jamcore.state.state import State, state_to_keyvals
from jamcore.state.trie import StateTrie
from jamcore.stf.block import import_block
from shielded.node.genesis import GenesisConfig, genesis_block, genesis_hash
from shielded.node.head_trie import HeadTrie
from shielded.node.jam_state import load_state
from shielded.node.storage import ChainStore, StorageError, StoredBlock

__all__ = ["ImportOutcome", "InvalidBlock", "JamChain", "StoreAncestry", "ValidatorError"]

log = logging.getLogger(__name__)


class ValidatorError(Exception):
    """Anything a validator refuses to do or to accept."""


class InvalidBlock(ValidatorError):
    """A block that does not decode or breaks a graypaper rule (`cause` is jamcore's
    `JamError` naming it, when there is one)."""

    def __init__(self, message: str, cause: Exception | None = None) -> None:
        super().__init__(message)
        self.cause = cause


@dataclass(frozen=True)
class ImportOutcome:
    """What importing a block did."""

    status: str
    """'imported' (the new head), 'known', 'fork' (kept, not canonical), 'reorg' (the new
    head, on another branch) or 'orphan' (its parent is unknown: not kept)."""
    hash: bytes
    reverted: tuple[bytes, ...] = ()
    """The blocks that left the canonical chain on a reorg, head first."""


class StoreAncestry:
    """A (eq. 5.3) as the store's canonical chain: while a block is imported on the head,
    the canonical blocks are exactly its ancestors."""

    def __init__(self, store: ChainStore) -> None:
        self.store = store

    def holds(self, header_hash: bytes, slot: int) -> bool:
        """Whether the ancestor of slot `slot` has the hash `header_hash` (eq. 11.35)."""
        stored = self.store.block(header_hash)
        return stored is not None and stored.slot == slot and self.store.is_canonical(header_hash)


AppliedHook = Callable[[bytes, State], None]
"""Called with each block's hash and posterior state once it is committed as the head."""


LocalHook = Callable[[Block, bytes, State, State], Mapping[str, bytes]]
"""(block, its hash, sigma, sigma') -> node-local data recorded with the block."""


class JamChain:
    """The devnet chain under jamcore's block rules, stored in a `ChainStore`."""

    def __init__(
        self,
        config: GenesisConfig,
        store: ChainStore,
        genesis: State,
        natives: Mapping[bytes, NativeService] | None = None,
        on_applied: AppliedHook | None = None,
    ) -> None:
        """Open `store`, writing the genesis block and T(genesis) (eq. D.2) if it is new;
        `genesis` is sigma_0 (`jam_genesis.genesis_state`), its beta naming the genesis
        header `genesis_hash(config)`."""
        self.config = config
        self.spec = config.chain_spec()
        self.codecs = block_codecs(self.spec)
        self.store = store
        self.natives = dict(natives or {})
        self.on_applied = on_applied
        self.genesis_hash = genesis_hash(config)
        history = genesis.recent_blocks.history
        if not history or history[-1].header_hash != self.genesis_hash:
            raise ValidatorError("the genesis state does not name this devnet's genesis block")
        store.init_genesis(
            self.genesis_hash,
            0,
            self.codecs.block.encode(genesis_block(config)),
            state_to_keyvals(genesis, self.spec),
        )
        self._state: tuple[bytes, State] | None = None
        self._head_trie = HeadTrie(store)
        self.local_of: LocalHook | None = None
        """Node-local data to store with each block, in the same transaction (compact
        blocks for wallets, `jam_pool_view`)."""
        self.required_ancestor: bytes | None = None
        """A block every new head must descend from (a validator's live vote lock or the
        branch its votes favour, `voter.Voter.follow`); None: the longest branch wins."""

    # --- queries ------------------------------------------------------------------------

    @property
    def head(self) -> StoredBlock:
        head = self.store.block(self.store.head or b"")
        assert head is not None
        return head

    @property
    def head_hash(self) -> bytes:
        return self.head.hash

    @property
    def finalized(self) -> StoredBlock:
        final = self.store.block(self.store.finalized or b"")
        assert final is not None
        return final

    def head_state(self) -> State:
        """sigma after the head block, items read lazily from the store (cached per head)."""
        head = self.store.head or b""
        if self._state is None or self._state[0] != head:
            self._state = (head, load_state(self.store, self.spec))
        return self._state[1]

    def head_trie(self) -> StateTrie:
        """The trie of T(sigma) at the head (read it, never change it): updated with each
        block's changes, rebuilt from the store only when the head moved otherwise."""
        return self._head_trie.trie()

    def head_root(self) -> bytes:
        """M_sigma(sigma) at the head (eq. D.3-D.6): the next block's H_r (eq. 5.8)."""
        return self.head_trie().root()

    def decode(self, encoded: bytes) -> Block:
        """The block E(B) encodes (Appendix C.3); InvalidBlock if it does not decode."""
        try:
            return self.codecs.block.decode(encoded)
        except CodecError as error:
            raise InvalidBlock(f"undecodable block: {error}", error) from error

    # --- import -------------------------------------------------------------------------

    def import_block(self, encoded: bytes) -> ImportOutcome:
        """Import E(B) (module docstring); InvalidBlock, with nothing changed, if it is
        undecodable or breaks a rule (for a block on another branch: once its branch is
        tried, i.e. when it is longer than the canonical chain)."""
        block = self.decode(encoded)
        block_hash = header_hash(block.header, self.spec)
        if self.store.has_block(block_hash):
            return ImportOutcome("known", block_hash)
        parent = self.store.block(block.header.parent)
        if parent is None:
            return ImportOutcome("orphan", block_hash)
        if block.header.slot <= parent.slot:
            raise InvalidBlock(f"slot {block.header.slot} does not follow {parent.slot}")
        head = self.head
        if parent.hash == head.hash:
            self._apply(block, block_hash, encoded)
            return ImportOutcome("imported", block_hash)
        fork_point = self.store.fork_point(parent.hash)
        if (
            parent.height + 1 <= head.height
            or fork_point.height < self.finalized.height
            or not self._allowed(parent.hash)
        ):
            # Keep a shorter branch (or one that would revert a final block, or leave the
            # required ancestor) unchecked.
            self.store.add_block(block_hash, parent.hash, block.header.slot, encoded)
            return ImportOutcome("fork", block_hash)
        reverted = self._reorg(fork_point, parent, (block, block_hash, encoded))
        return ImportOutcome("reorg", block_hash, tuple(reverted))

    def _allowed(self, block_hash: bytes) -> bool:
        """Whether a head at `block_hash` keeps the `required_ancestor`."""
        required = self.required_ancestor
        return required is None or self.store.descends(block_hash, required)

    def switch_to(self, block_hash: bytes) -> ImportOutcome:
        """Make the stored branch ending at `block_hash` canonical whatever its length
        (a validator's vote lock or the votes choose it), unless that would revert a
        final block or the branch breaks a rule ('fork': the head stays)."""
        target = self.store.block(block_hash)
        if target is None or self.store.is_canonical(block_hash):
            return ImportOutcome("known", block_hash)
        fork_point = self.store.fork_point(block_hash)
        if fork_point.height < self.finalized.height:
            return ImportOutcome("fork", block_hash)
        try:
            reverted = self._reorg(fork_point, target)
        except InvalidBlock as error:
            log.warning("cannot switch to 0x%s: %s", block_hash.hex(), error)
            return ImportOutcome("fork", block_hash)
        return ImportOutcome("reorg", block_hash, tuple(reverted))

    def _reorg(
        self,
        fork_point: StoredBlock,
        tip: StoredBlock,
        then: tuple[Block, bytes, bytes] | None = None,
    ) -> list[bytes]:
        """Roll back to `fork_point` and apply the stored branch up to `tip` (and `then`, a
        new block on it); the reverted blocks, head first. If any block breaks a rule the
        previous head is restored and InvalidBlock raised: nothing changes."""
        branch = [
            (self.decode(stored.block), stored.hash, stored.block)
            for stored in self.store.branch(fork_point, tip)
        ]
        reverted = self._roll_back_to(fork_point.hash)
        try:
            for item in (*branch, *((then,) if then is not None else ())):
                self._apply(*item)
        except (InvalidBlock, StorageError) as error:
            log.warning("branch of 0x%s invalid (%s): head restored", tip.hash.hex(), error)
            self._roll_back_to(fork_point.hash)
            for old_hash in reversed(reverted):
                old = self.store.block(old_hash)
                assert old is not None
                self._apply(self.decode(old.block), old.hash, old.block)
            if isinstance(error, InvalidBlock):
                raise
            raise InvalidBlock(f"branch cannot be stored: {error}", error) from error
        return reverted

    def _apply(self, block: Block, block_hash: bytes, encoded: bytes) -> None:
        """sigma' = Upsilon(sigma, B) on the head (eq. 4.1), committed with T(sigma') - T(sigma)."""
        prior = self.head_state()
        try:
            posterior = import_block(
                prior,
                block,
                self.spec,
                prior_state_root=self.head_root(),
                ancestry=StoreAncestry(self.store),
                natives=self.natives,
            )
        except JamError as error:
            raise InvalidBlock(f"{type(error).__name__}: {error}", error) from error
        changes = state_changes(prior, posterior, self.spec)
        local = self.local_of(block, block_hash, prior, posterior) if self.local_of else None
        self._head_trie.commit(
            block_hash, block.header.parent, block.header.slot, encoded, changes, local
        )
        self._state = None
        if self.on_applied is not None:
            self.on_applied(block_hash, posterior)

    def _roll_back_to(self, target: bytes) -> list[bytes]:
        """Roll the head back to `target` (an ancestor), the trie with it; the blocks
        that left the canonical chain, head first."""
        reverted = []
        while self.store.head != target:
            reverted.append(self._head_trie.roll_back())
        self._state = None
        return reverted

    def finalize(self, block_hash: bytes) -> bool:
        """Mark a block final (switching to its branch first if needed), after which it is
        never reverted; False if it is unknown, not beyond the current final block or on a
        branch that would revert it."""
        target = self.store.block(block_hash)
        if target is None or target.height <= self.finalized.height:
            return False
        if not self.store.is_canonical(block_hash):
            fork_point = self.store.fork_point(block_hash)
            if fork_point.height < self.finalized.height:
                return False
            try:
                self._reorg(fork_point, target)
            except InvalidBlock:
                return False
        self.store.finalize(block_hash)
        return True
