"""Bandersnatch VRFs (graypaper section 3.8.2) through the `bandersnatch-vrfs` bindings.

* IETF VRF signatures `F^m_k<c>` (96 bytes): block seals and the entropy source H_v.
* Ring VRF proofs `bar-F^m_r<c>` (784 bytes): Safrole tickets, anonymous within a ring whose
  commitment (144 bytes) is the epoch root gamma_z.
* `Y(signature)`: the 32-byte VRF output hash, returned by verification (and computed from
  an already verified signature by `signature_output`).

The bindings trust their inputs (a malformed public key makes them panic), so every key is
checked here first: 32 bytes that decode to a point of Bandersnatch's prime-order subgroup.
Ring members that fail the check are replaced by the bindings' padding point, as the
graypaper requires for offenders' zeroed keys (eq. 6.14) and undecodable keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

import bandersnatch_vrfs

from jamcore.crypto.srs import Srs, srs_for_ring

PUBLIC_KEY_BYTES = 32
SECRET_KEY_BYTES = 32
IETF_SIGNATURE_BYTES = 96
RING_PROOF_BYTES = 784
RING_COMMITMENT_BYTES = 144
VRF_OUTPUT_BYTES = 32

VRF_SUITE = b"Bandersnatch_SHA-512_ELL2"
"""The suite string of the Bandersnatch VRFs (ark-vrf; RFC 9381 section 5.2)."""

# Bandersnatch: a twisted Edwards curve a*x^2 + y^2 = 1 + d*x^2*y^2 over the BLS12-381
# scalar field, with a prime-order subgroup of order ORDER and cofactor 4.
FIELD = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
ORDER = 0x1CFB69D4CA675F520CCE760202687600FF8F87007419047174FD06B52876E7E1
EDWARDS_A = FIELD - 5
EDWARDS_D = 0x6389C12633C267CBC66E3BF86BE3B6D8CB66677177E54F92B369F2F5188D58E7


class BandersnatchError(ValueError):
    """A Bandersnatch key, signature or proof is malformed or does not verify."""


def _sqrt(value: int) -> int | None:
    """A square root of `value` modulo FIELD (Tonelli-Shanks), or None if there is none."""
    if value == 0:
        return 0
    if pow(value, (FIELD - 1) // 2, FIELD) != 1:
        return None
    q, s = FIELD - 1, 0
    while q % 2 == 0:
        q, s = q // 2, s + 1
    z = 5  # a quadratic non-residue modulo FIELD
    m, c, t, root = s, pow(z, q, FIELD), pow(value, q, FIELD), pow(value, (q + 1) // 2, FIELD)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2, i = t2 * t2 % FIELD, i + 1
        b = pow(c, 1 << (m - i - 1), FIELD)
        m, c, t, root = i, b * b % FIELD, t * b * b % FIELD, root * b % FIELD
    return root


_Extended = tuple[int, int, int, int]


def _add(p: _Extended, q: _Extended) -> _Extended:
    """Twisted Edwards point addition in extended coordinates (X, Y, Z, T), complete."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = x1 * x2 % FIELD
    b = y1 * y2 % FIELD
    c = EDWARDS_D * t1 % FIELD * t2 % FIELD
    d = z1 * z2 % FIELD
    e = ((x1 + y1) * (x2 + y2) - a - b) % FIELD
    f = (d - c) % FIELD
    g = (d + c) % FIELD
    h = (b - EDWARDS_A * a) % FIELD
    return (e * f % FIELD, g * h % FIELD, f * g % FIELD, e * h % FIELD)


def _in_prime_subgroup(x: int, y: int) -> bool:
    """[ORDER](x, y) is the identity (x = 0, y = z), by double-and-add."""
    acc: _Extended = (0, 1, 1, 0)
    point: _Extended = (x, y, 1, x * y % FIELD)
    for bit in bin(ORDER)[2:]:
        acc = _add(acc, acc)
        if bit == "1":
            acc = _add(acc, point)
    return acc[0] == 0 and acc[1] == acc[2]


@lru_cache(maxsize=4096)
def is_valid_public_key(key: bytes) -> bool:
    """Whether `key` is an arkworks-compressed point of the prime-order subgroup, not the
    identity: y little-endian with x's sign in the top bit (graypaper section 3.8.2)."""
    if len(key) != PUBLIC_KEY_BYTES:
        return False
    y = int.from_bytes(key, "little") & ((1 << 255) - 1)
    if y >= FIELD:
        return False
    y2 = y * y % FIELD
    denominator = (EDWARDS_A - EDWARDS_D * y2) % FIELD
    if denominator == 0:
        return False
    x = _sqrt((1 - y2) * pow(denominator, -1, FIELD) % FIELD)
    if x is None or (x == 0 and key[31] >> 7):
        return False
    if (x > FIELD - x) != bool(key[31] >> 7):
        x = FIELD - x
    if x == 0 and y == 1:
        return False
    return _in_prime_subgroup(x, y)


def ensure_public_key(key: bytes, what: str = "Bandersnatch public key") -> bytes:
    """`key` itself if it is a valid public key, else a BandersnatchError naming `what`."""
    if not isinstance(key, bytes) or len(key) != PUBLIC_KEY_BYTES:
        raise BandersnatchError(f"{what} must be {PUBLIC_KEY_BYTES} bytes, got {key!r:.80}")
    if not is_valid_public_key(key):
        raise BandersnatchError(f"{what} 0x{key.hex()} is not a point of the Bandersnatch group")
    return key


