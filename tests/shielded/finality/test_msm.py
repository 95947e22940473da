"""Multi-scalar multiplication and Lagrange coefficients against their definitions."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shielded.finality.group import GROUP_ORDER, IDENTITY, base_mul
from shielded.finality.lagrange import batch_inverse, lagrange_at_zero
from shielded.finality.msm import _bucket_msm, msm, naive_msm, signed_digits, window_width

scalar = st.integers(min_value=-(2**300), max_value=2**300)
POOL = [base_mul(k) for k in range(1, 41)]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(POOL) - 1), scalar), min_size=1, max_size=40))
def test_bucket_msm_equals_naive_sum(terms: list[tuple[int, int]]) -> None:
    points = [POOL[i] for i, _ in terms]
    scalars = [k % GROUP_ORDER for _, k in terms]
    assert _bucket_msm(scalars, points) == naive_msm(scalars, points) == msm(scalars, points)


@settings(max_examples=25, deadline=None)
@given(st.lists(scalar, min_size=1, max_size=20), st.integers(2, 13))
def test_signed_digits_recompose_the_scalar(scalars: list[int], width: int) -> None:
    reduced = [k % GROUP_ORDER for k in scalars]
    half = 1 << (width - 1)
    for w_row in signed_digits(reduced, width):
        assert all(-half <= d < half for d in w_row)
    rows = signed_digits(reduced, width)
    for column, k in enumerate(reduced):
        assert sum(rows[w][column] << (width * w) for w in range(len(rows))) == k


def test_msm_over_many_points_uses_buckets_and_agrees() -> None:
    rng = random.Random(7)
    points = [POOL[rng.randrange(len(POOL))] for _ in range(150)]
    scalars = [rng.randrange(GROUP_ORDER) for _ in points]
    assert window_width(len(points)) >= 4
    assert msm(scalars, points) == naive_msm(scalars, points)


def test_msm_cancelling_terms_give_the_identity() -> None:
    points = [POOL[3], -POOL[3]] * 60
    assert msm([5] * 120, points) == IDENTITY
    assert _bucket_msm([0, 0], POOL[:2]) == IDENTITY


def test_msm_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        msm([1, 2], POOL[:1])


@settings(max_examples=25, deadline=None)
@given(st.sets(st.integers(1, 2000), min_size=1, max_size=60), st.randoms())
def test_lagrange_coefficients_interpolate_at_zero(points: set[int], rng: random.Random) -> None:
    xs = list(points)
    rng.shuffle(xs)
    coefficients = [rng.randrange(GROUP_ORDER) for _ in xs]

    def f(x: int) -> int:
        return sum(c * pow(x, i, GROUP_ORDER) for i, c in enumerate(coefficients)) % GROUP_ORDER

    lambdas = lagrange_at_zero(xs)
    assert sum(lam * f(x) for lam, x in zip(lambdas, xs, strict=True)) % GROUP_ORDER == (
        coefficients[0]
    )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, GROUP_ORDER - 1), min_size=1, max_size=30))
def test_batch_inverse_inverts_each_value(values: list[int]) -> None:
    for value, inverse in zip(values, batch_inverse(values), strict=True):
        assert value * inverse % GROUP_ORDER == 1
