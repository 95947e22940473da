"""State Merklization of graypaper Appendix D.2 (v0.7.2): the binary Patricia trie root.

The serialized state is a dictionary from 31-octet state keys to octet strings. Its
commitment is the root of a binary trie over the bits of the keys, with 64-octet nodes:

- branch B(l, r): one 0 bit, the last 255 bits of the left child's hash, then the right
  child's hash (eq. D.3);
- leaf L(k, v): bits [1, 0] and the 6-bit length of v, the key, then v zero-padded to 32
  octets when |v| <= 32 (embedded-value leaf); otherwise bits [1, 1, 0, 0, 0, 0, 0, 0],
  the key, then H(v) (regular leaf) (eq. D.4).

M (eq. D.6) identifies an empty (sub-)trie with the zero hash and any other with the
blake2b hash of its root node; a sub-trie of two or more entries is always a branch, so
keys sharing a prefix hang below a chain of one-sided branches.

`bits` orders the bits of an octet most significant first (graypaper section 3.7.2,
since v0.4.0). The trie vectors (trie/trie.json, unchanged up to the v0.7.2 vector release)
still use the older least-significant-first order; their regeneration (w3f PR #14, commit
ba6ee043) was never merged. `BitOrder.LSB_FIRST` reproduces that layout for conformance
checks only; the v0.7.2 block-import traces' state roots use `BitOrder.MSB_FIRST`.

The root is computed from one sort of the keys: a sub-trie is an index range of the
sorted keys, split by binary search at the first bit where its first and last key differ.
"""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections.abc import Mapping

from jamcore.crypto.hashing import ZERO_HASH, blake2b_256
from jamcore.state.keys import STATE_KEY_LENGTH, StateKeyError, check_state_key

KEY_BITS = 8 * STATE_KEY_LENGTH
EMBEDDED_VALUE_LIMIT = 32
"""Values of at most this many octets are embedded in their leaf (eq. D.4)."""


class BitOrder(enum.Enum):
    """How `bits` maps an octet to a bit sequence (graypaper section 3.7.2)."""

    MSB_FIRST = "msb-first"
    """The graypaper since v0.4.0, including v0.7.2: the protocol's state root."""

    LSB_FIRST = "lsb-first"
    """Graypaper up to v0.3.x, still used by the trie vectors of the v0.7.2 release."""


_REVERSED_BITS = bytes(int(f"{octet:08b}"[::-1], 2) for octet in range(256))


# The first octet of each node kind: bits [1, 0] ++ six size bits (embedded-value leaf),
# [1, 1, 0, 0, 0, 0, 0, 0] (regular leaf), and the mask clearing a branch's first bit.
_EMBEDDED_LEAF_HEAD = {BitOrder.MSB_FIRST: 0b1000_0000, BitOrder.LSB_FIRST: 0b0000_0001}
_EMBEDDED_SIZE_SHIFT = {BitOrder.MSB_FIRST: 0, BitOrder.LSB_FIRST: 2}
_REGULAR_LEAF_HEAD = {BitOrder.MSB_FIRST: 0b1100_0000, BitOrder.LSB_FIRST: 0b0000_0011}
_BRANCH_MASK = {BitOrder.MSB_FIRST: 0x7F, BitOrder.LSB_FIRST: 0xFE}


def _leaf(key: bytes, value: bytes, order: BitOrder) -> bytes:
    if len(value) <= EMBEDDED_VALUE_LIMIT:
        head = _EMBEDDED_LEAF_HEAD[order] | len(value) << _EMBEDDED_SIZE_SHIFT[order]
        return bytes((head,)) + key + value.ljust(32, b"\0")
    return bytes((_REGULAR_LEAF_HEAD[order],)) + key + blake2b_256(value)


def _branch(left: bytes, right: bytes, order: BitOrder) -> bytes:
    return bytes((left[0] & _BRANCH_MASK[order],)) + left[1:] + right


def leaf_node(key: bytes, value: bytes, order: BitOrder = BitOrder.MSB_FIRST) -> bytes:
    """L(k, v): the 64-octet leaf node of a state key and its value (eq. D.4)."""
    key = check_state_key(key)
    return _leaf(key, _check_value(key, value), order)


def branch_node(left: bytes, right: bytes, order: BitOrder = BitOrder.MSB_FIRST) -> bytes:
    """B(l, r): the 64-octet branch node over two sub-trie identities (eq. D.3)."""
    if len(left) != 32 or len(right) != 32:
        raise StateKeyError(
            f"branch children: expected two 32-octet hashes, got {len(left)} and {len(right)}"
        )
    return _branch(bytes(left), bytes(right), order)


def _check_value(key: bytes, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise StateKeyError(
            f"value under state key 0x{key.hex()}: expected octets, got {type(value).__name__}"
        )
    return bytes(value)


class _Trie:
    """The sorted entries of one state dictionary and the recursion of M over them."""

    def __init__(self, state: Mapping[bytes, bytes], order: BitOrder) -> None:
        entries = []
        reverse = order is BitOrder.LSB_FIRST
        for raw_key, raw_value in state.items():
            key = check_state_key(raw_key)
            value = _check_value(key, raw_value)
            # The path is the key's bit sequence read as a big-endian number, so sorting
            # paths puts sub-tries in contiguous index ranges.
            path_octets = key.translate(_REVERSED_BITS) if reverse else key
            entries.append((int.from_bytes(path_octets, "big"), key, value))
        entries.sort(key=lambda entry: entry[0])
        self.paths = [entry[0] for entry in entries]
        self.keys = [entry[1] for entry in entries]
        self.values = [entry[2] for entry in entries]
        self.order = order

    def leaf_hash(self, index: int) -> bytes:
        return blake2b_256(_leaf(self.keys[index], self.values[index], self.order))

    def branch_hash(self, left: bytes, right: bytes) -> bytes:
        return blake2b_256(_branch(left, right, self.order))

    def root(self, lo: int, hi: int, depth: int) -> bytes:
        """M of the entries with sorted indices lo..hi-1, which share their first `depth`
        bits (eq. D.6)."""
        if hi - lo == 1:
            return self.leaf_hash(lo)
        paths = self.paths
        first = paths[lo]
        # Sorted, so the first and last path bound the range: below their first
        # differing bit every entry still shares the prefix.
        split = KEY_BITS - (first ^ paths[hi - 1]).bit_length()
        shift = KEY_BITS - 1 - split
        threshold = (first >> (shift + 1) << (shift + 1)) | (1 << shift)
        middle = bisect_left(paths, threshold, lo, hi)
        node = self.branch_hash(self.root(lo, middle, split + 1), self.root(middle, hi, split + 1))
        # Shared bits above the split: one-sided branches with an empty sibling.
        for level in range(split - 1, depth - 1, -1):
            if first >> (KEY_BITS - 1 - level) & 1:
                node = self.branch_hash(ZERO_HASH, node)
            else:
                node = self.branch_hash(node, ZERO_HASH)
        return node


def state_root(state: Mapping[bytes, bytes], order: BitOrder = BitOrder.MSB_FIRST) -> bytes:
    """M_sigma: the Merkle root of a serialized state dictionary of 31-octet keys
    (eqs. D.5, D.6). StateKeyError if a key is not 31 octets or a value is not octets."""
    if not isinstance(state, Mapping):
        raise StateKeyError(f"state dictionary: expected a mapping, got {type(state).__name__}")
    trie = _Trie(state, order)
    if not trie.paths:
        return ZERO_HASH
    return trie.root(0, len(trie.paths), 0)
