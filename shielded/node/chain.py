"""The application chain: block authoring, full import checks, fork choice and finality.

State lives in the node's `ChainStore` under 31-byte JAM state keys, so the header's
parent state root is the Appendix D merklization of exactly what the store holds:
* C(4): Safrole's state (gamma, eta, the validator sets, tau; w3f JSON form);
* C(3): the recent block hashes (anchors for refinement contexts and spam proofs);
* C(10): offenders (validators proven to have equivocated);
* service storage C(s, ...) of the application layers (`ChainLayer`s: the shielded pool's
  items, `shielded.pool_storage`; finality's latest final block and key record), which
  see every block after Safrole accepts it.

C(3), C(4) and C(10) here are the node's own encodings, not the graypaper's: the next step
replaces them with jamcore's full state (`jam_genesis.py`, `jam_state.py`).

The state root is kept by an incremental `jamcore.state.trie.StateTrie` of the head state:
built once from the store, then updated with each block's changes and each rollback's
restored entries, so a block's root costs what the block changed, not the state's size.

Import (`Chain.import_block`) follows the graypaper's order: decode, parent and slot
(eq. 5.7), extrinsic hash (5.4), parent state root, seal and entropy source by the slot's
sealer (6.15-6.17), the Safrole transition with the header's markers (6.27-6.28), then
each layer's checks and state changes; the block and every change commit in one SQLite
transaction. Fork choice is the longest chain that contains the latest final block; a
final block is never reverted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from jamcore.block import (
    Block,
    DisputesExtrinsic,
    Extrinsic,
    Header,
    block_codecs,
    encode_unsigned_header,
    extrinsic_hash,
    header_hash,
)
from jamcore.codec import CodecError
from jamcore.crypto.bandersnatch import vrf_output
from jamcore.safrole.authoring import claim_slot
from jamcore.safrole.errors import SafroleError
from jamcore.safrole.sealing import (
    entropy_source_input,
    make_entropy_source,
    make_seal,
    slot_sealer,
    verify_seal,
)
from jamcore.safrole.state import (
    SafroleInput,
    SafroleState,
    TicketEnvelope,
    state_from_json,
    state_to_json,
)
from jamcore.safrole.transition import transition
from jamcore.spec import ChainSpec
from jamcore.state.keys import component_key, storage_key
from jamcore.state.trie import StateTrie
from jamcore.work.package import RefineContext
from shielded.node.genesis import GenesisConfig, ValidatorSecrets, genesis_block
from shielded.node.guarantees import FINALITY_SERVICE_ID
from shielded.node.head_trie import HeadTrie
from shielded.node.storage import ChainStore, StorageError, StoredBlock

log = logging.getLogger(__name__)

RECENT_HASHES = 32
"""How many recent block hashes the state keeps (anchors older than this are stale)."""
MAX_CLOCK_DRIFT = 1.0
"""Seconds a block's slot may be ahead of the local clock."""

SAFROLE_KEY = component_key(4)
RECENT_KEY = component_key(3)
OFFENDERS_KEY = component_key(10)
FINAL_KEY = storage_key(FINALITY_SERVICE_ID, b"final")
"""The latest block certified final on chain: an item of the finality service's storage
(written by the finality layer)."""


class InvalidBlock(Exception):
    """A block that fails an import check; the message names the check."""


@dataclass(frozen=True)
class ImportOutcome:
    """What importing a block did."""

    status: str
    """'imported' (new head), 'fork' (kept, not canonical), 'known', 'reorg' (new head on
    another branch), 'orphan' (parent unknown)."""
    hash: bytes
    reverted: tuple[bytes, ...] = ()
    """Blocks that left the canonical chain (on a reorg)."""


