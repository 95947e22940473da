"""The ed25519 subgroup wrapper: canonical encodings, subgroup checks, scalar arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl import bindings as sodium

from shielded.finality.errors import MalformedPoint, MalformedScalar
from shielded.finality.group import (
    FIELD_PRIME,
    GENERATOR,
    GROUP_ORDER,
    IDENTITY,
    Point,
    Scalar,
    base_mul,
    compress,
    hash_to_scalar,
)

scalars = st.integers(min_value=0, max_value=GROUP_ORDER - 1)
nonzero = st.integers(min_value=1, max_value=GROUP_ORDER - 1)

# The eight torsion points of ed25519 (order 1, 2, 4, 8), as canonical encodings.
TORSION = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]


@settings(max_examples=40, deadline=None)
@given(nonzero)
def test_point_encoding_round_trips(k: int) -> None:
    point = base_mul(k)
    assert Point.decode(point.encoded) == point
    assert compress(*point.affine()) == point.encoded


@settings(max_examples=30, deadline=None)
@given(scalars, scalars)
def test_scalar_multiplication_is_a_homomorphism(a: int, b: int) -> None:
    assert base_mul(a + b) == base_mul(a) + base_mul(b)
    assert base_mul(a * b) == base_mul(a) * b
    assert base_mul(a) - base_mul(b) == base_mul(a - b)
    assert -base_mul(a) == base_mul(-a)


def test_group_order_annihilates_points() -> None:
    assert base_mul(GROUP_ORDER).is_identity
    assert (GENERATOR * GROUP_ORDER) == IDENTITY
    assert GENERATOR * 0 == IDENTITY and IDENTITY * 5 == IDENTITY


@pytest.mark.parametrize("encoding", TORSION)
def test_invalid_small_order_points_are_rejected(encoding: str) -> None:
    with pytest.raises(MalformedPoint):
        Point.decode(bytes.fromhex(encoding))


@pytest.mark.parametrize("torsion", TORSION[1:])
def test_invalid_points_outside_the_subgroup_are_rejected(torsion: str) -> None:
    mixed = sodium.crypto_core_ed25519_add(base_mul(12345).encoded, bytes.fromhex(torsion))
    with pytest.raises(MalformedPoint):
        Point.decode(mixed)


def test_invalid_non_canonical_and_off_curve_encodings_are_rejected() -> None:
    y = int.from_bytes(GENERATOR.encoded, "little") & ((1 << 255) - 1)
    sign = GENERATOR.encoded[31] & 0x80
    # y >= p: no y in [p, 2^255) reduces to a subgroup point, and libsodium must not reduce.
    for value in (FIELD_PRIME + 1, FIELD_PRIME, FIELD_PRIME + 9):
        with pytest.raises(MalformedPoint):
            Point.decode(value.to_bytes(32, "little"))
    flipped = bytearray(y.to_bytes(32, "little"))
    flipped[31] |= sign ^ 0x80
    assert Point.decode(bytes(flipped)) == -GENERATOR  # the sign bit picks -x: still valid
    off_curve = next(
        v.to_bytes(32, "little")
        for v in range(2, 100)
        if not sodium.crypto_core_ed25519_is_valid_point(v.to_bytes(32, "little"))
    )
    with pytest.raises(MalformedPoint):
        Point.decode(off_curve)
    for length in (0, 31, 33):
        with pytest.raises(MalformedPoint):
            Point.decode(bytes(length))


@settings(max_examples=50, deadline=None)
@given(scalars)
def test_scalar_encoding_round_trips(value: int) -> None:
    assert Scalar.decode(Scalar(value).encode()) == Scalar(value)


@pytest.mark.parametrize("value", [GROUP_ORDER, GROUP_ORDER + 1, 2**256 - 1])
def test_invalid_non_canonical_scalars_are_rejected(value: int) -> None:
    with pytest.raises(MalformedScalar):
        Scalar.decode(value.to_bytes(32, "little"))
    with pytest.raises(MalformedScalar):
        Scalar(value)


@settings(max_examples=30, deadline=None)
@given(nonzero, scalars)
def test_scalar_field_arithmetic(a: int, b: int) -> None:
    x, y = Scalar(a), Scalar(b)
    assert x * x.inverse() == Scalar(1)
    assert (x + y) - y == x
    assert x + (-x) == Scalar(0)
    assert Scalar.of(a * b) == x * y


def test_zero_scalar_has_no_inverse() -> None:
    with pytest.raises(MalformedScalar):
        Scalar(0).inverse()


def test_hash_to_scalar_is_canonical_and_domain_separated() -> None:
    a = hash_to_scalar(b"domain-a", b"x", b"y")
    assert 0 <= a.value < GROUP_ORDER
    assert a == hash_to_scalar(b"domain-a", b"x", b"y")
    assert a != hash_to_scalar(b"domain-b", b"x", b"y")
    assert a != hash_to_scalar(b"domain-a", b"xy")  # parts are length-framed
