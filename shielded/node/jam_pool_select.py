"""The guarantor's choice of a pool package: spam tiers by work, the fee lane by fee.

Graypaper sections 11.3 and 14 leave the content of a work package to its builder; the
pool's rules bound it (`shielded.pow.quota`: refine keeps at most one block's capacity and
tier quotas of a package, accumulate at most that of a block). The builder therefore fills
a package as a block author fills a block (design section 3, "Spam proofs"):
`shielded.pow.fill_block` takes each spam tier's quota by work (more leading zero bits
first, ties by arrival) and the rest of the capacity by fee (ties by arrival).

Before that, the candidates (the mempool's transactions no package carries, oldest first)
are checked against the pool at the head, reading only its small items and the `nf` item
of each nullifier asked about (`LazyPoolStorage`). Refused (they can never be accepted, so
they leave the mempool with the reason): undecodable ones, ones made for an epoch the pool
has left, ones revealing a nullifier spent at the head, and spam proofs `fill_block`
rejects for a reason that lasts (insufficient work, a wrong transaction or tier, a stale
anchor, a replay). Waiting (they stay in the mempool): ones made for a later epoch than the
package's slot, ones sharing a nullifier with an earlier candidate (one of the two will be
a double spend), spam proofs anchored on an entropy the head's window does not know (it may
be that of a block this validator has not imported yet), and valid ones that did not fit.
The stateless checks (spend proofs, signatures) are refine's, run on the package itself:
of what it leaves out, `refine_refusals` tells the invalid ones (refused, with refine's
reason) from those that only did not fit the report (W_R), which wait.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass

from shielded.native_pool_refine import refusal
from shielded.pool_lazy import LazyPoolStorage
from shielded.pool_storage import Reader
from shielded.pow import (
    Candidate,
    SpamProof,
    SpamProofError,
    SpamProofVerifier,
    UnknownAnchor,
    fill_block,
)
from shielded.service import PoolConfig, ProofContext
from shielded.transaction import Transaction, TransactionError

__all__ = ["PackageChoice", "choose_package", "refine_refusals"]


@dataclass(frozen=True)
class PackageChoice:
    """A package's transactions and the candidates to drop."""

    chosen: tuple[tuple[bytes, bytes], ...]
    """(tx id, encoding) in package order: tier lanes in tier order, then fee payers."""
    refused: dict[bytes, str]
    """tx id -> why it can never be accepted."""


def _offer(
    transaction: Transaction, state_epoch: int, epoch: int, spent: Container[int]
) -> Candidate | str | None:
    """The candidate `transaction` offers, why it is refused (str), or None if it waits."""
    if transaction.epoch > epoch:
        return None  # made for a coming epoch
    if transaction.epoch < max(state_epoch, epoch):
        # The pool's accumulate admits a transaction only in its own epoch (eq. 12.18's
        # block is in `epoch` or later): made for an earlier one, it can never land.
        return (
            f"transaction is for epoch {transaction.epoch}, but a package made now is "
            f"accumulated in epoch {max(state_epoch, epoch)} at the earliest"
        )
    if any(nullifier in spent for nullifier in transaction.nullifiers):
        return "a nullifier is already spent on chain (included before?)"
    proof = None
    if transaction.spam_proof is not None:
        try:
            proof = SpamProof.decode(transaction.spam_proof)
        except SpamProofError as error:
            return f"spam proof: {error}"
    return Candidate(transaction.tx_id, proof, transaction.fee)


def choose_package(
    candidates: Sequence[tuple[bytes, bytes]],
    read: Reader,
    config: PoolConfig,
    epoch: int,
    limit: int,
) -> PackageChoice:
    """The package of at most `limit` transactions from `candidates` ((tx id, encoding),
    oldest first) for a guarantee in `epoch`, against the pool items `read` gives (the
    head's); module docstring. PoolStorageError if the items are malformed."""
    snapshot = LazyPoolStorage.load(config, read).snapshot
    state = snapshot.state
    spam = SpamProofVerifier(config.spec, snapshot.anchors, snapshot.used)
    refused: dict[bytes, str] = {}
    encodings: dict[bytes, bytes] = {}
    offers: list[Candidate] = []
    revealed: set[int] = set()
    for tx_id, encoded in candidates:
        try:
            transaction = Transaction.decode(encoded)
        except TransactionError as error:
            refused[tx_id] = str(error)
            continue
        offer = _offer(transaction, state.epoch, epoch, state.nullifiers)
        if isinstance(offer, str):
            refused[tx_id] = offer
        if not isinstance(offer, Candidate) or revealed.intersection(transaction.nullifiers):
            continue
        revealed.update(transaction.nullifiers)
        encodings[tx_id] = encoded
        offers.append(offer)
    fill = fill_block(offers, spam)
    for rejection in fill.rejected:
        if not isinstance(rejection.error, UnknownAnchor):
            refused[rejection.candidate.tx_id] = f"spam proof: {rejection.error}"
    chosen = tuple((c.tx_id, encodings[c.tx_id]) for c in fill.included[:limit])
    return PackageChoice(chosen, refused)


def refine_refusals(
    left_out: Iterable[tuple[bytes, bytes]], proofs: ProofContext
) -> dict[bytes, str]:
    """Of the (tx id, encoding) refine left out of a package, why the invalid ones are
    refused (`native_pool_refine.refusal`); the others passed and wait for another."""
    reasons = {}
    for tx_id, encoded in left_out:
        reason = refusal(encoded, proofs)
        if reason is not None:
            reasons[tx_id] = reason
    return reasons
