"""Pool transactions (deposit, transfer, withdraw): fields, canonical encoding, identifiers.

Every transaction spends two inputs and creates two outputs under one Groth16 spend proof
(dummy zero-value inputs and outputs fill unused places). Its kind follows from its
transparent part: a `deposit` debits a transparent account (ed25519-signed), a `withdrawal`
credits one, a transfer has neither.

Identifiers and binding (design section 3, "Spending"; "Transaction ids are bound to the
genesis chain id"):
- `chain_id` (32 octets, the first field) names the chain the transaction is for: the
  genesis chain id (`GenesisConfig.chain_id`). A pool refuses a transaction for another
  chain by name (`shielded.service.verify_proofs`), so a deposit signed for one devnet is
  never valid on a fork or another devnet that shares the setup and the genesis anchor.
- `tx_id` = blake2b-256("jam-shielded/tx" || body), the body being the canonical encoding of
  everything except the spend proof, the deposit signature, the spam proof and the
  personhood proof, so it covers the chain id. Spam proofs are solved over tx_id, the
  personhood ring VRF and the deposit signature sign it.
- tx_id is the transaction's identity: a Groth16 proof is malleable (negating A and B, or
  re-randomising it, gives other bytes that verify the same statement), so nothing may be
  keyed on the proof or on the transaction's bytes; mempools, outcomes and caches key on
  tx_id (or on the spend statement).
- `binding` = blake2b-256("jam-shielded/binding" || tx_id || spam proof || personhood proof)
  reduced mod r: a public input of the spend proof, so no ciphertext, recipient, amount,
  spam proof or personhood proof can be swapped without invalidating the proof.

The encoding uses the graypaper codec combinators (`jamcore.codec`); decoding is strict
(trailing bytes, out-of-range field elements or tiers raise TransactionError).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cached_property

from nacl.signing import SigningKey

from jamcore.codec import (
    BLOB,
    U8,
    U64,
    Codec,
    CodecError,
    FixedBytes,
    Json,
    Reader,
    Struct,
    optional,
    seq,
)
from shielded.circuits.artifacts import ProvingArtifacts
from shielded.circuits.errors import CircuitError
from shielded.circuits.spend import SpendInput, SpendStatement, prove_spend
from shielded.notes.address import ShieldedAddress
from shielded.notes.encryption import CIPHERTEXT_BYTES, encrypt_note
from shielded.notes.keys import SpendingKey
from shielded.notes.note import MAX_VALUE, Note, Tier
from shielded.notes.poseidon import FIELD_MODULUS

ACCOUNT_BYTES = 32
"""Transparent accounts are ed25519 public keys."""
CHAIN_ID_BYTES = 32
"""A genesis chain id (`shielded.node.genesis.GenesisConfig.chain_id`)."""
SIGNATURE_BYTES = 64
SPAM_PROOF_BYTES = 73
"""An encoded `shielded.pow.SpamProof`: anchor 32, tx_id 32, nonce 8, tier 1."""
RING_PROOF_BYTES = 784
"""A Bandersnatch ring VRF proof (personhood alias)."""
SPEND_PROOF_BYTES = 256
ARITY = 2


class TransactionError(ValueError):
    """A transaction that is malformed or refused; the message names the field and the rule."""


def ensure(condition: bool, message: str) -> None:
    """Raise `TransactionError(message)` unless `condition` holds."""
    if not condition:
        raise TransactionError(message)


class Kind(Enum):
    DEPOSIT = "deposit"
    TRANSFER = "transfer"
    WITHDRAWAL = "withdrawal"


class FieldElement(Codec[int]):
    """A BN254 scalar as 32 big-endian bytes; decoding rejects values >= r (non-canonical)."""

    min_size = 32

    def encode_into(self, value: int, out: bytearray) -> None:
        if not 0 <= value < FIELD_MODULUS:
            raise CodecError(f"{value} is not a BN254 field element")
        out += value.to_bytes(32, "big")

    def read(self, reader: Reader) -> int:
        value = int.from_bytes(reader.read(32), "big")
        if value >= FIELD_MODULUS:
            raise CodecError(f"field element {value:#x} is not below r (non-canonical)")
        return value

    def to_json(self, value: int) -> Json:
        return "0x" + value.to_bytes(32, "big").hex()

    def from_json(self, data: Json) -> int:
        if not isinstance(data, str):
            raise CodecError("field element: expected a hex string")
        return self.read(Reader(bytes.fromhex(data.removeprefix("0x"))))


class TierCodec(Codec[Tier]):
    """A note tier as one octet: 0 ephemeral, 1 collateral, 2 personhood."""

    def encode_into(self, value: Tier, out: bytearray) -> None:
        U8.encode_into(int(value), out)

    def read(self, reader: Reader) -> Tier:
        byte = reader.read_byte()
        if byte not in tuple(Tier):
            raise CodecError(f"unknown note tier {byte}")
        return Tier(byte)

    def to_json(self, value: Tier) -> Json:
        return int(value)

    def from_json(self, data: Json) -> Tier:
        if data not in tuple(Tier):
            raise CodecError(f"unknown note tier {data!r}")
        return Tier(data)


FIELD = FieldElement()
TIER = TierCodec()


@dataclass(frozen=True)
class ShieldedOutput:
    """A new note as the chain sees it: commitment, tier and ciphertext for the recipient."""

    commitment: int
    tier: Tier
    ciphertext: bytes


@dataclass(frozen=True)
class DepositSource:
    """The transparent account a deposit debits, and its ed25519 signature over tx_id."""

    account: bytes
    amount: int
    signature: bytes


@dataclass(frozen=True)
class WithdrawalTarget:
    """The transparent account a withdrawal credits."""

    recipient: bytes
    amount: int


@dataclass(frozen=True)
class Transaction:
    """One pool transaction: its chain, public spend statement fields, outputs, transparent
    part, proofs."""

    chain_id: bytes
    anchor: int
    epoch: int
    nullifiers: tuple[int, int]
    input_tiers: tuple[Tier, Tier]
    outputs: tuple[ShieldedOutput, ShieldedOutput]
    fee: int
    deposit: DepositSource | None
    withdrawal: WithdrawalTarget | None
    spam_proof: bytes | None
    personhood_proof: bytes | None
    proof: bytes

    @property
    def kind(self) -> Kind:
        if self.deposit is not None:
            return Kind.DEPOSIT
        if self.withdrawal is not None:
            return Kind.WITHDRAWAL
        return Kind.TRANSFER

    def body(self) -> bytes:
        """The canonical encoding with proof, signature, spam and personhood proofs blanked."""
        blank_deposit = None if self.deposit is None else replace(self.deposit, signature=bytes(64))
        blanked = replace(
            self,
            deposit=blank_deposit,
            spam_proof=None,
            personhood_proof=None,
            proof=bytes(SPEND_PROOF_BYTES),
        )
        return TRANSACTION.encode(blanked)

    @cached_property
    def tx_id(self) -> bytes:
        """blake2b-256("jam-shielded/tx" || body): what spam proofs and signatures commit to."""
        return hashlib.blake2b(b"jam-shielded/tx" + self.body(), digest_size=32).digest()

    @property
    def binding(self) -> int:
        """The spend proof's binding public input (see module docstring)."""
        return binding_hash(self.tx_id, self.spam_proof, self.personhood_proof)

    def encode(self) -> bytes:
        return TRANSACTION.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> Transaction:
        """Strictly decode a transaction; TransactionError on any malformed input."""
        try:
            return TRANSACTION.decode(data)
        except (CodecError, ValueError) as error:  # TransactionError is a ValueError
            raise TransactionError(f"malformed transaction: {error}") from error

    def __post_init__(self) -> None:
        ensure(
            isinstance(self.chain_id, bytes) and len(self.chain_id) == CHAIN_ID_BYTES,
            f"chain id must be {CHAIN_ID_BYTES} bytes",
        )
        ensure(0 <= self.anchor < FIELD_MODULUS, "anchor is not a BN254 field element")
        ensure(0 <= self.epoch <= MAX_VALUE, f"epoch {self.epoch} out of u64 range")
        ensure(len(self.nullifiers) == ARITY, f"a transaction reveals {ARITY} nullifiers")
        ensure(len(self.input_tiers) == ARITY, f"a transaction has {ARITY} input tiers")
        ensure(len(self.outputs) == ARITY, f"a transaction creates {ARITY} outputs")
        for value in (*self.nullifiers, *(output.commitment for output in self.outputs)):
            ensure(0 <= value < FIELD_MODULUS, f"{value} is not a BN254 field element")
        ensure(0 <= self.fee <= MAX_VALUE, f"fee {self.fee} out of u64 range")
        ensure(
            self.deposit is None or self.withdrawal is None,
            "a transaction is a deposit, a transfer or a withdrawal, not both",
        )
        ensure(len(self.proof) == SPEND_PROOF_BYTES, f"spend proof must be {SPEND_PROOF_BYTES} B")
        for output in self.outputs:
            ensure(len(output.ciphertext) == CIPHERTEXT_BYTES, "output ciphertext has wrong size")
        if self.deposit is not None:
            ensure(len(self.deposit.account) == ACCOUNT_BYTES, "deposit account must be 32 bytes")
            ensure(1 <= self.deposit.amount <= MAX_VALUE, "deposit amount must be 1..2^64-1")
        if self.withdrawal is not None:
            ensure(len(self.withdrawal.recipient) == ACCOUNT_BYTES, "recipient must be 32 bytes")
            ensure(1 <= self.withdrawal.amount <= MAX_VALUE, "withdrawal amount must be 1..2^64-1")


