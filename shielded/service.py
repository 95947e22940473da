"""The shielded pool as a JAM service: refine (stateless checks), accumulate (state changes).

Design section 3, "As a JAM service". A transaction first goes through `refine`, which only
reads a `RefineContext` snapshot (current epoch, recent anchors with the pool statistics at
each, verifying key, persons ring, spam-proof and fee hooks) and checks everything that does
not need the pool's state: epoch, anchor, fee rule, spam proof, deposit signature,
personhood alias, and the spend proof. `accumulate` then applies a block's refined
transactions in order to the `PoolState`, checking what needs it: nullifiers unused
(including twice in one block), the deposit account's balance, the personhood quota and spam
proof replays. Each transaction is all-or-nothing: a rejected one changes no state. Outputs
are appended in one batch per block, fees are burned and counted, and the block's anchor
joins the recent-anchor window. Given a `shielded.pow.quota.BlockRoom`, accumulate also
enforces the block capacity and the spam tiers' quotas: a transaction whose lane is full is
deferred (unchanged state, free to come in a later block), not rejected.

`refine` is `check_anchor` (epoch, anchor and fee rule: what needs the recent anchors) then
`verify_proofs` (spam proof, signature, personhood, spend proof: what needs no pool state
once the spam-proof check is given). The native JAM service (`shielded.native_pool`) runs
`verify_proofs` in Ψ_R, with the stateless spam check, and `check_anchor` in Ψ_A.

Epochs: `begin_epoch` frees the live-tree subtree of the expired epoch, prunes nullifiers
revealed more than N epochs ago and forgets old personhood usage.

Hooks: `fee_rule(action, fee)` (default `shielded.fees.check`) and the spam-proof verifier
(`shielded.pow.SpamProofVerifier`: `verify` in refine, `accept` in accumulate) are plugged
in, so the pool service does not fix those policies itself.

`ShieldedPool` drives one in-memory state block by block; `PoolService` puts it behind
jamcore's `Service` protocol (work-item payloads in, metered, storage changes out);
`encode_state`/`decode_state` give the canonical snapshot a node persists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from jamcore.codec import BOOL, U64, CodecError, FixedBytes, Struct, seq
from jamcore.crypto.bandersnatch import BandersnatchError, Ring
from jamcore.work.service import AccumulateOperand, GasMeter, ServicePanic, ServiceStorage
from shielded import fees
from shielded.circuits.errors import CircuitError
from shielded.circuits.spend import SpendVerifier
from shielded.notes.errors import NotesError
from shielded.notes.note import MAX_VALUE, Tier
from shielded.notes.tree import CommitmentTrees, LiveTree
from shielded.nullifiers.errors import NullifierError
from shielded.nullifiers.nullifier_set import NullifierSet, RevealedNullifier
from shielded.pow import SpamProof, SpamProofError, SpamProofVerifier
from shielded.pow.quota import BlockRoom
from shielded.spec import DEVNET, PoolSpec
from shielded.transaction import (
    CHAIN_ID_BYTES,
    FIELD,
    Kind,
    Transaction,
    TransactionError,
    public_amounts,
    spend_statement,
)

FeeRule = Callable[[fees.Action, int], object]
"""Raises `fees.FeeError` when `fee` does not cover the action."""


class Rejected(TransactionError):
    """A well-formed transaction the pool refuses; the message says which check failed."""


def _reject_unless(condition: bool, message: str) -> None:
    if not condition:
        raise Rejected(message)


@dataclass(frozen=True)
class PoolConfig:
    """Service parameters beyond the chain's `PoolSpec`."""

    spec: PoolSpec = DEVNET
    chain_id: bytes = bytes(CHAIN_ID_BYTES)
    """The genesis chain id (`GenesisConfig.chain_id`) the pool accepts transactions for;
    the zero id only for pools outside a devnet (unit tests, the simulator)."""
    anchor_window: int = 32
    """Blocks a spend anchor stays valid for."""
    collateral_per_note: int = 1_000_000
    """Locked while a COLLATERAL (permanent) note exists, released when it is spent."""
    personhood_quota: int = 2
    """Permanent outputs one personhood alias may create per epoch."""

    @property
    def lifetime(self) -> int:
        """N: the longest lifetime of an ephemeral note, in epochs."""
        return self.spec.note_lifetime_epochs


