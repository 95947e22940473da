"""The guarantor side of `JamValidator` (a mixin): the pool core's packages and everyone's
guarantees (graypaper sections 11.3-11.4, 14).

* `_build`: at each slot, the guarantor of the pool core whose turn it is (the assigned
  guarantors of slot t, eq. 11.20-11.22, by t mod their number) packages waiting
  transactions (`jam_pool_select.choose_package`: each spam tier's quota by work, the fee
  lane by fee, for the epoch the package lands in) anchored on its head (eq. 11.4), refines
  it (Xi, eq. 14.12), signs the report (eq. 11.26) and shares the bundle with its
  co-guarantors; the services core's guarantor does the same with service work
  (`jam_service_role`).
* `_on_bundle_share`: a co-guarantor refines a shared bundle itself, anchored on its head or
  a recent block before it (eq. 11.33), keeps its shard and returns its signature.
* `_on_signature`: the builder, with a second signature, sends the guarantee (r, t, a)
  (eq. 11.23) to everyone and each validator its shard (eq. 14.17, H.5).
* `_on_guarantee`: every validator holds guarantees for authoring.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jamcore.errors import JamError
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from jamcore.work.availability import decode_bundle
from jamcore.work.guarantee import ReportGuarantee
from jamcore.work.guarantor import (
    guarantor_assignment,
    guarantors_of,
    package_hash,
    report_hash,
)
from shielded.node.guarantor import (
    GuaranteedWork,
    GuarantorError,
)
from shielded.node.jam_authoring import (
    guarantee_expired,
)
from shielded.node.jam_guarantee_flow import (
    PACKAGE_TO_ACCUMULATION_SLOTS,
    Collecting,
    batch_tx_ids,
    pool_bundle,
    report_tx_ids,
)
from shielded.node.jam_messages import (
    BundleShare,
    Guarantee,
    GuaranteeSignature,
    Outgoing,
    Shard,
    Transaction,
)
from shielded.node.jam_pool_select import choose_package, refine_refusals
from shielded.node.jam_services import bundle_request_ids
from shielded.pool_storage import PoolStorageError
from shielded.service import verify_proofs
from shielded.transaction import MAX_TRANSACTIONS_PER_BLOCK, TransactionError
from shielded.transaction import Transaction as PoolTransaction

if TYPE_CHECKING:
    from jamcore.spec import ChainSpec
    from shielded.native_pool import NativePool
    from shielded.node.guarantor import Guarantor
    from shielded.node.jam_guarantee_flow import Mempool, PoolTransactions
    from shielded.node.shards import ShardStore
    from shielded.node.storage import ChainStore

__all__ = ["MAX_EARLY_SHARES", "MAX_WAITING_GUARANTEES", "GuarantorRole"]

MAX_EARLY_SHARES = 4
"""Bundles kept until their anchor block arrives."""
MAX_WAITING_GUARANTEES = 1
"""A builder builds for a core while no more than this many of its guarantees wait for a
block (the one built in the previous slot, which the slot's block takes)."""


log = logging.getLogger("shielded.node.jam_validator")


class GuarantorRole:
    """Packages, co-guarantees and held guarantees (module docstring); mixed into
    `JamValidator`, whose attributes and helpers it uses."""

    index: int
    spec: ChainSpec
    store: ChainStore
    pool: PoolTransactions
    pool_service: int
    pool_core: int
    auth_host: int
    others: tuple[int, ...]
    guarantor: Guarantor
    shards: ShardStore
    native_pool: NativePool | None
    collecting: dict[bytes, Collecting]
    guarantees: dict[bytes, ReportGuarantee]
    _early_shares: list[BundleShare]
    built_at: dict[int, int]
    """Core -> the latest slot this validator shared a package of it."""

    if TYPE_CHECKING:

        @property
        def head_hash(self) -> bytes: ...
        @property
        def mempool(self) -> Mempool: ...
        def head_state(self) -> State: ...
        def head_root(self) -> bytes: ...
        def _refuse(self, reason: str) -> list[Outgoing]: ...
        def _build_service(self, slot: int) -> list[Outgoing]: ...

    def _build(self, slot: int) -> list[Outgoing]:
        """As a builder for guarantee slot `slot`: the pool's package, then a service's."""
        return self._build_pool(slot) + self._build_service(slot)

    def _turn(self, core: int, head: State, slot: int) -> tuple[int, ...] | None:
        """The guarantors assigned to `core` for slot `slot` (eq. 11.20-11.22) when it is
        this validator's turn to build for it (t mod their number), else None."""
        if slot < head.slot:
            return None
        assigned = guarantors_of(core, head, slot, self.spec)
        if not assigned or assigned[slot % len(assigned)] != self.index:
            return None
        # rho holds one report per core, and a block's E_G one guarantee per core (eq. 11.24):
        # one guarantee may wait for a block while the next package is built, so that the
        # block whose assurances free the core (eq. 11.17) carries the next guarantee at once
        # and the core takes a package every slot; a second waiting one would only queue.
        if self.built_at.get(core) == slot:
            return None  # one package per core and slot
        waiting = sum(1 for g in self.guarantees.values() if g.report.core_index == core)
        if waiting > MAX_WAITING_GUARANTEES:
            return None
        if any(c.guarantee is None and c.work.core == core for c in self.collecting.values()):
            return None
        return tuple(assigned)

    def _share(self, work: GuaranteedWork, assigned: tuple[int, ...], slot: int) -> list[Outgoing]:
        """Keep this validator's shard of a package it refined and signed, collect its
        co-guarantors' signatures (eq. 11.26), and send them the bundle."""
        self.built_at[work.core] = slot
        head = self.head_state()
        self.shards.put(work.erasure_root, work.shards[self.index], slot)
        keys = tuple(key.ed25519 for key in guarantor_assignment(head, slot, self.spec).keys)
        collecting = Collecting(work, keys, frozenset(assigned), {self.index: work.signature})
        self.collecting[collecting.report_hash] = collecting
        share = BundleShare(self.index, work.core, slot, self.head_hash, work.bundle)
        return [Outgoing(tuple(i for i in assigned if i != self.index), share)]

    def _build_pool(self, slot: int) -> list[Outgoing]:
        """As the pool core's builder: a package of mempool transactions anchored on the
        head, refined and signed, its bundle shared."""
        head = self.head_state()
        core = self.pool_core
        assigned = self._turn(core, head, slot)
        if assigned is None:
            return []
        chosen = self._choose(head, slot)
        if not chosen:
            return []
        bundle = pool_bundle(
            head,
            self.head_root(),
            [encoded for _, encoded in chosen],
            self.pool_service,
            self.auth_host,
            self.spec,
        )
        try:
            work = self.guarantor.guarantee(bundle, core, head, slot, anchor_root=self.head_root())
        except (GuarantorError, JamError) as error:
            return self._refuse(f"own package: {error}")
        refined = report_tx_ids(work.report, self.pool_service)
        # Refine's rejects are invalid whatever the state: they leave the mempool (with
        # the reason); what it left out only for want of room waits.
        left_out = [(tx_id, encoded) for tx_id, encoded in chosen if tx_id not in refined]
        if self.native_pool is None:
            self.mempool.remove(tx_id for tx_id, _ in left_out)
        else:
            self.pool.refuse(refine_refusals(left_out, self.native_pool.proofs))
        if not refined:
            return []
        self.pool.track(work.report, slot)
        return self._share(work, assigned, slot)

    def _choose(self, head: State, slot: int) -> list[tuple[bytes, bytes]]:
        """The package's transactions (`jam_pool_select.choose_package` against the pool
        at the head; oldest first without the native pool), made for the epoch in which
        the package is accumulated at the earliest; the refused ones leave the mempool."""
        landing = (slot + PACKAGE_TO_ACCUMULATION_SLOTS) // self.spec.epoch_length
        native = self.native_pool
        account = head.services.get(self.pool_service)
        if native is None or account is None:
            return self.pool.take(MAX_TRANSACTIONS_PER_BLOCK, max_epoch=landing)
        entries, service = account.entries, self.pool_service
        try:
            choice = choose_package(
                self.pool.take(len(self.mempool)),
                lambda key: entries.get(storage_key(service, key)),
                native.config,
                landing,
                MAX_TRANSACTIONS_PER_BLOCK,
            )
        except PoolStorageError as error:
            self._refuse(f"own package: the pool at the head: {error}")
            return []
        self.pool.refuse(choice.refused)
        return list(choice.chosen)

    def _on_bundle_share(self, message: BundleShare) -> list[Outgoing]:
        """As a co-guarantor: refine the shared bundle, anchored on the head or a recent
        block before it (eq. 11.33: the builder may not have seen the slot's block yet),
        keep this validator's shard, and return the signature of the report (eq. 11.26)."""
        head = self.head_state()
        recent = {entry.header_hash for entry in head.recent_blocks.history}
        if message.anchor not in recent:
            if self.store.has_block(message.anchor):
                return self._refuse("bundle anchored on a block that is not recent on the head")
            # Its anchor block has not arrived yet: refine it once it has.
            self._early_shares = [*self._early_shares[-MAX_EARLY_SHARES + 1 :], message]
            return []
        bundle = decode_bundle(message.bundle)
        # A transaction already waiting on another package must not be guaranteed twice.
        package = package_hash(bundle.package)
        if batch_tx_ids(bundle, self.pool_service) & self.pool.busy(besides=package):
            return self._refuse("bundle repeats transactions of a package in flight")
        if bundle_request_ids(bundle, self.pool_service) & self.services.busy(besides=package):
            return self._refuse("bundle repeats work of a package in flight")
        work = self.guarantor.guarantee(
            bundle, message.core, head, message.slot, anchor_root=self.head_root()
        )
        self.pool.track(work.report, message.slot)
        self.services.track(work.report, message.slot)
        self.shards.put(work.erasure_root, work.shards[self.index], message.slot)
        answer = GuaranteeSignature(report_hash(work.report), work.slot, work.signature)
        return [Outgoing((message.sender,), answer)]

    def _on_signature(self, message: GuaranteeSignature) -> list[Outgoing]:
        """As the builder: take a co-guarantor's signature; with the second, send the
        guarantee to everyone and each validator its shard."""
        collecting = self.collecting.get(message.report_hash)
        if collecting is None or collecting.guarantee is not None:
            return []  # unknown, or a third signature after the guarantee went out
        guarantee = collecting.add(message.slot, message.signature)
        if guarantee is None:
            return []
        del self.collecting[message.report_hash]
        self._hold_guarantee(guarantee)
        work = collecting.work
        out = [Outgoing(self.others, Guarantee(guarantee))]
        out += [
            Outgoing((shard.index,), Shard(work.erasure_root, work.slot, shard))
            for shard in work.shards
            if shard.index != self.index
        ]
        return out

    def _hold_guarantee(self, guarantee: ReportGuarantee) -> None:
        package = guarantee.report.package_spec.hash
        self.guarantees[package] = guarantee
        self.pool.track(guarantee.report, guarantee.slot)
        self.services.track(guarantee.report, guarantee.slot)

    def _on_guarantee(self, message: Guarantee) -> list[Outgoing]:
        """Keep a guarantee for authoring (checked then, eq. 11.23-11.42) unless no block
        after the head can carry it."""
        guarantee = message.guarantee
        if not 0 <= guarantee.report.core_index < self.spec.cores_count:
            return self._refuse(f"guarantee for core {guarantee.report.core_index}")
        if guarantee_expired(guarantee, self.head_state(), self.spec):
            return self._refuse("guarantee that no block can carry any more")
        self._hold_guarantee(guarantee)
        return []

    def _on_transaction(self, message: Transaction) -> list[Outgoing]:
        """A gossiped pool transaction joins the mempool once the checks that read no pool
        state pass (proofs and signatures, as at submission): the mempool keeps the first
        copy of a tx id, and tx ids do not cover the proofs, so an unchecked copy with a
        broken proof could otherwise stand in for a valid transaction and be refined away."""
        if self.native_pool is not None:
            try:
                verify_proofs(PoolTransaction.decode(message.transaction), self.native_pool.proofs)
            except TransactionError as error:
                return self._refuse(f"gossiped transaction: {error}")
        self.mempool.add(message.transaction)
        return []