def binding_hash(tx_id: bytes, spam_proof: bytes | None, personhood_proof: bytes | None) -> int:
    """blake2b-256("jam-shielded/binding" || tx_id || spam || personhood) mod r."""
    digest = hashlib.blake2b(b"jam-shielded/binding" + tx_id, digest_size=32)
    digest.update(b"\x01" + spam_proof if spam_proof is not None else b"\x00")
    digest.update(b"\x01" + personhood_proof if personhood_proof is not None else b"\x00")
    return int.from_bytes(digest.digest(), "big") % FIELD_MODULUS


SHIELDED_OUTPUT = Struct(
    ShieldedOutput,
    {"commitment": FIELD, "tier": TIER, "ciphertext": FixedBytes(CIPHERTEXT_BYTES)},
)
DEPOSIT_SOURCE = Struct(
    DepositSource,
    {
        "account": FixedBytes(ACCOUNT_BYTES),
        "amount": U64,
        "signature": FixedBytes(SIGNATURE_BYTES),
    },
)
WITHDRAWAL_TARGET = Struct(
    WithdrawalTarget, {"recipient": FixedBytes(ACCOUNT_BYTES), "amount": U64}
)


TRANSACTION = Struct(
    Transaction,
    {
        "chain_id": FixedBytes(CHAIN_ID_BYTES),
        "anchor": FIELD,
        "epoch": U64,
        "nullifiers": seq(FIELD, ARITY),
        "input_tiers": seq(TIER, ARITY),
        "outputs": seq(SHIELDED_OUTPUT, ARITY),
        "fee": U64,
        "deposit": optional(DEPOSIT_SOURCE),
        "withdrawal": optional(WITHDRAWAL_TARGET),
        "spam_proof": optional(FixedBytes(SPAM_PROOF_BYTES)),
        "personhood_proof": optional(FixedBytes(RING_PROOF_BYTES)),
        "proof": FixedBytes(SPEND_PROOF_BYTES),
    },
)
"""The canonical encoding of a transaction (fields in declaration order, eq. C.4)."""

