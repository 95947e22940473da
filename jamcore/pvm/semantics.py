"""What each PVM instruction computes (graypaper A.5 instruction tables), as pure functions
of register and immediate values (all naturals below 2^64).

Shared by the interpreter and, for the less common operations, by the fast path, so both
execute the same definitions.
"""

from __future__ import annotations

from collections.abc import Callable

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1


def sx32(x: int) -> int:
    """X_4(x mod 2^32): a 32-bit result sign-extended to 64 bits."""
    x &= M32
    return x | 0xFFFFFFFF00000000 if x & 0x80000000 else x


def signed(x: int) -> int:
    """Z_8(x): the two's-complement value of a register."""
    return x - (1 << 64) if x >> 63 else x


def signed32(x: int) -> int:
    """Z_4(x mod 2^32)."""
    x &= M32
    return x - (1 << 32) if x >> 31 else x


def div_rtz(a: int, b: int) -> int:
    """rtz(a ÷ b): division rounding towards zero (A.27)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def smod(a: int, b: int) -> int:
    """smod(a, b): sgn(a)(|a| mod |b|), a if b = 0 (A.26)."""
    if b == 0:
        return a
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def rot_r64(x: int, n: int) -> int:
    n &= 63
    return ((x >> n) | (x << (64 - n))) & M64


def rot_r32(x: int, n: int) -> int:
    x &= M32
    n &= 31
    return sx32((x >> n) | (x << (32 - n)))


def _div_u_32(a: int, b: int) -> int:
    b &= M32
    return M64 if b == 0 else sx32((a & M32) // b)


def _div_s_32(a: int, b: int) -> int:
    x, y = signed32(a), signed32(b)
    if y == 0:
        return M64
    if x == -(1 << 31) and y == -1:
        return x & M64
    return div_rtz(x, y) & M64


def _rem_u_32(a: int, b: int) -> int:
    b &= M32
    return sx32(a) if b == 0 else sx32((a & M32) % b)


def _rem_s_32(a: int, b: int) -> int:
    x, y = signed32(a), signed32(b)
    if x == -(1 << 31) and y == -1:
        return 0
    return smod(x, y) & M64


def _div_s_64(a: int, b: int) -> int:
    if b == 0:
        return M64
    x, y = signed(a), signed(b)
    if x == -(1 << 63) and y == -1:
        return a
    return div_rtz(x, y) & M64


def _rem_s_64(a: int, b: int) -> int:
    x, y = signed(a), signed(b)
    if x == -(1 << 63) and y == -1:
        return 0
    return smod(x, y) & M64


def _clz(x: int, bits: int) -> int:
    return bits - x.bit_length()


def _ctz(x: int, bits: int) -> int:
    return bits if x == 0 else (x & -x).bit_length() - 1


UNARY: dict[int, Callable[[int], int]] = {
    100: lambda a: a,  # move_reg
    102: lambda a: a.bit_count(),
    103: lambda a: (a & M32).bit_count(),
    104: lambda a: _clz(a, 64),
    105: lambda a: _clz(a & M32, 32),
    106: lambda a: _ctz(a, 64),
    107: lambda a: _ctz(a & M32, 32),
    108: lambda a: (a & 0xFF) - ((a & 0x80) << 1) & M64,
    109: lambda a: (a & 0xFFFF) - ((a & 0x8000) << 1) & M64,
    110: lambda a: a & 0xFFFF,
    111: lambda a: int.from_bytes(a.to_bytes(8, "little"), "big"),
}
"""Two-register instructions ω'_D = f(ω_A) (A.5.9), except sbrk."""

WITH_IMMEDIATE: dict[int, Callable[[int, int, int], int]] = {
    131: lambda a, b, x: sx32(b + x),
    132: lambda a, b, x: b & x,
    133: lambda a, b, x: b ^ x,
    134: lambda a, b, x: b | x,
    135: lambda a, b, x: sx32(b * x),
    136: lambda a, b, x: int(b < x),
    137: lambda a, b, x: int(signed(b) < signed(x)),
    138: lambda a, b, x: sx32(b << (x & 31)),
    139: lambda a, b, x: sx32((b & M32) >> (x & 31)),
    140: lambda a, b, x: (signed32(b) >> (x & 31)) & M64,
    141: lambda a, b, x: sx32(x + (1 << 32) - b),
    142: lambda a, b, x: int(b > x),
    143: lambda a, b, x: int(signed(b) > signed(x)),
    144: lambda a, b, x: sx32(x << (b & 31)),
    145: lambda a, b, x: sx32((x & M32) >> (b & 31)),
    146: lambda a, b, x: (signed32(x) >> (b & 31)) & M64,
    147: lambda a, b, x: x if b == 0 else a,
    148: lambda a, b, x: x if b != 0 else a,
    149: lambda a, b, x: (b + x) & M64,
    150: lambda a, b, x: (b * x) & M64,
    151: lambda a, b, x: (b << (x & 63)) & M64,
    152: lambda a, b, x: b >> (x & 63),
    153: lambda a, b, x: (signed(b) >> (x & 63)) & M64,
    154: lambda a, b, x: (x - b) & M64,
    155: lambda a, b, x: (x << (b & 63)) & M64,
    156: lambda a, b, x: x >> (b & 63),
    157: lambda a, b, x: (signed(x) >> (b & 63)) & M64,
    158: lambda a, b, x: rot_r64(b, x),
    159: lambda a, b, x: rot_r64(x, b),
    160: lambda a, b, x: rot_r32(b, x),
    161: lambda a, b, x: rot_r32(x, b),
}
"""Two registers and one immediate: ω'_A = f(ω_A, ω_B, ν_X) (A.5.10), except memory ops."""

