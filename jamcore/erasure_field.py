"""The field GF(2^16) of the erasure code and its Cantor-basis word representation.

Graypaper v0.7.0, Appendix H ("Code Word representation"): the field is F_2[x] modulo
x^16 + x^5 + x^3 + x^2 + 1, with alpha a root of that polynomial. A 16-bit word (two octets,
little endian) with bits m_0..m_15 stands for the field element sum_j m_j v_j, where
v_0..v_15 is the Cantor basis tabled there; a point index i in 0..65535 stands for the
element with the same expansion of i's bits. `galois` does the field arithmetic in the
standard basis {1, alpha, ..., alpha^15}; the two lookup tables here translate words into
that basis and back, so every word keeps the graypaper's representation.
"""

from __future__ import annotations

from functools import lru_cache

import galois
import numpy as np
import numpy.typing as npt

IRREDUCIBLE_POLY = 0b1_0000_0000_0010_1101
"""x^16 + x^5 + x^3 + x^2 + 1 (graypaper Appendix H)."""

GF = galois.GF(2**16, irreducible_poly=IRREDUCIBLE_POLY)
"""GF(2^16) = F_2(alpha), elements as integers in the standard basis (bit j <-> alpha^j)."""

CANTOR_BASIS: tuple[int, ...] = (
    0x0001,  # v_0  = 1
    0xACCA,  # v_1  = a^15 + a^13 + a^11 + a^10 + a^7 + a^6 + a^3 + a
    0x3C0E,  # v_2  = a^13 + a^12 + a^11 + a^10 + a^3 + a^2 + a
    0x163E,  # v_3  = a^12 + a^10 + a^9 + a^5 + a^4 + a^3 + a^2 + a
    0xC582,  # v_4  = a^15 + a^14 + a^10 + a^8 + a^7 + a
    0xED2E,  # v_5  = a^15 + a^14 + a^13 + a^11 + a^10 + a^8 + a^5 + a^3 + a^2 + a
    0x914C,  # v_6  = a^15 + a^12 + a^8 + a^6 + a^3 + a^2
    0x4012,  # v_7  = a^14 + a^4 + a
    0x6C98,  # v_8  = a^14 + a^13 + a^11 + a^10 + a^7 + a^4 + a^3
    0x10D8,  # v_9  = a^12 + a^7 + a^6 + a^4 + a^3
    0x6A72,  # v_10 = a^14 + a^13 + a^11 + a^9 + a^6 + a^5 + a^4 + a
    0xB900,  # v_11 = a^15 + a^13 + a^12 + a^11 + a^8
    0xFDB8,  # v_12 = a^15 + a^14 + a^13 + a^12 + a^11 + a^10 + a^8 + a^7 + a^5 + a^4 + a^3
    0xFB34,  # v_13 = a^15 + a^14 + a^13 + a^12 + a^11 + a^9 + a^8 + a^5 + a^4 + a^2
    0xFF38,  # v_14 = a^15 + a^14 + a^13 + a^12 + a^11 + a^10 + a^9 + a^8 + a^5 + a^4 + a^3
    0x991E,  # v_15 = a^15 + a^12 + a^11 + a^8 + a^4 + a^3 + a^2 + a
)
"""The Cantor basis v_0..v_15 of graypaper Appendix H, in the standard basis."""

Table = npt.NDArray[np.uint16]


@lru_cache(maxsize=1)
def word_tables() -> tuple[Table, Table]:
    """(to_field, from_field): word -> element sum_j m_j v_j, and its inverse (Appendix H).

    Both are 65536-entry lookup tables; the map is F_2-linear, so to_field[a ^ b] equals
    to_field[a] ^ to_field[b] and XOR means field addition on both sides.
    """
    words = np.arange(1 << 16, dtype=np.uint32)
    to_field = np.zeros(1 << 16, dtype=np.uint32)
    for bit, element in enumerate(CANTOR_BASIS):
        to_field ^= ((words >> bit) & 1) * element
    from_field = np.zeros(1 << 16, dtype=np.uint16)
    from_field[to_field] = words.astype(np.uint16)
    return to_field.astype(np.uint16), from_field
