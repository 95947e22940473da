"""The guarantor's side of a validator: mempool, pool work packages and their credentials.

Graypaper sections 11.3-11.4 and 14: a guarantor of the pool's core builds a work package
from its mempool (one work item for the pool service, payload `POOL_BATCH` of up to 64
encoded transactions, the devnet's accept-all authorizer, a context anchored on its head,
eq. 11.4), refines it (Xi, eq. 14.12) and signs X_G ++ H(E(r)) (eq. 11.26). Its
co-guarantors refine the same bundle independently; with a second signature the guarantee
(r, t, a) (eq. 11.23) goes to every validator, and each validator gets its shard
(eq. 14.17, H.5).

Here: the `Mempool`, the packages in flight (`InFlight`: which transactions wait on which
package, until it is accumulated, times out in rho (eq. 11.17) or can no longer be
guaranteed (eq. 11.26), when they return to the mempool), the package a builder makes
(`pool_bundle`) and the credential being collected (`Collecting`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from jamcore.codec import CodecError
from jamcore.crypto import ed25519
from jamcore.errors import JamError
from jamcore.spec import ChainSpec
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from jamcore.stf.reports.credentials import guarantee_message
from jamcore.work.availability import WorkPackageBundle
from jamcore.work.guarantee import ReportGuarantee, ValidatorSignature
from jamcore.work.guarantor import make_guarantee, report_hash
from jamcore.work.package import RefineContext, WorkItem, WorkPackage
from jamcore.work.report import WorkReport
from shielded.native_pool import NATIVE_POOL_CODE_HASH, OUTCOME, OUTCOME_KEY
from shielded.native_pool_refine import decode_refined, restore_transaction
from shielded.node.guarantor import GuaranteedWork
from shielded.node.jam_chain import ValidatorError
from shielded.node.jam_genesis import authorizer_code_hash
from shielded.service import ACCUMULATE_GAS_PER_TRANSACTION, REFINE_GAS_PER_TRANSACTION
from shielded.transaction import (
    MAX_TRANSACTIONS_PER_BLOCK,
    POOL_BATCH,
    Transaction,
    TransactionError,
)

__all__ = [
    "ACCUMULATE_GAS_MARGIN",
    "INCLUSION_SLOTS",
    "PACKAGE_TO_ACCUMULATION_SLOTS",
    "Collecting",
    "InFlight",
    "Mempool",
    "MempoolError",
    "PoolTransactions",
    "batch_tx_ids",
    "guarantee_deadline",
    "pool_bundle",
    "report_tx_ids",
]

INCLUSION_SLOTS = 3
"""Slots from a submission to its accumulation at best: packaged at the next slot's start,
guaranteed in the block after (co-signatures, eq. 11.23), assured and accumulated in the
one after that (eq. 11.15-11.17). Wallets aim a transaction's epoch this far ahead."""
PACKAGE_TO_ACCUMULATION_SLOTS = 2
"""A package built at slot s is accumulated at slot s + 2 at the earliest: a builder packages
transactions for the epoch of that slot (earlier ones wait in its mempool)."""
MAX_REFUSED = 4096
"""Refusal reasons a validator keeps (`PoolTransactions.refused`), the newest."""

ACCUMULATE_GAS_MARGIN = 1_000_000
"""Gas a pool work item gets for accumulation beyond its transactions' (the load charge
and the writes; chi_Z's free gas covers the rest, eq. 12.18)."""


class MempoolError(ValidatorError):
    """A transaction the mempool refuses (malformed, or the mempool is full)."""


