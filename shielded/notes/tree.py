"""The commitment trees: live tree (ring of per-epoch subtrees) and permanent tree (design §3).

Both are append-only binary Poseidon Merkle trees of depth `TREE_DEPTH` over BN254, so the
spend circuit walks one path shape for either:

- The **permanent tree** is one `MerkleTree` of depth TREE_DEPTH that never shrinks.
- The **live tree** holds ephemeral notes. Its top RING_BITS levels are a small tree over
  2^RING_BITS slots; slot `e mod (N+1)` holds the subtree (depth SUBTREE_DEPTH) of the notes
  created in epoch e. When epoch E begins, the subtree of epoch E - N - 1, whose notes all
  expired by epoch E - 1, is reset and its storage freed, and its slot is reused for E.
  Unused slots hold the empty-subtree root.
- The **anchor** that spends prove against is Poseidon(live_root, permanent_root).

A note's position is its leaf index in the full-depth tree (for live notes: slot bits above
the subtree index), which is what the circuit's path bits spell out and what the nullifier
commits to. Appends come in batches and recompute each touched parent once (about two hashes
per leaf), with the roots of empty subtrees cached. Trees keep every fourth level
(`merkle_tree.MerkleTree`), which is also what a node persists of them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shielded.notes.errors import ensure
from shielded.notes.merkle_tree import EMPTY_LEAF, MerkleTree, root_from_path, zero_root
from shielded.notes.poseidon import poseidon

TREE_DEPTH = 28
"""Depth of both trees as the spend circuit sees them."""
RING_BITS = 5
"""Live tree: the top levels over the ring slots; N + 1 <= 2^RING_BITS."""
SUBTREE_DEPTH = TREE_DEPTH - RING_BITS
"""Live tree: depth of one epoch's subtree (2^23 notes per epoch)."""

__all__ = [
    "EMPTY_LEAF",
    "RING_BITS",
    "SUBTREE_DEPTH",
    "TREE_DEPTH",
    "CommitmentTrees",
    "LiveTree",
    "MembershipWitness",
    "MerkleTree",
    "anchor_of",
    "root_from_path",
    "zero_root",
]


@dataclass(frozen=True)
class MembershipWitness:
    """What the circuit needs to show a note is in the anchor (design section 3)."""

    position: int
    siblings: tuple[int, ...]
    other_root: int
    """The root of the tree the note is not in (permanent root for live notes, and back)."""


