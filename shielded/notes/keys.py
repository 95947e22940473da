"""The key hierarchy of the shielded pool (design section 3, "Keys").

BIP-39 mnemonic -> 64-byte seed -> spend authorizing key `ask`, nullifier key `nk` and the
X25519 incoming viewing key `ivk`; `ak = Poseidon(ask)`, owner key `pk = Poseidon(ak, nk)`.

- SpendingKey (ask, nk, ivk): can spend: the circuit asks for `ask` and `nk`.
- FullViewingKey (ak, nk, ivk): decrypts incoming notes and recomputes nullifiers, so it
  sees spends too, but lacks `ask` and cannot prove ownership.
- IncomingViewingKey (pk, ivk): decrypts incoming notes only.

Each scalar is blake2b-512 of a domain label and the seed, reduced mod r (bias < 2^-250).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from nacl.bindings import crypto_scalarmult_base

from shielded.notes.address import ShieldedAddress
from shielded.notes.errors import NotesError, ensure
from shielded.notes.poseidon import FIELD_MODULUS, poseidon

if TYPE_CHECKING:
    from mnemonic import Mnemonic


@functools.cache
def _bip39() -> Mnemonic:
    """The BIP-39 English wordlist and seed function of the `mnemonic` package.

    Imported on first use so that keys from seeds work without it; a missing package is a
    clear NotesError instead of an import failure of the whole notes package.
    """
    try:
        from mnemonic import Mnemonic
    except ImportError as error:
        raise NotesError(
            "BIP-39 mnemonics need the `mnemonic` package (pip install mnemonic)"
        ) from error
    return Mnemonic("english")


def _derive_scalar(seed: bytes, label: bytes) -> int:
    digest = hashlib.blake2b(b"jam-shielded/key/" + label + b"\x00" + seed, digest_size=64)
    return int.from_bytes(digest.digest(), "big") % FIELD_MODULUS


def generate_mnemonic(strength_bits: int = 256) -> str:
    """A fresh BIP-39 mnemonic (24 words for 256 bits of entropy)."""
    return _bip39().generate(strength_bits)


def owner_key(ak: int, nk: int) -> int:
    """pk = Poseidon(ak, nk) (design section 3)."""
    return poseidon(ak, nk)


def _field_element(value: int, what: str) -> int:
    ensure(0 <= value < FIELD_MODULUS, f"{what} is not a BN254 field element")
    return value


@dataclass(frozen=True)
class IncomingViewingKey:
    """Detects and decrypts notes sent to one address; cannot see spends or spend."""

    pk: int
    ivk: bytes
    """X25519 secret key (32 bytes)."""

    def __post_init__(self) -> None:
        ensure(len(self.ivk) == 32, "incoming viewing key must be 32 bytes")

    @cached_property
    def transmission_key(self) -> bytes:
        """The X25519 public key that senders encrypt notes to."""
        return crypto_scalarmult_base(self.ivk)

    @property
    def address(self) -> ShieldedAddress:
        return ShieldedAddress(self.pk, self.transmission_key)


@dataclass(frozen=True)
class FullViewingKey:
    """(ak, nk, ivk): sees incoming notes and detects their spends, cannot spend."""

    ak: int
    nk: int
    ivk: bytes

    def __post_init__(self) -> None:
        _field_element(self.ak, "ak")
        _field_element(self.nk, "nk")
        ensure(len(self.ivk) == 32, "incoming viewing key must be 32 bytes")

    @cached_property
    def pk(self) -> int:
        """pk = Poseidon(ak, nk)."""
        return owner_key(self.ak, self.nk)

    @property
    def incoming(self) -> IncomingViewingKey:
        return IncomingViewingKey(self.pk, self.ivk)

    @property
    def address(self) -> ShieldedAddress:
        return self.incoming.address


@dataclass(frozen=True)
class SpendingKey:
    """(ask, nk, ivk): everything needed to prove a spend (design section 3)."""

    ask: int
    nk: int
    ivk: bytes

    def __post_init__(self) -> None:
        _field_element(self.ask, "ask")
        _field_element(self.nk, "nk")
        ensure(len(self.ivk) == 32, "incoming viewing key must be 32 bytes")

    @classmethod
    def from_seed(cls, seed: bytes) -> SpendingKey:
        """Derive (ask, nk, ivk) from a BIP-39 seed."""
        ensure(len(seed) >= 32, f"seed must be at least 32 bytes, got {len(seed)}")
        ivk = hashlib.blake2b(b"jam-shielded/key/ivk\x00" + seed, digest_size=32).digest()
        return cls(_derive_scalar(seed, b"ask"), _derive_scalar(seed, b"nk"), ivk)

    @classmethod
    def from_mnemonic(cls, mnemonic: str, passphrase: str = "") -> SpendingKey:
        """BIP-39: check the mnemonic's words and checksum, stretch it to a seed, derive keys."""
        words = " ".join(mnemonic.split())
        bip39 = _bip39()
        ensure(bip39.check(words), "mnemonic is not a valid BIP-39 English phrase")
        return cls.from_seed(bip39.to_seed(words, passphrase))

    @cached_property
    def ak(self) -> int:
        """ak = Poseidon(ask)."""
        return poseidon(self.ask)

    @cached_property
    def full_viewing_key(self) -> FullViewingKey:
        return FullViewingKey(self.ak, self.nk, self.ivk)

    @property
    def pk(self) -> int:
        return self.full_viewing_key.pk

    @property
    def incoming_viewing_key(self) -> IncomingViewingKey:
        return self.full_viewing_key.incoming

    @property
    def address(self) -> ShieldedAddress:
        return self.full_viewing_key.address
