"""Appendix F: the Fisher-Yates shuffle against the shuffle vectors and its definition."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamcore.crypto.hashing import blake2b_256
from jamcore.shuffle import ShuffleError, naturals_from_hash, shuffle, shuffle_with_entropy
from tests.vectors import vector_params


@pytest.mark.parametrize("vector_file", vector_params("shuffle"))
def test_shuffle_vectors(vector_file: Path) -> None:
    data = json.loads(vector_file.read_text())
    cases = data if isinstance(data, list) else [data]
    for number, case in enumerate(cases):
        length, entropy = case["input"], bytes.fromhex(case["entropy"])
        got = shuffle_with_entropy(list(range(length)), entropy)
        assert got == case["output"], (
            f"{vector_file.name} case {number} (length {length}, entropy {case['entropy']})"
        )


def _definition_shuffle(items: list[int], randomness: list[int]) -> list[int]:
    """F(s, r) written recursively as eq. F.1."""
    if not items:
        return []
    index = randomness[0] % len(items)
    rest = list(items)
    rest[index] = items[-1]
    return [items[index]] + _definition_shuffle(rest[:-1], randomness[1:])


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_shuffle_matches_the_recursive_definition(data: st.DataObject) -> None:
    items = data.draw(st.lists(st.integers(), max_size=40))
    randomness = data.draw(
        st.lists(st.integers(min_value=0, max_value=2**64), min_size=len(items), max_size=50)
    )
    result = shuffle(items, randomness)
    assert result == _definition_shuffle(items, randomness)
    assert sorted(result) == sorted(items)


def test_naturals_from_hash_reads_little_endian_words() -> None:
    entropy = bytes(range(32))
    naturals = naturals_from_hash(entropy, 10)
    first, second = blake2b_256(entropy + bytes(4)), blake2b_256(entropy + b"\x01\x00\x00\x00")
    assert naturals[:8] == [int.from_bytes(first[j : j + 4], "little") for j in range(0, 32, 4)]
    assert naturals[8:] == [int.from_bytes(second[j : j + 4], "little") for j in (0, 4)]
    assert naturals_from_hash(entropy, 0) == []


def test_shuffle_with_entropy_is_a_deterministic_permutation() -> None:
    validators = list(range(1023))
    entropy = blake2b_256(b"epoch entropy")
    first = shuffle_with_entropy(validators, entropy)
    assert first == shuffle_with_entropy(validators, entropy)
    assert sorted(first) == validators
    assert first != shuffle_with_entropy(validators, blake2b_256(b"other entropy"))


def test_invalid_entropy_length() -> None:
    with pytest.raises(ShuffleError, match="32-octet"):
        shuffle_with_entropy([1, 2, 3], bytes(31))


def test_invalid_randomness_too_short() -> None:
    with pytest.raises(ShuffleError, match="random natural 2"):
        shuffle([1, 2, 3], [5, 6])


def test_invalid_randomness_negative() -> None:
    with pytest.raises(ShuffleError, match="random natural 0"):
        shuffle([1, 2], [-1, 0])
