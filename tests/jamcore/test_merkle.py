"""Appendix E: binary Merkle trees, justifications and Merkle Mountain Ranges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamcore.codec import decode_natural
from jamcore.crypto.hashing import ZERO_HASH, blake2b_256, keccak_256
from jamcore.merkle import (
    MerkleError,
    constancy_leaves,
    constant_depth_root,
    justification,
    leaf_page,
    mmr_append,
    mmr_encode,
    mmr_super_peak,
    node,
    root_from_page,
    root_from_trace,
    trace,
    well_balanced_root,
)
from tests.vectors import vector_params

_hashes = st.binary(min_size=32, max_size=32)
_items = st.lists(st.binary(max_size=40), min_size=1, max_size=40)


def _node_hash(left: bytes, right: bytes) -> bytes:
    return blake2b_256(b"node" + left + right)


# --------------------------------------------------------------------------------------
# N, M_B and T
# --------------------------------------------------------------------------------------


def test_node_small_cases() -> None:
    a, b, c = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    assert node([]) == ZERO_HASH
    assert node([a]) == a
    assert node([a, b]) == _node_hash(a, b)
    # Three items split as ceil(3/2) = 2 on the left.
    assert node([a, b, c]) == _node_hash(_node_hash(a, b), c)


def test_well_balanced_root_hashes_a_single_item() -> None:
    assert well_balanced_root([b"abc"]) == blake2b_256(b"abc")
    assert well_balanced_root([b"ab", b"cd"]) == _node_hash(b"ab", b"cd")
    assert well_balanced_root([b"x"], keccak_256) == keccak_256(b"x")


@settings(max_examples=60, deadline=None)
@given(st.lists(_hashes, min_size=1, max_size=40), st.data())
def test_trace_verifies_against_the_node_root(items: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(items) - 1))
    path = trace(items, index)
    assert root_from_trace(items[index], index, len(items), path) == node(items)


@settings(max_examples=60, deadline=None)
@given(st.lists(_hashes, min_size=2, max_size=40), st.data())
def test_changing_any_item_changes_the_root(items: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(items) - 1))
    changed = list(items)
    changed[index] = bytes(b ^ 0xFF for b in items[index])
    assert well_balanced_root(changed) != well_balanced_root(items)
    assert constant_depth_root(changed) != constant_depth_root(items)


def test_trace_rejects_out_of_range_index() -> None:
    with pytest.raises(MerkleError, match="index 3"):
        trace([b"a", b"b", b"c"], 3)


def test_root_from_trace_rejects_wrong_path_length() -> None:
    items = [bytes([i]) * 32 for i in range(5)]
    with pytest.raises(MerkleError, match="trace of 1 hashes"):
        root_from_trace(items[0], 0, 5, trace(items, 0)[:1])


# --------------------------------------------------------------------------------------
# Constant-depth tree M, C, J_x, L_x
# --------------------------------------------------------------------------------------


def test_constancy_leaves_pad_to_a_power_of_two() -> None:
    leaves = constancy_leaves([b"a", b"b", b"c"])
    assert leaves == [blake2b_256(b"leaf" + x) for x in (b"a", b"b", b"c")] + [ZERO_HASH]
    assert constancy_leaves([]) == [ZERO_HASH]
    assert constant_depth_root([]) == ZERO_HASH
    assert constant_depth_root([b"a"]) == blake2b_256(b"leafa")


@settings(max_examples=80, deadline=None)
@given(_items, st.integers(min_value=0, max_value=4), st.data())
def test_page_justification_verifies(
    items: list[bytes], page_exponent: int, data: st.DataObject
) -> None:
    pages = -(-len(items) >> page_exponent)
    page = data.draw(st.integers(min_value=0, max_value=pages - 1))
    leaves = leaf_page(items, page, page_exponent)
    path = justification(items, page, page_exponent)
    depth = (len(constancy_leaves(items)) - 1).bit_length()
    assert len(path) == max(0, depth - page_exponent)
    start = page << page_exponent
    assert leaves == [blake2b_256(b"leaf" + x) for x in items[start : start + 2**page_exponent]]
    assert root_from_page(leaves, page, page_exponent, path) == constant_depth_root(items)


@settings(max_examples=40, deadline=None)
@given(_items, st.data())
def test_tampered_leaf_fails_justification(items: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(items) - 1))
    path = justification(items, index)
    forged = blake2b_256(b"leaf" + items[index] + b"!")
    assert root_from_page([forged], index, 0, path) != constant_depth_root(items)


def test_justification_rejects_pages_beyond_the_items() -> None:
    with pytest.raises(MerkleError, match="page index 2"):
        justification([b"a"] * 8, 2, 2)
    with pytest.raises(MerkleError, match="page of 3 leaves"):
        root_from_page([ZERO_HASH] * 3, 0, 1, [])


# --------------------------------------------------------------------------------------
# Merkle Mountain Ranges
# --------------------------------------------------------------------------------------


def _mmr_from_scratch(leaves: list[bytes]) -> list[bytes | None]:
    """The belt of `leaves` built directly: peak n is the root of a perfect tree over a
    run of 2^n leaves, runs taken from the front by descending size (binary digits)."""
    peaks: list[bytes | None] = [None] * len(leaves).bit_length()
    start = 0
    for height in reversed(range(len(peaks))):
        if len(leaves) >> height & 1:
            level = leaves[start : start + (1 << height)]
            while len(level) > 1:
                level = [keccak_256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
            peaks[height] = level[0]
            start += 1 << height
    return peaks


@settings(max_examples=40, deadline=None)
@given(st.lists(_hashes, max_size=40))
def test_mmr_append_matches_recomputation(leaves: list[bytes]) -> None:
    belt: list[bytes | None] = []
    for count, leaf in enumerate(leaves, start=1):
        belt = mmr_append(belt, leaf)
        assert belt == _mmr_from_scratch(leaves[:count])


def test_mmr_super_peak() -> None:
    a, b, c = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
    assert mmr_super_peak([]) == ZERO_HASH
    assert mmr_super_peak([None, a]) == a
    assert mmr_super_peak([a, None, b]) == keccak_256(b"peak" + a + b)
    inner = keccak_256(b"peak" + a + b)
    assert mmr_super_peak([a, b, c]) == keccak_256(b"peak" + inner + c)


def test_mmr_encode() -> None:
    a = b"\x0a" * 32
    encoded = mmr_encode([None, a])
    assert decode_natural(encoded) == (2, 1)
    assert encoded[1:] == b"\x00" + b"\x01" + a


def test_mmr_rejects_malformed_peaks() -> None:
    with pytest.raises(MerkleError, match="MMR peak 1"):
        mmr_append([None, b"short"], ZERO_HASH)
    with pytest.raises(MerkleError, match="MMR leaf"):
        mmr_append([], b"short")


def _optional_hash(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value.removeprefix("0x"))


@pytest.mark.parametrize("vector_file", vector_params("stf/history"))
def test_history_vectors_mmr_append(vector_file: Path) -> None:
    """The recent-history belt step (section 7): b' = A(b, accumulate root, H_K), and the
    new history entry's beefy root is M_R(b')."""
    case = json.loads(vector_file.read_text())
    pre = [_optional_hash(p) for p in case["pre_state"]["beta"]["mmr"]["peaks"]]
    post = [_optional_hash(p) for p in case["post_state"]["beta"]["mmr"]["peaks"]]
    accumulate_root = _optional_hash(case["input"]["accumulate_root"])
    assert accumulate_root is not None
    name = vector_file.name
    assert mmr_append(pre, accumulate_root) == post, f"{name}: MMR peaks after append"
    newest = case["post_state"]["beta"]["history"][-1]
    assert mmr_super_peak(post) == _optional_hash(newest["beefy_root"]), f"{name}: super-peak"
