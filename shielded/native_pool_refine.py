"""Ψ_R of the native shielded pool: the stateless checks of a batch, and the refined form.

Refine (graypaper eq. B.5, 14.11) sees no service state of the pool, so it runs every check
of a transaction that needs none (`shielded.service.verify_proofs`): decoding, the spend
proof (Groth16, against the statement of the transaction's own anchor), the deposit
signature, the personhood ring proof (ring from the pool config) and the spam proof's tier,
binding and work (`shielded.pow.verify.SpamWorkVerifier`). What needs the pool's state is
left to accumulate (`shielded.native_pool`): the anchor's recency and the fee rule at its
statistics, the epoch, the spam proof's anchor recency and replay, nullifiers, balances
and the personhood quota.

The work item's payload is `shielded.transaction.POOL_BATCH` (the encoded
transactions); the output is `REFINED_BATCH`, the transactions that passed, in order, each a
`RefinedEntry`: the personhood alias (if any) and the transaction's encoding
(`REFINED_BODY`) without its 256-octet spend proof, its 784-octet ring proof and its 64-octet
deposit signature (accumulate needs none of them: they were verified here, the alias stands
for the ring proof). All three are outside tx_id's body, so accumulate recomputes the same
tx_id. Invalid transactions are left out, as is a valid one that would take the output past
W_R (`ChainSpec.max_report_variable_size`, eq. 11.8): the report's outputs must fit W_R =
48 KiB = 49 152 octets. A refined transfer with a spam proof is 744 octets, so a full block
of 64 fits (47 617 octets), as do 64 deposits without spam proofs (711 each); a deposit
with a spam proof is 784 (62 fit), and with a personhood alias too 816, the largest entry
(60 fit; a withdrawal with a spam proof and an alias is as large).

Capacity (design section 3, "Spam proofs"; `shielded.pow.quota`): one work item never
carries more than one block takes. Its valid transactions are counted, in payload order, in
a fresh `BlockRoom`: one that would pass the block capacity or its spam tier's quota is
left out like the W_R overflow. Refine is stateless, so this bounds one item only; the
per-block rule across every package a block accumulates is accumulate's. Leaving the excess
out (rather than failing the item) keeps the valid prefix of an over-full package, as a
block builder's `fill_block` would; no reason goes into the output, which W_R bounds and
which every importer carries: a guarantor knows what it left out (`refusal` tells it
whether a left-out transaction is invalid or only did not fit, and may wait).

Gas (eq. B.5: the gas used is the report's u): `REFINE_GAS_PER_TRANSACTION` per
transaction of the payload, charged before its checks through `RefineHost.charge`, so the
gas used depends only on the payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from jamcore.codec import (
    BLOB,
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
from shielded.pow.quota import BlockRoom
from shielded.service import (
    REFINE_GAS_PER_TRANSACTION,
    ProofContext,
    verify_proofs,
)
from shielded.transaction import (
    ACCOUNT_BYTES,
    MAX_TRANSACTIONS_PER_BLOCK,
    POOL_BATCH,
    SIGNATURE_BYTES,
    SPEND_PROOF_BYTES,
    TRANSACTION,
    DepositSource,
    Transaction,
    TransactionError,
)

__all__ = [
    "REFINED_BATCH",
    "REFINED_BODY",
    "RefinedEntry",
    "decode_refined",
    "refine_batch",
    "refine_transaction",
    "refusal",
    "restore_transaction",
    "strip_transaction",
]


class Omitted(Codec[bytes]):
    """A field left out of the encoding: nothing is written, `value` is read back (the
    blank the field has in tx_id's body)."""

    min_size = 0

    def __init__(self, value: bytes) -> None:
        self.value = value

    def encode_into(self, value: bytes, out: bytearray) -> None:
        return None

    def read(self, reader: Reader) -> bytes:
        return self.value

    def to_json(self, value: bytes) -> Json:
        return None

    def from_json(self, data: Json) -> bytes:
        return self.value


UNSIGNED_DEPOSIT = Struct(
    DepositSource,
    {
        "account": FixedBytes(ACCOUNT_BYTES),
        "amount": U64,
        "signature": Omitted(bytes(SIGNATURE_BYTES)),
    },
)
REFINED_BODY = Struct(
    Transaction,
    {
        **dict(TRANSACTION.fields),
        "deposit": optional(UNSIGNED_DEPOSIT),
        "proof": Omitted(bytes(SPEND_PROOF_BYTES)),
    },
)
"""A transaction as refine passes it on: `TRANSACTION` without the deposit signature and
the spend proof (read back as zeros) and with the ring proof encoded as none."""


@dataclass(frozen=True)
class RefinedEntry:
    """One transaction that passed refine: its personhood alias (the ring VRF output, if it
    has personhood-tier outputs) and `strip_transaction` of it."""

    alias: bytes | None
    body: bytes


REFINED_ENTRY = Struct(RefinedEntry, {"alias": optional(FixedBytes(32)), "body": BLOB})
REFINED_BATCH = seq(REFINED_ENTRY, max_length=MAX_TRANSACTIONS_PER_BLOCK)
"""The refine output: E(↕[entry]), each entry E(¿alias, ↕body) (eq. C.4-C.8)."""


def strip_transaction(transaction: Transaction) -> bytes:
    """The `REFINED_BODY` encoding of `transaction`: no ring proof (encoded as none), no
    deposit signature, no spend proof."""
    return REFINED_BODY.encode(replace(transaction, personhood_proof=None))


def restore_transaction(body: bytes) -> Transaction:
    """The transaction of a `strip_transaction` body, with a zero spend proof and deposit
    signature and no ring proof (its tx_id is the original's); TransactionError if
    malformed."""
    try:
        return REFINED_BODY.decode(bytes(body))
    except (CodecError, ValueError) as error:  # TransactionError is a ValueError
        raise TransactionError(f"malformed refined transaction: {error}") from error


def _refined(raw: bytes, context: ProofContext) -> tuple[RefinedEntry, int | None]:
    """The refined entry of one encoded transaction and its spam tier (None: it pays a
    fee); TransactionError (with the reason) if a stateless check fails."""
    transaction = Transaction.decode(bytes(raw))
    spam, alias = verify_proofs(transaction, context)
    tier = None if spam is None else spam.tier
    return RefinedEntry(alias, strip_transaction(transaction)), tier


def refine_transaction(raw: bytes, context: ProofContext) -> RefinedEntry | None:
    """The refined entry of one encoded transaction, or None if a stateless check fails."""
    try:
        return _refined(raw, context)[0]
    except TransactionError:
        return None


def refusal(raw: bytes, context: ProofContext) -> str | None:
    """Why refine refuses one encoded transaction whatever the state and the package
    (a stateless check fails), or None if it passes."""
    try:
        _refined(raw, context)
    except TransactionError as error:
        return str(error)
    return None


def refine_batch(
    payload: bytes,
    context: ProofContext,
    charge: Callable[[int], None],
    max_output: int,
) -> bytes:
    """The refine output of one work item: `REFINED_BATCH` of the payload's transactions
    that pass and fit, in order, one block's capacity and tier quotas and at most
    `max_output` octets. CodecError (a panic of Ψ_R) if the payload is not a
    `POOL_BATCH`."""
    transactions = POOL_BATCH.decode(payload)
    entries: list[RefinedEntry] = []
    room = BlockRoom(context.config.spec)
    size = 1  # the sequence's length prefix: one octet below 128 entries (eq. C.6)
    for raw in transactions:
        charge(REFINE_GAS_PER_TRANSACTION)
        try:
            entry, tier = _refined(raw, context)
        except TransactionError:
            continue
        if room.full_lane(tier) is not None:
            continue  # more of its lane than one block takes: the node retries it later
        encoded = REFINED_ENTRY.encode(entry)
        if size + len(encoded) > max_output:
            continue  # would take the report past W_R: the node retries it later
        size += len(encoded)
        room.take(tier)
        entries.append(entry)
    return REFINED_BATCH.encode(tuple(entries))


def decode_refined(output: bytes) -> tuple[RefinedEntry, ...]:
    """The entries of a refine output; CodecError if it is not a `REFINED_BATCH`."""
    try:
        return REFINED_BATCH.decode(bytes(output))
    except (CodecError, ValueError) as error:
        raise CodecError(f"malformed refined batch: {error}") from error
