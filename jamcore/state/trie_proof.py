"""Merkle proofs of the state trie (graypaper Appendix D.2, eqs. D.3-D.6): one key's path.

A proof for a key K under a state root lists the sibling identities M(.) met on K's path
from the root down (top first: `siblings[i]` is the other child of the branch at depth i,
eq. D.3), and the terminal reached at depth len(siblings):

- a leaf node L(K, v) (eq. D.4): K maps to v (inclusion);
- a leaf node L(K', v') of another key sharing K's first len(siblings) bits: the sub-trie
  holding K's path is that single entry, so K is absent (exclusion);
- nothing: the sub-trie on K's path is empty, M = zero hash (eq. D.6), so K is absent.

Verification hashes the terminal up through the siblings exactly as eq. D.6 does: at
depth i the running hash is the left child if bit i of K is 0 and the right child
otherwise, and B(l, r) drops the first bit of l (eq. D.3). That dropped bit is why every
sibling is carried in full, and also why flipping the first bit of a left sibling leaves
the proof valid: both values commit to the same branch.

Chains of one-sided branches over a shared key prefix carry zero-hash siblings, so a
proof has at most 248 siblings (one per key bit).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from jamcore.crypto.hashing import ZERO_HASH
from jamcore.errors import JamError
from jamcore.state.keys import check_state_key
from jamcore.state.merklization import (
    _BRANCH_MASK,
    _EMBEDDED_LEAF_HEAD,
    _EMBEDDED_SIZE_SHIFT,
    _REGULAR_LEAF_HEAD,
    _REVERSED_BITS,
    EMBEDDED_VALUE_LIMIT,
    KEY_BITS,
    BitOrder,
    _check_value,
    _leaf,
)

__all__ = ["TrieProof", "TrieProofError", "verify_proof"]

_HASH_LENGTH = 32
_NODE_LENGTH = 64
_HEX = re.compile(r"0x[0-9a-fA-F]*")

# The first octet of B(l, r) for each first octet of l: l's first bit cleared (eq. D.3).
BRANCH_HEADS = {
    order: tuple(bytes((octet & _BRANCH_MASK[order],)) for octet in range(256))
    for order in BitOrder
}
# The first octet of L(k, v) by |v| (eq. D.4): embedded-value heads for 0..32, then regular.
LEAF_HEADS = {
    order: tuple(
        bytes((_EMBEDDED_LEAF_HEAD[order] | size << _EMBEDDED_SIZE_SHIFT[order],))
        for size in range(EMBEDDED_VALUE_LIMIT + 1)
    )
    + (bytes((_REGULAR_LEAF_HEAD[order],)),)
    for order in BitOrder
}
# bit i of a key is (key[i >> 3] >> BIT_SHIFTS[order][i & 7]) & 1 (graypaper section 3.7.2).
BIT_SHIFTS = {
    BitOrder.MSB_FIRST: (7, 6, 5, 4, 3, 2, 1, 0),
    BitOrder.LSB_FIRST: (0, 1, 2, 3, 4, 5, 6, 7),
}


class TrieProofError(JamError, ValueError):
    """A state-trie proof, or its JSON form, that is malformed (not merely failing)."""

    code = "malformed"


def branch_hash(left: bytes, right: bytes, order: BitOrder) -> bytes:
    """H(B(l, r)) (eq. D.3), without merklization.branch_node's argument checks."""
    return blake2b(
        BRANCH_HEADS[order][left[0]] + left[1:] + right, digest_size=_HASH_LENGTH
    ).digest()


