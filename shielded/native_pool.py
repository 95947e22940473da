"""The shielded pool as a NATIVE JAM service: refine and accumulate in Python.

Why native: every pool transaction carries a Groth16 spend proof, whose verification is a
product of BN254 pairings: about 2.7 ms natively (groth16py). A Groth16 verifier compiled to
PVM code would execute on the order of 10^8 instructions per proof (pairings on 64-bit
limbs, no precompiles: an estimate from RISC-V zkVM cycle counts), and jamcore's PVM runs
about 3·10^7 instructions/s ("fast" mode; 4·10^6 interpreted) on the dev machine: seconds
per proof, minutes per batch of 64, and 64 × 10^8 gas is beyond even the full spec's G_R.
So the pool is a service account of δ like any other (code hash, code preimage
`native_code(NATIVE_NAME)`, storage items), and `NativePool`, registered under its code
hash (`import_block(..., natives={...})`), runs in place of Ψ_M through jamcore's real host
calls (`jamcore.pvm.invocations.native`): every storage read and write is Ω_R / Ω_W with
their gas, footprint (eq. 9.8) and threshold.

Refine (Ψ_R, eq. B.5; `shielded.native_pool_refine`): the stateless checks of a batch.

Accumulate (Ψ_A, eq. B.9). The pool is an always-accumulate service (in χ_Z, with free
gas: Δ+ of eq. 12.18 runs it every block, reports or not), so per block it:

1. charges ACCUMULATE_GAS_PER_TRANSACTION per refined transaction of its operands;
2. reads its state lazily (`shielded.pool_lazy.LazyPoolStorage`: the small items whole,
   everything else on first touch) and, at the first block of a new epoch (τ' // E
   beyond the pool's epoch), runs `begin_epoch` (frees expired subtrees, prunes
   nullifiers and personhood usage: their keys are deleted);
3. pushes the block's fresh entropy η'_0 (eq. 6.22, `fetch` kind 1) into the spam-proof
   window. Spam proofs are bound to a recent ENTROPY value instead of a recent block hash:
   a service can see η'_0 but never the hash of the block it runs in (the header is not
   an input of Ψ_A), and η'_0 changes every block and is as unpredictable as the block's
   VRF output, so it serves the same purpose (no precomputation, expiry after K blocks);
4. admits each refined transaction (`shielded.service.check_anchor`: epoch, anchor recency
   and the fee rule at the anchor's statistics) and applies them with
   `shielded.service.accumulate` (nullifiers, balances, spam-proof anchor recency and
   replay, personhood quota), which also records the tree anchor;
5. writes exactly its `take_changes()` (what a fully loaded `PoolStorage` would write;
   deletions first, then by key) and the `outcome` item (accepted tx ids with the tree
   positions of their outputs, rejected and deferred ids, the block's count per tier).

Capacity (design section 3, "Spam proofs"; `shielded.pow.quota.BlockRoom`): a block's
accepted pool transactions never exceed the block capacity, nor those paying with a tier-k
spam proof the tier's quota, across everything the block accumulates: the operands of
several packages (several cores, or queued reports that became ready together, eq.
12.10-12.12) and several invocations in one block (Δ+ runs the pool again for the reports
beyond the gas of its first round, eq. 12.18). The count is the block's: it is kept in the
`outcome` item with the block's slot τ', so an invocation that finds an outcome of τ'
continues that block (its count, its accepted, rejected and deferred lists; the entropy
was pushed already) instead of starting one. Transactions are taken in accumulation order
(reports in W*'s order, each report's entries in its order); one that finds its lane full
is deferred: nothing of it is applied or recorded (not its spam proof either) and the
outcome lists it with the full lane, so nodes keep it for a later package instead of
dropping it as they drop rejected ones. Only accepted transactions take room: a refused
double spend or replay cannot crowd out valid ones.

Gas is consensus: the gas used is in the service statistics π_S (section 13) and so in the
state root. Every block reads through Ω_R (10 gas each) exactly the items it touches: the
small items (meta, ring, anchors, personhood, the tree sizes, the spam-proof window and the
used proofs of its K positions), the root chunk of the ring level and of the permanent tree
(the anchor), the frontier chunk of each stored level of a tree it appends to, the `nf`
item of each nullifier checked, the `bal` item of each account touched (and the `accounts`
index when one appears), the batch count of each bucket a batch joins, and, at an epoch
turn, the pruned epochs' batch counts and batches. Which items those are is a function of
the state and the block's inputs, never of a node's memory, and their number does not grow
with the pool: gas, like time and writes, is O(block) (at an epoch turn the writes delete
what expires: the freed subtree's chunks, the pruned nullifiers' items and batches, as they
always did). There is no cache to invalidate: a failed block (a panic or out-of-gas
collapses the context to y, eq. B.12) changes nothing, and the next one reads the state as
it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jamcore.codec import BOOL, U8, U32, U64, CodecError, FixedBytes, Struct, seq
from jamcore.crypto.bandersnatch import Ring
from jamcore.pvm.invocations.context import AccumulationInput, OperandTuple
from jamcore.pvm.invocations.native import AccumulateHost
from jamcore.pvm.invocations.native_refine import RefineHost
from jamcore.spec import ChainSpec
from shielded import fees
from shielded.circuits.spend import SpendVerifier
from shielded.native_pool_refine import (
    RefinedEntry,
    decode_refined,
    refine_batch,
    restore_transaction,
)
from shielded.node.jam_genesis import GenesisService, native_code, native_code_hash
from shielded.pool_lazy import LazyPoolStorage
from shielded.pool_storage import PoolSnapshot, PoolStorage, PoolStorageError
from shielded.pow import RecentAnchors, SpamProof, SpamProofError, UsedProofs
from shielded.pow.quota import BlockRoom, lane_reason
from shielded.pow.verify import SpamWorkVerifier
from shielded.service import (
    ACCUMULATE_GAS_PER_TRANSACTION,
    BlockOutcome,
    FeeRule,
    PoolConfig,
    PoolState,
    ProofContext,
    RefinedTransaction,
    accumulate,
    check_anchor,
)
from shielded.transaction import ARITY, FIELD, TransactionError

__all__ = [
    "NATIVE_NAME",
    "NATIVE_POOL_CODE",
    "NATIVE_POOL_CODE_HASH",
    "OUTCOME",
    "OUTCOME_KEY",
    "AcceptedTransaction",
    "DeferredTransaction",
    "NativePool",
    "PlacedOutput",
    "PoolOutcome",
    "genesis_items",
    "genesis_service",
]

NATIVE_NAME = "shielded-pool/v1"
NATIVE_POOL_CODE = native_code(NATIVE_NAME)
"""The pool's code preimage E(↕m, []) (`shielded.node.jam_genesis.native_code`)."""
NATIVE_POOL_CODE_HASH = native_code_hash(NATIVE_NAME)
"""a_c of the pool service: the key of `NativePool` in `natives`."""
OUTCOME_KEY = b"outcome"