@dataclass(frozen=True)
class ChainState:
    """The consensus-level state a block is checked against."""

    safrole: SafroleState
    recent_hashes: tuple[bytes, ...]
    offenders: frozenset[bytes]

    def changes(self) -> dict[bytes, bytes | None]:
        """This state as store entries (31-byte state keys)."""
        return {
            SAFROLE_KEY: json.dumps(state_to_json(self.safrole)).encode(),
            RECENT_KEY: b"".join(self.recent_hashes),
            OFFENDERS_KEY: b"".join(sorted(self.offenders)),
        }

    @staticmethod
    def load(store: ChainStore) -> ChainState:
        safrole_json = store.get(SAFROLE_KEY)
        if safrole_json is None:
            raise StorageError("the store holds no chain state")
        recent = store.get(RECENT_KEY) or b""
        offenders = store.get(OFFENDERS_KEY) or b""
        return ChainState(
            safrole=state_from_json(json.loads(safrole_json)),
            recent_hashes=tuple(recent[i : i + 32] for i in range(0, len(recent), 32)),
            offenders=frozenset(offenders[i : i + 32] for i in range(0, len(offenders), 32)),
        )


@dataclass(frozen=True)
class LayerOutcome:
    """A layer's effects of one block: consensus state changes (merklized) and node-local
    data (snapshots, indexes) stored with the block in the same transaction."""

    changes: dict[bytes, bytes | None]
    local: dict[str, bytes] = field(default_factory=dict)


class ChainLayer(Protocol):
    """An application layer (shielded pool, finality) whose state advances with blocks."""

    def genesis(self, genesis_hash: bytes) -> LayerOutcome:
        """The layer's genesis state."""
        ...

    def apply_block(
        self, block: Block, block_hash: bytes, state: ChainState, store: ChainStore
    ) -> LayerOutcome:
        """Check the layer's part of `block` (raise InvalidBlock) and return its effects.
        Reads go through `store`, which holds the parent's state."""
        ...