class LiveTree:
    """Ephemeral notes: per-epoch subtrees in a ring of N + 1 slots (design section 3)."""

    def __init__(self, lifetime: int, epoch: int = 0) -> None:
        ensure(
            0 <= lifetime and lifetime + 1 <= 1 << RING_BITS,
            f"note lifetime N = {lifetime} needs N + 1 <= {1 << RING_BITS} ring slots",
        )
        self.lifetime = lifetime
        self.slots = lifetime + 1
        self._subtrees = [MerkleTree(SUBTREE_DEPTH) for _ in range(self.slots)]
        self._slot_epoch: list[int | None] = [None] * self.slots
        self._top = MerkleTree(RING_BITS)
        self._top.append(zero_root(SUBTREE_DEPTH) for _ in range(1 << RING_BITS))
        self.epoch = epoch
        self._claim_slot(epoch)

    @property
    def root(self) -> int:
        return self._top.root

    def slot_of(self, epoch: int) -> int:
        return epoch % self.slots

    def _set_top_leaf(self, slot: int, value: int) -> None:
        self._top.update(slot, value)

    def _claim_slot(self, epoch: int) -> int:
        slot = self.slot_of(epoch)
        if self._slot_epoch[slot] != epoch:
            self._subtrees[slot].reset()
            self._slot_epoch[slot] = epoch
            self._set_top_leaf(slot, zero_root(SUBTREE_DEPTH))
        return slot

    def begin_epoch(self, epoch: int) -> list[int]:
        """Start `epoch`: free every subtree of an epoch < epoch - N. Returns the freed epochs."""
        ensure(epoch >= self.epoch, f"epoch {epoch} is before the current epoch {self.epoch}")
        freed = []
        for slot, held in enumerate(self._slot_epoch):
            if held is not None and held < epoch - self.lifetime:
                freed.append(held)
                self._subtrees[slot].reset()
                self._slot_epoch[slot] = None
                self._set_top_leaf(slot, zero_root(SUBTREE_DEPTH))
        self.epoch = epoch
        self._claim_slot(epoch)
        return sorted(freed)

    def epochs(self) -> list[int]:
        """The epochs whose subtrees are held (the live window)."""
        return sorted(e for e in self._slot_epoch if e is not None)

    def append(self, commitments: Iterable[int]) -> list[int]:
        """Append this epoch's new ephemeral commitments; returns their full-tree positions."""
        slot = self._claim_slot(self.epoch)
        subtree = self._subtrees[slot]
        indices = subtree.append(commitments)
        if indices:
            self._set_top_leaf(slot, subtree.root)
        return [(slot << SUBTREE_DEPTH) | index for index in indices]

    def leaf_count(self) -> int:
        return sum(len(subtree) for subtree in self._subtrees)

    def subtrees(self) -> list[tuple[int, tuple[int, ...]]]:
        """(epoch, leaves) of every held subtree, oldest first (for snapshots)."""
        held = [
            (epoch, self._subtrees[slot].leaves())
            for slot, epoch in enumerate(self._slot_epoch)
            if epoch is not None
        ]
        return sorted(held)

    @classmethod
    def restore(
        cls, lifetime: int, epoch: int, subtrees: Iterable[tuple[int, Sequence[int]]]
    ) -> LiveTree:
        """Rebuild a live tree at `epoch` from `subtrees()` output."""
        live = cls(lifetime, epoch)
        for held, leaves in subtrees:
            ensure(
                epoch - lifetime <= held <= epoch,
                f"subtree of epoch {held} is outside the live window at epoch {epoch}",
            )
            slot = live._claim_slot(held)
            ensure(len(live._subtrees[slot]) == 0, f"two subtrees for epoch {held}")
            live._subtrees[slot].append(leaves)
            live._set_top_leaf(slot, live._subtrees[slot].root)
        return live

    def node_count(self) -> int:
        return sum(subtree.node_count() for subtree in self._subtrees) + self._top.node_count()

    # --- persistence (the parts a node stores) ------------------------------------------

    @property
    def top(self) -> MerkleTree:
        """The ring level: a depth-RING_BITS tree over the slots' subtree roots."""
        return self._top

    def subtree(self, slot: int) -> MerkleTree:
        return self._subtrees[slot]

    def slot_epochs(self) -> tuple[int | None, ...]:
        """The epoch each ring slot holds (None: free)."""
        return tuple(self._slot_epoch)

    @classmethod
    def from_parts(
        cls,
        lifetime: int,
        epoch: int,
        slot_epochs: Sequence[int | None],
        subtrees: Sequence[MerkleTree],
        top: MerkleTree,
    ) -> LiveTree:
        """A live tree from its stored parts (see `slot_epochs`, `subtree`, `top`)."""
        live = cls(lifetime, epoch)
        ensure(
            len(slot_epochs) == live.slots == len(subtrees),
            f"live tree parts: expected {live.slots} slots",
        )
        for slot, (held, subtree) in enumerate(zip(slot_epochs, subtrees, strict=True)):
            ensure(
                held is None or (epoch - lifetime <= held <= epoch and held % live.slots == slot),
                f"ring slot {slot} holds epoch {held}, outside the live window at {epoch}",
            )
            ensure(subtree.depth == SUBTREE_DEPTH, "live subtree of the wrong depth")
            ensure(held is not None or len(subtree) == 0, f"free ring slot {slot} holds notes")
        ensure(
            top.depth == RING_BITS and len(top) == 1 << RING_BITS,
            "live tree ring level of the wrong shape",
        )
        live._slot_epoch = list(slot_epochs)
        live._subtrees = list(subtrees)
        live._top = top
        return live

    def path(self, position: int) -> list[int]:
        """Siblings from leaf to live root: the subtree path, then the ring path."""
        slot, index = position >> SUBTREE_DEPTH, position & ((1 << SUBTREE_DEPTH) - 1)
        ensure(
            slot < self.slots and self._slot_epoch[slot] is not None,
            f"live position {position} is in no held subtree (it may have expired)",
        )
        return self._subtrees[slot].path(index) + self._top.path(slot)

    def leaf(self, position: int) -> int:
        slot, index = position >> SUBTREE_DEPTH, position & ((1 << SUBTREE_DEPTH) - 1)
        ensure(slot < self.slots, f"live position {position} outside the ring")
        return self._subtrees[slot].leaf(index)


