"""The spend circuit through the real groth16py prover: completeness and soundness.

Statements a cheating prover would want are tried two ways: honestly generated proofs whose
public inputs are then changed must fail verification, and witnesses that violate the
statement (another key, an expired note, unbalanced or out-of-range values, a wrong path) are
fed straight to groth16py's prover, which proves whatever it is given: the resulting proof
must not verify. `prove_spend` turns that into a CircuitError for wallets.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import groth16py
import pytest

from shielded.circuits.artifacts import (
    MANIFEST_FILE,
    VERIFYING_KEY_FILE,
    default_directory,
    load_verifying,
)
from shielded.circuits.errors import CircuitError
from shielded.circuits.spend import (
    PROOF_BYTES,
    SpendInput,
    SpendStatement,
    SpendVerifier,
    _circuit_inputs,
    prove_spend,
)
from shielded.notes.keys import SpendingKey
from shielded.notes.note import NEVER_EXPIRES, Note, Tier
from shielded.notes.poseidon import FIELD_MODULUS, poseidon
from shielded.notes.tree import CommitmentTrees
from tests.shielded.circuits.spend_keys import spend_keys

pytestmark = pytest.mark.slow

ALICE = SpendingKey.from_seed(b"alice".ljust(32, b"\x00"))
BOB = SpendingKey.from_seed(b"bob".ljust(32, b"\x00"))
LIFETIME = 2
EPHEMERAL2 = (Tier.EPHEMERAL, Tier.EPHEMERAL)


@dataclasses.dataclass
class Transfer:
    statement: SpendStatement
    inputs: tuple[SpendInput, SpendInput]
    outputs: tuple[Note, Note]
    trees: CommitmentTrees


def alice_pays_bob(epoch: int = 0, fee: int = 1) -> Transfer:
    """Alice spends a 100-unit live note plus a dummy: 60 to Bob, change to herself."""
    trees = CommitmentTrees(LIFETIME, anchor_window=4, epoch=0)
    owned = Note.create(100, ALICE.pk, LIFETIME)
    trees.live.append([Note.create(5, BOB.pk, 1).commitment])
    position = trees.live.append([owned.commitment])[0]
    spend = SpendInput(owned, ALICE.ask, ALICE.nk, trees.witness(position, permanent=False))
    dummy = SpendInput.dummy(ALICE.ask, ALICE.nk, Note.dummy(ALICE.pk, epoch))
    outputs = (
        Note.create(60, BOB.pk, epoch + LIFETIME),
        Note.create(40 - fee, ALICE.pk, epoch + LIFETIME),
    )
    statement = SpendStatement(
        anchor=trees.anchor,
        epoch=epoch,
        expiry_limit=epoch + LIFETIME,
        nullifiers=(spend.nullifier, dummy.nullifier),
        input_tiers=EPHEMERAL2,
        output_commitments=(outputs[0].commitment, outputs[1].commitment),
        output_tiers=EPHEMERAL2,
        public_in=0,
        public_out=0,
        fee=fee,
        binding=0xB1D,
    )
    return Transfer(statement, (spend, dummy), outputs, trees)


@pytest.fixture(scope="module")
def proven() -> tuple[Transfer, bytes]:
    transfer = alice_pays_bob()
    proof = prove_spend(spend_keys(), transfer.statement, transfer.inputs, transfer.outputs)
    return transfer, proof


@pytest.fixture(scope="module")
def verifier() -> SpendVerifier:
    return SpendVerifier(spend_keys().verifying)


def test_honest_transfer_verifies(proven: tuple[Transfer, bytes], verifier: SpendVerifier) -> None:
    transfer, proof = proven
    assert len(proof) == PROOF_BYTES
    assert verifier.verify(transfer.statement, proof)


@pytest.mark.parametrize(
    "change",
    [
        {"anchor": 12345},
        {"epoch": 1},
        {"expiry_limit": 3},
        {"nullifiers": (1, 2)},
        {"output_commitments": (3, 4)},
        {"input_tiers": (Tier.COLLATERAL, Tier.EPHEMERAL)},
        {"output_tiers": (Tier.EPHEMERAL, Tier.COLLATERAL)},
        {"public_in": 1},
        {"public_out": 1},
        {"fee": 0},
        {"binding": 0xB1E},
    ],
    ids=lambda change: next(iter(change)),
)
def test_changed_public_input_fails_verification(
    proven: tuple[Transfer, bytes], verifier: SpendVerifier, change: dict[str, object]
) -> None:
    transfer, proof = proven
    assert not verifier.verify(dataclasses.replace(transfer.statement, **change), proof)


def test_malformed_proofs_are_typed_errors(
    proven: tuple[Transfer, bytes], verifier: SpendVerifier
) -> None:
    transfer, proof = proven
    with pytest.raises(CircuitError, match="256 bytes"):
        verifier.verify(transfer.statement, proof[:-1])
    tampered = bytearray(proof)
    tampered[5] ^= 0x40
    try:
        assert not verifier.verify(transfer.statement, bytes(tampered))
    except CircuitError:
        pass  # a point off the curve is malformed rather than merely wrong


def cannot_prove(transfer: Transfer) -> None:
    circuit_inputs = _circuit_inputs(transfer.statement, transfer.inputs, transfer.outputs)
    assert_rejected(transfer.statement, circuit_inputs)


def assert_rejected(statement: SpendStatement, circuit_inputs: dict[str, object]) -> None:
    """Prove the raw witness anyway; the verifier must reject the result."""
    try:
        proof = bytes(groth16py.prove(spend_keys().proving_key, circuit_inputs))
    except groth16py.WitnessError:
        return
    assert not SpendVerifier(spend_keys().verifying).verify(statement, proof)


def test_wrong_root_cannot_be_proven() -> None:
    transfer = alice_pays_bob()
    transfer.statement = dataclasses.replace(transfer.statement, anchor=poseidon(1, 2))
    cannot_prove(transfer)


def test_wrong_nullifier_cannot_be_proven() -> None:
    transfer = alice_pays_bob()
    spend = transfer.inputs[0]
    wrong_position = poseidon(ALICE.nk, spend.note.commitment, spend.membership.position + 1)
    transfer.statement = dataclasses.replace(
        transfer.statement, nullifiers=(wrong_position, transfer.statement.nullifiers[1])
    )
    cannot_prove(transfer)


def test_expired_note_cannot_be_spent() -> None:
    transfer = alice_pays_bob()
    epoch = LIFETIME + 1  # the note expired at epoch LIFETIME
    dummy = SpendInput.dummy(ALICE.ask, ALICE.nk, Note.dummy(ALICE.pk, epoch))
    transfer.inputs = (transfer.inputs[0], dummy)
    transfer.statement = dataclasses.replace(
        transfer.statement,
        epoch=epoch,
        expiry_limit=epoch + LIFETIME,
        nullifiers=(transfer.statement.nullifiers[0], dummy.nullifier),
    )
    cannot_prove(transfer)


def test_unbalanced_transaction_cannot_be_proven() -> None:
    transfer = alice_pays_bob()
    transfer.statement = dataclasses.replace(transfer.statement, fee=0)
    cannot_prove(transfer)
    with pytest.raises(CircuitError, match="does not satisfy"):
        prove_spend(spend_keys(), transfer.statement, transfer.inputs, transfer.outputs)


def test_values_over_64_bits_cannot_mint() -> None:
    """Outputs 2^64 + 59 and -(2^64) (mod r) balance in the field; the range check stops them."""
    transfer = alice_pays_bob()
    values = (2**64 + 59, FIELD_MODULUS - 2**64 + 40)
    assert (values[0] + values[1]) % FIELD_MODULUS == 99
    outputs = transfer.outputs
    commitments = tuple(
        poseidon(value, note.pk, note.blinding, note.expiry_epoch, 0)
        for value, note in zip(values, outputs, strict=True)
    )
    statement = dataclasses.replace(transfer.statement, output_commitments=commitments)
    circuit_inputs = _circuit_inputs(statement, transfer.inputs, outputs)
    circuit_inputs["outValue"] = list(values)
    assert_rejected(statement, circuit_inputs)


def test_note_owned_by_another_key_cannot_be_spent() -> None:
    transfer = alice_pays_bob()
    stolen = dataclasses.replace(transfer.inputs[0], ask=BOB.ask, nk=BOB.nk)
    transfer.inputs = (stolen, transfer.inputs[1])
    transfer.statement = dataclasses.replace(
        transfer.statement, nullifiers=(stolen.nullifier, transfer.statement.nullifiers[1])
    )
    cannot_prove(transfer)
    # A full viewing key holder knows nk but not ask: guessing ask fails the same way.
    guessed = dataclasses.replace(transfer.inputs[0], ask=12345, nk=ALICE.nk)
    transfer.inputs = (guessed, transfer.inputs[1])
    cannot_prove(transfer)


def test_live_note_cannot_claim_the_permanent_tree() -> None:
    transfer = alice_pays_bob()
    transfer.statement = dataclasses.replace(
        transfer.statement, input_tiers=(Tier.COLLATERAL, Tier.EPHEMERAL)
    )
    cannot_prove(transfer)


def test_zero_value_permanent_input_is_not_a_free_dummy() -> None:
    """A 0-valued input claiming a permanent tier (to release collateral) must be in the tree."""
    transfer = alice_pays_bob()
    fake = Note(0, ALICE.pk, 7, NEVER_EXPIRES, Tier.COLLATERAL)
    fake_input = SpendInput(fake, ALICE.ask, ALICE.nk, transfer.inputs[1].membership)
    transfer.inputs = (transfer.inputs[0], fake_input)
    transfer.statement = dataclasses.replace(
        transfer.statement,
        input_tiers=(Tier.EPHEMERAL, Tier.COLLATERAL),
        nullifiers=(transfer.statement.nullifiers[0], fake_input.nullifier),
    )
    cannot_prove(transfer)


def test_ephemeral_output_cannot_outlive_the_window() -> None:
    transfer = alice_pays_bob()
    long_lived = Note.create(60, BOB.pk, LIFETIME + 1)
    transfer.outputs = (long_lived, transfer.outputs[1])
    transfer.statement = dataclasses.replace(
        transfer.statement,
        output_commitments=(long_lived.commitment, transfer.statement.output_commitments[1]),
    )
    cannot_prove(transfer)


def test_verifying_key_hash_is_checked_on_load(tmp_path: Path) -> None:
    spend_keys()
    source = default_directory()
    for name in (MANIFEST_FILE, VERIFYING_KEY_FILE):
        shutil.copy(source / name, tmp_path / name)
    loaded = load_verifying(tmp_path, spend_keys().verifying.vk_hash)
    assert loaded.vk_hash == spend_keys().verifying.vk_hash
    with pytest.raises(CircuitError, match="expected"):
        load_verifying(tmp_path, "00" * 32)
    key_file = tmp_path / VERIFYING_KEY_FILE
    key_bytes = bytearray(key_file.read_bytes())
    key_bytes[10] ^= 1
    key_file.write_bytes(bytes(key_bytes))
    with pytest.raises(CircuitError, match="does not load"):
        load_verifying(tmp_path)
    (tmp_path / MANIFEST_FILE).unlink()
    with pytest.raises(CircuitError, match="no setup manifest"):
        load_verifying(tmp_path)
