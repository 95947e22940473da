"""Lagrange coefficients at zero for a set of Shamir evaluation points, mod l.

For the contributing set Q: lambda_i = prod_{j in Q, j != i} x_j / (x_j - x_i).
Written as lambda_i = xi / (x_i * delta_i) with xi = prod_j x_j and
delta_i = prod_{j != i} (x_j - x_i), every coefficient needs only O(1) work in Z_l once
the integers delta_i are known, and all the divisions share one inversion (Montgomery's
batch inversion). The delta_i are products of small machine integers (|x_j - x_i| < 2^16),
so they are formed exactly in int64 with numpy, several factors per word, and reduced
mod l once per row: O(k) field operations in all, the k^2 small differences costing
vectorised word operations only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shielded.finality.group import GROUP_ORDER, _field_int

MAX_EVALUATION_POINT = 1 << 16
"""Evaluation points are validator index + 1 with a 16-bit validator index."""


def batch_inverse(values: Sequence[int]) -> list[int]:
    """The inverses mod l of non-zero `values` with one modular inversion (Montgomery)."""
    prefix = [1] * (len(values) + 1)
    for i, value in enumerate(values):
        prefix[i + 1] = prefix[i] * value % GROUP_ORDER
    inverse = pow(prefix[-1], -1, GROUP_ORDER)
    result = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        result[i] = prefix[i] * inverse % GROUP_ORDER
        inverse = inverse * values[i] % GROUP_ORDER
    return result


def difference_products(points: Sequence[int]) -> list[int]:
    """delta_i = prod_{j != i} (x_j - x_i) mod l for distinct points in [1, 2^16]."""
    count = len(points)
    if count == 1:
        return [1]
    xs = np.asarray(points, dtype=np.int64)
    magnitudes = np.abs(xs[None, :] - xs[:, None])
    np.fill_diagonal(magnitudes, 1)
    # x_j - x_i is negative for the rank(i) points below x_i: sign (-1)^rank(i).
    ranks = np.empty(count, dtype=np.int64)
    ranks[np.argsort(xs, kind="stable")] = np.arange(count)
    per_word = max(62 // max(int(magnitudes.max()).bit_length(), 1), 1)
    padded = -count % per_word
    if padded:
        magnitudes = np.pad(magnitudes, ((0, 0), (0, padded)), constant_values=1)
    words = magnitudes[:, 0::per_word]
    for offset in range(1, per_word):
        words = words * magnitudes[:, offset::per_word]
    result = []
    for row, rank in zip(words.tolist(), ranks.tolist(), strict=True):
        product = _field_int(1)
        for word in row:
            product *= word
        reduced = int(product % GROUP_ORDER)
        result.append(GROUP_ORDER - reduced if rank & 1 and reduced else reduced)
    return result


def lagrange_at_zero(points: Sequence[int]) -> list[int]:
    """lambda_i for interpolating at 0 from the distinct non-zero `points` (Shamir)."""
    xi = 1
    for x in points:
        xi = xi * x % GROUP_ORDER
    denominators = [
        x * delta % GROUP_ORDER
        for x, delta in zip(points, difference_products(points), strict=True)
    ]
    return [xi * inverse % GROUP_ORDER for inverse in batch_inverse(denominators)]
