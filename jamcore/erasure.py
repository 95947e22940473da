"""Appendix H erasure coding: systematic Reed-Solomon over GF(2^16), rate 342:1023 for `full`.

A blob is zero-padded to a multiple of 2k octets (W_E, 684 for `full`, 4 for `tiny`), cut
into k equal data shards, and extended with n - k parity shards; any k shards (with their
indices) give the blob back. Each shard holds one 2-octet word of every "piece": word w of
shard i is the code word at point i of the w-th column (graypaper eq. H.4, the
transposition of split_2 over split_2k), so data shards are verbatim slices of the blob.

The code word. Words and point indices are GF(2^16) elements in the Cantor basis
(`jamcore.erasure_field`). As in the algorithm of Lin, Chung and Han (2014) that the
graypaper names, and as in the `reed-solomon-simd` crate that produced the w3f vectors, the
k message words sit at points 0..k-1, the points k..m-1 up to the next power of two m >= k
hold zero, and the parity words are the values of the polynomial of degree below m through
those m points at points m, m+1, ..., m+n-k-1. For `tiny` (k = m = 2) this is exactly the
graypaper's "Generator Polynomial" subsection; for `full` (k = 342, m = 512) that subsection
reads as degree < 342 evaluated at 342..1022, which the w3f `full` vectors contradict, so
this module follows the transform the vectors (and every interoperating node) use.

Both directions run on the additive FFT (`jamcore.erasure_fft`), O(n log n) per word:
encoding is one inverse transform over the m message points and one forward transform per
coset of parity points; recovery is Leopard-style erasure decoding with the error locator
polynomial and a formal derivative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from jamcore.erasure_fft import (
    ORDER,
    Words,
    fft,
    formal_derivative,
    ifft,
    locator_logs,
    multiply,
)
from jamcore.spec import ChainSpec

SEGMENT_SIZE = 4104
"""W_G: octets in an import/export segment (graypaper Appendix I.4.4)."""

WORD_SIZE = 2
"""Octets in one code word: a little-endian GF(2^16) element."""

Shards = Mapping[int, bytes] | Iterable[tuple[int, bytes]]
"""Surviving shards by index: a mapping, or (index, shard) pairs as in eq. H.5."""


class ErasureError(ValueError):
    """Input that cannot be erasure-coded or recovered (wrong sizes, indices or counts)."""


def _ensure(condition: bool, message: str) -> None:
    if not condition:
        raise ErasureError(message)


@dataclass(frozen=True)
class ErasureCode:
    """A systematic Reed-Solomon code with k data shards among n shards (Appendix H)."""

    data_shards: int
    """k: shards that carry the data verbatim (342 for `full`)."""
    total_shards: int
    """n: all shards, one per validator (1023 for `full`)."""

    def __post_init__(self) -> None:
        _ensure(
            0 < self.data_shards <= self.total_shards,
            f"erasure code needs 0 < data shards <= total shards, got "
            f"{self.data_shards} of {self.total_shards}",
        )
        _ensure(
            self.parity_base + self.total_shards - self.data_shards <= 1 << 16,
            f"erasure code with {self.data_shards} of {self.total_shards} shards needs more "
            "than the 65536 points of GF(2^16)",
        )

    @property
    def parity_base(self) -> int:
        """m: the power of two >= k at whose point the first parity shard sits."""
        return 1 << (self.data_shards - 1).bit_length()

    @property
    def domain_size(self) -> int:
        """The power of two covering every point index in use, m + n - k of them."""
        return 1 << (self.parity_base + self.total_shards - self.data_shards - 1).bit_length()

    @property
    def piece_size(self) -> int:
        """W_E = 2k: octets of data per word of every shard (684 for `full`)."""
        return WORD_SIZE * self.data_shards

    def point_index(self, shard: int) -> int:
        """The point index of shard `shard`: i for data shards, m + (i - k) for parity."""
        if shard < self.data_shards:
            return shard
        return self.parity_base + shard - self.data_shards

    def shard_size(self, data_length: int) -> int:
        """Octets in every shard of a `data_length`-octet blob: 2 * ceil(length / W_E)."""
        return WORD_SIZE * -(-data_length // self.piece_size)


def erasure_code(spec: ChainSpec) -> ErasureCode:
    """The chain's code: k data shards of n = V, where W_E = 2k = W_G / W_P (Appendix H).

    k is derived from W_P (342 for `full`, 2 for `tiny`), not from V: `full` has
    1023 / 3 = 341 but codes at rate 342:1023.
    """
    piece_size, remainder = divmod(SEGMENT_SIZE, spec.ec_pieces_per_segment)
    _ensure(
        remainder == 0 and piece_size % WORD_SIZE == 0,
        f"chain spec {spec.name!r}: W_P = {spec.ec_pieces_per_segment} does not split a "
        f"{SEGMENT_SIZE}-octet segment into whole words",
    )
    return ErasureCode(piece_size // WORD_SIZE, spec.validators_count)


def _parity(code: ErasureCode, message: Words) -> Words:
    """The parity words (rows k..n-1) of the code words whose message words are the rows.

    The inverse FFT over W_d (points 0..m-1, message then zeros) gives the novel-basis
    coefficients of the code polynomial; a forward FFT per coset m*c + W_d evaluates it.
    """
    k, m = code.data_shards, code.parity_base
    parity_count = code.total_shards - k
    if parity_count == 0:
        return np.zeros((0, message.shape[1]), dtype=np.uint16)
    padded = np.zeros((m, message.shape[1]), dtype=np.uint16)
    padded[:k] = message
    coefficients = ifft(padded, 0)
    cosets = [
        fft(coefficients, start, min(m, m + parity_count - start))
        for start in range(m, m + parity_count, m)
    ]
    return np.concatenate(cosets)


@lru_cache(maxsize=64)
def _locator(code: ErasureCode, chosen: tuple[int, ...]) -> npt.NDArray[np.int64]:
    """Locator logs (see `locator_logs`) when only the chosen shards and padding are known."""
    erased = np.ones(code.domain_size, dtype=np.bool_)
    erased[[code.point_index(shard) for shard in chosen]] = False
    erased[code.data_shards : code.parity_base] = False  # the padding points are known zeros
    return locator_logs(erased)


def _restore(code: ErasureCode, chosen: tuple[int, ...], words: Words) -> Words:
    """The missing message words (rows, ascending index) from the chosen shards' words.

    With l the erasure locator, q = p * l is known at every point (zero where erased) and
    has degree below the domain size, so one inverse FFT gives it; at an erased point
    q'(e~) = p(e~) l'(e~), so p(e~) = q'(e~) / l'(e~) (Lin-Chung-Han, Leopard-RS).
    """
    k = code.data_shards
    logs = _locator(code, chosen)
    indices = np.array(chosen)
    known = np.where(indices < k, indices, indices + code.parity_base - k)
    product = np.zeros((code.domain_size, words.shape[1]), dtype=np.uint16)
    product[known] = multiply(words, logs[known][:, None])
    derivative = fft(formal_derivative(ifft(product, 0)), 0, k)
    missing = np.setdiff1d(np.arange(k), known)
    return multiply(derivative[missing], ((ORDER - logs[missing]) % ORDER)[:, None])


def _words(blob: bytes, rows: int) -> Words:
    """The blob's little-endian words, one row per shard."""
    return np.frombuffer(blob, dtype="<u2").reshape(rows, -1)


