"""The guarantor's pool package on jamcore's path (`jam_pool_select`, `JamValidator`): spam
tiers fill their quota by work, fee payers the rest by fee; what can never pass leaves the
mempool with its reason; what did not fit, or a block deferred, waits for a later package."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from nacl.signing import SigningKey

from jamcore.state.keys import storage_key
from jamcore.work.availability import decode_bundle
from jamcore.work.guarantor import guarantors_of
from shielded.native_pool import (
    OUTCOME,
    OUTCOME_KEY,
    DeferredTransaction,
    NativePool,
    PoolOutcome,
    genesis_service,
)
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.jam_genesis import genesis_state
from shielded.node.jam_guarantee_flow import InFlight, PoolTransactions
from shielded.node.jam_messages import BundleShare
from shielded.node.jam_pool_select import choose_package
from shielded.node.jam_validator import JamValidator
from shielded.notes.note import Tier
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.pool_storage import PoolSnapshot, PoolStorage
from shielded.pow import RecentAnchors, SpamProof, UsedProofs, leading_zero_bits, work_hash
from shielded.service import PoolConfig, PoolState
from shielded.spec import PoolSpec, SpamTier
from shielded.transaction import POOL_BATCH, DepositSource, ShieldedOutput, Transaction
from tests.shielded.node.test_jam_validator import (
    CORE,
    POOL,
    AcceptAll,
    Bus,
    make_validators,
    outcome,
    run_until_accepted,
)
from tests.shielded.pow.helpers import failing_proof

SPEC = PoolSpec(
    name="jam-select-test",
    recent_anchors=16,  # spam proofs stay valid from packaging to a later accumulation
    note_lifetime_epochs=2,
    block_capacity=16,
    tiers=(SpamTier(name="tier-1", difficulty_bits=4, capacity_share_bps=5_000),),
)
"""Capacity 16: tier 1 takes 8, fee payers the rest."""
CONFIG = PoolConfig(spec=SPEC, anchor_window=32, collateral_per_note=100, personhood_quota=1)
RICH = SigningKey(b"S" * 32)
BALANCES = {bytes(RICH.verify_key): 10**9}
ANCHOR = PoolState.genesis(CONFIG, BALANCES).trees.anchor


def field(label: str) -> int:
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=31).digest(), "big")


def draft(
    label: str, *, fee: int = 0, deposit: bool = False, epoch: int = 0, signed: bool = True
) -> Transaction:
    """An unproven transfer (or a deposit of 1000 from RICH, signed unless not `signed`)
    paying `fee`."""
    outputs = tuple(
        ShieldedOutput(field(f"{label}/cm{i}"), Tier.EPHEMERAL, bytes(226)) for i in range(2)
    )
    source = DepositSource(bytes(RICH.verify_key), 1_000, bytes(64)) if deposit else None
    transaction = Transaction(
        chain_id=CONFIG.chain_id,
        anchor=ANCHOR,
        epoch=epoch,
        nullifiers=(field(f"{label}/nf0"), field(f"{label}/nf1")),
        input_tiers=(Tier.EPHEMERAL, Tier.EPHEMERAL),
        outputs=outputs,  # type: ignore[arg-type]
        fee=fee,
        deposit=source,
        withdrawal=None,
        spam_proof=None,
        personhood_proof=None,
        proof=bytes(256),
    )
    if source is not None and signed:
        signature = RICH.sign(transaction.tx_id).signature
        transaction = replace(transaction, deposit=replace(source, signature=signature))
    return transaction


def fee_payer(label: str, fee: int) -> Transaction:
    return draft(label, fee=fee, deposit=True)


def with_work(transaction: Transaction, anchor: bytes, nonce_from: int = 0) -> Transaction:
    """`transaction` with a tier-1 proof found from `nonce_from` (so proofs differ in work)."""
    tx_id, nonce = transaction.tx_id, nonce_from
    while leading_zero_bits(work_hash(anchor, tx_id, nonce)) < SPEC.tiers[0].difficulty_bits:
        nonce += 1
    return replace(transaction, spam_proof=SpamProof(anchor, tx_id, nonce, 1).encode())


def too_little_work(transaction: Transaction, anchor: bytes) -> Transaction:
    """`transaction` with a tier-1 proof whose work falls short of the tier's bits."""
    tx_id = transaction.tx_id
    proof = failing_proof(anchor, tx_id, 1, SPEC.tiers[0].difficulty_bits)
    return replace(transaction, spam_proof=proof.encode())


