"""An append-only Poseidon Merkle tree stored as bands of 16-wide node chunks (design §3).

The tree keeps the nodes of every fourth level only (levels 0, 4, 8, ... and the root at
`depth`): the *stored levels*. Between two stored levels s < s' lies a *band* of width
w = s' - s; its nodes are recomputed from the 2^w stored nodes under one node of level s'
(one *chunk*) when a path or a parent is needed. So

- appending a batch rehashes each touched chunk once per band (about as many hashes as
  rehashing every level: two per leaf);
- a path is one chunk per band (14 hashes each);
- the state is exactly the chunks: a node persists the touched chunks of a block as
  storage items (`take_changes`) and rebuilds the tree from them (`restore`) without
  hashing anything, so a block's writes and a restart's cost do not involve the rest of
  the tree.

Positions are leaf indices; bit h of a position is the side at level h, as the spend
circuit walks it. Empty subtrees hash to `zero_root(height)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence

from shielded.notes.errors import ensure
from shielded.notes.poseidon import FIELD_MODULUS, poseidon_pair

EMPTY_LEAF = 0
BAND_BITS = 4
"""Levels per band: chunks hold 16 nodes."""

ChunkId = tuple[int, int]
"""(stored level, chunk index): the chunk holds that level's nodes [index << w, ...)."""


@functools.cache
def zero_root(height: int) -> int:
    """The root of an empty subtree of `height` levels: Z_0 = 0, Z_{h+1} = H(Z_h, Z_h)."""
    if height == 0:
        return EMPTY_LEAF
    below = zero_root(height - 1)
    return poseidon_pair(below, below)


def root_from_path(leaf: int, position: int, siblings: Sequence[int]) -> int:
    """Recompute a Merkle root from a leaf, its position (bit h = side at level h) and path."""
    node = leaf
    for height, sibling in enumerate(siblings):
        if (position >> height) & 1:
            node = poseidon_pair(sibling, node)
        else:
            node = poseidon_pair(node, sibling)
    return node


def _band_levels(nodes: Sequence[int], level: int, width: int) -> list[list[int]]:
    """Every level of one chunk's subtree: nodes of `level` (padded with empty subtrees to
    2^width), then each level above up to the chunk's root. Empty pairs cost no hash."""
    zero = zero_root(level)
    row = list(nodes) + [zero] * ((1 << width) - len(nodes))
    rows = [row]
    for height in range(level, level + width):
        zero_pair = zero_root(height)
        empty_parent = zero_root(height + 1)
        row = [
            empty_parent
            if left == zero_pair and right == zero_pair
            else poseidon_pair(left, right)
            for left, right in zip(row[0::2], row[1::2], strict=True)
        ]
        rows.append(row)
    return rows


