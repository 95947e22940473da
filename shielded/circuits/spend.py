"""Prover and verifier wrappers of the 2-input, 2-output spend circuit (`spend.circom`).

`SpendStatement` is the public part, in the circuit's public-input order; `SpendInput` and
`SpendOutput` are the private witness. `prove_spend` runs circom's witness generator and the
Groth16 prover (groth16py, in process); `SpendVerifier` checks a 256-byte proof against a
statement with the hash-checked verifying key. groth16py's prover does not stop on a failed
constraint: a witness that does not satisfy the statement (wrong key, expired note, unbalanced
or out-of-range values, wrong path...) yields a proof that does not verify. `prove_spend`
therefore verifies its own proof (about 2 ms) and raises CircuitError instead of returning it.
"""

from __future__ import annotations

from dataclasses import dataclass

import groth16py

from shielded.circuits.artifacts import ProvingArtifacts, VerifyingArtifacts
from shielded.circuits.errors import CircuitError, ensure
from shielded.notes.note import MAX_VALUE, Note, Tier
from shielded.notes.poseidon import FIELD_MODULUS
from shielded.notes.tree import TREE_DEPTH, MembershipWitness
from shielded.nullifiers.derive import derive_nullifier

PROOF_BYTES = 256
"""A Groth16 proof over BN254 in the Ethereum layout: A (G1), B (G2), C (G1)."""
ARITY = 2
"""Inputs and outputs per proof."""


def _field(value: int, name: str) -> None:
    ensure(
        isinstance(value, int) and 0 <= value < FIELD_MODULUS,
        f"{name} = {value!r} is not a BN254 field element",
    )


def _u64(value: int, name: str) -> None:
    ensure(
        isinstance(value, int) and 0 <= value <= MAX_VALUE,
        f"{name} = {value!r} is not a 64-bit natural",
    )


@dataclass(frozen=True)
class SpendStatement:
    """The public inputs of one spend proof (design section 3), in circuit order."""

    anchor: int
    epoch: int
    expiry_limit: int
    """epoch + N: the latest expiry an ephemeral output may carry."""
    nullifiers: tuple[int, int]
    input_tiers: tuple[Tier, Tier]
    output_commitments: tuple[int, int]
    output_tiers: tuple[Tier, Tier]
    public_in: int
    public_out: int
    fee: int
    binding: int
    """A hash of the rest of the transaction, reduced into the field."""

    def __post_init__(self) -> None:
        _field(self.anchor, "anchor")
        _field(self.binding, "binding")
        for name in ("epoch", "expiry_limit", "public_in", "public_out", "fee"):
            _u64(getattr(self, name), name)
        for name in ("nullifiers", "input_tiers", "output_commitments", "output_tiers"):
            ensure(len(getattr(self, name)) == ARITY, f"{name} must have {ARITY} entries")
        for index, value in enumerate(self.nullifiers + self.output_commitments):
            _field(value, f"nullifier/commitment {index}")
        for tier in self.input_tiers + self.output_tiers:
            ensure(tier in tuple(Tier), f"tier {tier!r} unknown")

    def public_inputs(self) -> list[int]:
        """The statement as the verifier's public-input vector (order of `spend.circom`)."""
        return [
            self.anchor,
            self.epoch,
            self.expiry_limit,
            *self.nullifiers,
            *(int(tier) for tier in self.input_tiers),
            *self.output_commitments,
            *(int(tier) for tier in self.output_tiers),
            self.public_in,
            self.public_out,
            self.fee,
            self.binding,
        ]