@dataclass(frozen=True)
class PoolStatistics:
    """What a withdrawal's fee depends on, as of one anchor."""

    pool_value: int
    live_notes: int


def personhood_input(epoch: int) -> bytes:
    """The ring VRF input ("personhood", epoch): its output is the per-epoch alias."""
    return b"personhood" + epoch.to_bytes(8, "little")


@dataclass(frozen=True)
class RefineContext:
    """The read-only snapshot refine checks a transaction against."""

    epoch: int
    anchors: Mapping[int, PoolStatistics]
    verifier: SpendVerifier
    config: PoolConfig
    fee_rule: FeeRule
    spam: SpamProofVerifier | None = None
    persons: Ring | None = None


@dataclass(frozen=True)
class RefinedTransaction:
    """A transaction that passed refine, with what accumulate needs from the checks."""

    transaction: Transaction
    tx_id: bytes
    fee_action: fees.Action
    spam_proof: SpamProof | None
    personhood_alias: bytes | None


def action_for(
    kind: Kind,
    amount: int,
    output_tiers: Sequence[Tier],
    statistics: PoolStatistics,
    lifetime: int,
    spam_proof: bool,
) -> fees.Action:
    """The `shielded.fees` action a transaction of `kind` is priced as.

    Output expiries are private (the circuit only bounds them by epoch + N), so every
    ephemeral output is priced at the full lifetime N.
    """
    ephemeral = sum(tier is Tier.EPHEMERAL for tier in output_tiers)
    outputs = fees.Outputs(
        ephemeral_lifetimes=(lifetime,) * ephemeral,
        permanent_outputs=len(output_tiers) - ephemeral,
    )
    if kind is Kind.DEPOSIT:
        return fees.Deposit(amount)
    if kind is Kind.WITHDRAWAL:
        return fees.Withdrawal(
            amount=amount,
            pool_value=statistics.pool_value,
            anonymity_set=max(1, statistics.live_notes),
            outputs=outputs,
            spam_proof=spam_proof,
        )
    return fees.Transfer(outputs=outputs, spam_proof=spam_proof)


def fee_action(transaction: Transaction, statistics: PoolStatistics, lifetime: int) -> fees.Action:
    """The fee action of a transaction, priced at the pool statistics of its anchor."""
    amount = 0
    if transaction.deposit is not None:
        amount = transaction.deposit.amount
    elif transaction.withdrawal is not None:
        amount = transaction.withdrawal.amount
    return action_for(
        transaction.kind,
        amount,
        [output.tier for output in transaction.outputs],
        statistics,
        lifetime,
        transaction.spam_proof is not None,
    )


def quote(
    config: PoolConfig,
    kind: Kind,
    statistics: PoolStatistics,
    *,
    amount: int = 0,
    output_tiers: Sequence[Tier] = (Tier.EPHEMERAL, Tier.EPHEMERAL),
    spam_proof: bool = False,
) -> int:
    """The least fee a transaction of `kind` pays at an anchor with `statistics` (wallets)."""
    action = action_for(kind, amount, output_tiers, statistics, config.lifetime, spam_proof)
    return fees.quote(action, config.spec)


SpamCheck = Callable[[SpamProof, bytes], object]
"""Checks a decoded spam proof for a tx_id; raises `SpamProofError` if it is refused."""


@dataclass(frozen=True)
class ProofContext:
    """What the checks that read no pool state need: the verifying key, the pool config,
    the spam-proof check (None: the pool accepts no spam proofs) and the persons ring."""

    verifier: SpendVerifier
    config: PoolConfig
    spam: SpamCheck | None = None
    persons: Ring | None = None


