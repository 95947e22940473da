"""The pool service end to end through the real spend circuit, plus transaction encoding.

The main scenario is the issue's acceptance script: deposit, transfer between two keys,
renew an about-to-expire note, withdraw, and show that an expired note can no longer be
spent while its nullifiers and its epoch's subtree are pruned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from nacl.signing import SigningKey

from jamcore.crypto.bandersnatch import Ring, public_from_secret, secret_from_seed
from jamcore.work.package import RefineContext as JamRefineContext
from jamcore.work.package import WorkItem
from jamcore.work.service import AccumulateOperand, accumulate_results, refine_item
from shielded.circuits.spend import SpendInput, SpendVerifier
from shielded.notes.encryption import CIPHERTEXT_BYTES, trial_decrypt
from shielded.notes.errors import NotesError
from shielded.notes.keys import SpendingKey
from shielded.notes.note import Note, Tier
from shielded.notes.tree import SUBTREE_DEPTH
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.pow import RecentAnchors, SpamProofVerifier, solve
from shielded.service import (
    POOL_CODE_HASH,
    BlockOutcome,
    PoolConfig,
    PoolService,
    PoolState,
    PoolStatistics,
    RefineContext,
    Rejected,
    ShieldedPool,
    decode_state,
    encode_state,
    personhood_input,
    quote,
    refine,
)
from shielded.spec import FeeSchedule, PoolSpec, SpamTier
from shielded.transaction import (
    DepositSource,
    Kind,
    Payment,
    ShieldedOutput,
    Transaction,
    TransactionError,
    TransactionPlan,
    WithdrawalTarget,
    build_transaction,
)
from tests.shielded.circuits.spend_keys import spend_keys

LIFETIME = 2
SPEC = PoolSpec(
    name="test",
    note_lifetime_epochs=LIFETIME,
    fees=FeeSchedule(
        inclusion_fee=10,
        output_epoch_fee=1,
        free_output_epochs=4,
        permanent_lifetime_epochs=8,
        withdrawal_base_fee=50,
        withdrawal_leak_fee=1_000,
        anonymity_reference=4,
    ),
)
CHAIN = b"pool test chain".ljust(32, b"\0")
CONFIG = PoolConfig(
    spec=SPEC, chain_id=CHAIN, anchor_window=8, collateral_per_note=100, personhood_quota=1
)
ALICE = SpendingKey.from_seed(b"alice".ljust(32, b"\x00"))
BOB = SpendingKey.from_seed(b"bob".ljust(32, b"\x00"))
ALICE_ACCOUNT = SigningKey(b"A" * 32)
BOB_ACCOUNT = SigningKey(b"B" * 32)


@dataclasses.dataclass
class OwnedNote:
    note: Note
    position: int
    permanent: bool


class Wallet:
    """A minimal wallet: finds its notes by trial decryption of applied blocks."""

    def __init__(self, key: SpendingKey) -> None:
        self.key = key
        self.notes: list[OwnedNote] = []

    def scan(self, transactions: Sequence[Transaction], outcome: BlockOutcome) -> None:
        ciphertexts = {
            output.commitment: output.ciphertext
            for transaction in transactions
            for output in transaction.outputs
        }
        appended = [(item, ciphertexts[item.commitment]) for item in outcome.appended]
        found = trial_decrypt(
            self.key.incoming_viewing_key, [(item.commitment, ct) for item, ct in appended]
        )
        for index, decrypted in found:
            if decrypted.note.value > 0:
                item = appended[index][0]
                self.notes.append(OwnedNote(decrypted.note, item.position, item.permanent))

    def take(self, value: int, pool: ShieldedPool) -> SpendInput:
        owned = next(entry for entry in self.notes if entry.note.value == value)
        self.notes.remove(owned)
        witness = pool.state.trees.witness(owned.position, owned.permanent)
        return SpendInput(owned.note, self.key.ask, self.key.nk, witness)


def plan(pool: ShieldedPool, key: SpendingKey, **fields: object) -> TransactionPlan:
    state = pool.state
    return TransactionPlan(
        chain_id=CHAIN,
        anchor=state.trees.anchor,
        epoch=state.epoch,
        lifetime=LIFETIME,
        change_key=key,
        collateral_per_note=CONFIG.collateral_per_note,
        **fields,  # type: ignore[arg-type]
    )


def transfer_fee(pool: ShieldedPool, tiers: tuple[Tier, Tier] = (Tier.EPHEMERAL,) * 2) -> int:
    return quote(CONFIG, Kind.TRANSFER, pool.state.statistics(), output_tiers=tiers)


def make_pool(**hooks: object) -> ShieldedPool:
    state = PoolState.genesis(
        CONFIG, {bytes(ALICE_ACCOUNT.verify_key): 10_000, bytes(BOB_ACCOUNT.verify_key): 500}
    )
    return ShieldedPool(state, SpendVerifier(spend_keys().verifying), **hooks)  # type: ignore[arg-type]


def apply(pool: ShieldedPool, wallets: Sequence[Wallet], *txs: Transaction) -> BlockOutcome:
    outcome = pool.apply_block(list(txs))
    for wallet in wallets:
        wallet.scan(txs, outcome)
    return outcome


@pytest.mark.slow
def test_deposit_transfer_renew_withdraw_and_expiry() -> None:
    keys = spend_keys()
    pool = make_pool()
    alice, bob = Wallet(ALICE), Wallet(BOB)
    wallets = (alice, bob)
    alice_account = bytes(ALICE_ACCOUNT.verify_key)
    bob_account = bytes(BOB_ACCOUNT.verify_key)

    # Deposit: 5000 from Alice's transparent account into a note of hers (deposits are free).
    deposit = build_transaction(
        keys,
        plan(
            pool,
            ALICE,
            payments=(Payment(ALICE.address, 5_000),),
            deposit_from=ALICE_ACCOUNT,
            deposit_amount=5_000,
        ),
    )
    assert deposit.kind is Kind.DEPOSIT
    outcome = apply(pool, wallets, deposit)
    assert outcome.accepted == (deposit.tx_id,) and not outcome.rejected
    assert pool.state.balances[alice_account] == 5_000 and pool.state.pool_value == 5_000
    assert [owned.note.value for owned in alice.notes] == [5_000]

    # Transfer: Alice pays Bob 3000; the same transaction twice in one block, then again.
    fee = transfer_fee(pool)
    transfer = build_transaction(
        keys,
        plan(
            pool,
            ALICE,
            spends=(alice.take(5_000, pool),),
            payments=(Payment(BOB.address, 3_000, memo=b"hi"), Payment(ALICE.address, 2_000 - fee)),
            fee=fee,
        ),
    )
    outcome = apply(pool, wallets, transfer, transfer)
    assert outcome.accepted == (transfer.tx_id,)
    assert len(outcome.rejected) == 1 and "double spend" in outcome.rejected[0][1]
    before = pool.state.digest()
    outcome = pool.apply_block([transfer])
    assert not outcome.accepted and "already revealed" in outcome.rejected[0][1]
    assert pool.state.trees.live.leaf_count() == 4  # deposit and transfer outputs only
    assert pool.state.fee_ledger.burned == fee and pool.state.pool_value == 5_000 - fee
    assert [owned.note.value for owned in bob.notes] == [3_000]
    assert [owned.note.value for owned in alice.notes] == [2_000 - fee]
    assert before == pool.state.digest()  # the rejected replay changed nothing

    # Epoch 2: Bob's note (expiry 2) is about to expire; he renews it to himself.
    pool.begin_epoch(1)
    pool.begin_epoch(2)
    renew_fee = transfer_fee(pool)
    renewal = build_transaction(
        keys,
        plan(
            pool,
            BOB,
            spends=(bob.take(3_000, pool),),
            payments=(Payment(BOB.address, 3_000 - renew_fee),),
            fee=renew_fee,
        ),
    )
    assert apply(pool, wallets, renewal).accepted == (renewal.tx_id,)
    renewed = bob.notes[0]
    assert renewed.note.value == 3_000 - renew_fee and renewed.note.expiry_epoch == 4

    # Withdraw 1000 of it to Bob's transparent account, fee by the information it leaks.
    statistics = pool.state.statistics()
    withdraw_fee = quote(CONFIG, Kind.WITHDRAWAL, statistics, amount=1_000)
    change = renewed.note.value - 1_000 - withdraw_fee
    withdrawal = build_transaction(
        keys,
        plan(
            pool,
            BOB,
            spends=(bob.take(renewed.note.value, pool),),
            payments=(Payment(BOB.address, change),),
            fee=withdraw_fee,
            withdrawal=WithdrawalTarget(bob_account, 1_000),
        ),
    )
    assert apply(pool, wallets, withdrawal).accepted == (withdrawal.tx_id,)
    assert pool.state.balances[bob_account] == 1_500
    assert pool.state.fee_ledger.burned == fee + renew_fee + withdraw_fee

    # Epoch 3: Alice's change note (created at epoch 0, expiry 2) has expired.
    stale = alice.notes[0]
    old_anchor = pool.state.trees.anchor
    old_witness = pool.state.trees.witness(stale.position, permanent=False)
    nullifiers_before = len(pool.state.nullifiers)
    freed, pruned = pool.begin_epoch(3)
    assert freed == [0]  # the epoch-0 subtree is reset and its storage freed
    # The deposit's and the transfer's nullifiers (revealed at epoch 0) are pruned.
    assert pruned == 4 and len(pool.state.nullifiers) == nullifiers_before - 4
    assert transfer.nullifiers[0] not in pool.state.nullifiers
    with pytest.raises(NotesError, match="no leaf"):
        pool.state.trees.witness(stale.position, permanent=False)
    # Even against a still-recent anchor where its path is valid, the expired note cannot be
    # proven: the circuit requires expiry_epoch >= epoch.
    assert pool.state.trees.is_recent_anchor(old_anchor)
    expired = SpendInput(stale.note, ALICE.ask, ALICE.nk, old_witness)
    late_plan = plan(
        pool,
        ALICE,
        spends=(expired,),
        payments=(Payment(ALICE.address, stale.note.value - renew_fee),),
        fee=renew_fee,
    )
    with pytest.raises(TransactionError, match="cannot prove"):
        build_transaction(keys, dataclasses.replace(late_plan, anchor=old_anchor))
    # Replaying the epoch-0 transfer (its nullifiers are pruned) fails refine: old epoch.
    outcome = pool.apply_block([transfer])
    assert not outcome.accepted and "epoch" in outcome.rejected[0][1]


def test_refine_rejections_change_nothing() -> None:
    pool = make_pool()
    context = pool.context()
    before = pool.state.digest()
    output = ShieldedOutput(1, Tier.EPHEMERAL, bytes(CIPHERTEXT_BYTES))
    base = Transaction(
        chain_id=CHAIN,
        anchor=pool.state.trees.anchor,
        epoch=0,
        nullifiers=(1, 2),
        input_tiers=(Tier.EPHEMERAL, Tier.EPHEMERAL),
        outputs=(output, output),
        fee=10_000,
        deposit=None,
        withdrawal=None,
        spam_proof=None,
        personhood_proof=None,
        proof=bytes(256),
    )
    cases = {
        "epoch": dataclasses.replace(base, epoch=1),
        "anchor": dataclasses.replace(base, anchor=5),
        "fee rule": dataclasses.replace(base, fee=0),
        "spam": dataclasses.replace(base, spam_proof=bytes(73)),
        "personhood": dataclasses.replace(
            base, outputs=(dataclasses.replace(output, tier=Tier.PERSONHOOD), output)
        ),
        "deposit signature": dataclasses.replace(
            base, fee=0, deposit=DepositSource(bytes(ALICE_ACCOUNT.verify_key), 5, bytes(64))
        ),
        "spend proof": base,
    }
    for reason, transaction in cases.items():
        with pytest.raises(Rejected, match=reason):
            refine(transaction, context)
    outcome = pool.apply_block([base.encode(), b"\x00garbage"])
    assert not outcome.accepted and len(outcome.rejected) == 2
    assert "malformed" in outcome.rejected[1][1]
    assert pool.state.nullifiers.entries() == []
    assert pool.state.trees.live.leaf_count() == 0
    assert before == PoolState.genesis(CONFIG, pool.state.balances).digest()


def test_transaction_encoding_round_trip_and_strictness() -> None:
    output = ShieldedOutput(7, Tier.COLLATERAL, bytes(range(256))[:CIPHERTEXT_BYTES])
    transaction = Transaction(
        chain_id=CHAIN,
        anchor=3,
        epoch=9,
        nullifiers=(4, 5),
        input_tiers=(Tier.EPHEMERAL, Tier.PERSONHOOD),
        outputs=(output, output),
        fee=11,
        deposit=None,
        withdrawal=WithdrawalTarget(b"r" * 32, 12),
        spam_proof=b"s" * 73,
        personhood_proof=None,
        proof=b"p" * 256,
    )
    encoded = transaction.encode()
    assert Transaction.decode(encoded) == transaction
    assert transaction.kind is Kind.WITHDRAWAL
    # tx_id ignores proofs and signatures; binding covers the spam proof.
    unproven = dataclasses.replace(transaction, proof=bytes(256), spam_proof=None)
    assert unproven.tx_id == transaction.tx_id
    assert unproven.binding != transaction.binding
    assert dataclasses.replace(transaction, fee=12).tx_id != transaction.tx_id
    # The chain id is the first field and tx_id covers it.
    other_chain = dataclasses.replace(transaction, chain_id=b"\x01" * 32)
    assert encoded[:32] == CHAIN and other_chain.tx_id != transaction.tx_id
    anchor_at = 32  # after the chain id: the anchor (a field element, checked below r)
    for bad in (
        encoded + b"\x00",
        encoded[:-1],
        encoded[:anchor_at] + b"\xff" * 32 + encoded[anchor_at + 32 :],
    ):
        with pytest.raises(TransactionError, match="malformed"):
            Transaction.decode(bad)
    tier_offset = 32 + 32 + 8 + 64
    with pytest.raises(TransactionError, match="tier"):
        Transaction.decode(encoded[:tier_offset] + b"\x07" + encoded[tier_offset + 1 :])
    with pytest.raises(TransactionError, match="not both"):
        dataclasses.replace(transaction, deposit=DepositSource(b"a" * 32, 1, bytes(64)))


@pytest.mark.slow
def test_permanent_tier_collateral_and_personhood_quota() -> None:
    keys = spend_keys()
    secrets = [secret_from_seed(bytes([index + 1]) * 32) for index in range(3)]
    ring = Ring.of([public_from_secret(secret) for secret in secrets])
    pool = make_pool(persons=ring)
    alice = Wallet(ALICE)

    # A deposit into a collateral note: 100 collateral is locked from the deposit.
    collateral = build_transaction(
        keys,
        plan(
            pool,
            ALICE,
            payments=(Payment(ALICE.address, 900, Tier.COLLATERAL),),
            deposit_from=ALICE_ACCOUNT,
            deposit_amount=1_000,
        ),
    )
    assert apply(pool, [alice], collateral).accepted == (collateral.tx_id,)
    assert pool.state.locked_collateral == 100 and pool.state.pool_value == 900
    assert len(pool.state.trees.permanent) == 1 and alice.notes[0].permanent

    # Personhood outputs: one alias per epoch, quota 1 per epoch.
    def personhood(tx_id: bytes, epoch: int) -> bytes:
        return ring.prove(1, secrets[1], personhood_input(epoch), tx_id)

    def person_deposit() -> Transaction:
        return build_transaction(
            keys,
            plan(
                pool,
                ALICE,
                payments=(Payment(ALICE.address, 10, Tier.PERSONHOOD),),
                deposit_from=ALICE_ACCOUNT,
                deposit_amount=10,
                personhood=personhood,
            ),
        )

    first, second = person_deposit(), person_deposit()
    outcome = apply(pool, [alice], first, second)
    assert outcome.accepted == (first.tx_id,)
    assert "personhood alias has used 1 of 1" in outcome.rejected[0][1]
    assert pool.state.locked_collateral == 100  # personhood notes lock nothing

    # Spending the collateral note releases its collateral back into shielded value.
    fee = transfer_fee(pool)
    spend = build_transaction(
        keys,
        plan(
            pool,
            ALICE,
            spends=(alice.take(900, pool),),
            payments=(Payment(ALICE.address, 1_000 - fee),),
            fee=fee,
        ),
    )
    assert apply(pool, [alice], spend).accepted == (spend.tx_id,)
    assert pool.state.locked_collateral == 0
    assert pool.state.nullifiers.record(spend.nullifiers[0]).permanent  # kept for good
    assert pool.state.pool_value == 900 + 10 + 100 - fee


def test_quote_prices_permanent_outputs_higher() -> None:
    statistics = PoolStatistics(pool_value=1_000, live_notes=10)
    ephemeral = quote(CONFIG, Kind.TRANSFER, statistics)
    permanent = quote(
        CONFIG, Kind.TRANSFER, statistics, output_tiers=(Tier.COLLATERAL, Tier.EPHEMERAL)
    )
    assert permanent > ephemeral
    assert quote(CONFIG, Kind.DEPOSIT, statistics, amount=5) == 0
    context = make_pool().context()
    assert isinstance(context, RefineContext) and context.epoch == 0


def test_state_snapshot_round_trip() -> None:
    state = PoolState.genesis(CONFIG, {b"a" * 32: 7})
    for epoch in range(4):
        state.trees.begin_epoch(epoch)
        state.nullifiers.prune(epoch)
        state.epoch = epoch
        state.trees.live.append(range(10 * epoch + 1, 10 * epoch + 6))
        state.trees.permanent.append([1000 + epoch])
        state.nullifiers.insert(
            [RevealedNullifier(100 + epoch, epoch), RevealedNullifier(200 + epoch, epoch, True)]
        )
        anchor = state.trees.record_anchor()
        state.anchor_statistics[anchor] = state.statistics()
    state.personhood_used[(3, b"p" * 32)] = 1
    state.pool_value, state.locked_collateral = 55, 100
    encoded = encode_state(state)
    restored = decode_state(CONFIG, encoded)
    assert restored.digest() == state.digest()
    assert encode_state(restored) == encoded
    assert restored.trees.recent_anchors() == state.trees.recent_anchors()
    assert restored.trees.live.epochs() == [1, 2, 3]
    position = (3 % (LIFETIME + 1)) << SUBTREE_DEPTH
    assert restored.trees.witness(position, False) == state.trees.witness(position, False)
    assert restored.nullifiers.entries() == state.nullifiers.entries()
    for bad in (encoded[:-1], encoded + b"\x00", b""):
        with pytest.raises(TransactionError, match="snapshot"):
            decode_state(CONFIG, bad)


@pytest.mark.slow
def test_pool_runs_behind_the_jam_service_protocol() -> None:
    pool = make_pool()
    service = PoolService(pool, service_id=7)
    deposit = build_transaction(
        spend_keys(),
        plan(
            pool,
            ALICE,
            payments=(Payment(ALICE.address, 40),),
            deposit_from=ALICE_ACCOUNT,
            deposit_amount=40,
        ),
    )
    context = JamRefineContext(bytes(32), bytes(32), bytes(32), bytes(32), 0, ())

    def item(payload: bytes) -> WorkItem:
        return WorkItem(7, POOL_CODE_HASH, 10**8, 10**7, 0, payload, (), ())

    good = refine_item(service, item(deposit.encode()), context)
    bad = refine_item(service, item(b"\x01\x02"), context)
    starved = refine_item(
        service, dataclasses.replace(item(deposit.encode()), refine_gas_limit=10), context
    )
    assert good.result.tag == "ok" and bad.result.tag == "panic"
    assert starved.result.tag == "out_of_gas"
    operands = [
        AccumulateOperand(bytes(32), result.payload_hash, 10**6, result.result)
        for result in (good, bad)
    ]
    before = pool.state.digest()
    assert accumulate_results(service, 1, operands, {}, gas_limit=10) == {}
    assert pool.state.digest() == before  # out of gas: nothing applied
    changes = accumulate_results(service, 1, operands, {}, gas_limit=10**7)
    assert pool.state.balances[bytes(ALICE_ACCOUNT.verify_key)] == 10_000 - 40
    assert pool.state.digest() in changes.values()


@pytest.mark.slow
def test_spam_proof_pays_for_a_transfer_and_cannot_be_replayed() -> None:
    spec = dataclasses.replace(SPEC, tiers=(SpamTier("easy", 6, 5_000),))
    config = dataclasses.replace(CONFIG, spec=spec)
    block_hash = b"\x42" * 32
    verifier = SpamProofVerifier(spec, RecentAnchors(4, [block_hash]))
    state = PoolState.genesis(config, {bytes(ALICE_ACCOUNT.verify_key): 100})
    pool = ShieldedPool(state, SpendVerifier(spend_keys().verifying), spam=verifier)
    alice = Wallet(ALICE)
    deposit = build_transaction(
        spend_keys(),
        plan(
            pool,
            ALICE,
            payments=(Payment(ALICE.address, 100),),
            deposit_from=ALICE_ACCOUNT,
            deposit_amount=100,
        ),
    )
    apply(pool, [alice], deposit)
    assert quote(config, Kind.TRANSFER, state.statistics(), spam_proof=True) == 0
    assert quote(config, Kind.TRANSFER, state.statistics()) > 0

    def spam(tx_id: bytes) -> bytes:
        return solve(block_hash, tx_id, 6).encode()

    spend = alice.take(100, pool)
    to_bob = (Payment(BOB.address, 100),)
    transfer = build_transaction(spend_keys(), plan(pool, ALICE, spends=(spend,), payments=to_bob))
    assert "fee rule" in pool.apply_block([transfer]).rejected[0][1]  # no work and no fee
    with_work = build_transaction(
        spend_keys(), plan(pool, ALICE, spends=(spend,), payments=to_bob, spam=spam)
    )
    assert with_work.spam_proof is not None
    assert pool.apply_block([with_work]).accepted == (with_work.tx_id,)
    assert with_work.tx_id in verifier.used
    # The spam proof is bound to its transaction: carried by another one it is refused.
    forged = dataclasses.replace(transfer, spam_proof=with_work.spam_proof)
    assert "spam proof" in pool.apply_block([forged]).rejected[0][1]
