"""Incremental Merklization of the serialized state (graypaper Appendix D.2, eqs. D.3-D.6).

`StateTrie` holds a state dictionary as a compressed binary trie over the key bits and
caches M (eq. D.6) of every sub-trie of two or more entries, so `root()` after an update
rehashes only the branches on changed paths. Its root always equals
`merklization.state_root` of the same dictionary (eq. D.5).

Representation. An internal node is a sub-trie of >= 2 entries; it records the bit `split`
(the first bit where its keys differ, eq. D.6's recursion into l and r), its two children,
and its identity M at its *top* depth (one below its parent's split, 0 for the root),
i.e. the node hash H(B(M(l), M(r))) (eq. D.3) wrapped in one one-sided branch per shared
prefix bit in between (the zero hash on the empty side, eq. D.6). A single entry is a leaf
whose identity is H(L(k, v)) (eq. D.4) at any depth.

No node is a Python object: internal node n is the record nodes[n:n+4] = (left, right,
split, unused) of one int32 array (n a multiple of 4, so a node's fields share a cache
line) and its hash is hashes[8n:8n+32]; a child reference is such an n >= 0, or ~j < 0 for
leaf j, whose key, value and hash are keys[j], values[j] and leaf_hashes[32j:32j+32].
Deleted slots go to free lists. An entry costs about 100 octets besides its key and value
objects (which are shared with the caller's dictionary, not copied).

Updates record every stale leaf and every node whose cached hash went stale (those on
changed paths, and those whose chain above them changed length) with its current top
depth; `root()` rehashes just those, deepest split first, so each one's children are
current when it is reached.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from hashlib import blake2b
from operator import itemgetter

from jamcore.crypto.hashing import ZERO_HASH
from jamcore.state.keys import STATE_KEY_LENGTH, StateKeyError, check_state_key
from jamcore.state.merklization import (
    _REVERSED_BITS,
    EMBEDDED_VALUE_LIMIT,
    KEY_BITS,
    BitOrder,
    _check_value,
    _leaf,
)
from jamcore.state.trie_proof import (
    BRANCH_HEADS,
    LEAF_HEADS,
    TrieProof,
    TrieProofError,
    chain_hash,
    first_difference,
    verify_proof,
)

__all__ = ["StateTrie", "TrieProof", "TrieProofError", "verify_proof"]


_LAST_BIT = KEY_BITS - 1


def _checked_state(entries: Mapping[bytes, bytes] | None) -> Mapping[bytes, bytes]:
    """`entries` with keys and values as bytes; StateKeyError on a malformed entry."""
    if entries is None:
        return {}
    if not isinstance(entries, Mapping):
        raise StateKeyError(f"state dictionary: expected a mapping, got {type(entries).__name__}")
    if all(
        type(key) is bytes and len(key) == STATE_KEY_LENGTH and type(value) is bytes
        for key, value in entries.items()
    ):
        return entries
    state = {}
    for raw_key, raw_value in entries.items():
        key = check_state_key(raw_key)
        state[key] = _check_value(key, raw_value)
    return state


class StateTrie:
    """A state dictionary (31-octet keys to octets) with an incrementally maintained
    Merkle root (eqs. D.5, D.6) and per-key inclusion/exclusion proofs."""

    __slots__ = (
        "_order", "_heads", "_leaf_heads", "_keys", "_values", "_leaf_hashes", "_stale_leaves",
        "_free_leaves", "_nodes", "_hashes", "_dirty", "_free_nodes", "_root", "_root_hash",
        "_count",
    )  # fmt: skip

    def __init__(
        self,
        entries: Mapping[bytes, bytes] | None = None,
        order: BitOrder = BitOrder.MSB_FIRST,
    ) -> None:
        if not isinstance(order, BitOrder):
            raise StateKeyError(f"bit order: expected a BitOrder, got {order!r}")
        state = _checked_state(entries)
        self._order = order
        self._heads = BRANCH_HEADS[order]
        self._leaf_heads = LEAF_HEADS[order]
        self._free_leaves: list[int] = []
        self._leaf_hashes = bytearray()
        self._stale_leaves: set[int] = set()
        self._free_nodes: list[int] = []
        self._nodes = array("i")
        self._hashes = bytearray()
        self._dirty: dict[int, int] = {}
        """Stale internal nodes: reference to split << 8 | top depth (parent's split + 1)."""
        # One sort; a sub-trie is then an index range split by binary search (as in
        # merklization.state_root), so building is O(n log n) with no per-key inserts.
        if order is BitOrder.MSB_FIRST:
            paths = self._keys = sorted(state)
        else:
            paths = sorted(key.translate(_REVERSED_BITS) for key in state)
            self._keys = [path.translate(_REVERSED_BITS) for path in paths]
        self._values = [state[key] for key in self._keys]
        self._count = len(self._keys)
        self._root: int | None = None
        self._root_hash: bytes | None = ZERO_HASH
        if self._count:
            self._root, self._root_hash = self._build(paths, 0, self._count, 0)

    @property
    def order(self) -> BitOrder:
        """The bit order of the keys (graypaper section 3.7.2)."""
        return self._order

    def _build(self, paths: list[bytes], lo: int, hi: int, depth: int) -> tuple[int, bytes]:
        """(reference, M at `depth`) of the sorted entries lo..hi-1, which share their first
        `depth` bits (eq. D.6)."""
        if hi - lo == 1:
            leaf_hash = self._leaf_hash(lo)
            self._leaf_hashes += leaf_hash  # leaves are reached in index order
            return ~lo, leaf_hash
        first = paths[lo]
        split = KEY_BITS - (int.from_bytes(first) ^ int.from_bytes(paths[hi - 1])).bit_length()
        octet, bit = split >> 3, split & 7
        # The least path with the shared prefix and a 1 at `split`.
        threshold = first[:octet] + bytes((first[octet] & (0xFF00 >> bit) & 0xFF | 0x80 >> bit,))
        middle = bisect_left(paths, threshold, lo, hi)
        left, left_hash = self._build(paths, lo, middle, split + 1)
        right, right_hash = self._build(paths, middle, hi, split + 1)
        node = self._heads[left_hash[0]] + left_hash[1:] + right_hash
        node_hash = blake2b(node, digest_size=32).digest()
        if split > depth:
            node_hash = chain_hash(node_hash, self._keys[lo], split, depth, self._order)
        ref = len(self._nodes)
        self._nodes += array("i", (left, right, split, 0))
        self._hashes += node_hash
        return ref, node_hash

    def __len__(self) -> int:
        return self._count

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, bytes | bytearray | memoryview) or len(key) != STATE_KEY_LENGTH:
            return False
        return self.get(bytes(key)) is not None

    def get(self, key: bytes) -> bytes | None:
        """The value under `key`, or None; StateKeyError if `key` is not 31 octets."""
        key = check_state_key(key)
        if self._root is None:
            return None
        leaf = self._descend(self._path(key), None)
        return self._values[leaf] if self._keys[leaf] == key else None

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """The entries in trie order (keys sorted by their bit sequence)."""
        nodes = self._nodes
        stack = [] if self._root is None else [self._root]
        while stack:
            ref = stack.pop()
            if ref < 0:
                yield self._keys[~ref], self._values[~ref]
            else:
                stack += (nodes[ref + 1], nodes[ref])

    def _path(self, key: bytes) -> int:
        """The key's bit sequence (section 3.7.2) as a KEY_BITS-bit number, first bit on top."""
        if self._order is BitOrder.LSB_FIRST:
            key = key.translate(_REVERSED_BITS)
        return int.from_bytes(key)

    def _descend(self, bits: int, path: list[int] | None) -> int:
        """The leaf reached by following the key bits `bits` (see _path) from the non-empty
        root, appending the internal nodes passed to `path`."""
        nodes = self._nodes
        ref = self._root
        assert ref is not None
        if path is None:
            while ref >= 0:
                ref = nodes[ref + (bits >> (_LAST_BIT - nodes[ref + 2]) & 1)]
        else:
            while ref >= 0:
                path.append(ref)
                ref = nodes[ref + (bits >> (_LAST_BIT - nodes[ref + 2]) & 1)]
        return ~ref

    def update(self, changes: Mapping[bytes, bytes | None]) -> None:
        """Apply `changes` (a value sets a key, None deletes it; deleting an absent key is a
        no-op). StateKeyError, with nothing applied, if any key or value is malformed."""
        if not isinstance(changes, Mapping):
            raise StateKeyError(f"state changes: expected a mapping, got {type(changes).__name__}")
        checked = []
        for raw_key, raw_value in changes.items():
            key = check_state_key(raw_key)
            checked.append((key, None if raw_value is None else _check_value(key, raw_value)))
        for key, value in checked:
            if value is None:
                self._delete(key)
            else:
                self._set(key, value)

    def _new_leaf(self, key: bytes, value: bytes) -> int:
        self._count += 1
        if self._free_leaves:
            leaf = self._free_leaves.pop()
            self._keys[leaf], self._values[leaf] = key, value
        else:
            leaf = len(self._keys)
            self._keys.append(key)
            self._values.append(value)
            self._leaf_hashes += ZERO_HASH
        self._stale_leaves.add(leaf)
        return leaf

    def _new_node(self, left: int, right: int, split: int, top: int) -> int:
        """A stale internal node at depth `top` (the next root() computes its hash)."""
        nodes = self._nodes
        if self._free_nodes:
            ref = self._free_nodes.pop()
            nodes[ref], nodes[ref + 1], nodes[ref + 2] = left, right, split
        else:
            ref = len(nodes)
            nodes += array("i", (left, right, split, 0))
            self._hashes += ZERO_HASH
        self._dirty[ref] = split << 8 | top
        return ref

    def _replace_child(self, parent: int, old: int, new: int) -> None:
        nodes = self._nodes
        nodes[parent if nodes[parent] == old else parent + 1] = new

    def _mark(self, path: list[int]) -> None:
        """Record the nodes of a root-first path as stale, with their top depths."""
        nodes, dirty = self._nodes, self._dirty
        top = 0
        for ref in path:
            split = nodes[ref + 2]
            dirty[ref] = split << 8 | top
            top = split + 1
        self._root_hash = None

    def _set(self, key: bytes, value: bytes) -> None:
        if self._root is None:
            self._root = ~self._new_leaf(key, value)
            self._root_hash = None
            return
        path: list[int] = []
        bits = self._path(key)
        leaf = self._descend(bits, path)
        other = self._keys[leaf]
        if other == key:
            if self._values[leaf] != value:
                self._values[leaf] = value
                self._stale_leaves.add(leaf)
                self._mark(path)
            return
        # The new key leaves the trie at the first bit where it differs from `other`: a new
        # branch there, above the first node on the path that splits lower down.
        differ = first_difference(key, other, self._order)
        nodes = self._nodes
        above = 0
        while above < len(path) and nodes[path[above] + 2] < differ:
            above += 1
        below = path[above] if above < len(path) else ~leaf
        new_leaf = ~self._new_leaf(key, value)
        top = nodes[path[above - 1] + 2] + 1 if above else 0
        if bits >> (_LAST_BIT - differ) & 1:
            ref = self._new_node(below, new_leaf, differ, top)
        else:
            ref = self._new_node(new_leaf, below, differ, top)
        if above:
            self._replace_child(path[above - 1], below, ref)
        else:
            self._root = ref
        if below >= 0:
            # Same children, but a shorter chain above it.
            self._dirty[below] = nodes[below + 2] << 8 | differ + 1
        self._mark(path[:above])

    def _delete(self, key: bytes) -> None:
        if self._root is None:
            return
        path: list[int] = []
        leaf = self._descend(self._path(key), path)
        if self._keys[leaf] != key:
            return
        self._count -= 1
        self._keys[leaf] = self._values[leaf] = b""
        self._free_leaves.append(leaf)
        self._stale_leaves.discard(leaf)
        self._root_hash = None
        if not path:
            self._root = None
            return
        # The parent branch goes; the sibling sub-trie takes its place, one level higher.
        nodes = self._nodes
        parent = path.pop()
        sibling = nodes[parent + 1] if nodes[parent] == ~leaf else nodes[parent]
        if path:
            self._replace_child(path[-1], parent, sibling)
        else:
            self._root = sibling
        self._free_nodes.append(parent)
        self._dirty.pop(parent, None)
        if sibling >= 0:
            # Same children, but a longer chain above it: it now starts at parent's top.
            top = nodes[path[-1] + 2] + 1 if path else 0
            self._dirty[sibling] = nodes[sibling + 2] << 8 | top
        self._mark(path)

    def _leaf_hash(self, leaf: int) -> bytes:
        """H(L(k, v)) of leaf `leaf` (eq. D.4): the same node as merklization._leaf."""
        value = self._values[leaf]
        if len(value) <= EMBEDDED_VALUE_LIMIT:
            node = self._leaf_heads[len(value)] + self._keys[leaf] + value.ljust(32, b"\0")
        else:
            node = self._leaf_heads[-1] + self._keys[leaf] + blake2b(value, digest_size=32).digest()
        return blake2b(node, digest_size=32).digest()

    def _sample_key(self, ref: int) -> bytes:
        """A key of the sub-trie `ref` (its leftmost), for the bits of its shared prefix."""
        nodes = self._nodes
        while ref >= 0:
            ref = nodes[ref]
        return self._keys[~ref]

    def _child_hash(self, ref: int) -> bytes:
        """M of child `ref` at one below its parent's split (cached hashes current)."""
        if ref < 0:
            return bytes(self._leaf_hashes[~ref << 5 : (~ref << 5) + 32])
        return bytes(self._hashes[ref << 3 : (ref << 3) + 32])

    def _node_hash(self, ref: int) -> bytes:
        """H(B(M(l), M(r))): the node's identity at its split depth (eqs. D.3, D.6)."""
        left = self._child_hash(self._nodes[ref])
        right = self._child_hash(self._nodes[ref + 1])
        return blake2b(self._heads[left[0]] + left[1:] + right, digest_size=32).digest()

    def _rehash(self) -> None:
        """Recompute and cache the hash of every stale leaf, then M at its top depth of every
        stale node, deepest split first: splits grow downwards, so the children of each are
        current when it is reached."""
        nodes, hashes, dirty, heads = self._nodes, self._hashes, self._dirty, self._heads
        leaves = self._leaf_hashes
        for leaf in self._stale_leaves:
            leaves[leaf << 5 : (leaf << 5) + 32] = self._leaf_hash(leaf)
        self._stale_leaves.clear()
        for ref, packed in sorted(dirty.items(), key=itemgetter(1), reverse=True):
            child = nodes[ref]
            if child < 0:
                left = leaves[~child << 5 : (~child << 5) + 32]
            else:
                left = hashes[child << 3 : (child << 3) + 32]
            child = nodes[ref + 1]
            if child < 0:
                right = leaves[~child << 5 : (~child << 5) + 32]
            else:
                right = hashes[child << 3 : (child << 3) + 32]
            node_hash = blake2b(heads[left[0]] + left[1:] + right, digest_size=32).digest()
            split, top = packed >> 8, packed & 0xFF
            if split > top:
                sample = self._sample_key(ref)
                node_hash = chain_hash(node_hash, sample, split, top, self._order)
            hashes[ref << 3 : (ref << 3) + 32] = node_hash
        dirty.clear()

    def root(self) -> bytes:
        """M_sigma of the current dictionary (eqs. D.5, D.6), rehashing only the branches
        on paths changed since the last call."""
        root_hash = self._root_hash
        if root_hash is None:
            if self._dirty or self._stale_leaves:
                self._rehash()
            root = self._root
            root_hash = self._root_hash = ZERO_HASH if root is None else self._child_hash(root)
        return root_hash

    def proof(self, key: bytes) -> TrieProof:
        """The inclusion proof of `key`, or its exclusion proof if absent (see
        trie_proof): the siblings on its path from the root, and the terminal leaf."""
        key = check_state_key(key)
        self.root()  # every cached hash is current from here on
        if self._root is None:
            return TrieProof(())
        path: list[int] = []
        bits = self._path(key)
        leaf = self._descend(bits, path)
        other = self._keys[leaf]
        differ = first_difference(key, other, self._order)
        nodes = self._nodes
        siblings: list[bytes] = []
        depth = 0
        for ref in path:
            split = nodes[ref + 2]
            if differ < split:
                # The key leaves this node's shared prefix at bit `differ`: its side is
                # empty there, and the sibling is this sub-trie's M one level down.
                siblings += (ZERO_HASH,) * (differ - depth)
                sub = chain_hash(self._node_hash(ref), other, split, differ + 1, self._order)
                siblings.append(sub)
                return TrieProof(tuple(siblings))
            siblings += (ZERO_HASH,) * (split - depth)
            side = bits >> (_LAST_BIT - split) & 1
            siblings.append(self._child_hash(nodes[ref + 1 - side]))
            depth = split + 1
        return TrieProof(tuple(siblings), _leaf(other, self._values[leaf], self._order))