@dataclass(frozen=True)
class SpendInput:
    """One input's witness: the note, its owner's keys and its membership path."""

    note: Note
    ask: int
    nk: int
    membership: MembershipWitness

    @property
    def nullifier(self) -> int:
        """nf = Poseidon(nk, cm, position)."""
        return derive_nullifier(self.nk, self.note.commitment, self.membership.position)

    @classmethod
    def dummy(cls, ask: int, nk: int, note: Note) -> SpendInput:
        """A zero-value ephemeral input: the circuit skips its membership check."""
        ensure(note.value == 0 and note.tier is Tier.EPHEMERAL, "a dummy input must be 0-valued")
        return cls(note, ask, nk, MembershipWitness(0, (0,) * TREE_DEPTH, 0))


def _circuit_inputs(
    statement: SpendStatement, inputs: tuple[SpendInput, ...], outputs: tuple[Note, ...]
) -> dict[str, object]:
    ensure(len(inputs) == ARITY, f"a spend proof takes {ARITY} inputs, got {len(inputs)}")
    ensure(len(outputs) == ARITY, f"a spend proof takes {ARITY} outputs, got {len(outputs)}")
    for spend in inputs:
        ensure(
            len(spend.membership.siblings) == TREE_DEPTH,
            f"membership path has {len(spend.membership.siblings)} siblings, need {TREE_DEPTH}",
        )
    return {
        "anchor": statement.anchor,
        "epoch": statement.epoch,
        "expiryLimit": statement.expiry_limit,
        "nullifier": list(statement.nullifiers),
        "inTier": [int(tier) for tier in statement.input_tiers],
        "outCommitment": list(statement.output_commitments),
        "outTier": [int(tier) for tier in statement.output_tiers],
        "publicIn": statement.public_in,
        "publicOut": statement.public_out,
        "fee": statement.fee,
        "binding": statement.binding,
        "inAsk": [spend.ask for spend in inputs],
        "inNk": [spend.nk for spend in inputs],
        "inValue": [spend.note.value for spend in inputs],
        "inBlinding": [spend.note.blinding for spend in inputs],
        "inExpiry": [spend.note.expiry_epoch for spend in inputs],
        "inPosition": [spend.membership.position for spend in inputs],
        "inSiblings": [list(spend.membership.siblings) for spend in inputs],
        "inOtherRoot": [spend.membership.other_root for spend in inputs],
        "outValue": [note.value for note in outputs],
        "outPk": [note.pk for note in outputs],
        "outBlinding": [note.blinding for note in outputs],
        "outExpiry": [note.expiry_epoch for note in outputs],
    }


def prove_spend(
    keys: ProvingArtifacts,
    statement: SpendStatement,
    inputs: tuple[SpendInput, ...],
    outputs: tuple[Note, ...],
) -> bytes:
    """A Groth16 proof that (inputs, outputs) satisfy `statement`; CircuitError if they don't."""
    circuit_inputs = _circuit_inputs(statement, inputs, outputs)
    try:
        proof = bytes(groth16py.prove(keys.proving_key, circuit_inputs))
    except groth16py.WitnessError as error:
        raise CircuitError(f"the witness does not satisfy the spend statement: {error}") from error
    if not SpendVerifier(keys.verifying).verify(statement, proof):
        raise CircuitError("the witness does not satisfy the spend statement (proof rejected)")
    return proof


class SpendVerifier:
    """Verifies spend proofs under one hash-checked verifying key."""

    def __init__(self, verifying: VerifyingArtifacts) -> None:
        self.vk_hash = verifying.vk_hash
        self._verifier = groth16py.Verifier(verifying.verifying_key)

    def verify(self, statement: SpendStatement, proof: bytes) -> bool:
        """True iff `proof` proves `statement`; CircuitError if the proof is malformed."""
        ensure(
            isinstance(proof, bytes | bytearray) and len(proof) == PROOF_BYTES,
            f"a spend proof is {PROOF_BYTES} bytes, got {len(proof)}",
        )
        try:
            return bool(self._verifier.verify(bytes(proof), statement.public_inputs()))
        except (groth16py.EncodingError, groth16py.VerificationError, ValueError) as error:
            raise CircuitError(f"malformed spend proof: {error}") from error