class CommitmentTrees:
    """Live + permanent trees, the anchor binding both, and the recent-anchor window."""

    def __init__(self, lifetime: int, anchor_window: int, epoch: int = 0) -> None:
        ensure(anchor_window >= 1, f"anchor window must be >= 1 block, got {anchor_window}")
        self.live = LiveTree(lifetime, epoch)
        self.permanent = MerkleTree(TREE_DEPTH)
        self.anchor_window = anchor_window
        self._recent: deque[int] = deque(maxlen=anchor_window)
        self._recent.append(self.anchor)

    @classmethod
    def restore(
        cls,
        live: LiveTree,
        permanent_leaves: Sequence[int],
        anchor_window: int,
        recent_anchors: Sequence[int],
    ) -> CommitmentTrees:
        """Rebuild the trees and the anchor window from a snapshot."""
        ensure(
            1 <= len(recent_anchors) <= anchor_window,
            f"{len(recent_anchors)} recent anchors do not fit a window of {anchor_window}",
        )
        trees = cls(live.lifetime, anchor_window, live.epoch)
        trees.live = live
        trees.permanent.append(permanent_leaves)
        trees._recent.clear()
        trees._recent.extend(recent_anchors)
        return trees

    @classmethod
    def from_parts(
        cls,
        live: LiveTree,
        permanent: MerkleTree,
        anchor_window: int,
        recent_anchors: Sequence[int],
    ) -> CommitmentTrees:
        """The trees from their stored parts."""
        ensure(permanent.depth == TREE_DEPTH, "permanent tree of the wrong depth")
        trees = cls.restore(live, (), anchor_window, recent_anchors)
        trees.permanent = permanent
        return trees

    @property
    def anchor(self) -> int:
        """Poseidon(live_root, permanent_root): the root every spend proves against."""
        return poseidon(self.live.root, self.permanent.root)

    def record_anchor(self) -> int:
        """Close a block: its anchor joins the window and the oldest one beyond it drops out."""
        anchor = self.anchor
        self._recent.append(anchor)
        return anchor

    def is_recent_anchor(self, anchor: int) -> bool:
        return anchor in self._recent

    def recent_anchors(self) -> list[int]:
        return list(self._recent)

    def begin_epoch(self, epoch: int) -> list[int]:
        """Rotate the live ring (see LiveTree.begin_epoch)."""
        return self.live.begin_epoch(epoch)

    def witness(self, position: int, permanent: bool) -> MembershipWitness:
        """The path of a note at `position` in the live or permanent tree, for proving."""
        if permanent:
            return MembershipWitness(
                position, tuple(self.permanent.path(position)), self.live.root
            )
        return MembershipWitness(position, tuple(self.live.path(position)), self.permanent.root)


def anchor_of(leaf: int, witness: MembershipWitness, permanent: bool) -> int:
    """The anchor implied by a witness: what the circuit computes for one input."""
    root = root_from_path(leaf, witness.position, witness.siblings)
    if permanent:
        return poseidon(witness.other_root, root)
    return poseidon(root, witness.other_root)