class Mempool:
    """Pool transactions waiting for a package, by tx id, in arrival order."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self.transactions: dict[bytes, bytes] = {}
        self.epochs: dict[bytes, int] = {}
        """tx id -> the epoch the transaction is valid in."""

    def add(self, encoded: bytes) -> bytes:
        """Admit an encoded transaction; its tx id. MempoolError if malformed or full."""
        try:
            transaction = Transaction.decode(bytes(encoded))
        except TransactionError as error:
            raise MempoolError(str(error)) from error
        tx_id = transaction.tx_id
        if tx_id not in self.transactions and len(self.transactions) >= self.capacity:
            raise MempoolError(f"the mempool holds {self.capacity} transactions")
        self.transactions.setdefault(tx_id, bytes(encoded))
        self.epochs.setdefault(tx_id, transaction.epoch)
        return tx_id

    def remove(self, tx_ids: Iterable[bytes]) -> None:
        for tx_id in tx_ids:
            self.transactions.pop(tx_id, None)
            self.epochs.pop(tx_id, None)

    def take(
        self, limit: int, busy: set[bytes], max_epoch: int | None = None
    ) -> list[tuple[bytes, bytes]]:
        """Up to `limit` (tx id, encoding) not waiting on a package, oldest first; those
        made for an epoch after `max_epoch` wait."""
        chosen = []
        for tx_id, encoded in self.transactions.items():
            if len(chosen) == limit:
                break
            if max_epoch is not None and self.epochs.get(tx_id, 0) > max_epoch:
                continue
            if tx_id not in busy:
                chosen.append((tx_id, encoded))
        return chosen

    def __contains__(self, tx_id: object) -> bool:
        return tx_id in self.transactions

    def __len__(self) -> int:
        return len(self.transactions)


def guarantee_deadline(guarantee_slot: int, spec: ChainSpec) -> int:
    """The first block slot that can no longer carry a guarantee of slot t:
    R(floor(tau'/R) - 1) <= t fails from tau' = R(floor(t/R) + 2) on (eq. 11.26)."""
    rotation = spec.rotation_period
    return rotation * (guarantee_slot // rotation + 2)


@dataclass
class InFlight:
    """A package some transactions wait on, and what the chain has shown of it."""

    tx_ids: frozenset[bytes]
    slot: int
    """Its guarantee slot t."""
    anchor: bytes
    """x_a: the block its context is anchored on (eq. 11.4)."""
    pending_seen: bool = False
    """Whether it was seen pending availability in rho (eq. 11.43)."""

    def settle(self, state: State, next_slot: int, spec: ChainSpec, package: bytes) -> str:
        """What the chain at `state` shows of `package` for a block at `next_slot`:
        'accumulated' once it is in xi' (eq. 12.32), 'pending' while in rho, 'dropped' once
        it left rho without being accumulated (timed out, eq. 11.17) or no block of this
        branch can carry it any more (its slot, eq. 11.26, or its anchor, eq. 11.33), else
        'waiting'."""
        if any(package in slot for slot in state.accumulated):
            return "accumulated"
        if any(
            pending is not None and pending.report.package_spec.hash == package
            for pending in state.availability
        ):
            self.pending_seen = True
            return "pending"
        if self.pending_seen or next_slot >= guarantee_deadline(self.slot, spec):
            return "dropped"
        # Its anchor left the recent history, or was never on this branch (eq. 11.33).
        if self.anchor not in {entry.header_hash for entry in state.recent_blocks.history}:
            return "dropped"
        return "waiting"


class PoolTransactions:
    """A validator's pool transactions: the mempool, the packages they wait on, and what
    the pool's `outcome` item said of them (node-local)."""

    def __init__(self, service: int, spec: ChainSpec, capacity: int = 4096) -> None:
        self.service = service
        self.spec = spec
        self.mempool = Mempool(capacity)
        self.inflight: dict[bytes, InFlight] = {}
        """Package hash -> the transactions waiting on it."""
        self.outcomes: dict[bytes, tuple[int, bool]] = {}
        """tx id -> (slot, accepted) as the pool's outcome item named it."""
        self.deferred: dict[bytes, int] = {}
        """tx id -> the slot whose block had no room for it (the outcome's `deferred`): it
        stays in the mempool for a later package."""
        self.refused: dict[bytes, str] = {}
        """tx id -> why this validator dropped it before any block named it (refine's
        stateless checks, a spam proof that can never pass), the newest MAX_REFUSED."""

    def busy(self, besides: bytes | None = None) -> set[bytes]:
        """The tx ids waiting on a package (other than `besides`)."""
        return {
            tx_id
            for package, flight in self.inflight.items()
            if package != besides
            for tx_id in flight.tx_ids
        }

    def take(self, limit: int, max_epoch: int | None = None) -> list[tuple[bytes, bytes]]:
        """Up to `limit` mempool transactions no package carries, oldest first, none made
        for an epoch after `max_epoch`."""
        return self.mempool.take(limit, self.busy(), max_epoch)

    def refuse(self, reasons: Mapping[bytes, str]) -> None:
        """Drop transactions that can never be accepted (tx id -> why) from the mempool,
        keeping the reason for their status."""
        self.mempool.remove(reasons)
        for tx_id, reason in reasons.items():
            self.refused.pop(tx_id, None)
            self.refused[tx_id] = reason
            self.deferred.pop(tx_id, None)
        while len(self.refused) > MAX_REFUSED:
            del self.refused[next(iter(self.refused))]

    def track(self, report: WorkReport, slot: int, pending_seen: bool = False) -> None:
        """Note the transactions the pool's refine kept in `report` (eq. 11.6) as waiting
        on its package (guarantee slot t = `slot`)."""
        package = report.package_spec.hash
        if package in self.inflight:
            return
        tx_ids = report_tx_ids(report, self.service)
        if tx_ids and not tx_ids <= self.outcomes.keys():  # not all carried already
            anchor = report.context.anchor
            self.inflight[package] = InFlight(tx_ids, slot, anchor, pending_seen)

    def settled(self, report: WorkReport) -> bool:
        """Whether the pool's outcome already named every transaction of `report`: another
        package carried them, so this one can only be refused (double spends)."""
        tx_ids = report_tx_ids(report, self.service)
        return bool(tx_ids) and tx_ids <= self.outcomes.keys()

    def on_block(self, posterior: State) -> None:
        """After a committed block: the transactions the pool's outcome item names
        accepted or rejected leave the mempool, those it deferred (no room in the block,
        `shielded.pow.quota`) stay for a later package; the reports pending in rho
        (eq. 11.43) name the transactions they carry (for a validator that missed their
        guarantee); each package in flight is settled."""
        account = posterior.services.get(self.service)
        raw = None
        if account is not None:
            raw = account.entries.get(storage_key(self.service, OUTCOME_KEY))
        if raw is not None:
            try:
                outcome = OUTCOME.decode(raw)
            except JamError:
                outcome = None
            if outcome is not None and outcome.slot == posterior.slot:
                accepted = [entry.tx_id for entry in outcome.accepted]
                for tx_id in accepted:
                    self.outcomes[tx_id] = (outcome.slot, True)
                for tx_id in outcome.rejected:
                    # A transaction accepted once stays accepted (a repeat is refused).
                    self.outcomes.setdefault(tx_id, (outcome.slot, False))
                for tx_id in (*accepted, *outcome.rejected):
                    self.deferred.pop(tx_id, None)
                for entry in outcome.deferred:
                    if entry.tx_id not in self.outcomes:
                        self.deferred[entry.tx_id] = outcome.slot
                self.mempool.remove((*accepted, *outcome.rejected))
                for package, flight in list(self.inflight.items()):
                    if flight.tx_ids <= self.outcomes.keys():
                        del self.inflight[package]  # another package carried them
        for pending in posterior.availability:
            if pending is not None:
                self.track(pending.report, pending.timeout, pending_seen=True)
        self.settle(posterior, posterior.slot + 1)
        for tx_id in [tx_id for tx_id in self.deferred if tx_id not in self.mempool]:
            del self.deferred[tx_id]  # nothing left here to retry

    def settle(self, state: State, next_slot: int) -> None:
        """Settle each package in flight (`InFlight.settle`): an accumulated one takes its
        transactions out of the mempool (but those its block deferred), a dropped one
        gives them back."""
        for package, flight in list(self.inflight.items()):
            status = flight.settle(state, next_slot, self.spec, package)
            if status == "accumulated":
                self.mempool.remove(flight.tx_ids - self.deferred.keys())
            if status in ("accumulated", "dropped"):
                del self.inflight[package]


def pool_bundle(
    head: State,
    head_root: bytes,
    transactions: Sequence[bytes],
    service: int,
    auth_host: int,
    spec: ChainSpec,
) -> WorkPackageBundle:
    """The bundle of a package for the pool `service` anchored on the head (eq. 11.4:
    x_a its header hash, x_s = M_sigma(head) = `head_root`, x_b its super-peak, the head
    as lookup anchor), one work item (eq. 14.3) with payload POOL_BATCH(transactions),
    refine gas for each transaction and accumulate gas within G_A (eq. 11.30), authorized
    by the devnet's accept-all authorizer hosted in `auth_host` (eq. 14.10)."""
    if not 0 < len(transactions) <= MAX_TRANSACTIONS_PER_BLOCK:
        raise ValidatorError(f"a pool package carries 1..64 transactions, not {len(transactions)}")
    entry = head.recent_blocks.history[-1]
    context = RefineContext(
        anchor=entry.header_hash,
        state_root=head_root,
        beefy_root=entry.beefy_root,
        lookup_anchor=entry.header_hash,
        lookup_anchor_slot=head.slot,
        prerequisites=(),
    )
    count = len(transactions)
    accumulate_gas = min(
        spec.report_accumulate_gas, ACCUMULATE_GAS_PER_TRANSACTION * count + ACCUMULATE_GAS_MARGIN
    )
    item = WorkItem(
        service=service,
        code_hash=NATIVE_POOL_CODE_HASH,
        refine_gas_limit=REFINE_GAS_PER_TRANSACTION * count,
        accumulate_gas_limit=accumulate_gas,
        export_count=0,
        payload=POOL_BATCH.encode(tuple(bytes(tx) for tx in transactions)),
        import_segments=(),
        extrinsic=(),
    )
    package = WorkPackage(auth_host, authorizer_code_hash(), context, b"", b"", (item,))
    return WorkPackageBundle(package, (), (), ())


def batch_tx_ids(bundle: WorkPackageBundle, service: int) -> frozenset[bytes]:
    """The tx ids of the pool items' payloads in `bundle` (malformed ones left out)."""
    ids = set()
    for item in bundle.package.items:
        if item.service != service:
            continue
        try:
            raws = POOL_BATCH.decode(item.payload)
        except CodecError:
            continue
        for raw in raws:
            try:
                ids.add(Transaction.decode(raw).tx_id)
            except TransactionError:
                continue
    return frozenset(ids)


def report_tx_ids(report: WorkReport, service: int) -> frozenset[bytes]:
    """The tx ids of the transactions the pool's refine kept in `report` (eq. 11.6)."""
    ids = set()
    for digest in report.results:
        if digest.service_id != service or digest.result.tag != "ok":
            continue
        try:
            entries = decode_refined(digest.result.value)
        except CodecError:
            continue
        for entry in entries:
            try:
                ids.add(restore_transaction(entry.body).tx_id)
            except TransactionError:
                continue
    return frozenset(ids)


@dataclass
class Collecting:
    """A builder's refined package, collecting its co-guarantors' signatures."""

    work: GuaranteedWork
    keys: tuple[bytes, ...]
    """The ed25519 key of each validator index in the assignment of slot t (kappa' or
    lambda', eq. 11.26)."""
    assigned: frozenset[int]
    """The validators assigned to the package's core for t."""
    signatures: dict[int, ValidatorSignature] = field(default_factory=dict)
    guarantee: ReportGuarantee | None = None
    """Set once two signatures are in (eq. 11.23)."""

    @property
    def report_hash(self) -> bytes:
        return report_hash(self.work.report)

    def add(self, slot: int, signature: ValidatorSignature) -> ReportGuarantee | None:
        """Take a co-guarantor's signature of H(E(r)) for slot t; the guarantee when it
        is the second valid one. ValidatorError for a signature the importer would refuse
        (another slot, an unassigned signer, a bad signature: eq. 11.26)."""
        index = signature.validator_index
        if slot != self.work.slot:
            raise ValidatorError(f"signature for slot {slot}, not {self.work.slot}")
        if index not in self.assigned:
            raise ValidatorError(f"validator {index} is not assigned to core {self.work.core}")
        message = guarantee_message(self.report_hash)
        if not ed25519.verify(self.keys[index], message, signature.signature):
            raise ValidatorError(f"validator {index}'s signature does not verify")
        self.signatures[index] = signature
        if self.guarantee is None and len(self.signatures) >= 2:
            self.guarantee = make_guarantee(
                self.work.report, self.work.slot, list(self.signatures.values())
            )
            return self.guarantee
        return None
