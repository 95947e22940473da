"""The OSST group: the prime-order subgroup of ed25519, through libsodium (pynacl).

Points travel as canonical 32-byte ed25519 encodings. `Point.decode` is the only door for
untrusted bytes: it rejects non-canonical encodings, points off the curve, small-order
points (the identity included) and points outside the subgroup of order l, all through
libsodium's `crypto_core_ed25519_is_valid_point`. Scalars are integers below l with a
canonical 32-byte little-endian encoding; arithmetic on them is plain Python modular
arithmetic, which is faster than a call into libsodium per operation.

Besides the libsodium operations, a point exposes its affine coordinates (computed once and
cached) so that `msm` can run the bucket method in extended coordinates without paying an
encode/decode round trip per addition.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from nacl import bindings as sodium

from shielded.finality.errors import MalformedPoint, MalformedScalar, ensure

try:  # gmpy2 ships with dot-ring; plain ints are a slower but exact fallback.
    from gmpy2 import mpz as _field_int
    from gmpy2 import powmod as _powmod
except ImportError:  # pragma: no cover - exercised only without gmpy2
    _field_int = int
    _powmod = pow

GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
"""l: the order of the ed25519 prime-order subgroup (RFC 8032, section 5.1)."""

FIELD_PRIME = 2**255 - 19
"""p: the ed25519 base field."""

EDWARDS_D = -121665 * pow(121666, -1, FIELD_PRIME) % FIELD_PRIME
"""d of the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2."""

_SQRT_MINUS_ONE = pow(2, (FIELD_PRIME - 1) // 4, FIELD_PRIME)
_P = _field_int(FIELD_PRIME)
_D = _field_int(EDWARDS_D)
_SQRT_EXPONENT = _field_int((FIELD_PRIME - 5) // 8)

ENCODED_SIZE = 32


@dataclass(frozen=True)
class Scalar:
    """An element of Z_l, canonical: 0 <= value < l."""

    value: int

    def __post_init__(self) -> None:
        ensure(
            0 <= self.value < GROUP_ORDER,
            MalformedScalar,
            f"scalar {self.value} is not in [0, l)",
        )

    @classmethod
    def of(cls, value: int) -> Scalar:
        """The scalar `value mod l`."""
        return cls(value % GROUP_ORDER)

    @classmethod
    def decode(cls, data: bytes) -> Scalar:
        """The scalar with canonical little-endian encoding `data` (32 bytes, value < l)."""
        ensure(
            len(data) == ENCODED_SIZE,
            MalformedScalar,
            f"scalar encoding must be {ENCODED_SIZE} bytes, got {len(data)}",
        )
        value = int.from_bytes(data, "little")
        ensure(value < GROUP_ORDER, MalformedScalar, f"scalar 0x{data.hex()} is not below l")
        return cls(value)

    @classmethod
    def random(cls) -> Scalar:
        """A uniformly random non-zero scalar from the operating system's CSPRNG."""
        return cls(secrets.randbelow(GROUP_ORDER - 1) + 1)

    def encode(self) -> bytes:
        """The canonical 32-byte little-endian encoding."""
        return self.value.to_bytes(ENCODED_SIZE, "little")

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar((self.value + other.value) % GROUP_ORDER)

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar((self.value - other.value) % GROUP_ORDER)

    def __mul__(self, other: Scalar) -> Scalar:
        return Scalar(self.value * other.value % GROUP_ORDER)

    def __neg__(self) -> Scalar:
        return Scalar(-self.value % GROUP_ORDER)

    def inverse(self) -> Scalar:
        """The multiplicative inverse; MalformedScalar for zero."""
        ensure(self.value != 0, MalformedScalar, "zero has no inverse")
        return Scalar(pow(self.value, -1, GROUP_ORDER))


def hash_to_scalar(domain: bytes, *parts: bytes) -> Scalar:
    """H: blake2b-512 of the length-framed parts under a domain tag, reduced mod l.

    A 512-bit digest reduced mod a 253-bit l is within 2^-259 of uniform. Each part is
    prefixed by its length so that distinct part lists never hash alike.
    """
    hasher = hashlib.blake2b(digest_size=64, person=domain[:16].ljust(16, b"\0"))
    for part in parts:
        hasher.update(len(part).to_bytes(4, "little"))
        hasher.update(part)
    return Scalar(int.from_bytes(hasher.digest(), "little") % GROUP_ORDER)