def refine(transaction: Transaction | bytes, context: RefineContext) -> RefinedTransaction:
    """Every check of one transaction that needs no pool state beyond the `RefineContext`
    snapshot (design section 3); Rejected if one fails.

    `check_anchor` (epoch, anchor, fee rule) then `verify_proofs` (spam proof with the
    snapshot's anchor window and registry, deposit signature, personhood, spend proof)."""
    if isinstance(transaction, bytes | bytearray):
        transaction = Transaction.decode(bytes(transaction))
    action = check_anchor(
        transaction, context.epoch, context.anchors, context.config, context.fee_rule
    )
    spam = None if context.spam is None else context.spam.verify
    proofs = ProofContext(context.verifier, context.config, spam, context.persons)
    spam_proof, alias = verify_proofs(transaction, proofs)
    return RefinedTransaction(transaction, transaction.tx_id, action, spam_proof, alias)


def check_anchor(
    transaction: Transaction,
    epoch: int,
    anchors: Mapping[int, PoolStatistics],
    config: PoolConfig,
    fee_rule: FeeRule,
) -> fees.Action:
    """The checks against the pool's current epoch and recent anchors: the transaction is
    for `epoch`, proves against an anchor of `anchors` (with the pool statistics there)
    and pays the fee rule at that anchor's statistics. Returns the fee action; Rejected
    (or TransactionError) if a check fails."""
    # Verify the transaction is for the current epoch and proves against a recent anchor.
    _reject_unless(
        transaction.epoch == epoch,
        f"transaction is for epoch {transaction.epoch}, the current epoch is {epoch}",
    )
    statistics = anchors.get(transaction.anchor)
    _reject_unless(statistics is not None, f"anchor {transaction.anchor:#x} is not recent")
    assert statistics is not None

    # Verify the fee rule.
    try:
        action = fee_action(transaction, statistics, config.lifetime)
        fee_rule(action, transaction.fee)
    except fees.FeeError as error:
        raise Rejected(f"fee rule: {error}") from error
    return action


def verify_proofs(
    transaction: Transaction, context: ProofContext
) -> tuple[SpamProof | None, bytes | None]:
    """The checks that read no pool state: the chain id, the spam proof (as far as
    `context.spam` checks it), the deposit signature, the personhood ring proof and the
    spend proof against the statement of the transaction's own anchor. Returns (the
    decoded spam proof, the personhood alias); Rejected (or TransactionError) if a check
    fails."""
    config = context.config

    # Verify the transaction is for this chain (its tx_id, which every proof below signs,
    # covers the chain id: a transaction of another chain fails them all, so say why here).
    _reject_unless(
        transaction.chain_id == config.chain_id,
        f"transaction is for chain 0x{transaction.chain_id.hex()}, "
        f"this is 0x{config.chain_id.hex()}",
    )
    tx_id = transaction.tx_id

    # Verify the spam proof, if any (fee-paying transactions need none).
    spam_proof = None
    if transaction.spam_proof is not None:
        _reject_unless(context.spam is not None, "this pool accepts no spam proofs")
        assert context.spam is not None
        try:
            spam_proof = SpamProof.decode(transaction.spam_proof)
            context.spam(spam_proof, tx_id)
        except SpamProofError as error:
            raise Rejected(f"spam proof: {error}") from error

    # Verify the deposit account's signature over tx_id.
    if transaction.deposit is not None:
        try:
            VerifyKey(transaction.deposit.account).verify(tx_id, transaction.deposit.signature)
        except (BadSignatureError, ValueError) as error:
            raise Rejected("deposit signature does not verify for the account") from error

    # Verify the personhood alias of personhood-tier outputs.
    alias = _refine_personhood(transaction, tx_id, context.persons, config)

    # Verify the spend proof against the statement the transaction implies.
    statement = spend_statement(transaction, config.lifetime, config.collateral_per_note)
    try:
        valid = context.verifier.verify(statement, transaction.proof)
    except CircuitError as error:
        raise Rejected(f"spend proof: {error}") from error
    _reject_unless(valid, "spend proof does not verify")
    return spam_proof, alias