# -- the outcome item ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedOutput:
    """Where an accepted output landed: its leaf position in the live (ephemeral) or the
    permanent tree."""

    position: int
    permanent: bool


@dataclass(frozen=True)
class AcceptedTransaction:
    """An accepted transaction's id and the places of its outputs, in output order."""

    tx_id: bytes
    outputs: tuple[PlacedOutput, ...]


@dataclass(frozen=True)
class DeferredTransaction:
    """A transaction the block had no room for, and the full lane: `CAPACITY_LANE` (0,
    the block's capacity) or its spam tier k (the tier's quota), `shielded.pow.quota`."""

    tx_id: bytes
    lane: int


@dataclass(frozen=True)
class PoolOutcome:
    """The `outcome` item: what one block did to the pool (for compact blocks and wallets;
    the outputs' commitments and ciphertexts are in the report's refine output)."""

    slot: int
    epoch: int
    anchor: int
    accepted: tuple[AcceptedTransaction, ...]
    rejected: tuple[bytes, ...]
    """Ids of refined transactions accumulate refused (refine's rejects never get here)."""
    deferred: tuple[DeferredTransaction, ...] = ()
    """Valid-looking transactions the block had no room for: not applied, not checked; they
    may come in a later package."""
    per_tier: tuple[int, ...] = ()
    """Accepted transactions of spam tier 1, 2, ... in the block (each within its quota;
    the block's total is len(accepted))."""


OUTCOME = Struct(
    PoolOutcome,
    {
        "slot": U32,
        "epoch": U64,
        "anchor": FIELD,
        "accepted": seq(
            Struct(
                AcceptedTransaction,
                {
                    "tx_id": FixedBytes(32),
                    "outputs": seq(
                        Struct(PlacedOutput, {"position": U64, "permanent": BOOL}), ARITY
                    ),
                },
            )
        ),
        "rejected": seq(FixedBytes(32)),
        "deferred": seq(Struct(DeferredTransaction, {"tx_id": FixedBytes(32), "lane": U8})),
        "per_tier": seq(U32),
    },
)


