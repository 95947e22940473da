"""Per-account keys from the wallet's mnemonic: the shielded spending key and a transparent
ed25519 account (the source of deposits and a target of withdrawals).

seed = BIP-39(mnemonic); account seed_i = blake2b-512("jam-shielded/account" || seed || i);
spending key = SpendingKey.from_seed(seed_i) (design section 3, "Keys");
transparent key = ed25519 with seed blake2b-256("jam-shielded/transparent" || seed_i).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from nacl.signing import SigningKey

from shielded.notes.errors import NotesError
from shielded.notes.keys import SpendingKey, generate_mnemonic


class AccountKeyError(ValueError):
    """A mnemonic that is not a valid BIP-39 phrase."""


@dataclass(frozen=True)
class AccountKeys:
    """The keys of one account."""

    index: int
    seed: bytes

    @cached_property
    def spending(self) -> SpendingKey:
        return SpendingKey.from_seed(self.seed)

    @cached_property
    def transparent(self) -> SigningKey:
        seed = hashlib.blake2b(b"jam-shielded/transparent" + self.seed, digest_size=32).digest()
        return SigningKey(seed)

    @property
    def address(self) -> str:
        return self.spending.address.encode()

    @property
    def transparent_account(self) -> bytes:
        return bytes(self.transparent.verify_key)


def mnemonic_seed(mnemonic: str) -> bytes:
    """The BIP-39 seed of `mnemonic` (AccountKeyError if the words or checksum are wrong)."""
    from mnemonic import Mnemonic

    words = " ".join(mnemonic.split())
    bip39 = Mnemonic("english")
    if not bip39.check(words):
        raise AccountKeyError("not a valid BIP-39 English mnemonic (words or checksum)")
    return bip39.to_seed(words)


def account_keys(mnemonic: str, index: int) -> AccountKeys:
    seed = mnemonic_seed(mnemonic)
    account_seed = hashlib.blake2b(
        b"jam-shielded/account" + seed + index.to_bytes(4, "little"), digest_size=64
    ).digest()
    return AccountKeys(index, account_seed)


def new_mnemonic() -> str:
    try:
        return generate_mnemonic()
    except NotesError as error:
        raise AccountKeyError(str(error)) from error
