"""Appendix H erasure coding: w3f vectors, full-size properties, round trips, bad input."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import galois
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamcore.erasure import (
    SEGMENT_SIZE,
    ErasureCode,
    ErasureError,
    encode,
    encode_segment,
    encode_segments,
    erasure_code,
    recover,
    recover_segment,
)
from jamcore.erasure_fft import ORDER, fft, formal_derivative, ifft, locator_logs, multiply
from jamcore.erasure_field import CANTOR_BASIS, GF, word_tables
from jamcore.spec import FULL, SPECS, TINY
from tests.vectors import vector_params

# -- the field ------------------------------------------------------------------------------


def test_cantor_basis_is_a_cantor_basis() -> None:
    """v_0 = 1 and v_i^2 + v_i = v_{i-1}: the defining property of a Cantor basis."""
    basis = [GF(element) for element in CANTOR_BASIS]
    assert basis[0] == GF(1)
    for previous, current in zip(basis, basis[1:], strict=False):
        assert current**2 + current == previous


def test_word_tables_are_inverse_linear_bijections() -> None:
    to_field, from_field = word_tables()
    assert len(set(to_field.tolist())) == 1 << 16
    assert np.array_equal(from_field[to_field], np.arange(1 << 16, dtype=np.uint16))
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 1 << 16, (2, 1000), dtype=np.uint16)
    assert np.array_equal(to_field[a ^ b], to_field[a] ^ to_field[b])


def _field(words: object) -> galois.FieldArray:
    """Reference: the field elements (standard basis) that Cantor-basis words stand for."""
    to_field, _ = word_tables()
    return GF(to_field[np.asarray(words, dtype=np.int64)].astype(np.int64))


def _words_of(elements: galois.FieldArray) -> np.ndarray:
    _, from_field = word_tables()
    return from_field[np.asarray(elements, dtype=np.int64)]


def test_point_of_index_expands_bits_in_cantor_basis() -> None:
    assert int(_field([0b101])[0]) == CANTOR_BASIS[0] ^ CANTOR_BASIS[2]


def test_multiply_by_log_matches_field_product() -> None:
    rng = np.random.default_rng(11)
    a = rng.integers(0, 1 << 16, 500, dtype=np.uint16)
    b = rng.integers(0, 1 << 16, 500, dtype=np.uint16)
    a[:5] = 0
    b[5:10] = 0
    product = _words_of(_field(a) * _field(b))
    logs = np.array([int(np.log(_field([w]))[0]) if w else 2 * ORDER for w in b])
    assert np.array_equal(multiply(a, logs), product)


# -- the additive FFT against the novel polynomial basis, written out -----------------------


def _novel_basis(depth: int) -> list[galois.Poly]:
    """X_i = prod_j s_j^(i_j), with s_j = (x^2 + x) composed j times."""
    x = galois.Poly([1, 0], field=GF)
    vanishing = [x]
    for _ in range(depth):
        vanishing.append(vanishing[-1] ** 2 + vanishing[-1])
    basis = []
    for index in range(1 << depth):
        poly = galois.Poly([1], field=GF)
        for bit in range(depth):
            if index >> bit & 1:
                poly = poly * vanishing[bit]
        basis.append(poly)
    return basis


def _polynomial(coefficients: np.ndarray, depth: int) -> galois.Poly:
    poly = galois.Poly([0], field=GF)
    for word, basis in zip(coefficients, _novel_basis(depth), strict=True):
        poly = poly + basis * _field([word])[0]
    return poly


@pytest.mark.parametrize("shift", [0, 16, 48, 1024])
def test_fft_evaluates_novel_basis_polynomial(shift: int) -> None:
    depth = 4
    coefficients = np.random.default_rng(shift).integers(0, 1 << 16, (16, 1), dtype=np.uint16)
    poly = _polynomial(coefficients[:, 0], depth)
    expected = _words_of(poly(_field(np.arange(16) ^ shift)))
    assert np.array_equal(fft(coefficients, shift)[:, 0], expected)
    assert np.array_equal(fft(coefficients, shift, 5)[:, 0], expected[:5])
    assert np.array_equal(ifft(fft(coefficients, shift), shift), coefficients)


def test_formal_derivative_matches_polynomial_derivative() -> None:
    depth = 4
    coefficients = np.random.default_rng(2).integers(0, 1 << 16, (16, 1), dtype=np.uint16)
    derivative = _polynomial(coefficients[:, 0], depth).derivative()
    points = _field(np.arange(16))
    assert np.array_equal(
        fft(formal_derivative(coefficients), 0)[:, 0], _words_of(derivative(points))
    )


def test_locator_logs_are_locator_and_derivative_values() -> None:
    erased = np.zeros(16, dtype=np.bool_)
    erased[[1, 4, 5, 11, 14]] = True
    logs = locator_logs(erased)
    points = _field(np.arange(16))
    for i in range(16):
        others = [points[e] + points[i] for e in np.flatnonzero(erased) if e != i]
        product = GF(1)
        for factor in others:
            product = product * factor
        assert int(np.log(product)) == logs[i]


# -- conformance vectors -------------------------------------------------------------------


def _load(path: Path) -> tuple[bytes, list[bytes]]:
    vector = json.loads(path.read_text())
    return bytes.fromhex(vector["data"][2:]), [bytes.fromhex(s[2:]) for s in vector["shards"]]


def _subsets(n: int, k: int, rng: random.Random) -> list[list[int]]:
    """Data-only, parity-only, mixed and random k-subsets of range(n)."""
    return [
        list(range(k)),
        list(range(n - k, n)),
        list(range(k // 2)) + list(range(n - (k - k // 2), n)),
        rng.sample(range(n), k),
        rng.sample(range(n), k),
    ]


@pytest.mark.parametrize("path", vector_params("erasure", "ec-*.json"))
def test_vector(path: Path) -> None:
    spec = SPECS[path.parent.name]
    data, shards = _load(path)
    assert encode(data, spec) == shards
    k = erasure_code(spec).data_shards
    for subset in _subsets(len(shards), k, random.Random(path.name)):
        assert recover({i: shards[i] for i in subset}, len(data), spec) == data


# -- full-size properties ------------------------------------------------------------------


def test_full_code_shape() -> None:
    code = erasure_code(FULL)
    assert (code.data_shards, code.total_shards, code.parity_base) == (342, 1023, 512)
    assert code.piece_size == 684
    assert erasure_code(TINY) == ErasureCode(2, 6)


@pytest.mark.parametrize("spec", [TINY, FULL], ids=lambda spec: spec.name)
def test_segment_is_systematic_and_recoverable(spec) -> None:
    rng = random.Random(spec.name)
    segment = rng.randbytes(SEGMENT_SIZE)
    shards = encode_segment(segment, spec)
    k = erasure_code(spec).data_shards
    assert len(shards) == spec.validators_count
    assert {len(shard) for shard in shards} == {2 * spec.ec_pieces_per_segment}
    assert b"".join(shards[:k]) == segment
    for subset in _subsets(len(shards), k, rng):
        assert recover_segment({i: shards[i] for i in subset}, spec) == segment


@pytest.mark.parametrize("spec", [TINY, FULL], ids=lambda spec: spec.name)
def test_segments_coded_together_equal_one_by_one(spec) -> None:
    rng = random.Random(21)
    segments = [rng.randbytes(SEGMENT_SIZE) for _ in range(3)]
    assert encode_segments(segments, spec) == [encode_segment(s, spec) for s in segments]
    assert encode_segments([], spec) == []


def test_full_blob_pads_with_zeros_and_recovers() -> None:
    rng = random.Random(3)
    data = rng.randbytes(1000)
    shards = encode(data, FULL)
    assert {len(shard) for shard in shards} == {4}
    assert b"".join(shards[:342]) == data + bytes(2 * 684 - 1000)
    subset = rng.sample(range(1023), 342)
    assert recover({i: shards[i] for i in subset}, 1000, FULL) == data


def _lagrange_matrix(sources: galois.FieldArray, targets: galois.FieldArray) -> galois.FieldArray:
    """M[t, s] = L_s(targets[t]) for the Lagrange basis L_s over distinct `sources`."""
    count = len(sources)
    gaps = sources[:, None] + sources[None, :]
    gaps[np.arange(count), np.arange(count)] = GF(1)
    offsets = targets[:, None] + sources[None, :]
    vanishing = np.multiply.reduce(offsets, axis=1)
    return vanishing[:, None] / (offsets * np.multiply.reduce(gaps, axis=1)[None, :])


@pytest.mark.parametrize("spec", [TINY, FULL], ids=lambda spec: spec.name)
def test_encode_matches_interpolation(spec) -> None:
    """Parity = values at m, m+1, ... of the polynomial of degree < m through the message
    words at points 0..k-1 and zeros at k..m-1: the definition, by plain interpolation."""
    code = erasure_code(spec)
    k, n, m = code.data_shards, code.total_shards, code.parity_base
    data = random.Random(9).randbytes(3 * code.piece_size)
    shards = encode(data, spec)
    message = np.frombuffer(data, dtype="<u2").reshape(k, 3)
    matrix = _lagrange_matrix(_field(np.arange(m)), _field(np.arange(m, m + n - k)))[:, :k]
    parity = _words_of(matrix @ _field(message))
    assert [row.astype("<u2").tobytes() for row in parity] == shards[k:]


def test_code_is_linear() -> None:
    """Shards of a XOR b are the XOR of the shards: the parity map is F_2-linear."""
    rng = random.Random(5)
    a, b = rng.randbytes(684), rng.randbytes(684)
    mixed = encode(bytes(x ^ y for x, y in zip(a, b, strict=True)), FULL)
    assert all(
        bytes(x ^ y for x, y in zip(sa, sb, strict=True)) == sm
        for sa, sb, sm in zip(encode(a, FULL), encode(b, FULL), mixed, strict=True)
    )


def test_empty_blob() -> None:
    shards = encode(b"", TINY)
    assert shards == [b""] * 6
    assert recover({4: b"", 5: b""}, 0, TINY) == b""


def test_extra_shards_are_accepted() -> None:
    data = b"jam erasure coding"
    shards = encode(data, TINY)
    assert recover(dict(enumerate(shards)), len(data), TINY) == data
    assert recover([(5, shards[5]), (1, shards[1]), (3, shards[3])], len(data), TINY) == data


# -- round trips ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), order=st.permutations(range(6)))
def test_tiny_round_trip(data: bytes, order: list[int]) -> None:
    shards = encode(data, TINY)
    chosen = order[:2]
    assert recover({i: shards[i] for i in chosen}, len(data), TINY) == data


@settings(max_examples=8, deadline=None)
@given(data=st.binary(min_size=1, max_size=2000), seed=st.integers(0, 2**32 - 1))
def test_full_round_trip(data: bytes, seed: int) -> None:
    shards = encode(data, FULL)
    chosen = random.Random(seed).sample(range(1023), 342)
    assert recover({i: shards[i] for i in chosen}, len(data), FULL) == data


@settings(max_examples=40, deadline=None)
@given(
    k=st.sampled_from([1, 2, 3, 4, 6, 9, 12, 19, 27, 36]),
    extra=st.integers(0, 80),
    data=st.binary(max_size=200),
    seed=st.integers(0, 2**32 - 1),
)
def test_generic_code_round_trip(k: int, extra: int, data: bytes, seed: int) -> None:
    """Codes of other shapes (k not a power of two, several parity cosets) round-trip."""
    spec = dataclasses.replace(
        TINY, validators_count=k + extra, ec_pieces_per_segment=SEGMENT_SIZE // (2 * k)
    )
    shards = encode(data, spec)
    assert len(shards) == k + extra
    chosen = random.Random(seed).sample(range(k + extra), k)
    assert recover({i: shards[i] for i in chosen}, len(data), spec) == data


# -- bad input -----------------------------------------------------------------------------


def _tiny_shards() -> tuple[bytes, list[bytes]]:
    data = bytes(range(40))
    return data, encode(data, TINY)


def test_invalid_too_few_shards() -> None:
    data, shards = _tiny_shards()
    with pytest.raises(ErasureError, match="needs 2 distinct shards, got 1"):
        recover({3: shards[3]}, len(data), TINY)


def test_invalid_shard_size() -> None:
    data, shards = _tiny_shards()
    with pytest.raises(ErasureError, match=r"shard 4 has 19 octets, expected 20 \(10 words\)"):
        recover({0: shards[0], 4: shards[4][:-1]}, len(data), TINY)
    with pytest.raises(ErasureError, match="expected 22"):
        recover({0: shards[0], 4: shards[4]}, len(data) + 1, TINY)


@pytest.mark.parametrize("index", [-1, 6, 1023])
def test_invalid_index_out_of_range(index: int) -> None:
    data, shards = _tiny_shards()
    with pytest.raises(ErasureError, match=f"shard index {index} out of range 0..5"):
        recover({0: shards[0], index: shards[1]}, len(data), TINY)


def test_invalid_index_type() -> None:
    data, shards = _tiny_shards()
    with pytest.raises(ErasureError, match="must be an int"):
        recover({True: shards[1], 2: shards[2]}, len(data), TINY)
    with pytest.raises(ErasureError, match="must be an int"):
        recover({"1": shards[1], 2: shards[2]}, len(data), TINY)  # type: ignore[dict-item]


def test_invalid_duplicate_index() -> None:
    data, shards = _tiny_shards()
    with pytest.raises(ErasureError, match="shard index 3 given twice"):
        recover([(3, shards[3]), (3, shards[3]), (4, shards[4])], len(data), TINY)


def test_invalid_shard_and_data_types() -> None:
    data, shards = _tiny_shards()
    with pytest.raises(ErasureError, match="shard 2 must be bytes"):
        recover({1: shards[1], 2: shards[2].hex()}, len(data), TINY)  # type: ignore[dict-item]
    with pytest.raises(ErasureError, match="erasure data must be bytes"):
        encode("text", TINY)  # type: ignore[arg-type]
    with pytest.raises(ErasureError, match="original length"):
        recover({1: shards[1], 2: shards[2]}, -1, TINY)


def test_invalid_segment_size() -> None:
    with pytest.raises(ErasureError, match="a segment must be 4104 octets, got 4103"):
        encode_segment(bytes(SEGMENT_SIZE - 1), FULL)
    with pytest.raises(ErasureError, match="a segment must be 4104 octets, got 4105"):
        encode_segments([bytes(SEGMENT_SIZE), bytes(SEGMENT_SIZE + 1)], FULL)
    with pytest.raises(ErasureError, match="a segment must be 4104 octets, got str"):
        encode_segment("x" * SEGMENT_SIZE, FULL)  # type: ignore[arg-type]
    with pytest.raises(ErasureError, match="expected 12"):
        recover_segment({i: bytes(10) for i in range(342)}, FULL)


def test_invalid_input_changes_nothing() -> None:
    data, shards = _tiny_shards()
    given_shards = {0: shards[0], 5: shards[5][:-1]}
    snapshot = dict(given_shards)
    with pytest.raises(ErasureError):
        recover(given_shards, len(data), TINY)
    assert given_shards == snapshot


def test_invalid_code_shapes() -> None:
    with pytest.raises(ErasureError, match="0 < data shards <= total shards"):
        ErasureCode(7, 6)
    with pytest.raises(ErasureError, match="65536 points"):
        ErasureCode(40000, 65000)