def _ensure_length(value: bytes, length: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != length:
        size = len(value) if isinstance(value, bytes) else type(value).__name__
        raise BandersnatchError(f"{what} must be {length} bytes, got {size}")


def secret_from_seed(seed: bytes) -> bytes:
    """A Bandersnatch secret key derived from a 32-byte seed (ark-vrf's Secret::from_seed)."""
    _ensure_length(seed, 32, "secret key seed")
    return bytes(bandersnatch_vrfs.secret_from_seed(seed))


def public_from_secret(secret: bytes) -> bytes:
    """The 32-byte public key of a Bandersnatch secret key."""
    _ensure_length(secret, SECRET_KEY_BYTES, "Bandersnatch secret key")
    return bytes(bandersnatch_vrfs.public_from_secret(secret))


def vrf_output(secret: bytes, vrf_input: bytes) -> bytes:
    """Y of any signature by `secret` on `vrf_input`: the output depends on the input only."""
    _ensure_length(secret, SECRET_KEY_BYTES, "Bandersnatch secret key")
    return bytes(bandersnatch_vrfs.vrf_output(secret, vrf_input))


def signature_output(signature: bytes) -> bytes:
    """Y(s): the 32-byte output of an IETF VRF signature or ring VRF proof (section 3.8.2).

    Both begin with the compressed output point Gamma; Y is RFC 9381's proof-to-hash
    SHA-512(suite ++ 0x03 ++ Gamma ++ 0x00) truncated to 32 bytes. It does not verify the
    signature: use it on signatures already verified (their Gamma is then canonical).
    """
    if not isinstance(signature, bytes) or len(signature) < PUBLIC_KEY_BYTES:
        raise BandersnatchError(f"a VRF signature holds at least 32 bytes, got {signature!r:.80}")
    point = signature[:PUBLIC_KEY_BYTES]
    return hashlib.sha512(VRF_SUITE + b"\x03" + point + b"\x00").digest()[:VRF_OUTPUT_BYTES]


def ietf_sign(secret: bytes, vrf_input: bytes, aux: bytes) -> bytes:
    """F^aux_k<vrf_input>: a 96-byte IETF VRF signature (graypaper eq. 3.8.2)."""
    _ensure_length(secret, SECRET_KEY_BYTES, "Bandersnatch secret key")
    return bytes(bandersnatch_vrfs.ietf_vrf_sign(secret, vrf_input, aux))


def ietf_verify(public: bytes, vrf_input: bytes, aux: bytes, signature: bytes) -> bytes:
    """Check an IETF VRF signature and return its output Y(signature); BandersnatchError if
    the key is malformed or the signature is not `public`'s on (vrf_input, aux)."""
    ensure_public_key(public)
    _ensure_length(signature, IETF_SIGNATURE_BYTES, "IETF VRF signature")
    try:
        return bytes(bandersnatch_vrfs.ietf_vrf_verify(public, vrf_input, aux, signature))
    except ValueError as error:
        raise BandersnatchError(
            f"IETF VRF signature does not verify for key 0x{public.hex()}: {error}"
        ) from error


class Ring:
    """A ring of Bandersnatch keys over an SRS: its commitment, proving and verifying.

    Build rings with `Ring.of(keys, srs)`, which caches them: a 1023-key ring takes ~0.2 s.
    """

    def __init__(self, keys: tuple[bytes, ...], srs: Srs) -> None:
        for index, key in enumerate(keys):
            _ensure_length(key, PUBLIC_KEY_BYTES, f"ring key {index}")
        self.keys = keys
        self.srs = srs_for_ring(len(keys), srs)
        # Invalid keys (offenders' zero keys, undecodable ones) become the padding point
        # inside the bindings; passing them as-is keeps the commitment the graypaper's.
        try:
            self._context = bandersnatch_vrfs.RingContext(srs.data, list(keys))
        except ValueError as error:
            raise BandersnatchError(f"cannot build a ring of {len(keys)} keys: {error}") from error
        self.commitment: bytes = bytes(self._context.commitment)

    @staticmethod
    def of(keys: Sequence[bytes], srs: Srs | None = None) -> Ring:
        """The (cached) ring of `keys` in order, over `srs` (default: the Zcash SRS)."""
        return _cached_ring(tuple(keys), srs if srs is not None else srs_for_ring(len(keys)))

    def prove(self, index: int, secret: bytes, vrf_input: bytes, aux: bytes) -> bytes:
        """bar-F^aux_r<vrf_input>: a 784-byte ring VRF proof by the member at `index`."""
        if not 0 <= index < len(self.keys):
            raise BandersnatchError(f"prover index {index} outside ring of {len(self.keys)}")
        _ensure_length(secret, SECRET_KEY_BYTES, "Bandersnatch secret key")
        if public_from_secret(secret) != self.keys[index]:
            raise BandersnatchError(f"secret key does not belong to ring member {index}")
        return bytes(self._context.ring_vrf_sign(index, secret, vrf_input, aux))

    def verify(self, vrf_input: bytes, aux: bytes, proof: bytes) -> bytes:
        """Check a ring VRF proof against this ring and return its output Y(proof)."""
        _ensure_length(proof, RING_PROOF_BYTES, "ring VRF proof")
        try:
            return bytes(self._context.ring_vrf_verify(vrf_input, aux, proof))
        except ValueError as error:
            raise BandersnatchError(f"ring VRF proof does not verify: {error}") from error


@lru_cache(maxsize=8)
def _cached_ring(keys: tuple[bytes, ...], srs: Srs) -> Ring:
    return Ring(keys, srs)


def ring_commitment(keys: Sequence[bytes], srs: Srs | None = None) -> bytes:
    """O(keys): the 144-byte ring commitment (epoch root) of `keys` in order (eq. 6.14)."""
    return Ring.of(keys, srs).commitment