def _placed(outcome: BlockOutcome, accepted: Mapping[bytes, RefinedTransaction]) -> tuple[
    AcceptedTransaction, ...
]:
    """The places of each accepted transaction's outputs: `accumulate` appends the block's
    ephemeral outputs, then its permanent ones, each in the order of the accepted ones."""
    ephemeral = iter(o for o in outcome.appended if not o.permanent)
    permanent = iter(o for o in outcome.appended if o.permanent)
    result = []
    for tx_id in outcome.accepted:
        places = []
        for output in accepted[tx_id].transaction.outputs:
            appended = next(permanent if output.tier.permanent else ephemeral)
            if appended.commitment != output.commitment:
                raise PoolStorageError("appended outputs out of the accepted order")
            places.append(PlacedOutput(appended.position, appended.permanent))
        result.append(AcceptedTransaction(tx_id, tuple(places)))
    return tuple(result)


# -- genesis ---------------------------------------------------------------------------------


def genesis_items(
    config: PoolConfig, balances: Mapping[bytes, int], entropy: bytes
) -> dict[bytes, bytes]:
    """The pool's storage items at genesis: an empty pool at epoch 0 with funded
    transparent accounts and the spam-proof window holding the genesis entropy η_0. Empty
    items are left out (an empty value is no item, as Ω_W removes it)."""
    state = PoolState.genesis(config, balances)
    window = RecentAnchors(config.spec.recent_anchors, (bytes(entropy),))
    storage = PoolStorage(PoolSnapshot(state, window, UsedProofs()))
    return {key: value for key, value in storage.all_items().items() if value}


def genesis_service(
    service_id: int,
    config: PoolConfig,
    balances: Mapping[bytes, int],
    entropy: bytes,
    *,
    balance: int,
    min_item_gas: int,
    min_memo_gas: int,
) -> GenesisService:
    """The pool's account for `shielded.node.jam_genesis.genesis_state` (`entropy` is the
    genesis η_0; put `service_id` in χ_Z so that it accumulates every block)."""
    return GenesisService(
        service_id,
        NATIVE_POOL_CODE,
        balance,
        genesis_items(config, balances, entropy),
        min_item_gas,
        min_memo_gas,
    )


# -- the native service --------------------------------------------------------------------