MAX_TRANSACTIONS_PER_BLOCK = 64
POOL_BATCH = seq(BLOB, max_length=MAX_TRANSACTIONS_PER_BLOCK)
"""A batch of encoded transactions: the pool's work item payload (one block's worth)."""


def public_amounts(transaction: Transaction, collateral_per_note: int) -> tuple[int, int]:
    """(public_in, public_out) of the spend statement (design section 3, "Persistence tiers").

    public_in = deposit + collateral released by spent COLLATERAL notes;
    public_out = withdrawal + collateral locked by new COLLATERAL notes. Collateral thus moves
    between shielded value and the pool's public collateral account inside the balance
    equation, without a circuit change.
    """
    released = sum(tier is Tier.COLLATERAL for tier in transaction.input_tiers)
    locked = sum(output.tier is Tier.COLLATERAL for output in transaction.outputs)
    public_in = (transaction.deposit.amount if transaction.deposit else 0) + (
        released * collateral_per_note
    )
    public_out = (transaction.withdrawal.amount if transaction.withdrawal else 0) + (
        locked * collateral_per_note
    )
    ensure(public_in <= MAX_VALUE and public_out <= MAX_VALUE, "public amounts exceed 2^64-1")
    return public_in, public_out


def spend_statement(
    transaction: Transaction, lifetime: int, collateral_per_note: int
) -> SpendStatement:
    """The public inputs the transaction's spend proof must prove (design section 3)."""
    public_in, public_out = public_amounts(transaction, collateral_per_note)
    ensure(transaction.epoch + lifetime <= MAX_VALUE, "epoch + lifetime exceeds 2^64-1")
    try:
        return SpendStatement(
            anchor=transaction.anchor,
            epoch=transaction.epoch,
            expiry_limit=transaction.epoch + lifetime,
            nullifiers=transaction.nullifiers,
            input_tiers=transaction.input_tiers,
            output_commitments=tuple(o.commitment for o in transaction.outputs),  # type: ignore[arg-type]
            output_tiers=tuple(o.tier for o in transaction.outputs),  # type: ignore[arg-type]
            public_in=public_in,
            public_out=public_out,
            fee=transaction.fee,
            binding=transaction.binding,
        )
    except CircuitError as error:
        raise TransactionError(f"transaction is not a valid spend statement: {error}") from error


