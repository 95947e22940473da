"""Note encryption to the recipient's X25519 key, and trial decryption (design section 3).

ciphertext = epk || view_tag || XChaCha20-Poly1305(key, nonce = 0^24, plaintext, aad = cm), where
epk is a fresh X25519 public key per output, (key, view_tag) = blake2b-264("jam-shielded/note-key"
|| X25519(esk, tk) || epk || tk) split into 32 bytes and 1 byte. A fresh key per output makes
the fixed nonce safe; the commitment as associated data binds the ciphertext to its output.
The plaintext is (value u64 LE, blinding 32 BE, expiry u64 LE, tier u8, memo padded to
MEMO_BYTES), so every ciphertext has one size.

A wallet scans a block by trying its incoming viewing key on every output. Decryption succeeds
only if the AEAD tag verifies and the decrypted fields recommit to `cm` under the wallet's own
`pk`. The one-byte view tag (as in Zcash ZIP 307 / Monero) lets a wallet skip the AEAD for 255
of 256 foreign outputs, so trial decryption costs about one X25519 per output; it reveals
nothing to anyone without `ivk`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_scalarmult,
    crypto_scalarmult_base,
)
from nacl.exceptions import CryptoError
from nacl.exceptions import RuntimeError as NaclRuntimeError

from shielded.notes.address import ShieldedAddress
from shielded.notes.errors import NotesError, ensure
from shielded.notes.keys import IncomingViewingKey
from shielded.notes.note import Note, Tier

MEMO_BYTES = 128
PLAINTEXT_BYTES = 8 + 32 + 8 + 1 + MEMO_BYTES
TAG_BYTES = 16
CIPHERTEXT_BYTES = 32 + 1 + PLAINTEXT_BYTES + TAG_BYTES
"""Size of every note ciphertext: epk, encrypted plaintext, Poly1305 tag."""
_NONCE = bytes(24)
_KEY_LABEL = b"jam-shielded/note-key"


@dataclass(frozen=True)
class DecryptedNote:
    """A note found by trial decryption, with the sender's memo (trailing zeros removed)."""

    note: Note
    memo: bytes


def _note_key(shared: bytes, epk: bytes, transmission_key: bytes) -> bytes:
    """33 bytes: the AEAD key, then the view tag."""
    return hashlib.blake2b(_KEY_LABEL + shared + epk + transmission_key, digest_size=33).digest()


def _commitment_bytes(cm: int) -> bytes:
    return cm.to_bytes(32, "big")


def encrypt_note(note: Note, recipient: ShieldedAddress, memo: bytes = b"") -> bytes:
    """The ciphertext of `note` for `recipient` (whose pk must own the note)."""
    ensure(note.pk == recipient.pk, "note pk does not match the recipient address")
    ensure(len(memo) <= MEMO_BYTES, f"memo is {len(memo)} bytes, at most {MEMO_BYTES} allowed")
    esk = os.urandom(32)
    epk = crypto_scalarmult_base(esk)
    shared = crypto_scalarmult(esk, recipient.transmission_key)
    plaintext = (
        note.value.to_bytes(8, "little")
        + note.blinding.to_bytes(32, "big")
        + note.expiry_epoch.to_bytes(8, "little")
        + bytes((int(note.tier),))
        + memo.ljust(MEMO_BYTES, b"\x00")
    )
    key = _note_key(shared, epk, recipient.transmission_key)
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, _commitment_bytes(note.commitment), _NONCE, key[:32]
    )
    return epk + key[32:] + sealed


def _parse_plaintext(plaintext: bytes, pk: int) -> DecryptedNote | None:
    value = int.from_bytes(plaintext[0:8], "little")
    blinding = int.from_bytes(plaintext[8:40], "big")
    expiry = int.from_bytes(plaintext[40:48], "little")
    tier = plaintext[48]
    try:
        note = Note(value, pk, blinding, expiry, Tier(tier))
    except (NotesError, ValueError):
        return None
    return DecryptedNote(note, plaintext[49:].rstrip(b"\x00"))


def try_decrypt_note(
    key: IncomingViewingKey, cm: int, ciphertext: bytes
) -> DecryptedNote | None:
    """The note in `ciphertext` if it is addressed to `key` and commits to `cm`, else None.

    A ciphertext of the wrong size is malformed (NotesError), not merely foreign.
    """
    ensure(
        len(ciphertext) == CIPHERTEXT_BYTES,
        f"note ciphertext is {len(ciphertext)} bytes, expected {CIPHERTEXT_BYTES}",
    )
    epk = ciphertext[:32]
    try:
        shared = crypto_scalarmult(key.ivk, epk)
    except NaclRuntimeError:
        return None  # a low-order epk: not a note for anyone
    note_key = _note_key(shared, epk, key.transmission_key)
    if note_key[32] != ciphertext[32]:
        return None
    try:
        plaintext = crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext[33:], _commitment_bytes(cm), _NONCE, note_key[:32]
        )
    except CryptoError:
        return None
    found = _parse_plaintext(plaintext, key.pk)
    if found is None or found.note.commitment != cm:
        return None
    return found


def trial_decrypt(
    key: IncomingViewingKey, outputs: Iterable[tuple[int, bytes]]
) -> list[tuple[int, DecryptedNote]]:
    """Scan (cm, ciphertext) outputs; returns (index, note) for each one addressed to `key`.

    The hot loop of wallet sync: one X25519 and one blake2b per output, the AEAD only when
    the view tag matches; malformed ciphertexts raise NotesError as in `try_decrypt_note`.
    """
    found: list[tuple[int, DecryptedNote]] = []
    ivk, transmission_key = key.ivk, key.transmission_key
    scalarmult, blake2b, label = crypto_scalarmult, hashlib.blake2b, _KEY_LABEL
    for index, (cm, ciphertext) in enumerate(outputs):
        if len(ciphertext) != CIPHERTEXT_BYTES:
            try_decrypt_note(key, cm, ciphertext)  # raises the descriptive NotesError
        epk = ciphertext[:32]
        try:
            shared = scalarmult(ivk, epk)
        except NaclRuntimeError:
            continue
        tag = blake2b(label + shared + epk + transmission_key, digest_size=33).digest()[32]
        if tag != ciphertext[32]:
            continue
        decrypted = try_decrypt_note(key, cm, ciphertext)
        if decrypted is not None:
            found.append((index, decrypted))
    return found