class MerkleTree:
    """An append-only Poseidon Merkle tree kept as stored levels (see module docstring)."""

    def __init__(self, depth: int) -> None:
        ensure(1 <= depth <= 64, f"tree depth {depth} out of range 1..64")
        self.depth = depth
        self.stored_levels: tuple[int, ...] = (*range(0, depth, BAND_BITS), depth)
        above = (*self.stored_levels[1:], depth)
        self._widths = {
            level: top - level for level, top in zip(self.stored_levels, above, strict=True)
        }
        self._levels: dict[int, list[int]] = {level: [] for level in self.stored_levels}
        self._dirty: set[ChunkId] = set()
        self._removed: set[ChunkId] = set()

    def __len__(self) -> int:
        return len(self._levels[0])

    @property
    def capacity(self) -> int:
        return 1 << self.depth

    @property
    def root(self) -> int:
        top = self._levels[self.depth]
        return top[0] if top else zero_root(self.depth)

    def width(self, level: int) -> int:
        """The band width above stored `level` (0 for the root level)."""
        return self._widths[level]

    def node_count(self) -> int:
        """How many nodes the full tree has (leaves included): its size in field elements
        as a tree that keeps every level would hold them."""
        size, total = len(self), 0
        for height in range(self.depth + 1):
            total += -(-size >> height) if size else 0
        return total

    def stored_node_count(self) -> int:
        """How many nodes are kept (the stored levels)."""
        return sum(len(nodes) for nodes in self._levels.values())

    def _recompute(self, level: int, first: int, last: int) -> None:
        """Recompute the parents (in the next stored level) of nodes first..last of
        stored `level`, marking the touched chunks dirty."""
        width = self.width(level)
        below = self._levels[level]
        above_level = level + width
        above = self._levels[above_level]
        for chunk in range(first >> width, (last >> width) + 1):
            nodes = below[chunk << width : (chunk + 1) << width]
            self._dirty.add((level, chunk))
            root = _band_levels(nodes, level, width)[-1][0]
            if chunk < len(above):
                above[chunk] = root
            else:
                above.append(root)
        if width and above_level < self.depth:
            self._recompute(above_level, first >> width, last >> width)
        elif width:
            self._dirty.add((self.depth, 0))

    def append(self, leaves: Iterable[int]) -> list[int]:
        """Append a batch of leaves; returns their positions. Each touched chunk of each
        band is rehashed once."""
        batch = list(leaves)
        start = len(self)
        ensure(
            start + len(batch) <= self.capacity,
            f"tree of depth {self.depth} is full: cannot append {len(batch)} leaves",
        )
        for leaf in batch:
            ensure(
                isinstance(leaf, int) and 0 <= leaf < FIELD_MODULUS,
                f"leaf {leaf!r} is not a BN254 field element",
            )
        if not batch:
            return []
        self._levels[0].extend(batch)
        self._recompute(0, start, start + len(batch) - 1)
        return list(range(start, start + len(batch)))

    def update(self, position: int, leaf: int) -> None:
        """Replace an existing leaf and rehash its path (for the live tree's ring level)."""
        ensure(0 <= position < len(self), f"no leaf at position {position}")
        ensure(0 <= leaf < FIELD_MODULUS, f"leaf {leaf!r} is not a BN254 field element")
        self._levels[0][position] = leaf
        self._recompute(0, position, position)

    def leaf(self, position: int) -> int:
        ensure(0 <= position < len(self), f"no leaf at position {position}")
        return self._levels[0][position]

    def leaves(self) -> tuple[int, ...]:
        """Every leaf in order."""
        return tuple(self._levels[0])

    def path(self, position: int) -> list[int]:
        """The sibling of the leaf and of each ancestor, bottom-up (a wallet's witness)."""
        ensure(0 <= position < len(self), f"no leaf at position {position} (size {len(self)})")
        siblings: list[int] = []
        for level in self.stored_levels[:-1]:
            width = self.width(level)
            index = position >> level
            chunk = index >> width
            nodes = self._levels[level][chunk << width : (chunk + 1) << width]
            rows = _band_levels(nodes, level, width)
            local = index - (chunk << width)
            for offset in range(width):
                siblings.append(rows[offset][(local >> offset) ^ 1])
        return siblings

    def reset(self) -> None:
        """Empty the tree and free its storage (its chunks are reported removed)."""
        for level, nodes in self._levels.items():
            width = self.width(level)
            for chunk in range(-(-len(nodes) >> width)):
                self._removed.add((level, chunk))
            nodes.clear()
        self._dirty.clear()

    # --- persistence -------------------------------------------------------------------

    def chunk(self, chunk_id: ChunkId) -> tuple[int, ...]:
        """The stored nodes of one chunk (the root level's chunk 0 is the root)."""
        level, index = chunk_id
        width = self.width(level)
        return tuple(self._levels[level][index << width : (index + 1) << width])

    def chunk_ids(self) -> list[ChunkId]:
        """Every non-empty chunk, by level then index."""
        ids = []
        for level, nodes in self._levels.items():
            width = self.width(level)
            ids.extend((level, index) for index in range(-(-len(nodes) >> width)))
        return ids

    def take_changes(self) -> dict[ChunkId, tuple[int, ...] | None]:
        """The chunks changed since the last call: their nodes, or None if removed."""
        changes: dict[ChunkId, tuple[int, ...] | None] = dict.fromkeys(self._removed)
        for chunk_id in self._dirty:
            changes[chunk_id] = self.chunk(chunk_id)
        self._dirty.clear()
        self._removed.clear()
        return changes

    @classmethod
    def restore(
        cls, depth: int, size: int, read_chunk: Callable[[ChunkId], Sequence[int] | None]
    ) -> MerkleTree:
        """Rebuild a tree of `size` leaves from its chunks (`read_chunk` returns one, or
        None if absent), without hashing. NotesError if a chunk is missing or has the
        wrong length."""
        tree = cls(depth)
        ensure(0 <= size <= tree.capacity, f"tree size {size} exceeds the capacity")
        for level in tree.stored_levels:
            width = tree.width(level)
            count = -(-size >> level) if size else 0
            nodes = tree._levels[level]
            for index in range(-(-count >> width) if width else count):
                chunk = read_chunk((level, index))
                expected = min(1 << width, count - (index << width))
                ensure(
                    chunk is not None and len(chunk) == expected,
                    f"tree chunk {(level, index)}: expected {expected} nodes, "
                    f"got {None if chunk is None else len(chunk)}",
                )
                assert chunk is not None
                nodes.extend(chunk)
        return tree