def _refine_personhood(
    transaction: Transaction, tx_id: bytes, persons: Ring | None, config: PoolConfig
) -> bytes | None:
    claimed = sum(output.tier is Tier.PERSONHOOD for output in transaction.outputs)
    if transaction.personhood_proof is None:
        _reject_unless(claimed == 0, "personhood-tier outputs need a personhood proof")
        return None
    _reject_unless(claimed > 0, "personhood proof without personhood-tier outputs")
    _reject_unless(persons is not None, "this pool has no registered-persons ring")
    assert persons is not None
    _reject_unless(
        claimed <= config.personhood_quota,
        f"{claimed} personhood outputs exceed the quota {config.personhood_quota}",
    )
    try:
        return persons.verify(
            personhood_input(transaction.epoch), tx_id, transaction.personhood_proof
        )
    except BandersnatchError as error:
        raise Rejected(f"personhood proof: {error}") from error


@dataclass
class PoolState:
    """The pool's state (in memory here; the node persists it)."""

    config: PoolConfig
    trees: CommitmentTrees
    nullifiers: NullifierSet
    epoch: int = 0
    balances: dict[bytes, int] = field(default_factory=dict)
    pool_value: int = 0
    """Total value held in shielded notes (collateral excluded)."""
    locked_collateral: int = 0
    fee_ledger: fees.FeeLedger = field(default_factory=fees.FeeLedger)
    personhood_used: dict[tuple[int, bytes], int] = field(default_factory=dict)
    anchor_statistics: dict[int, PoolStatistics] = field(default_factory=dict)

    @classmethod
    def genesis(
        cls, config: PoolConfig, balances: Mapping[bytes, int] | None = None, epoch: int = 0
    ) -> PoolState:
        """An empty pool at `epoch` with funded transparent accounts."""
        trees = CommitmentTrees(config.lifetime, config.anchor_window, epoch)
        state = cls(config, trees, NullifierSet(config.lifetime), epoch, dict(balances or {}))
        state.anchor_statistics[trees.anchor] = PoolStatistics(0, 0)
        return state

    def statistics(self) -> PoolStatistics:
        return PoolStatistics(self.pool_value, self.trees.live.leaf_count())

    def recent_anchors(self) -> dict[int, PoolStatistics]:
        return {anchor: self.anchor_statistics[anchor] for anchor in self.trees.recent_anchors()}

    def storage_bytes(self) -> int:
        """Bytes of consensus state: tree nodes (32 B), nullifiers (32 B + 8 B epoch tag)."""
        nodes = self.trees.live.node_count() + self.trees.permanent.node_count()
        return 32 * nodes + 40 * len(self.nullifiers)

    def digest(self) -> bytes:
        """A hash of the pool's contents, for checking that replicas agree.

        Covers the trees (through the anchor), nullifiers, balances, value, collateral, fees
        and personhood usage; not the recent-anchor window, which every block advances
        whether or not its transactions were accepted.
        """
        hasher = hashlib.blake2b(digest_size=32)
        hasher.update(self.trees.anchor.to_bytes(32, "big"))
        for entry in self.nullifiers.entries():
            tag = entry.epoch.to_bytes(8, "big") + bytes((entry.permanent,))
            hasher.update(entry.nullifier.to_bytes(32, "big") + tag)
        for account, balance in sorted(self.balances.items()):
            hasher.update(account + balance.to_bytes(8, "big"))
        for (epoch, alias), used in sorted(self.personhood_used.items()):
            hasher.update(epoch.to_bytes(8, "big") + alias + used.to_bytes(8, "big"))
        ledger = self.fee_ledger
        for number in (
            self.epoch,
            self.pool_value,
            self.locked_collateral,
            ledger.burned,
            ledger.burned_by_transfers,
            ledger.burned_by_withdrawals,
            ledger.fee_paying_transactions,
        ):
            hasher.update(number.to_bytes(8, "big"))
        return hasher.digest()


@dataclass(frozen=True)
class _EpochSubtree:
    epoch: int
    leaves: tuple[int, ...]


@dataclass(frozen=True)
class _AnchorRecord:
    anchor: int
    pool_value: int
    live_notes: int


@dataclass(frozen=True)
class _Balance:
    account: bytes
    amount: int


@dataclass(frozen=True)
class _PersonhoodUse:
    epoch: int
    alias: bytes
    outputs: int


