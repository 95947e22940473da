"""The Fisher-Yates shuffle of graypaper Appendix F (v0.7.0).

F(s, r) (eq. F.1) permutes a sequence with a sequence of naturals: at each step it takes
the element at r_0 mod l, moves the last element into its place and continues on the
shorter prefix. The entropy form F(s, h) (eq. F.3) draws those naturals from a 32-octet
hash with Q_l (eq. F.2): the i-th natural is the little-endian u32 at octet 4i mod 32 of
H(h ++ E_4(floor(i/8))), so each blake2b call yields eight of them.

The protocol uses it for guarantor assignments (section 11.3) and audits (section 17).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import TypeVar

from jamcore.crypto.hashing import blake2b_256

T = TypeVar("T")

_NATURALS_PER_HASH = 8
_EIGHT_U32 = struct.Struct("<8I")
_MAX_U32_COUNT = 8 * 2**32
"""Q_l indexes its hashes with E_4(floor(i/8)), so l is bounded by 8 * 2^32."""


class ShuffleError(ValueError):
    """Entropy or a random sequence that cannot drive the shuffle of the given sequence."""


def naturals_from_hash(entropy: bytes, count: int) -> list[int]:
    """Q_l(h): `count` naturals below 2^32 drawn from a 32-octet hash (eq. F.2)."""
    if not isinstance(entropy, bytes | bytearray | memoryview) or len(entropy) != 32:
        raise ShuffleError(f"shuffle entropy {entropy!r}: expected a 32-octet hash")
    if not isinstance(count, int) or not 0 <= count <= _MAX_U32_COUNT:
        raise ShuffleError(f"naturals count {count!r}: expected an integer in 0..2^35")
    seed = bytes(entropy)
    naturals: list[int] = []
    for block in range(-(-count // _NATURALS_PER_HASH)):
        digest = blake2b_256(seed + block.to_bytes(4, "little"))
        naturals.extend(_EIGHT_U32.unpack(digest))
    del naturals[count:]
    return naturals


def shuffle(items: Sequence[T], randomness: Iterable[int]) -> list[T]:
    """F(s, r): the Fisher-Yates shuffle of `items` driven by at least len(items)
    naturals (eq. F.1)."""
    remaining = list(items)
    total = len(remaining)
    draws = iter(randomness)
    result: list[T] = []
    for length in range(len(remaining), 0, -1):
        draw = next(draws, None)
        if not isinstance(draw, int) or isinstance(draw, bool) or draw < 0:
            raise ShuffleError(
                f"random natural {len(result)}: expected a natural for each of the "
                f"{total} items, got {draw!r}"
            )
        index = draw % length
        result.append(remaining[index])
        remaining[index] = remaining[length - 1]
        remaining.pop()
    return result


def shuffle_with_entropy(items: Sequence[T], entropy: bytes) -> list[T]:
    """F(s, h) = F(s, Q_|s|(h)): the shuffle driven by a 32-octet hash (eq. F.3)."""
    return shuffle(items, naturals_from_hash(entropy, len(items)))