THREE_REGISTER: dict[int, Callable[[int, int, int], int]] = {
    190: lambda a, b, d: sx32(a + b),
    191: lambda a, b, d: sx32(a - b),
    192: lambda a, b, d: sx32(a * b),
    193: lambda a, b, d: _div_u_32(a, b),
    194: lambda a, b, d: _div_s_32(a, b),
    195: lambda a, b, d: _rem_u_32(a, b),
    196: lambda a, b, d: _rem_s_32(a, b),
    197: lambda a, b, d: sx32(a << (b & 31)),
    198: lambda a, b, d: sx32((a & M32) >> (b & 31)),
    199: lambda a, b, d: (signed32(a) >> (b & 31)) & M64,
    200: lambda a, b, d: (a + b) & M64,
    201: lambda a, b, d: (a - b) & M64,
    202: lambda a, b, d: (a * b) & M64,
    203: lambda a, b, d: M64 if b == 0 else a // b,
    204: lambda a, b, d: _div_s_64(a, b),
    205: lambda a, b, d: a if b == 0 else a % b,
    206: lambda a, b, d: _rem_s_64(a, b),
    207: lambda a, b, d: (a << (b & 63)) & M64,
    208: lambda a, b, d: a >> (b & 63),
    209: lambda a, b, d: (signed(a) >> (b & 63)) & M64,
    210: lambda a, b, d: a & b,
    211: lambda a, b, d: a ^ b,
    212: lambda a, b, d: a | b,
    213: lambda a, b, d: (signed(a) * signed(b) >> 64) & M64,
    214: lambda a, b, d: a * b >> 64,
    215: lambda a, b, d: (signed(a) * b >> 64) & M64,
    216: lambda a, b, d: int(a < b),
    217: lambda a, b, d: int(signed(a) < signed(b)),
    218: lambda a, b, d: a if b == 0 else d,
    219: lambda a, b, d: a if b != 0 else d,
    220: lambda a, b, d: rot_r64(a, -b & 63),
    221: lambda a, b, d: rot_r32(a, -b & 31),
    222: lambda a, b, d: rot_r64(a, b),
    223: lambda a, b, d: rot_r32(a, b),
    224: lambda a, b, d: a & ~b & M64,
    225: lambda a, b, d: (a | ~b) & M64,
    226: lambda a, b, d: ~(a ^ b) & M64,
    227: lambda a, b, d: a if signed(a) > signed(b) else b,
    228: lambda a, b, d: a if a > b else b,
    229: lambda a, b, d: a if signed(a) < signed(b) else b,
    230: lambda a, b, d: a if a < b else b,
}
"""Three registers: ω'_D = f(ω_A, ω_B, ω_D) (A.5.13)."""

BRANCH: dict[int, Callable[[int, int], bool]] = {
    81: lambda a, b: a == b,
    82: lambda a, b: a != b,
    83: lambda a, b: a < b,
    84: lambda a, b: a <= b,
    85: lambda a, b: a >= b,
    86: lambda a, b: a > b,
    87: lambda a, b: signed(a) < signed(b),
    88: lambda a, b: signed(a) <= signed(b),
    89: lambda a, b: signed(a) >= signed(b),
    90: lambda a, b: signed(a) > signed(b),
    170: lambda a, b: a == b,
    171: lambda a, b: a != b,
    172: lambda a, b: a < b,
    173: lambda a, b: signed(a) < signed(b),
    174: lambda a, b: a >= b,
    175: lambda a, b: signed(a) >= signed(b),
}
"""Branch conditions C(ω_A, ν_X or ω_B) (A.5.8, A.5.11)."""

LOAD_WIDTH: dict[int, tuple[int, bool]] = {
    52: (1, False), 53: (1, True), 54: (2, False), 55: (2, True), 56: (4, False),
    57: (4, True), 58: (8, False),
    124: (1, False), 125: (1, True), 126: (2, False), 127: (2, True), 128: (4, False),
    129: (4, True), 130: (8, False),
}
"""Loads: opcode -> (width in octets, sign-extended)."""

STORE_WIDTH: dict[int, int] = {
    30: 1, 31: 2, 32: 4, 33: 8, 59: 1, 60: 2, 61: 4, 62: 8, 70: 1, 71: 2, 72: 4, 73: 8,
    120: 1, 121: 2, 122: 4, 123: 8,
}
"""Stores: opcode -> width in octets."""


def extend_loaded(value: int, width: int, is_signed: bool) -> int:
    """The register value of a loaded natural: X_width for signed loads (A.16)."""
    if is_signed and value >> (8 * width - 1):
        return value + (1 << 64) - (1 << (8 * width))
    return value