@dataclass(frozen=True)
class _Snapshot:
    epoch: int
    live: tuple[_EpochSubtree, ...]
    permanent: tuple[int, ...]
    recent_anchors: tuple[_AnchorRecord, ...]
    nullifiers: tuple[RevealedNullifier, ...]
    balances: tuple[_Balance, ...]
    pool_value: int
    locked_collateral: int
    fee_ledger: fees.FeeLedger
    personhood_used: tuple[_PersonhoodUse, ...]


_SNAPSHOT = Struct(
    _Snapshot,
    {
        "epoch": U64,
        "live": seq(Struct(_EpochSubtree, {"epoch": U64, "leaves": seq(FIELD)})),
        "permanent": seq(FIELD),
        "recent_anchors": seq(
            Struct(_AnchorRecord, {"anchor": FIELD, "pool_value": U64, "live_notes": U64})
        ),
        "nullifiers": seq(
            Struct(RevealedNullifier, {"nullifier": FIELD, "epoch": U64, "permanent": BOOL})
        ),
        "balances": seq(Struct(_Balance, {"account": FixedBytes(32), "amount": U64})),
        "pool_value": U64,
        "locked_collateral": U64,
        "fee_ledger": Struct(
            fees.FeeLedger,
            {
                "burned": U64,
                "burned_by_transfers": U64,
                "burned_by_withdrawals": U64,
                "fee_paying_transactions": U64,
            },
        ),
        "personhood_used": seq(
            Struct(_PersonhoodUse, {"epoch": U64, "alias": FixedBytes(32), "outputs": U64})
        ),
    },
)
"""The canonical snapshot of a `PoolState` (config excluded: it comes from the genesis)."""


def encode_state(state: PoolState) -> bytes:
    """The pool state as canonical bytes (leaves only; inner tree nodes are recomputed)."""
    return _SNAPSHOT.encode(
        _Snapshot(
            epoch=state.epoch,
            live=tuple(_EpochSubtree(e, leaves) for e, leaves in state.trees.live.subtrees()),
            permanent=state.trees.permanent.leaves(),
            recent_anchors=tuple(
                _AnchorRecord(anchor, stats.pool_value, stats.live_notes)
                for anchor, stats in (
                    (a, state.anchor_statistics[a]) for a in state.trees.recent_anchors()
                )
            ),
            nullifiers=tuple(state.nullifiers.entries()),
            balances=tuple(_Balance(a, v) for a, v in sorted(state.balances.items())),
            pool_value=state.pool_value,
            locked_collateral=state.locked_collateral,
            fee_ledger=state.fee_ledger,
            personhood_used=tuple(
                _PersonhoodUse(epoch, alias, used)
                for (epoch, alias), used in sorted(state.personhood_used.items())
            ),
        )
    )


def decode_state(config: PoolConfig, data: bytes) -> PoolState:
    """Rebuild a `PoolState` from `encode_state` bytes; TransactionError if malformed."""
    try:
        snapshot = _SNAPSHOT.decode(data)
        live = LiveTree.restore(
            config.lifetime, snapshot.epoch, ((s.epoch, s.leaves) for s in snapshot.live)
        )
        trees = CommitmentTrees.restore(
            live,
            snapshot.permanent,
            config.anchor_window,
            [record.anchor for record in snapshot.recent_anchors],
        )
        nullifiers = NullifierSet(config.lifetime)
        nullifiers.insert(snapshot.nullifiers)
    except (CodecError, NotesError, NullifierError) as error:
        raise TransactionError(f"malformed pool state snapshot: {error}") from error
    return PoolState(
        config=config,
        trees=trees,
        nullifiers=nullifiers,
        epoch=snapshot.epoch,
        balances={entry.account: entry.amount for entry in snapshot.balances},
        pool_value=snapshot.pool_value,
        locked_collateral=snapshot.locked_collateral,
        fee_ledger=snapshot.fee_ledger,
        personhood_used={(u.epoch, u.alias): u.outputs for u in snapshot.personhood_used},
        anchor_statistics={
            r.anchor: PoolStatistics(r.pool_value, r.live_notes) for r in snapshot.recent_anchors
        },
    )


