"""The spam-proof work function and the proof record (design section 3, "Spam proofs").

    work = blake3(DOMAIN || anchor_block_hash || tx_id || nonce)

DOMAIN is the 19 ASCII bytes `jam-shielded/pow/v1`, the anchor and the transaction id are
32 bytes each, and the nonce is an unsigned 64-bit integer encoded as **8 bytes big-endian**.
(Big-endian is chosen so that a solver can absorb the fixed high seven bytes into a hasher
once per 256 attempts and only feed the last byte per attempt, which is about 15 % faster in
Python.) A proof is valid for a tier of `b` bits when the 256-bit work hash, read big-endian,
has at least `b` leading zero bits, i.e. when `work < 2^(256-b)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from blake3 import blake3

from shielded.pow.errors import InsufficientWork, MalformedProof

DOMAIN = b"jam-shielded/pow/v1"
"""Domain separator of the work hash (version 1)."""
HASH_BYTES = 32
NONCE_BYTES = 8
MAX_NONCE = 2**64 - 1
MAX_TIER = 255
ENCODED_BYTES = HASH_BYTES + HASH_BYTES + NONCE_BYTES + 1
"""Size of `SpamProof.encode()`: anchor, tx id, nonce (8 bytes big-endian), tier (1 byte)."""


def target_for(bits: int) -> bytes:
    """The 32-byte big-endian bound a work hash must be below to have `bits` leading zeros.

    Comparing two equal-length byte strings orders them as big-endian numbers, so the check
    `work < target_for(bits)` is a single bytes comparison.
    """
    if not (isinstance(bits, int) and 1 <= bits <= 256):
        raise MalformedProof(f"difficulty {bits!r} bits: expected 1..256")
    return (1 << (256 - bits)).to_bytes(HASH_BYTES, "big")


def work_hash(anchor: bytes, tx_id: bytes, nonce: int) -> bytes:
    """blake3(DOMAIN || anchor || tx_id || nonce_be8): the work of one attempt (design §3)."""
    return blake3(DOMAIN + anchor + tx_id + nonce.to_bytes(NONCE_BYTES, "big")).digest()


def leading_zero_bits(digest: bytes) -> int:
    """Number of leading zero bits of `digest` read as a big-endian number."""
    return len(digest) * 8 - int.from_bytes(digest, "big").bit_length()


@dataclass(frozen=True, slots=True)
class SpamProof:
    """A solved spam proof: `nonce` makes the work over (`anchor`, `tx_id`) meet tier `tier`.

    The tier is what the transaction claims (it picks the capacity lane); the work must have at
    least that tier's difficulty bits. The tier is not hashed: claiming a lower tier than the
    work allows only loses priority, claiming a higher one fails verification.
    """

    anchor: bytes
    tx_id: bytes
    nonce: int
    tier: int

    def __post_init__(self) -> None:
        if not (isinstance(self.anchor, bytes) and len(self.anchor) == HASH_BYTES):
            raise MalformedProof(f"anchor {self.anchor!r}: expected 32 bytes")
        if not (isinstance(self.tx_id, bytes) and len(self.tx_id) == HASH_BYTES):
            raise MalformedProof(f"tx_id {self.tx_id!r}: expected 32 bytes")
        if not (isinstance(self.nonce, int) and 0 <= self.nonce <= MAX_NONCE):
            raise MalformedProof(f"nonce {self.nonce!r}: expected an integer in 0..2^64-1")
        if not (isinstance(self.tier, int) and 1 <= self.tier <= MAX_TIER):
            raise MalformedProof(f"tier {self.tier!r}: expected an integer in 1..255")

    def work(self) -> bytes:
        """The proof's work hash."""
        return work_hash(self.anchor, self.tx_id, self.nonce)

    def work_bits(self) -> int:
        """Leading zero bits of the proof's work hash: its priority inside its tier."""
        return leading_zero_bits(self.work())

    def encode(self) -> bytes:
        """anchor || tx_id || nonce (8 bytes big-endian, as hashed) || tier (1 byte)."""
        return (
            self.anchor
            + self.tx_id
            + self.nonce.to_bytes(NONCE_BYTES, "big")
            + self.tier.to_bytes(1, "big")
        )

    @classmethod
    def decode(cls, encoded: bytes) -> SpamProof:
        """Inverse of `encode`; rejects any other length."""
        if len(encoded) != ENCODED_BYTES:
            raise MalformedProof(
                f"encoded spam proof has {len(encoded)} bytes: expected {ENCODED_BYTES}"
            )
        return cls(
            anchor=bytes(encoded[0:32]),
            tx_id=bytes(encoded[32:64]),
            nonce=int.from_bytes(encoded[64:72], "big"),
            tier=encoded[72],
        )


def check_work(proof: SpamProof, difficulty_bits: int) -> bytes:
    """Verify the proof's work has `difficulty_bits` leading zeros; returns the work hash."""
    work = proof.work()
    if work >= target_for(difficulty_bits):
        raise InsufficientWork(
            f"spam proof for tx {proof.tx_id.hex()} has {leading_zero_bits(work)} leading zero "
            f"bits: tier {proof.tier} needs {difficulty_bits}"
        )
    return work
