"""The graypaper's hash functions: H = blake2b-256 and H_K = keccak-256 (section 3.8)."""

from __future__ import annotations

import hashlib

from Crypto.Hash import keccak

ZERO_HASH = bytes(32)


def blake2b_256(data: bytes) -> bytes:
    """H(data): the 32-byte blake2b hash used throughout the protocol."""
    return hashlib.blake2b(data, digest_size=32).digest()


def keccak_256(data: bytes) -> bytes:
    """H_K(data): keccak-256 (not SHA3-256), used by the BEEFY MMR (Appendix E)."""
    return keccak.new(data=data, digest_bits=256).digest()