@dataclass(frozen=True)
class AppendedOutput:
    """Where an accepted output landed: wallets need the position for their witnesses."""

    commitment: int
    permanent: bool
    position: int


@dataclass(frozen=True)
class BlockOutcome:
    """Which transactions a block applied and which it rejected (with the reason)."""

    accepted: tuple[bytes, ...]
    rejected: tuple[tuple[bytes, str], ...]
    anchor: int
    appended: tuple[AppendedOutput, ...] = ()
    deferred: tuple[tuple[bytes, int], ...] = ()
    """(tx id, full lane) of the transactions the block had no room for
    (`shielded.pow.quota`): not applied, not invalid, they may come in a later block."""


def _check_and_record(
    state: PoolState, refined: RefinedTransaction, spam: SpamProofVerifier | None, pending: set[int]
) -> None:
    """The stateful checks of one transaction; raises Rejected before changing anything."""
    transaction = refined.transaction
    # Verify the nullifiers are unused, in the set and earlier in this block.
    try:
        state.nullifiers.check_unspent(transaction.nullifiers)
    except NullifierError as error:
        raise Rejected(f"double spend: {error}") from error
    _reject_unless(
        not pending.intersection(transaction.nullifiers), "double spend within this block"
    )
    # Verify the deposit account can pay.
    if transaction.deposit is not None:
        balance = state.balances.get(transaction.deposit.account, 0)
        _reject_unless(
            balance >= transaction.deposit.amount,
            f"deposit of {transaction.deposit.amount} exceeds the account balance {balance}",
        )
    # Verify the withdrawal recipient's balance stays a u64.
    if transaction.withdrawal is not None:
        balance = state.balances.get(transaction.withdrawal.recipient, 0)
        _reject_unless(
            balance + transaction.withdrawal.amount <= MAX_VALUE,
            "withdrawal would overflow the recipient's 64-bit balance",
        )
    # Verify the personhood alias has quota left this epoch.
    if refined.personhood_alias is not None:
        claimed = sum(o.tier is Tier.PERSONHOOD for o in transaction.outputs)
        used = state.personhood_used.get((state.epoch, refined.personhood_alias), 0)
        _reject_unless(
            used + claimed <= state.config.personhood_quota,
            f"personhood alias has used {used} of {state.config.personhood_quota} this epoch",
        )
    # Verify and record the spam proof (last: after it nothing can fail).
    if refined.spam_proof is not None:
        _reject_unless(spam is not None, "this pool accepts no spam proofs")
        assert spam is not None
        try:
            spam.accept(refined.spam_proof, refined.tx_id)
        except SpamProofError as error:
            raise Rejected(f"spam proof: {error}") from error