def encode(data: bytes, spec: ChainSpec) -> list[bytes]:
    """C_k(data): the n shards of a blob, zero-padded to a multiple of W_E (eq. H.4).

    Shard i < k is the i-th slice of the padded blob; shard k + t holds, for each piece,
    the parity word at point m + t.
    """
    _ensure(
        isinstance(data, bytes | bytearray | memoryview),
        f"erasure data must be bytes, got {type(data).__name__}",
    )
    code = erasure_code(spec)
    size = code.shard_size(len(data))
    padded = bytes(data) + bytes(code.data_shards * size - len(data))
    data_shards = [padded[i * size : (i + 1) * size] for i in range(code.data_shards)]
    if size == 0:
        return data_shards + [b""] * (code.total_shards - code.data_shards)
    parity = _parity(code, _words(padded, code.data_shards)).astype("<u2")
    return data_shards + [row.tobytes() for row in parity]


def _collect(shards: Shards, code: ErasureCode, size: int) -> dict[int, bytes]:
    """Validated shards by index: distinct in-range int indices, `size`-octet byte strings.

    (Plain `if`s rather than `_ensure`: this runs per shard, and the messages are only
    formatted when a check fails.)
    """
    pairs = shards.items() if isinstance(shards, Mapping) else shards
    collected: dict[int, bytes] = {}
    for entry in pairs:
        if not (isinstance(entry, tuple) and len(entry) == 2):
            raise ErasureError(f"shards must be (index, shard) pairs, got {entry!r}")
        index, shard = entry
        if not isinstance(index, int) or isinstance(index, bool):
            raise ErasureError(f"shard index must be an int, got {index!r}")
        if not 0 <= index < code.total_shards:
            raise ErasureError(f"shard index {index} out of range 0..{code.total_shards - 1}")
        if index in collected:
            raise ErasureError(f"shard index {index} given twice")
        if not isinstance(shard, bytes | bytearray | memoryview):
            raise ErasureError(f"shard {index} must be bytes, got {type(shard).__name__}")
        if len(shard) != size:
            raise ErasureError(
                f"shard {index} has {len(shard)} octets, expected {size} "
                f"({size // WORD_SIZE} words) for this blob"
            )
        collected[index] = bytes(shard)
    return collected


