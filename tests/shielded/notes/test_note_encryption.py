"""Notes, commitments, note encryption and trial decryption."""

from __future__ import annotations

import pytest

from shielded.notes.encryption import (
    CIPHERTEXT_BYTES,
    MEMO_BYTES,
    encrypt_note,
    trial_decrypt,
    try_decrypt_note,
)
from shielded.notes.errors import NotesError
from shielded.notes.keys import SpendingKey
from shielded.notes.note import NEVER_EXPIRES, Note, Tier
from shielded.notes.poseidon import poseidon

ALICE = SpendingKey.from_seed(b"alice".ljust(32, b"\x00"))
BOB = SpendingKey.from_seed(b"bob".ljust(32, b"\x00"))


def test_commitment_is_poseidon_over_all_fields() -> None:
    note = Note(7, ALICE.pk, 11, 5, Tier.EPHEMERAL)
    assert note.commitment == poseidon(7, ALICE.pk, 11, 5, 0)
    changed = [
        Note(8, ALICE.pk, 11, 5),
        Note(7, BOB.pk, 11, 5),
        Note(7, ALICE.pk, 12, 5),
        Note(7, ALICE.pk, 11, 6),
    ]
    assert all(other.commitment != note.commitment for other in changed)
    permanent = Note.create(7, ALICE.pk, 5, Tier.COLLATERAL)
    assert permanent.expiry_epoch == NEVER_EXPIRES and permanent.spendable_at(10**9)
    assert note.spendable_at(5) and not note.spendable_at(6)


def test_invalid_notes_are_rejected() -> None:
    with pytest.raises(NotesError, match="value"):
        Note(2**64, ALICE.pk, 1, 1)
    with pytest.raises(NotesError, match="value"):
        Note(-1, ALICE.pk, 1, 1)
    with pytest.raises(NotesError, match="never expire"):
        Note(1, ALICE.pk, 1, 3, Tier.PERSONHOOD)
    with pytest.raises(NotesError, match="tier"):
        Note(1, ALICE.pk, 1, 3, 7)  # type: ignore[arg-type]


def test_recipient_decrypts_and_others_do_not() -> None:
    note = Note.create(42, BOB.pk, 9)
    ciphertext = encrypt_note(note, BOB.address, b"rent")
    assert len(ciphertext) == CIPHERTEXT_BYTES
    found = try_decrypt_note(BOB.incoming_viewing_key, note.commitment, ciphertext)
    assert found is not None and found.note == note and found.memo == b"rent"
    assert try_decrypt_note(ALICE.incoming_viewing_key, note.commitment, ciphertext) is None
    # The commitment is associated data: a ciphertext moved to another output fails.
    assert try_decrypt_note(BOB.incoming_viewing_key, note.commitment + 1, ciphertext) is None


def test_tampered_or_malformed_ciphertexts() -> None:
    note = Note.create(1, BOB.pk, 9)
    ciphertext = bytearray(encrypt_note(note, BOB.address))
    ciphertext[-1] ^= 1
    assert try_decrypt_note(BOB.incoming_viewing_key, note.commitment, bytes(ciphertext)) is None
    with pytest.raises(NotesError, match="expected"):
        try_decrypt_note(BOB.incoming_viewing_key, note.commitment, b"\x00" * 10)
    low_order = bytes(32) + bytes(CIPHERTEXT_BYTES - 32)
    assert try_decrypt_note(BOB.incoming_viewing_key, note.commitment, low_order) is None
    with pytest.raises(NotesError, match="memo"):
        encrypt_note(note, BOB.address, b"m" * (MEMO_BYTES + 1))
    with pytest.raises(NotesError, match="recipient"):
        encrypt_note(note, ALICE.address)


def test_trial_decryption_finds_exactly_own_outputs() -> None:
    outputs = []
    mine = set()
    for index in range(40):
        owner = BOB if index % 3 == 0 else ALICE
        note = Note.create(index, owner.pk, 4)
        outputs.append((note.commitment, encrypt_note(note, owner.address)))
        if owner is BOB:
            mine.add(index)
    found = trial_decrypt(BOB.incoming_viewing_key, outputs)
    assert {index for index, _ in found} == mine
    assert all(decrypted.note.value == index for index, decrypted in found)
    with pytest.raises(NotesError):
        trial_decrypt(BOB.incoming_viewing_key, [(1, b"\x01")])