def accumulate(
    state: PoolState,
    refined: Sequence[RefinedTransaction],
    spam: SpamProofVerifier | None = None,
    room: BlockRoom | None = None,
) -> BlockOutcome:
    """Apply one block's refined transactions in order; returns what was applied.

    With a `room` (the block capacity and tier quotas, `shielded.pow.quota`), a
    transaction whose lane is full is deferred before any check (nothing of it is
    recorded, not even its spam proof) and each accepted one is counted in it."""
    config = state.config
    accepted: list[bytes] = []
    rejected: list[tuple[bytes, str]] = []
    deferred: list[tuple[bytes, int]] = []
    ephemeral_outputs: list[int] = []
    permanent_outputs: list[int] = []
    revealed: list[RevealedNullifier] = []
    pending: set[int] = set()
    for item in refined:
        transaction = item.transaction
        spam_tier = None if item.spam_proof is None else item.spam_proof.tier
        lane = None if room is None else room.full_lane(spam_tier)
        if lane is not None:
            deferred.append((item.tx_id, lane))
            continue
        try:
            _check_and_record(state, item, spam, pending)
        except Rejected as error:
            rejected.append((item.tx_id, str(error)))
            continue
        if room is not None:
            room.take(spam_tier)
        # Apply: nullifiers, outputs, transparent balances, collateral, fees, personhood.
        for nullifier, tier in zip(transaction.nullifiers, transaction.input_tiers, strict=True):
            pending.add(nullifier)
            revealed.append(RevealedNullifier(nullifier, state.epoch, tier.permanent))
        for output in transaction.outputs:
            target = permanent_outputs if output.tier.permanent else ephemeral_outputs
            target.append(output.commitment)
        if transaction.deposit is not None:
            state.balances[transaction.deposit.account] -= transaction.deposit.amount
        if transaction.withdrawal is not None:
            recipient = transaction.withdrawal.recipient
            state.balances[recipient] = (
                state.balances.get(recipient, 0) + transaction.withdrawal.amount
            )
        released = sum(tier is Tier.COLLATERAL for tier in transaction.input_tiers)
        locked = sum(output.tier is Tier.COLLATERAL for output in transaction.outputs)
        state.locked_collateral += (locked - released) * config.collateral_per_note
        # Shielded value changes by public_in - public_out - fee (collateral included).
        public_in, public_out = public_amounts(transaction, config.collateral_per_note)
        state.pool_value += public_in - public_out - transaction.fee
        state.fee_ledger = state.fee_ledger.burn(item.fee_action, transaction.fee, config.spec)
        if item.personhood_alias is not None:
            key = (state.epoch, item.personhood_alias)
            claimed = sum(o.tier is Tier.PERSONHOOD for o in transaction.outputs)
            state.personhood_used[key] = state.personhood_used.get(key, 0) + claimed
        accepted.append(item.tx_id)
    state.nullifiers.insert(revealed)
    appended = [
        AppendedOutput(commitment, False, position)
        for commitment, position in zip(
            ephemeral_outputs, state.trees.live.append(ephemeral_outputs), strict=True
        )
    ] + [
        AppendedOutput(commitment, True, position)
        for commitment, position in zip(
            permanent_outputs, state.trees.permanent.append(permanent_outputs), strict=True
        )
    ]
    anchor = state.trees.record_anchor()
    state.anchor_statistics[anchor] = state.statistics()
    recent = set(state.trees.recent_anchors())
    for old in [a for a in state.anchor_statistics if a not in recent]:
        del state.anchor_statistics[old]
    return BlockOutcome(
        tuple(accepted), tuple(rejected), anchor, tuple(appended), tuple(deferred)
    )


class ShieldedPool:
    """The pool service over one in-memory state: blocks in, outcomes out."""

    def __init__(
        self,
        state: PoolState,
        verifier: SpendVerifier,
        *,
        fee_rule: FeeRule | None = None,
        spam: SpamProofVerifier | None = None,
        persons: Ring | None = None,
    ) -> None:
        self.state = state
        self.verifier = verifier
        self.fee_rule: FeeRule = fee_rule or (
            lambda action, fee: fees.check(action, fee, state.config.spec)
        )
        self.spam = spam
        self.persons = persons

    def context(self) -> RefineContext:
        """The snapshot refine sees: current epoch, recent anchors and the hooks."""
        return RefineContext(
            epoch=self.state.epoch,
            anchors=self.state.recent_anchors(),
            verifier=self.verifier,
            config=self.state.config,
            fee_rule=self.fee_rule,
            spam=self.spam,
            persons=self.persons,
        )

    def apply_block(self, transactions: Sequence[Transaction | bytes]) -> BlockOutcome:
        """Refine every transaction against one snapshot, then accumulate those that pass."""
        context = self.context()
        refined: list[RefinedTransaction] = []
        rejected: list[tuple[bytes, str]] = []
        for transaction in transactions:
            try:
                refined.append(refine(transaction, context))
            except TransactionError as error:
                rejected.append((_rejected_id(transaction), str(error)))
        outcome = accumulate(self.state, refined, self.spam)
        return BlockOutcome(
            outcome.accepted, tuple(rejected) + outcome.rejected, outcome.anchor, outcome.appended
        )

    def begin_epoch(self, epoch: int) -> tuple[list[int], int]:
        """Start `epoch`: free expired live subtrees, prune nullifiers and personhood usage.

        Returns (the epochs whose subtrees were freed, how many nullifiers were pruned).
        """
        state = self.state
        freed = state.trees.begin_epoch(epoch)
        pruned = state.nullifiers.prune(epoch)
        state.personhood_used = {
            key: used for key, used in state.personhood_used.items() if key[0] >= epoch
        }
        state.epoch = epoch
        return freed, pruned