def recover(shards: Shards, original_length: int, spec: ChainSpec) -> bytes:
    """R_k: the `original_length`-octet blob from any k distinct shards (eq. H.5).

    With more than k shards the k lowest indices are used (data shards first, so the
    common case is plain concatenation). Raises `ErasureError` for fewer than k shards,
    bad or repeated indices, or shards whose size does not match `original_length`.
    """
    code = erasure_code(spec)
    _ensure(
        isinstance(original_length, int) and original_length >= 0,
        f"original length must be a non-negative int, got {original_length!r}",
    )
    size = code.shard_size(original_length)
    collected = _collect(shards, code, size)
    k = code.data_shards
    _ensure(len(collected) >= k, f"recovery needs {k} distinct shards, got {len(collected)}")
    chosen = tuple(sorted(collected)[:k])
    if chosen[-1] >= k and size > 0:
        words = _words(b"".join(collected[index] for index in chosen), k)
        restored = _restore(code, chosen, words).astype("<u2")
        missing = sorted(set(range(k)) - set(chosen))
        for index, row in zip(missing, restored, strict=True):
            collected[index] = row.tobytes()
    blob = b"".join(collected.get(index, b"") for index in range(k))
    return blob[:original_length]


def _check_segment(segment: bytes) -> bytes:
    """The segment as bytes, if it is bytes of exactly W_G octets."""
    _ensure(
        isinstance(segment, bytes | bytearray | memoryview),
        f"a segment must be {SEGMENT_SIZE} octets, got {type(segment).__name__}",
    )
    octets = bytes(segment)
    _ensure(
        len(octets) == SEGMENT_SIZE,
        f"a segment must be {SEGMENT_SIZE} octets, got {len(octets)}",
    )
    return octets


def encode_segment(segment: bytes, spec: ChainSpec) -> list[bytes]:
    """The n shards of one W_G-octet segment, W_P words each (Appendix H, k = W_P)."""
    return encode(_check_segment(segment), spec)


def encode_segments(segments: Sequence[bytes], spec: ChainSpec) -> list[list[bytes]]:
    """The shards of each segment, as `encode_segment`, coded together in one transform.

    The graypaper notes the data parallelism of coding several segments at once: their
    pieces are just more columns of the same code.
    """
    checked = [_check_segment(segment) for segment in segments]
    if not checked:
        return []
    code = erasure_code(spec)
    size = code.shard_size(SEGMENT_SIZE)
    message = np.concatenate([_words(segment, code.data_shards) for segment in checked], axis=1)
    parity = _parity(code, message).astype("<u2")
    words = size // WORD_SIZE
    result = []
    for number, segment in enumerate(checked):
        columns = parity[:, number * words : (number + 1) * words]
        result.append(
            [segment[i * size : (i + 1) * size] for i in range(code.data_shards)]
            + [row.tobytes() for row in columns]
        )
    return result


def recover_segment(shards: Shards, spec: ChainSpec) -> bytes:
    """One W_G-octet segment from any k of its shards (each W_P words)."""
    return recover(shards, SEGMENT_SIZE, spec)