@dataclass(frozen=True)
class Point:
    """An element of the ed25519 prime-order subgroup, held as its canonical encoding.

    Construct from untrusted bytes only with `Point.decode`; the plain constructor is for
    bytes libsodium itself produced.
    """

    encoded: bytes
    _affine: list[object] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def decode(cls, data: bytes) -> Point:
        """The point encoded by `data`, rejecting every encoding outside the subgroup.

        Rejected: wrong length, non-canonical y (y >= p), no curve point with that y,
        small order (the identity and the other seven torsion points), and points whose
        order is not l.
        """
        ensure(
            len(data) == ENCODED_SIZE,
            MalformedPoint,
            f"point encoding must be {ENCODED_SIZE} bytes, got {len(data)}",
        )
        data = bytes(data)
        ensure(
            sodium.crypto_core_ed25519_is_valid_point(data),
            MalformedPoint,
            f"0x{data.hex()} is not a canonical point of the prime-order subgroup",
        )
        return cls(data)

    @property
    def is_identity(self) -> bool:
        return self.encoded == _IDENTITY_ENCODING

    def __add__(self, other: Point) -> Point:
        return Point(sodium.crypto_core_ed25519_add(self.encoded, other.encoded))

    def __sub__(self, other: Point) -> Point:
        return Point(sodium.crypto_core_ed25519_sub(self.encoded, other.encoded))

    def __neg__(self) -> Point:
        return IDENTITY - self

    def __mul__(self, scalar: int | Scalar) -> Point:
        """Scalar multiplication `scalar * self` (variable base)."""
        k = (scalar.value if isinstance(scalar, Scalar) else scalar) % GROUP_ORDER
        if k == 0 or self.is_identity:
            return IDENTITY
        encoded_k = k.to_bytes(ENCODED_SIZE, "little")
        return Point(sodium.crypto_scalarmult_ed25519_noclamp(encoded_k, self.encoded))

    __rmul__ = __mul__

    def affine(self) -> tuple[int, int]:
        """The affine coordinates (x, y), decompressed once and cached (RFC 8032, 5.1.3)."""
        if not self._affine:
            self._affine.append(_decompress(self.encoded))
        return self._affine[0]  # type: ignore[return-value]


def base_mul(scalar: int | Scalar) -> Point:
    """g^scalar for the ed25519 base point g (fixed-base tables in libsodium)."""
    k = (scalar.value if isinstance(scalar, Scalar) else scalar) % GROUP_ORDER
    if k == 0:
        return IDENTITY
    return Point(sodium.crypto_scalarmult_ed25519_base_noclamp(k.to_bytes(ENCODED_SIZE, "little")))


def _decompress(encoded: bytes) -> tuple[int, int]:
    """Recover x from y and the sign bit: x = sqrt((y^2 - 1) / (d y^2 + 1))."""
    raw = int.from_bytes(encoded, "little")
    sign = raw >> 255
    y = _field_int(raw & ((1 << 255) - 1))
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    v3 = v * v % _P * v % _P
    x = u * v3 % _P * _powmod(u * v3 % _P * v3 % _P * v % _P, _SQRT_EXPONENT, _P) % _P
    if v * x * x % _P != u:
        x = x * _SQRT_MINUS_ONE % _P
    if int(x) & 1 != sign:
        x = _P - x
    return x, y


def compress(x: int, y: int) -> bytes:
    """The canonical encoding of the affine point (x, y): y with x's parity in bit 255."""
    return (int(y) | (int(x) & 1) << 255).to_bytes(ENCODED_SIZE, "little")


_IDENTITY_ENCODING = (1).to_bytes(ENCODED_SIZE, "little")
IDENTITY = Point(_IDENTITY_ENCODING)
"""The neutral element (never accepted by `Point.decode`)."""

GENERATOR = base_mul(1)
"""g: the ed25519 base point."""