# --------------------------------------------------------------------------------------
# The pool behind jamcore's Service protocol (work items in, storage changes out)
# --------------------------------------------------------------------------------------

REFINE_GAS_PER_TRANSACTION = 5_000_000
"""Refine's charge per transaction: about its cost in ns on the dev machine (spend proof
~2.3 ms, personhood ring proof ~5 ms when present, the rest well under 0.1 ms)."""
ACCUMULATE_GAS_PER_TRANSACTION = 200_000
"""Accumulate's charge per transaction (nullifier checks, appends, ~0.2 ms)."""
POOL_CODE_HASH = hashlib.blake2b(b"jam-shielded/pool-service/v1", digest_size=32).digest()
DIGEST_KEY = b"pool/state-digest"
ANCHOR_KEY = b"pool/anchor"


class PoolService:
    """`jamcore.work.service.Service` over a `ShieldedPool`.

    refine: the work item's payload is one encoded transaction; it is refined against the
    pool's current snapshot and the output is (alias flag, alias) || transaction.
    accumulate: decodes the outputs of `ok` results and accumulates them as one block; the
    gas for all of them is charged before any state changes, so running out of gas changes
    nothing. The pool's digest and anchor are written to service storage, so the JAM state
    root commits to the pool state.
    """

    def __init__(self, pool: ShieldedPool, service_id: int) -> None:
        self.pool = pool
        self.service_id = service_id
        self.code_hash = POOL_CODE_HASH

    def refine(self, payload: bytes, context: object, gas: GasMeter) -> bytes:
        """Refine one transaction; ServicePanic (result `panic`) if any check fails."""
        gas.charge(REFINE_GAS_PER_TRANSACTION)
        try:
            refined = refine(payload, self.pool.context())
        except TransactionError as error:
            raise ServicePanic(str(error)) from error
        alias = refined.personhood_alias
        prefix = b"\x00" if alias is None else b"\x01" + alias
        return prefix + bytes(payload)

    def accumulate(
        self,
        slot: int,
        operands: Sequence[AccumulateOperand],
        storage: ServiceStorage,
        gas: GasMeter,
    ) -> None:
        """Apply the refined transactions of one block to the pool (slot is informational)."""
        outputs = [op.result.value for op in operands if op.result.tag == "ok"]
        gas.charge(ACCUMULATE_GAS_PER_TRANSACTION * len(outputs))
        state = self.pool.state
        refined: list[RefinedTransaction] = []
        for output in outputs:
            try:
                refined.append(self._refined(output, state))
            except (TransactionError, SpamProofError, fees.FeeError):
                continue  # its anchor left the window since refine: nothing to apply
        outcome = accumulate(state, refined, self.pool.spam)
        storage.set(DIGEST_KEY, state.digest())
        storage.set(ANCHOR_KEY, outcome.anchor.to_bytes(32, "big"))

    def _refined(self, output: bytes, state: PoolState) -> RefinedTransaction:
        has_alias = output[:1] == b"\x01"
        alias = output[1:33] if has_alias else None
        transaction = Transaction.decode(output[33:] if has_alias else output[1:])
        statistics = state.anchor_statistics.get(transaction.anchor)
        _reject_unless(statistics is not None, "anchor is no longer recent")
        assert statistics is not None
        spam = SpamProof.decode(transaction.spam_proof) if transaction.spam_proof else None
        action = fee_action(transaction, statistics, state.config.lifetime)
        return RefinedTransaction(transaction, transaction.tx_id, action, spam, alias)


def _rejected_id(transaction: Transaction | bytes) -> bytes:
    """The id to report a refused transaction under: its tx_id when it decodes, else the
    hash of its bytes (undecodable input has no tx_id)."""
    if isinstance(transaction, Transaction):
        return transaction.tx_id
    try:
        return Transaction.decode(bytes(transaction)).tx_id
    except TransactionError:
        return hashlib.blake2b(bytes(transaction), digest_size=32).digest()