class Chain:
    """A node's view of the chain: import, authoring and fork choice over a ChainStore."""

    def __init__(
        self, config: GenesisConfig, store: ChainStore, layers: Sequence[ChainLayer] = ()
    ) -> None:
        self.config = config
        self.spec: ChainSpec = config.chain_spec()
        self.codecs = block_codecs(self.spec)
        self.store = store
        self.layers = list(layers)
        genesis = genesis_block(config)
        self.genesis_hash = header_hash(genesis.header, self.spec)
        state = ChainState(config.safrole_state(), (self.genesis_hash,), frozenset())
        changes = state.changes()
        local: dict[str, bytes] = {}
        for layer in self.layers:
            outcome = layer.genesis(self.genesis_hash)
            changes.update(outcome.changes)
            local.update(outcome.local)
        store.init_genesis(
            self.genesis_hash, 0, self.codecs.block.encode(genesis), changes, local
        )
        self._head_trie = HeadTrie(store)
        self.required_ancestor: bytes | None = None
        """A block every new head must descend from (a validator's live vote lock): the
        validator builds on the branch it is locked on instead of a longer one it cannot
        vote for (`_consider_fork`)."""

    # --- queries ------------------------------------------------------------------------

    @property
    def head(self) -> StoredBlock:
        head = self.store.block(self.store.head or b"")
        assert head is not None
        return head

    @property
    def finalized(self) -> StoredBlock:
        final = self.store.block(self.store.finalized or b"")
        assert final is not None
        return final

    def state(self) -> ChainState:
        return ChainState.load(self.store)

    def head_trie(self) -> StateTrie:
        """The state trie of the head's post-state (read it, never change it)."""
        return self._head_trie.trie()

    def head_state_root(self) -> bytes:
        """The Appendix D root of the state after the head block (eq. D.6)."""
        return self.head_trie().root()

    def decode(self, encoded: bytes) -> Block:
        try:
            return self.codecs.block.decode(encoded)
        except CodecError as error:
            raise InvalidBlock(f"undecodable block: {error}") from error

    def slot_at(self, now: float) -> int:
        return self.config.slot_at(now)

    # --- import -------------------------------------------------------------------------

    def import_block(self, encoded: bytes, now: float | None = None) -> ImportOutcome:
        """Import a block received from a peer or authored locally (see module docstring)."""
        block = self.decode(encoded)
        block_hash = header_hash(block.header, self.spec)
        if self.store.has_block(block_hash):
            return ImportOutcome("known", block_hash)
        parent = self.store.block(block.header.parent)
        if parent is None:
            return ImportOutcome("orphan", block_hash)
        if block.header.slot <= parent.slot:
            raise InvalidBlock(f"slot {block.header.slot} does not follow parent {parent.slot}")
        wall = time.time() if now is None else now
        slot_start = self.config.genesis_time + block.header.slot * self.config.slot_duration
        if slot_start > wall + MAX_CLOCK_DRIFT:
            raise InvalidBlock(f"slot {block.header.slot} is in the future")
        if parent.hash == self.store.head:
            self._apply(block, block_hash, encoded)
            return ImportOutcome("imported", block_hash)
        self.store.add_block(block_hash, parent.hash, block.header.slot, encoded)
        return self._consider_fork(block_hash)

    def _apply(self, block: Block, block_hash: bytes, encoded: bytes) -> None:
        """Check `block` against the head state and commit it with its state changes."""
        header = block.header
        state = self.state()
        # Verify the extrinsic hash (eq. 5.4).
        if header.extrinsic_hash != extrinsic_hash(block.extrinsic, self.spec):
            raise InvalidBlock("extrinsic hash does not match the extrinsic")
        # Verify the parent state root (eq. 5.8).
        if header.parent_state_root != self.head_state_root():
            raise InvalidBlock("parent state root does not match the parent's state")
        try:
            # Verify the seal and entropy source by the slot's sealer (eq. 6.15-6.17).
            sealer = slot_sealer(state.safrole, header.slot, self.spec)
            verdict = verify_seal(
                sealer,
                header.author_index,
                encode_unsigned_header(header, self.spec),
                header.seal,
                header.entropy_source,
            )
            # Run Safrole and verify the header's markers (eq. 6.27-6.28).
            safrole, markers = transition(
                state.safrole,
                SafroleInput(header.slot, verdict.entropy, block.extrinsic.tickets),
                state.offenders,
                self.spec,
            )
        except SafroleError as error:
            raise InvalidBlock(f"safrole: {error}") from error
        if header.epoch_mark != markers.epoch_mark:
            raise InvalidBlock("epoch mark does not match the Safrole transition")
        if header.tickets_mark != markers.tickets_mark:
            raise InvalidBlock("tickets mark does not match the Safrole transition")
        # Verify every report is anchored in recent history (eq. 11.33).
        for guarantee in block.extrinsic.guarantees:
            if guarantee.report.context.anchor not in state.recent_hashes:
                raise InvalidBlock("a work report's anchor is not a recent block")
        posterior = ChainState(
            safrole,
            (*state.recent_hashes, block_hash)[-RECENT_HASHES:],
            state.offenders,
        )
        changes = posterior.changes()
        local: dict[str, bytes] = {}
        for layer in self.layers:
            # Layers write their own service storage; the finality layer may also extend
            # the offenders (equivocation evidence), overriding OFFENDERS_KEY.
            outcome = layer.apply_block(block, block_hash, posterior, self.store)
            changes.update(outcome.changes)
            local.update(outcome.local)
        # Verify the offenders mark lists exactly the offenders this block proved (section 10).
        offenders = changes[OFFENDERS_KEY] or b""
        new_offenders = {offenders[i : i + 32] for i in range(0, len(offenders), 32)}
        if tuple(sorted(new_offenders - state.offenders)) != tuple(sorted(header.offenders_mark)):
            raise InvalidBlock("offenders mark does not match the evidence in the block")
        self._head_trie.commit(block_hash, header.parent, header.slot, encoded, changes, local)
        final = changes.get(FINAL_KEY)
        if final is not None:
            self.finalize(final)

    def switch_to(self, block_hash: bytes) -> ImportOutcome:
        """Make the branch ending at `block_hash` canonical, whatever its length, unless
        that would revert a final block ('fork')."""
        candidate = self.store.block(block_hash)
        if candidate is None or self.store.is_canonical(block_hash):
            return ImportOutcome("known", block_hash)
        return self._consider_fork(block_hash, force=True)

    def _consider_fork(self, block_hash: bytes, force: bool = False) -> ImportOutcome:
        """Switch to the branch ending at `block_hash` if it is longer (or `force`), keeps
        finality and descends from `required_ancestor`."""
        candidate = self.store.block(block_hash)
        assert candidate is not None
        head = self.head
        if candidate.height <= head.height and not force:
            return ImportOutcome("fork", block_hash)
        if self.required_ancestor is not None and not self.store.descends(
            block_hash, self.required_ancestor
        ):
            return ImportOutcome("fork", block_hash)
        fork_point = self.store.fork_point(block_hash)
        if fork_point.height < self.finalized.height:
            return ImportOutcome("fork", block_hash)  # would revert a final block
        branch = self.store.branch(fork_point, candidate)
        reverted = self._roll_back_to(fork_point.hash)
        try:
            for stored in branch:
                self._apply(self.decode(stored.block), stored.hash, stored.block)
        except (InvalidBlock, StorageError) as error:
            log.warning("fork branch is invalid (%s); restoring the previous head", error)
            self._roll_back_to(fork_point.hash)
            for old_hash in reversed(reverted):
                old = self.store.block(old_hash)
                assert old is not None
                self._apply(self.decode(old.block), old.hash, old.block)
            return ImportOutcome("fork", block_hash)
        return ImportOutcome("reorg", block_hash, tuple(reverted))

    def finalize(self, block_hash: bytes) -> bool:
        """Make a certified block final (switching to its branch if needed); False if it is
        unknown or not beyond the current final block. Final blocks are never reverted."""
        target = self.store.block(block_hash)
        if target is None or target.height <= self.finalized.height:
            return False
        if not self.store.is_canonical(block_hash):
            fork_point = self.store.fork_point(block_hash)
            if fork_point.height < self.finalized.height:
                return False  # conflicts with finality: can only happen beyond 1/3 faults
            branch = self.store.branch(fork_point, target)
            self._roll_back_to(fork_point.hash)
            for stored in branch:
                self._apply(self.decode(stored.block), stored.hash, stored.block)
        self.store.finalize(block_hash)
        return True

    def refine_context(self) -> RefineContext:
        """The context a guarantor refines against: the head as anchor (eq. 11.4)."""
        head = self.head
        return RefineContext(
            anchor=head.hash,
            state_root=self.head_state_root(),
            beefy_root=bytes(32),
            lookup_anchor=head.hash,
            lookup_anchor_slot=head.slot,
            prerequisites=(),
        )

    def _roll_back_to(self, target: bytes) -> list[bytes]:
        reverted = []
        while self.store.head != target:
            reverted.append(self._head_trie.roll_back())
        return reverted

    # --- authoring ----------------------------------------------------------------------

    def author_block(
        self,
        slot: int,
        validator: ValidatorSecrets,
        tickets: Sequence[TicketEnvelope] = (),
        extrinsic: Extrinsic | None = None,
        offenders_mark: Sequence[bytes] = (),
    ) -> bytes | None:
        """A sealed block for `slot` on the head if `validator` may seal it, else None."""
        state = self.state()
        secret = validator.bandersnatch_secret
        try:
            claim = claim_slot(state.safrole, slot, secret, self.spec)
        except SafroleError:
            return None
        entropy_source = make_entropy_source(secret, claim.sealer)
        body = extrinsic or Extrinsic((), (), (), (), DisputesExtrinsic((), (), ()))
        body = replace(body, tickets=tuple(tickets))
        verdict_entropy = _entropy_output(secret, claim.sealer.seal_input)
        _, markers = transition(
            state.safrole,
            SafroleInput(slot, verdict_entropy, body.tickets),
            state.offenders,
            self.spec,
        )
        header = Header(
            parent=self.head.hash,
            parent_state_root=self.head_state_root(),
            extrinsic_hash=extrinsic_hash(body, self.spec),
            slot=slot,
            epoch_mark=markers.epoch_mark,
            tickets_mark=markers.tickets_mark,
            author_index=claim.author_index,
            entropy_source=entropy_source,
            offenders_mark=tuple(sorted(offenders_mark)),
            seal=bytes(96),
        )
        seal = make_seal(secret, claim.sealer, encode_unsigned_header(header, self.spec))
        return self.codecs.block.encode(Block(replace(header, seal=seal), body))


def _entropy_output(secret: bytes, seal_input: bytes) -> bytes:
    """Y(H_v): the entropy-source VRF output the importer will feed Safrole (eq. 6.17)."""
    return vrf_output(secret, entropy_source_input(vrf_output(secret, seal_input)))