# --------------------------------------------------------------------------------------
# Building and proving (the wallet side)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """One output to create: `value` to `address`, in `tier`, with an optional memo."""

    address: ShieldedAddress
    value: int
    tier: Tier = Tier.EPHEMERAL
    memo: bytes = b""


@dataclass(frozen=True)
class TransactionPlan:
    """What a wallet wants to do; `build_transaction` turns it into a proven transaction.

    `chain_id` is the genesis chain id of the chain the transaction is for. `spends` are 0..2
    real inputs (with membership witnesses at `anchor`); `payments` are
    0..2 outputs. Missing inputs and outputs are filled with zero-value dummies owned by
    `change_key`. `spam` solves a spam proof for a tx_id; `personhood` makes the ring VRF
    proof for (tx_id, epoch); both are optional.
    """

    anchor: int
    epoch: int
    lifetime: int
    change_key: SpendingKey
    chain_id: bytes
    spends: tuple[SpendInput, ...] = ()
    payments: tuple[Payment, ...] = ()
    fee: int = 0
    deposit_from: SigningKey | None = None
    deposit_amount: int = 0
    withdrawal: WithdrawalTarget | None = None
    collateral_per_note: int = 0
    spam: Callable[[bytes], bytes] | None = field(default=None, compare=False)
    personhood: Callable[[bytes, int], bytes] | None = field(default=None, compare=False)


def _pad_inputs(plan: TransactionPlan) -> tuple[SpendInput, ...]:
    ensure(len(plan.spends) <= ARITY, f"at most {ARITY} inputs per transaction")
    dummies = tuple(
        SpendInput.dummy(
            plan.change_key.ask, plan.change_key.nk, Note.dummy(plan.change_key.pk, plan.epoch)
        )
        for _ in range(ARITY - len(plan.spends))
    )
    return tuple(plan.spends) + dummies


def _outputs(plan: TransactionPlan) -> list[tuple[Note, ShieldedOutput]]:
    ensure(len(plan.payments) <= ARITY, f"at most {ARITY} outputs per transaction")
    payments = list(plan.payments) + [
        Payment(plan.change_key.address, 0) for _ in range(ARITY - len(plan.payments))
    ]
    built = []
    for payment in payments:
        note = Note.create(
            payment.value, payment.address.pk, plan.epoch + plan.lifetime, payment.tier
        )
        ciphertext = encrypt_note(note, payment.address, payment.memo)
        built.append((note, ShieldedOutput(note.commitment, note.tier, ciphertext)))
    return built


def build_transaction(keys: ProvingArtifacts, plan: TransactionPlan) -> Transaction:
    """Assemble, sign and prove a transaction for `plan` (about 2 s: one Groth16 proof)."""
    inputs = _pad_inputs(plan)
    outputs = _outputs(plan)
    deposit = None
    if plan.deposit_from is not None:
        account = bytes(plan.deposit_from.verify_key)
        deposit = DepositSource(account, plan.deposit_amount, bytes(SIGNATURE_BYTES))
    draft = Transaction(
        chain_id=plan.chain_id,
        anchor=plan.anchor,
        epoch=plan.epoch,
        nullifiers=(inputs[0].nullifier, inputs[1].nullifier),
        input_tiers=(inputs[0].note.tier, inputs[1].note.tier),
        outputs=(outputs[0][1], outputs[1][1]),
        fee=plan.fee,
        deposit=deposit,
        withdrawal=plan.withdrawal,
        spam_proof=None,
        personhood_proof=None,
        proof=bytes(SPEND_PROOF_BYTES),
    )
    public_in, public_out = public_amounts(draft, plan.collateral_per_note)
    total_in = sum(spend.note.value for spend in inputs) + public_in
    total_out = sum(note.value for note, _ in outputs) + public_out + plan.fee
    ensure(
        total_in == total_out,
        f"transaction does not balance: inputs + public_in = {total_in}, "
        f"outputs + public_out + fee = {total_out}",
    )
    tx_id = draft.tx_id
    spam_proof = plan.spam(tx_id) if plan.spam is not None else None
    personhood_proof = plan.personhood(tx_id, plan.epoch) if plan.personhood else None
    if deposit is not None and plan.deposit_from is not None:
        deposit = replace(deposit, signature=plan.deposit_from.sign(tx_id).signature)
    signed = replace(
        draft, deposit=deposit, spam_proof=spam_proof, personhood_proof=personhood_proof
    )
    statement = spend_statement(signed, plan.lifetime, plan.collateral_per_note)
    try:
        proof = prove_spend(keys, statement, inputs, tuple(note for note, _ in outputs))
    except CircuitError as error:
        raise TransactionError(f"cannot prove the transaction: {error}") from error
    return replace(signed, proof=proof)
