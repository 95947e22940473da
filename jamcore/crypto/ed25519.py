"""Ed25519 signatures (graypaper section 3.8.2: E_k⟨m⟩), verified through libsodium.

Every section that checks ed25519 signatures (judgements, culprits, guarantees, assurances)
calls `verify`; a key or signature of the wrong size is simply invalid.
"""

from __future__ import annotations

from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError


def verify(key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is `key`'s ed25519 signature over `message`."""
    if len(key) != 32 or len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, key)
    except (CryptoError, ValueError, TypeError):
        return False
    return True
