"""General Merklization of graypaper Appendix E (v0.7.0): binary Merkle trees and MMRs.

- N, T (eqs. E.1, E.2): the node function over a sequence of blobs, splitting at
  ceil(n/2), and the trace of sibling nodes from the top down to one item;
- M_B (eq. E.3): the well-balanced tree, for items of about hash size;
- M, J_x, L_x, C (eqs. E.4-E.7): the constant-depth tree over "leaf"-prefixed item
  hashes padded with zero hashes to a power of two, its page justifications and pages;
- A, E_M, M_R (eqs. E.8-E.10): the Merkle Mountain Range (belt) append, encoding and
  super-peak; the super-peak uses keccak-256 as the graypaper says, and the recent-history
  belt appends with keccak-256 too (section 7), so that is `mmr_append`'s default.

Every tree function takes the hash H as an argument defaulting to blake2b-256. Inner
nodes hash "node" ++ left ++ right, leaves "leaf" ++ item, super-peaks "peak" ++ ... so
that no item can pass for a node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from jamcore.codec import HASH, optional, seq
from jamcore.crypto.hashing import ZERO_HASH, blake2b_256, keccak_256

Hasher = Callable[[bytes], bytes]

NODE_PREFIX = b"node"
LEAF_PREFIX = b"leaf"
PEAK_PREFIX = b"peak"

MMR_CODEC = seq(optional(HASH))
"""E_M: a belt as a length-prefixed sequence of optional hashes (eq. E.9)."""


class MerkleError(ValueError):
    """An index, page size, proof or peak that does not fit the tree it is used with."""


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise MerkleError(message)


def _split(count: int) -> int:
    """ceil(count / 2): the length of the left half in N and T."""
    return (count + 1) // 2


def node(items: Sequence[bytes], hasher: Hasher = blake2b_256) -> bytes:
    """N(v, H): the zero hash for no items, the item itself for one, otherwise
    H("node" ++ N(left half) ++ N(right half)) with the left half of ceil(n/2) items
    (eq. E.1)."""
    return _node(items, 0, len(items), hasher)


def _node(items: Sequence[bytes], lo: int, hi: int, hasher: Hasher) -> bytes:
    count = hi - lo
    if count == 0:
        return ZERO_HASH
    if count == 1:
        return items[lo]
    middle = lo + _split(count)
    return hasher(NODE_PREFIX + _node(items, lo, middle, hasher) + _node(items, middle, hi, hasher))


def _check_index(index: int, count: int, what: str) -> None:
    _ensure(
        isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count,
        f"{what} {index!r}: expected an index below {count}",
    )


def trace(items: Sequence[bytes], index: int, hasher: Hasher = blake2b_256) -> list[bytes]:
    """T(v, i, H): the sibling of each node on the path to item i, top first (eq. E.2)."""
    _check_index(index, len(items), "item index")
    path: list[bytes] = []
    lo, hi = 0, len(items)
    while hi - lo > 1:
        middle = lo + _split(hi - lo)
        if index < middle:
            path.append(_node(items, middle, hi, hasher))
            hi = middle
        else:
            path.append(_node(items, lo, middle, hasher))
            lo = middle
    return path


def root_from_trace(
    item: bytes,
    index: int,
    count: int,
    path: Sequence[bytes],
    hasher: Hasher = blake2b_256,
) -> bytes:
    """The N root implied by an item (or leaf node) at `index` of `count` and its trace T:
    what a verifier recomputes from a justification (inverse of eq. E.2)."""
    _check_index(index, count, "item index")
    sides: list[bool] = []  # True when the item lies in the right half at that level
    lo, hi = 0, count
    while hi - lo > 1:
        middle = lo + _split(hi - lo)
        sides.append(index >= middle)
        lo, hi = (middle, hi) if index >= middle else (lo, middle)
    _ensure(
        len(path) == len(sides),
        f"trace of {len(path)} hashes: expected {len(sides)} for item {index} of {count}",
    )
    current = item
    for sibling, on_right in zip(reversed(path), reversed(sides), strict=True):
        pair = sibling + current if on_right else current + sibling
        current = hasher(NODE_PREFIX + pair)
    return current


def well_balanced_root(items: Sequence[bytes], hasher: Hasher = blake2b_256) -> bytes:
    """M_B(v, H): H(v_0) for a single item, otherwise N(v, H) (eq. E.3)."""
    if len(items) == 1:
        return hasher(items[0])
    return node(items, hasher)


def _padded_size(count: int) -> int:
    """2^ceil(log2(max(1, count))): the length of C(v) for `count` items."""
    return 1 << (max(1, count) - 1).bit_length()


def constancy_leaves(items: Sequence[bytes], hasher: Hasher = blake2b_256) -> list[bytes]:
    """C(v, H): each item as H("leaf" ++ item), padded with zero hashes to a power of two
    (eq. E.7)."""
    leaves = [hasher(LEAF_PREFIX + item) for item in items]
    leaves.extend([ZERO_HASH] * (_padded_size(len(items)) - len(leaves)))
    return leaves


def constant_depth_root(items: Sequence[bytes], hasher: Hasher = blake2b_256) -> bytes:
    """M(v, H) = N(C(v, H), H): the constant-depth Merkle root (eq. E.4)."""
    return node(constancy_leaves(items, hasher), hasher)


def _check_page_exponent(page_exponent: int) -> None:
    _ensure(
        isinstance(page_exponent, int) and 0 <= page_exponent <= 64,
        f"page size exponent {page_exponent!r}: expected an integer in 0..64",
    )


def _check_page(items: Sequence[bytes], page: int, page_exponent: int) -> None:
    _check_page_exponent(page_exponent)
    pages = max(1, -(-len(items) >> page_exponent))  # ceil(|v| / 2^x), at least one
    _ensure(
        isinstance(page, int) and not isinstance(page, bool) and 0 <= page < pages,
        f"page index {page!r}: expected an index below {pages} "
        f"({len(items)} items in pages of 2^{page_exponent})",
    )


def justification(
    items: Sequence[bytes], page: int, page_exponent: int = 0, hasher: Hasher = blake2b_256
) -> list[bytes]:
    """J_x(v, i, H): the trace of C(v, H) to page i of 2^x leaves, cut to the
    max(0, ceil(log2(max(1, |v|))) - x) hashes above the page (eq. E.5)."""
    _check_page(items, page, page_exponent)
    depth = (_padded_size(len(items)) - 1).bit_length()
    full = trace(constancy_leaves(items, hasher), page << page_exponent, hasher)
    return full[: max(0, depth - page_exponent)]


def leaf_page(
    items: Sequence[bytes], page: int, page_exponent: int = 0, hasher: Hasher = blake2b_256
) -> list[bytes]:
    """L_x(v, i, H): the "leaf"-prefixed hashes of the items of page i of 2^x (eq. E.6)."""
    _check_page(items, page, page_exponent)
    start = page << page_exponent
    end = min(start + (1 << page_exponent), len(items))
    return [hasher(LEAF_PREFIX + item) for item in items[start:end]]


def root_from_page(
    page_leaves: Sequence[bytes],
    page: int,
    page_exponent: int,
    path: Sequence[bytes],
    hasher: Hasher = blake2b_256,
) -> bytes:
    """The constant-depth root M implied by a page L_x and its justification J_x: the page
    is padded with zero hashes (to 2^x, or to a power of two when it is the whole tree) and
    hashed up through the path (inverse of eqs. E.5, E.6)."""
    _check_page_exponent(page_exponent)
    _ensure(
        len(page_leaves) <= 1 << page_exponent,
        f"page of {len(page_leaves)} leaves: expected at most 2^{page_exponent}",
    )
    size = 1 << page_exponent if path else _padded_size(len(page_leaves))
    padded = list(page_leaves) + [ZERO_HASH] * (size - len(page_leaves))
    page_root = node(padded, hasher)
    # C(v) has a power-of-two length, so the page roots form a complete tree of
    # 2^|path| pages and the justification is the page root's trace in it.
    return root_from_trace(page_root, page, 1 << len(path), path, hasher)


# --------------------------------------------------------------------------------------
# Merkle Mountain Ranges (belts), section E.2
# --------------------------------------------------------------------------------------


def _check_peaks(peaks: Sequence[bytes | None]) -> None:
    for height, peak in enumerate(peaks):
        _ensure(
            peak is None or (isinstance(peak, bytes) and len(peak) == 32),
            f"MMR peak {height}: expected a 32-octet hash or None, got {peak!r}",
        )


def mmr_append(
    peaks: Sequence[bytes | None], leaf: bytes, hasher: Hasher = keccak_256
) -> list[bytes | None]:
    """A(r, l, H): append a leaf to a belt of optional peaks, peak n covering 2^n leaves;
    equal-height peaks merge as H(peak ++ carry) (eq. E.8)."""
    _check_peaks(peaks)
    _ensure(
        isinstance(leaf, bytes) and len(leaf) == 32,
        f"MMR leaf: expected a 32-octet hash, got {leaf!r}",
    )
    result = list(peaks)
    carry = leaf
    for height, peak in enumerate(result):
        if peak is None:
            result[height] = carry
            return result
        result[height] = None
        carry = hasher(peak + carry)
    result.append(carry)
    return result


def mmr_encode(peaks: Sequence[bytes | None]) -> bytes:
    """E_M(b): the belt as a length-prefixed sequence of optional hashes (eq. E.9)."""
    _check_peaks(peaks)
    return MMR_CODEC.encode(tuple(peaks))


def mmr_super_peak(peaks: Sequence[bytes | None]) -> bytes:
    """M_R(b): the zero hash for no peaks, the only peak for one, otherwise
    H_K("peak" ++ M_R(all but the last) ++ last), over the non-empty peaks (eq. E.10)."""
    _check_peaks(peaks)
    present = [peak for peak in peaks if peak is not None]
    if not present:
        return ZERO_HASH
    root = present[0]
    for peak in present[1:]:
        root = keccak_256(PEAK_PREFIX + root + peak)
    return root