def work_bits(transaction: Transaction) -> int:
    assert transaction.spam_proof is not None
    return SpamProof.decode(transaction.spam_proof).work_bits()


def by_work(transactions: list[Transaction]) -> list[bytes]:
    """Tx ids by work, more leading zero bits first, ties by arrival (`fill_block`)."""
    order = sorted(range(len(transactions)), key=lambda i: (-work_bits(transactions[i]), i))
    return [transactions[i].tx_id for i in order]


def by_fee(transactions: list[Transaction]) -> list[bytes]:
    order = sorted(range(len(transactions)), key=lambda i: (-transactions[i].fee, i))
    return [transactions[i].tx_id for i in order]


def pool_items(entropy: bytes, spent: tuple[int, ...] = ()) -> dict[bytes, bytes]:
    """The pool's items at genesis (window: `entropy`), with `spent` nullifiers revealed."""
    state = PoolState.genesis(CONFIG, BALANCES)
    state.nullifiers.insert(RevealedNullifier(n, 0, False) for n in spent)
    window = RecentAnchors(SPEC.recent_anchors, (entropy,))
    storage = PoolStorage(PoolSnapshot(state, window, UsedProofs()))
    return {key: value for key, value in storage.all_items().items() if value}


# -- the choice, against the pool's items --------------------------------------------------


def test_tiers_fill_their_quota_by_work_and_fee_payers_the_rest_by_fee() -> None:
    eta = hashlib.blake2b(b"eta", digest_size=32).digest()
    spam = [with_work(draft(f"s{i}"), eta, nonce_from=97 * i) for i in range(12)]
    fees = [fee_payer(f"f{i}", fee=(7 * i) % 11 + 1) for i in range(10)]
    spent = draft("spent")
    weak = too_little_work(draft("weak"), eta)
    waiting = [
        draft("later", epoch=1),  # made for the next epoch
        with_work(draft("elsewhere"), bytes(32)),  # anchored on an entropy not seen yet
        replace(draft("twin"), nullifiers=fees[0].nullifiers),  # one of two double spends
    ]
    malformed = replace(draft("tier-0"), spam_proof=bytes(73))  # claims tier 0
    arrivals = [*spam[:6], *fees, weak, *waiting, *spam[6:], spent, malformed]
    items = pool_items(eta, spent=spent.nullifiers[:1])
    choice = choose_package(
        [(tx.tx_id, tx.encode()) for tx in arrivals], items.get, CONFIG, 0, 64
    )
    chosen = [tx_id for tx_id, _ in choice.chosen]
    quota = SPEC.tier_quota(1)
    assert quota == 8 and SPEC.block_capacity - quota == 8
    assert chosen == by_work(spam)[:quota] + by_fee(fees)[: SPEC.block_capacity - quota]
    assert {tx_id: encoded for tx_id, encoded in choice.chosen} == {
        tx.tx_id: tx.encode() for tx in arrivals if tx.tx_id in chosen
    }
    assert set(choice.refused) == {weak.tx_id, spent.tx_id, malformed.tx_id}
    assert "spam proof" in choice.refused[weak.tx_id]
    assert "already spent on chain" in choice.refused[spent.tx_id]
    assert "spam proof" in choice.refused[malformed.tx_id]
    # Neither chosen nor refused: they wait (as do the spam proofs and fee payers left out).
    assert not {tx.tx_id for tx in waiting} & (set(chosen) | set(choice.refused))
    # A limit below the capacity cuts the fee lane first.
    small = choose_package([(tx.tx_id, tx.encode()) for tx in spam], items.get, CONFIG, 0, 5)
    assert [tx_id for tx_id, _ in small.chosen] == by_work(spam)[:5]


# -- the builder: its package, its refusals, the retries -----------------------------------


def builder_of(validators: list[JamValidator], slot: int) -> JamValidator:
    head = validators[0].head_state()
    assigned = guarantors_of(CORE, head, slot, validators[0].spec)
    return validators[assigned[slot % len(assigned)]]