def first_difference(a: bytes, b: bytes, order: BitOrder) -> int:
    """The first bit index at which two state keys differ; KEY_BITS if they are equal."""
    if order is BitOrder.LSB_FIRST:
        a, b = a.translate(_REVERSED_BITS), b.translate(_REVERSED_BITS)
    return KEY_BITS - (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_length()


def chain_hash(node: bytes, key: bytes, split: int, top: int, order: BitOrder) -> bytes:
    """M at depth `top` of a sub-trie whose keys (e.g. `key`) share bits top..split-1 and
    whose identity at depth `split` is `node`: one one-sided branch per shared bit, the
    empty side being the zero hash (eq. D.6)."""
    heads = BRANCH_HEADS[order]
    shifts = BIT_SHIFTS[order]
    for level in range(split - 1, top - 1, -1):
        if key[level >> 3] >> shifts[level & 7] & 1:
            # B(0, r): the zero hash keeps its (zero) first bit.
            node = blake2b(ZERO_HASH + node, digest_size=_HASH_LENGTH).digest()
        else:
            node = blake2b(heads[node[0]] + node[1:] + ZERO_HASH, digest_size=32).digest()
    return node


def _is_leaf_node(node: bytes, order: BitOrder) -> bool:
    """Whether 64 octets are a well-formed leaf L(k, v) (eq. D.4) rather than a branch."""
    head = node[0]
    if head == _REGULAR_LEAF_HEAD[order]:
        return True
    size = head >> _EMBEDDED_SIZE_SHIFT[order] & 0x3F
    return (
        head == _EMBEDDED_LEAF_HEAD[order] | size << _EMBEDDED_SIZE_SHIFT[order]
        and size <= EMBEDDED_VALUE_LIMIT
        and not any(node[32 + size :])
    )


def _hex(data: Any, length: int, what: str) -> bytes:
    if not isinstance(data, str) or not _HEX.fullmatch(data):
        raise TrieProofError(f"{what}: expected a 0x-prefixed hex string, got {data!r:.80}")
    if len(data) != 2 + 2 * length:
        raise TrieProofError(f"{what}: expected {length} octets, got {len(data) - 2} hex digits")
    return bytes.fromhex(data[2:])


@dataclass(frozen=True)
class TrieProof:
    """The path of one key through the state trie (eqs. D.3-D.6).

    `siblings`: the 32-octet identity of the other child at each depth, root first (zero
    hashes on chains of one-sided branches); `leaf`: the 64-octet leaf node at depth
    len(siblings), or None when the sub-trie there is empty.
    """

    siblings: tuple[bytes, ...]
    leaf: bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.siblings, str | bytes) or not isinstance(self.siblings, Sequence):
            raise TrieProofError("proof siblings: expected a sequence of 32-octet hashes")
        siblings = tuple(self.siblings)
        if len(siblings) > KEY_BITS:
            raise TrieProofError(f"proof: {len(siblings)} siblings, at most {KEY_BITS}")
        for index, sibling in enumerate(siblings):
            if not isinstance(sibling, bytes) or len(sibling) != _HASH_LENGTH:
                raise TrieProofError(f"proof sibling {index}: expected 32 octets")
        if self.leaf is not None and (
            not isinstance(self.leaf, bytes) or len(self.leaf) != _NODE_LENGTH
        ):
            raise TrieProofError("proof leaf: expected a 64-octet leaf node or None")
        object.__setattr__(self, "siblings", siblings)

    def to_json(self) -> dict[str, Any]:
        """{"siblings": ["0x..", ...], "leaf": "0x.." | null}, e.g. for `state_getProof`."""
        return {
            "siblings": ["0x" + sibling.hex() for sibling in self.siblings],
            "leaf": None if self.leaf is None else "0x" + self.leaf.hex(),
        }

    @classmethod
    def from_json(cls, data: Any) -> TrieProof:
        """The proof of a `to_json` object; TrieProofError on any other shape."""
        if not isinstance(data, dict) or set(data) != {"siblings", "leaf"}:
            raise TrieProofError('proof JSON: expected an object with "siblings" and "leaf"')
        siblings = data["siblings"]
        if not isinstance(siblings, list):
            raise TrieProofError("proof JSON siblings: expected a list")
        if len(siblings) > KEY_BITS:
            raise TrieProofError(f"proof JSON: {len(siblings)} siblings, at most {KEY_BITS}")
        leaf = data["leaf"]
        return cls(
            tuple(
                _hex(item, _HASH_LENGTH, f"proof sibling {i}") for i, item in enumerate(siblings)
            ),
            None if leaf is None else _hex(leaf, _NODE_LENGTH, "proof leaf"),
        )


def verify_proof(
    root: bytes,
    key: bytes,
    value: bytes | None,
    proof: TrieProof,
    order: BitOrder = BitOrder.MSB_FIRST,
) -> bool:
    """True iff `proof` shows that under state root `root` (eq. D.5) `key` maps to `value`
    (`value` None: `key` is absent).

    Inclusion needs the terminal to be exactly L(key, value) (eq. D.4: the value itself,
    zero-padded, with its length in the head bits when at most 32 octets, else H(value)).
    Exclusion needs an empty terminal, or a well-formed leaf of another key sharing the
    key's first len(siblings) bits. The terminal is then hashed up through the siblings as
    eq. D.6 does. StateKeyError if `key` or `value` is malformed; TrieProofError if `root`
    is not 32 octets or `proof` is not a TrieProof.
    """
    key = check_state_key(key)
    if value is not None:
        value = _check_value(key, value)
    if not isinstance(root, bytes | bytearray) or len(root) != _HASH_LENGTH:
        raise TrieProofError("state root: expected 32 octets")
    if not isinstance(proof, TrieProof):
        raise TrieProofError(f"proof: expected a TrieProof, got {type(proof).__name__}")
    siblings = proof.siblings
    depth = len(siblings)
    leaf = proof.leaf
    if leaf is None:
        if value is not None:
            return False
        node = ZERO_HASH
    else:
        leaf_key = leaf[1:32]
        if leaf_key == key:
            if value is None or leaf != _leaf(key, value, order):
                return False
        elif (
            value is not None
            or not _is_leaf_node(leaf, order)
            or first_difference(key, leaf_key, order) < depth
        ):
            return False
        node = blake2b(leaf, digest_size=_HASH_LENGTH).digest()
    heads = BRANCH_HEADS[order]
    shifts = BIT_SHIFTS[order]
    for level in range(depth - 1, -1, -1):
        sibling = siblings[level]
        if key[level >> 3] >> shifts[level & 7] & 1:
            node = blake2b(heads[sibling[0]] + sibling[1:] + node, digest_size=32).digest()
        else:
            node = blake2b(heads[node[0]] + node[1:] + sibling, digest_size=32).digest()
    return node == bytes(root)
