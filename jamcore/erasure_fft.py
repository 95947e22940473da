"""The additive FFT of Lin, Chung and Han (FOCS 2014) over the Cantor basis of Appendix H.

A polynomial of degree below 2^d is held by its coefficients c_i in the "novel polynomial
basis" X_i(x) = prod_j s_j(x)^(i_j), where s_j is the vanishing polynomial of the subspace
W_j = span(v_0..v_{j-1}). For a Cantor basis s_j is x -> x^2 + x applied j times and
s_j(v_j) = 1, so the basis needs no normalisation. `fft` turns the coefficients into the
values at the 2^d points of the coset beta + W_d (the points beta~ xor i~, i < 2^d, in
index terms); `ifft` inverts it. Each of the d layers is one vectorized butterfly
a += s_j(shift) * b; b += a, so a transform costs O(2^d d) field products instead of the
O(4^d) of a matrix.

All arrays hold 16-bit words in the graypaper's Cantor-basis representation: since that
representation is F_2-linear, addition is still XOR, and multiplication uses log/antilog
tables translated into it, so no word is ever converted to the standard basis.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from jamcore.erasure_field import GF, word_tables

ORDER = (1 << 16) - 1
"""The multiplicative group order of GF(2^16)."""

ZERO_LOG = 2 * ORDER
"""Stand-in logarithm of 0: any sum involving it indexes the zero tail of `_antilogs`."""

Words = npt.NDArray[np.uint16]


@lru_cache(maxsize=1)
def _log_tables() -> tuple[npt.NDArray[np.uint32], Words]:
    """(logs, antilogs) of Cantor-basis words: antilogs[logs[a] + logs[b]] is a * b."""
    to_field, from_field = word_tables()
    powers = np.asarray(GF.primitive_element ** np.arange(ORDER), dtype=np.int64)
    antilogs = np.zeros(2 * ZERO_LOG + 1, dtype=np.uint16)
    antilogs[:ORDER] = from_field[powers]
    antilogs[ORDER : 2 * ORDER] = antilogs[:ORDER]
    standard_logs = np.empty(1 << 16, dtype=np.uint32)
    standard_logs[powers] = np.arange(ORDER, dtype=np.uint32)
    logs = standard_logs[to_field.astype(np.int64)]
    logs[0] = ZERO_LOG
    return logs, antilogs


def multiply(words: Words, log_factor: npt.ArrayLike) -> Words:
    """words * factor, elementwise, for a factor (or broadcastable factors) given by its log."""
    logs, antilogs = _log_tables()
    return antilogs[logs[words] + np.asarray(log_factor, dtype=np.uint32)]


@lru_cache(maxsize=32)
def twiddles(depth: int, shift: int) -> tuple[npt.NDArray[np.uint32], ...]:
    """Per layer j < depth: the logs of s_j(shift xor b) for each block start b of 2^(j+1).

    Block b of layer j covers the points (shift xor b) + W_{j+1}; its butterfly factor is
    s_j(shift xor b), the constant value of s_j on the block's first half. s_j is
    x -> x^2 + x applied j times.
    """
    to_field, from_field = word_tables()
    logs, _ = _log_tables()
    layers = []
    for level in range(depth):
        starts = np.arange(0, 1 << depth, 1 << (level + 1))
        elements = GF(to_field[shift ^ starts].astype(np.int64))
        for _ in range(level):
            elements = elements * elements + elements
        layers.append(logs[from_field[np.asarray(elements, dtype=np.int64)].astype(np.int64)])
    return tuple(layers)


def _halves(values: Words, level: int) -> tuple[Words, Words]:
    """Views of the first and second halves of every block of 2^(level+1) rows."""
    half = 1 << level
    blocks = values.reshape(values.shape[0] // (2 * half), 2, half, -1)
    return blocks[:, 0], blocks[:, 1]


def fft(coefficients: Words, shift: int, count: int | None = None) -> Words:
    """Values at points shift xor i of sum_i c_i X_i, for i < count (default: all 2^d).

    Rows are coefficients/points, columns independent words. When only the first half of
    the points is wanted, the top butterfly keeps just a + s(shift) b and the transform
    continues on half the size (the lower layers' factors do not depend on the size).
    """
    depth = coefficients.shape[0].bit_length() - 1
    wanted = coefficients.shape[0] if count is None else count
    values = coefficients
    while depth > 0 and 2 * wanted <= 1 << depth:
        depth -= 1
        first, second = values[: 1 << depth], values[1 << depth :]
        values = first ^ multiply(second, twiddles(depth + 1, shift)[depth][0])
    values = values.copy()
    factors = twiddles(depth, shift)
    for level in reversed(range(depth)):
        first, second = _halves(values, level)
        first ^= multiply(second, factors[level][:, None, None])
        second ^= first
    return values[:wanted]


def ifft(values: Words, shift: int) -> Words:
    """Coefficients c_i (novel basis) of the polynomial taking `values` at shift xor i."""
    coefficients = values.copy()
    depth = coefficients.shape[0].bit_length() - 1
    factors = twiddles(depth, shift)
    for level in range(depth):
        first, second = _halves(coefficients, level)
        second ^= first
        first ^= multiply(second, factors[level][:, None, None])
    return coefficients


def formal_derivative(coefficients: Words) -> Words:
    """The coefficients of q' from those of q in the novel basis.

    Over a Cantor basis every s_j has derivative 1 (the derivative of x^2 + x is 1 in
    characteristic 2), so X_i' = sum over set bits j of i of X_{i - 2^j}: coefficient i of
    q' is the sum of c_{i + 2^j} over the bits j clear in i.
    """
    derivative = np.zeros_like(coefficients)
    depth = coefficients.shape[0].bit_length() - 1
    for level in range(depth):
        _, upper = _halves(coefficients, level)
        lower, _ = _halves(derivative, level)
        lower ^= upper
    return derivative


def _walsh_hadamard(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The (unnormalised) Walsh-Hadamard transform: XOR convolution becomes a product."""
    result = values.copy()
    half = 1
    while half < result.shape[0]:
        blocks = result.reshape(-1, 2, half)
        first, second = blocks[:, 0].copy(), blocks[:, 1].copy()
        blocks[:, 0], blocks[:, 1] = first + second, first - second
        half *= 2
    return result


def locator_logs(erased: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """log of l(i~) for kept i and of l'(i~) for erased i, l(x) = prod_{e erased} (x + e~).

    Both are sum over erased e != i of log(i~ + e~) = log[i xor e]: one XOR convolution of
    the erasure indicator with the log table, done exactly in integers with three
    Walsh-Hadamard transforms (as in Leopard-RS), then reduced mod 2^16 - 1.
    """
    logs, _ = _log_tables()
    size = erased.shape[0]
    table = logs[:size].astype(np.int64)
    table[0] = 0  # the e = i term of l'(i~) is left out of the product
    spectrum = _walsh_hadamard(erased.astype(np.int64)) * _walsh_hadamard(table)
    return (_walsh_hadamard(spectrum) // size) % ORDER