def test_the_builder_packages_by_work_and_fee_and_retries_what_did_not_fit(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> None:
    config = devnet[1]
    spec = config.chain_spec()
    validators = make_validators(
        tmp_path, config, validator_keys, CONFIG, BALANCES,
        lambda: NativePool(CONFIG, AcceptAll(), spec),
    )
    bus = Bus(validators)
    eta = config.safrole_state().entropy[0]  # the genesis entropy: the pool's spam window
    spam = [with_work(draft(f"b/s{i}"), eta, nonce_from=89 * i) for i in range(11)]
    fees = [fee_payer(f"b/f{i}", fee=10 + i) for i in range(6)]
    forged = draft("b/forged", fee=99, deposit=True, signed=False)
    weak = too_little_work(draft("b/weak"), eta)
    for transaction in (*spam, *fees, forged, weak):
        bus.submit(0, transaction.encode())
    builder = builder_of(validators, 1)
    out = builder.on_slot(1)
    shares = [o.message for o in out if isinstance(o.message, BundleShare)]
    assert len(shares) == 1
    bus.send(builder.index, out)
    bus.run()
    payload = decode_bundle(shares[0].bundle).package.items[0].payload
    packaged = [Transaction.decode(raw).tx_id for raw in POOL_BATCH.decode(payload)]
    # Tier 1's quota (8) by work, then the fee lane by fee. The forged deposit never reached
    # the builder: a gossiped transaction is checked before it joins a mempool.
    assert packaged == by_work(spam)[:8] + by_fee(fees)
    assert any("gossiped transaction" in r and "signature" in r for r in builder.refused)
    # So did the weak spam proof (its work is checked without pool state too).
    assert any("gossiped transaction" in r and "spam proof" in r for r in builder.refused)
    assert forged.tx_id not in builder.mempool and weak.tx_id not in builder.mempool
    # The three spam proofs beyond the quota wait in the mempool, carried by no package.
    left = set(by_work(spam)[8:])
    assert left <= builder.mempool.transactions.keys() and not left & builder.pool.busy()
    # Run on: everything valid is accepted, the quota's excess in a later block.
    ids = [tx.tx_id for tx in (*spam, *fees)]
    accepted = run_until_accepted(bus, ids, 1, 16)
    assert len(set(accepted.values())) == 2
    first = min(accepted.values())
    assert {tx_id for tx_id, slot in accepted.items() if slot > first} == left
    assert outcome(validators[0]).per_tier == (3,)


def test_transactions_a_block_deferred_stay_for_a_later_package(
    devnet: tuple[Path, GenesisConfig],
) -> None:
    config = devnet[1]
    spec = config.chain_spec()
    entropy = config.safrole_state().entropy[0]
    service = genesis_service(
        POOL, CONFIG, BALANCES, entropy, balance=10**12, min_item_gas=1_000, min_memo_gas=100
    )
    head = genesis_state(config, [service], always_accumulate={POOL: 1})
    txs = [fee_payer(f"d/{i}", fee=1) for i in range(3)]
    pool = PoolTransactions(POOL, spec)
    for transaction in txs:
        pool.mempool.add(transaction.encode())
    package = bytes(range(32))
    pool.inflight[package] = InFlight(frozenset(tx.tx_id for tx in txs), 1, bytes(32))
    item = PoolOutcome(
        5, 0, ANCHOR, (), (txs[1].tx_id,), (DeferredTransaction(txs[2].tx_id, 0),), (0,)
    )
    account = head.services[POOL]
    entries = {**account.entries, storage_key(POOL, OUTCOME_KEY): OUTCOME.encode(item)}
    posterior = replace(
        head,
        slot=5,
        services={**head.services, POOL: replace(account, entries=entries)},
        accumulated=(*head.accumulated[1:], (package,)),
    )
    pool.on_block(posterior)
    # The package was accumulated: its rejected and its unnamed transactions leave, the
    # deferred one stays, free for the next package.
    assert not pool.inflight and pool.outcomes == {txs[1].tx_id: (5, False)}
    assert list(pool.mempool.transactions) == [txs[2].tx_id]
    assert pool.take(64) == [(txs[2].tx_id, txs[2].encode())]
    assert pool.deferred == {txs[2].tx_id: 5}
