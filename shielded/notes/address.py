"""Shielded payment addresses as bech32m strings (BIP-350 checksum).

An address carries the recipient's owner key `pk` (a BN254 field element, 32 bytes big-endian)
and its X25519 transmission key (32 bytes) for note encryption. 64 bytes of payload exceed the
90-character limit BIP-173 sets for segwit addresses, so, like other shielded protocols' long
bech32m addresses, the limit here is `MAX_ADDRESS_LENGTH`; the checksum is BIP-350's unchanged
(it still detects any error affecting up to 4 characters in strings of this length with high
probability and every single-character substitution). The `bech32m` PyPI package hard-codes the
segwit limits (90 characters, programs <= 40 bytes), so the checksum is implemented here.
"""

from __future__ import annotations

from dataclasses import dataclass

from shielded.notes.errors import NotesError, ensure
from shielded.notes.poseidon import FIELD_MODULUS

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3
"""BIP-350: the constant the bech32m checksum polymod must equal."""
MAX_ADDRESS_LENGTH = 200
DEFAULT_HRP = "jsh"
"""Human-readable part of shielded addresses on the devnet."""

_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    """BIP-173 checksum polynomial remainder over GF(32)."""
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    accumulator = 0
    bits = 0
    out: list[int] = []
    mask = (1 << to_bits) - 1
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & mask)
    if pad:
        if bits:
            out.append((accumulator << (to_bits - bits)) & mask)
    else:
        ensure(bits < from_bits, "address payload has excess padding")
        ensure((accumulator << (to_bits - bits)) & mask == 0, "address padding bits are not zero")
    return out


def bech32m_encode(hrp: str, payload: bytes) -> str:
    """Encode `payload` under human-readable part `hrp` with a BIP-350 bech32m checksum."""
    ensure(
        hrp.isascii() and hrp == hrp.lower() and 1 <= len(hrp) <= 83, f"invalid hrp {hrp!r}"
    )
    data = _convert_bits(payload, 8, 5, pad=True)
    polymod = _polymod(_expand_hrp(hrp) + data + [0] * 6) ^ BECH32M_CONST
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


def bech32m_decode(text: str) -> tuple[str, bytes]:
    """Split a bech32m string into (hrp, payload); NotesError on any checksum or format error."""
    ensure(isinstance(text, str), f"address must be a string, got {type(text).__name__}")
    ensure(len(text) <= MAX_ADDRESS_LENGTH, f"address longer than {MAX_ADDRESS_LENGTH} chars")
    ensure(all(33 <= ord(c) <= 126 for c in text), "address has characters outside ASCII 33..126")
    ensure(text in (text.lower(), text.upper()), "address mixes upper and lower case")
    text = text.lower()
    separator = text.rfind("1")
    ensure(separator >= 1 and separator + 7 <= len(text), "address lacks hrp, separator or data")
    hrp, body = text[:separator], text[separator + 1 :]
    ensure(all(c in CHARSET for c in body), "address has a character outside the bech32 set")
    data = [CHARSET.index(c) for c in body]
    ensure(
        _polymod(_expand_hrp(hrp) + data) == BECH32M_CONST,
        "address checksum is wrong (a typo, or not a bech32m string)",
    )
    return hrp, bytes(_convert_bits(data[:-6], 5, 8, pad=False))


@dataclass(frozen=True)
class ShieldedAddress:
    """Where notes are sent: owner key pk and X25519 transmission key (design section 3)."""

    pk: int
    transmission_key: bytes

    def __post_init__(self) -> None:
        ensure(0 <= self.pk < FIELD_MODULUS, "address pk is not a BN254 field element")
        ensure(len(self.transmission_key) == 32, "transmission key must be 32 bytes")

    def encode(self, hrp: str = DEFAULT_HRP) -> str:
        """The bech32m string: hrp, then pk (32 bytes big-endian) || X25519 public key."""
        return bech32m_encode(hrp, self.pk.to_bytes(32, "big") + self.transmission_key)

    @classmethod
    def decode(cls, text: str, hrp: str = DEFAULT_HRP) -> ShieldedAddress:
        """Parse and check an address string; NotesError names what is wrong."""
        got_hrp, payload = bech32m_decode(text)
        ensure(got_hrp == hrp, f"address is for network {got_hrp!r}, expected {hrp!r}")
        ensure(len(payload) == 64, f"address payload is {len(payload)} bytes, expected 64")
        pk = int.from_bytes(payload[:32], "big")
        if pk >= FIELD_MODULUS:
            raise NotesError("address pk is not a BN254 field element")
        return cls(pk, payload[32:])

    def __str__(self) -> str:
        return self.encode()