class NativePool:
    """The shielded pool as a `jamcore.pvm.invocations.native.NativeService`."""

    def __init__(
        self,
        config: PoolConfig,
        verifier: SpendVerifier,
        spec: ChainSpec,
        *,
        persons: Ring | None = None,
        fee_rule: FeeRule | None = None,
    ) -> None:
        self.config = config
        self.epoch_length = spec.epoch_length
        self.max_output = spec.max_report_variable_size
        """W_R (eq. 11.8): the refine output stays within it."""
        self.fee_rule: FeeRule = fee_rule or (
            lambda action, fee: fees.check(action, fee, config.spec)
        )
        self.proofs = ProofContext(
            verifier, config, SpamWorkVerifier(config.spec).verify_work, persons
        )
        self.last_outcome: BlockOutcome | None = None
        """The last accumulated block's outcome with the rejection reasons (node-local)."""
        self._last_slot: int | None = None
        """The slot of `last_outcome` (a block may run the pool more than once)."""

    # -- Ψ_R -----------------------------------------------------------------------------

    def refine(
        self,
        host: RefineHost,
        core: int,
        item_index: int,
        service: int,
        payload: bytes,
        package_hash: bytes,
    ) -> bytes:
        """The refined batch of a `POOL_BATCH` payload (`native_pool_refine.refine_batch`)."""
        return refine_batch(payload, self.proofs, host.charge, self.max_output)

    # -- Ψ_A -----------------------------------------------------------------------------

    def accumulate(
        self,
        host: AccumulateHost,
        slot: int,
        service: int,
        inputs: Sequence[AccumulationInput],
    ) -> None:
        """One block of the pool (module docstring). Its state is read lazily from the
        items through Ω_R, every block: nothing of it is kept between blocks."""
        entries = _entries(inputs)
        host.charge(ACCUMULATE_GAS_PER_TRANSACTION * len(entries))
        entropy = host.fetch(1)
        if entropy is None or len(entropy) != 32:
            raise PoolStorageError("fetch gave no 32-octet entropy η'_0")
        earlier = _earlier_outcome(host, slot)
        storage = LazyPoolStorage.load(self.config, host.read)
        snapshot = storage.snapshot
        state = snapshot.state
        pool = snapshot.service(self.proofs.verifier)
        epoch = slot // self.epoch_length
        if epoch > state.epoch:
            pool.begin_epoch(epoch)
        spec = self.config.spec
        if earlier is None:  # the block's first invocation: its entropy joins the window
            snapshot.anchors.push(entropy)
            snapshot.used.prune(snapshot.anchors.oldest_position)
            room = BlockRoom(spec)
        else:
            room = BlockRoom(spec, len(earlier.accepted), earlier.per_tier)

        # Admit (epoch, anchor, fee rule), then apply what the block has room for.
        refined, rejected = self._admit(state, entries)
        outcome = accumulate(state, refined, pool.spam, room)
        by_id = {item.tx_id: item for item in refined}
        record = PoolOutcome(
            slot,
            state.epoch,
            outcome.anchor,
            _placed(outcome, by_id),
            tuple(tx_id for tx_id, _ in rejected) + tuple(tx_id for tx_id, _ in outcome.rejected),
            tuple(DeferredTransaction(tx_id, lane) for tx_id, lane in outcome.deferred),
            tuple(room.per_tier),
        )
        local = BlockOutcome(
            outcome.accepted,
            tuple(rejected) + outcome.rejected,
            outcome.anchor,
            outcome.appended,
            outcome.deferred,
        )
        if earlier is not None:
            record = _continued(earlier, record)
            if self.last_outcome is not None and self._last_slot == slot:
                local = _continued_local(self.last_outcome, local)
        self.last_outcome, self._last_slot = local, slot

        # Write the changed items: deletions first (they only lower the threshold a_t).
        changes = storage.take_changes()
        for key in sorted(key for key, value in changes.items() if not value):
            host.write(key, None)
        for key in sorted(key for key, value in changes.items() if value):
            host.write(key, changes[key])
        host.write(OUTCOME_KEY, OUTCOME.encode(record))

    def deferral_reasons(self) -> dict[bytes, str]:
        """Why the last accumulated block deferred transactions (tx id -> reason)."""
        outcome = self.last_outcome
        if outcome is None:
            return {}
        return {tx_id: lane_reason(self.config.spec, lane) for tx_id, lane in outcome.deferred}

    def _admit(
        self, state: PoolState, entries: Sequence[RefinedEntry]
    ) -> tuple[list[RefinedTransaction], list[tuple[bytes, str]]]:
        """The refined transactions that pass `check_anchor` at the pool's epoch and recent
        anchors, and the (tx_id, reason) of those that do not."""
        anchors = state.recent_anchors()
        admitted: list[RefinedTransaction] = []
        rejected: list[tuple[bytes, str]] = []
        for entry in entries:
            try:
                transaction = restore_transaction(entry.body)
            except TransactionError:
                continue  # no refine output of this pool: nothing to apply or report
            try:
                action = check_anchor(
                    transaction, state.epoch, anchors, self.config, self.fee_rule
                )
                spam = None
                if transaction.spam_proof is not None:
                    spam = SpamProof.decode(transaction.spam_proof)
            except (TransactionError, SpamProofError) as error:
                rejected.append((transaction.tx_id, str(error)))
                continue
            admitted.append(
                RefinedTransaction(transaction, transaction.tx_id, action, spam, entry.alias)
            )
        return admitted, rejected


def _earlier_outcome(host: AccumulateHost, slot: int) -> PoolOutcome | None:
    """The `outcome` item an earlier invocation of this block (slot τ') wrote, if any: a
    later one continues its block (module docstring, "Capacity")."""
    raw = host.read(OUTCOME_KEY)
    if raw is None:
        return None
    try:
        outcome = OUTCOME.decode(raw)
    except CodecError:
        # Not this version's item (an older pool wrote it): it is no earlier run of this
        # block, since every block's first run rewrites it.
        return None
    return outcome if outcome.slot == slot else None


def _continued(earlier: PoolOutcome, later: PoolOutcome) -> PoolOutcome:
    """One block's outcome item after a second invocation: both invocations' lists, the
    later tree anchor and count (`later` continued the count of `earlier`)."""
    return PoolOutcome(
        later.slot,
        later.epoch,
        later.anchor,
        earlier.accepted + later.accepted,
        earlier.rejected + later.rejected,
        earlier.deferred + later.deferred,
        later.per_tier,
    )


def _continued_local(earlier: BlockOutcome, later: BlockOutcome) -> BlockOutcome:
    """`_continued` for the node-local outcome with the reasons."""
    return BlockOutcome(
        earlier.accepted + later.accepted,
        earlier.rejected + later.rejected,
        later.anchor,
        earlier.appended + later.appended,
        earlier.deferred + later.deferred,
    )


def _entries(inputs: Sequence[AccumulationInput]) -> list[RefinedEntry]:
    """The refined transactions of the `ok` operand tuples, in order (deferred transfers
    and failed items carry none; an output that is no refined batch is skipped)."""
    entries: list[RefinedEntry] = []
    for item in inputs:
        if not isinstance(item, OperandTuple) or item.result.tag != "ok":
            continue
        try:
            entries.extend(decode_refined(item.result.value))
        except CodecError:
            continue
    return entries
