"""The shielded pool as a native JAM service (`shielded.native_pool`), through jamcore.

Refine runs through jamcore's Ψ_R (`jamcore.pvm.invocations.refine.refine` with `natives`),
its digest becomes a work report, and accumulate runs through `accumulate_block` (Δ+ with
the pool in χ_Z, eq. 12.18) on a genesis state of `genesis_state`; one empty block goes
through the full `import_block`. Blocks carrying reports use `accumulate_block` rather
than `import_block`: a guaranteed report needs the guarantors' credentials (a separate
piece of work). The spend verifier is stubbed except in the tests about proofs, which use
the real spend circuit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from jamcore.crypto.hashing import blake2b_256
from jamcore.pvm.invocations.context import AccumulationInput
from jamcore.pvm.invocations.native import AccumulateHost
from jamcore.pvm.invocations.refine import RefineOutcome, refine
from jamcore.spec import ChainSpec
from jamcore.state.keys import storage_key
from jamcore.state.state import State
from jamcore.stf.accumulate import AccumulateInput, AccumulateState, accumulate_block
from jamcore.stf.block import import_block
from jamcore.types.services import ServiceAccount
from jamcore.work.package import WORK_PACKAGE, RefineContext, WorkItem, WorkPackage
from jamcore.work.report import WorkPackageSpec, WorkReport, item_digest
from shielded.circuits.spend import SpendStatement, SpendVerifier
from shielded.native_pool import (
    NATIVE_POOL_CODE,
    NATIVE_POOL_CODE_HASH,
    OUTCOME,
    OUTCOME_KEY,
    NativePool,
    PoolOutcome,
    genesis_items,
    genesis_service,
)
from shielded.native_pool_refine import (
    REFINED_ENTRY,
    RefinedEntry,
    decode_refined,
    restore_transaction,
    strip_transaction,
)
from shielded.node.genesis import GenesisConfig, create_devnet, genesis_hash, load_validator_secrets
from shielded.node.jam_genesis import (
    GenesisService,
    authorizer_code_hash,
    authorizer_hash,
    genesis_state,
)
from shielded.notes.keys import SpendingKey
from shielded.notes.note import Tier
from shielded.nullifiers.nullifier_set import RevealedNullifier
from shielded.pool_lazy import LazyPoolStorage
from shielded.pool_storage import (
    FIRST_SUBTREE,
    PoolSnapshot,
    PoolStorage,
    bucket_count_key,
    bucket_key,
    chunk_key,
    nullifier_key,
)
from shielded.pow import RecentAnchors, UsedProofs, solve
from shielded.service import (
    ACCUMULATE_GAS_PER_TRANSACTION,
    REFINE_GAS_PER_TRANSACTION,
    PoolConfig,
    PoolState,
)
from shielded.spec import PoolSpec, SpamTier
from shielded.transaction import (
    POOL_BATCH,
    DepositSource,
    Payment,
    ShieldedOutput,
    Transaction,
    TransactionPlan,
    build_transaction,
)
from tests.shielded.circuits.spend_keys import spend_keys

POOL = 1
LIFETIME = 2
SPEC = PoolSpec(
    name="native-test",
    recent_anchors=2,
    note_lifetime_epochs=LIFETIME,
    tiers=(SpamTier(name="tier-1", difficulty_bits=4, capacity_share_bps=5_000),),
)
CHAIN = b"pool test chain".ljust(32, b"\0")
CONFIG = PoolConfig(
    spec=SPEC, chain_id=CHAIN, anchor_window=8, collateral_per_note=100, personhood_quota=1
)
ALICE, BOB = SigningKey(b"A" * 32), SigningKey(b"B" * 32)
BALANCES = {bytes(ALICE.verify_key): 10_000, bytes(BOB.verify_key): 5_000}
FREE_GAS = 2_000_000
"""χ_Z's free gas for the pool: every block's reads and writes."""
ITEM_GAS = ACCUMULATE_GAS_PER_TRANSACTION * 64 + 1_000_000
W_R = 48 * 2**10


class AcceptAll(SpendVerifier):
    """A spend verifier stub (for tests about anything but proofs)."""

    def __init__(self) -> None:
        self.vk_hash = "stub"

    def verify(self, statement: SpendStatement, proof: bytes) -> bool:
        return True


# -- fixtures: a devnet genesis with the pool in χ_Z, proven deposits -------------------------


@dataclass(frozen=True)
class Devnet:
    directory: Path
    config: GenesisConfig
    spec: ChainSpec
    genesis: State


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Devnet:
    directory = tmp_path_factory.mktemp("native-devnet")
    config = create_devnet(directory, validators=6, slot_duration=1.0, genesis_delay=-10_000)
    entropy = config.safrole_state().entropy[0]
    service = genesis_service(
        POOL, CONFIG, BALANCES, entropy, balance=10**12, min_item_gas=1_000, min_memo_gas=100
    )
    state = genesis_state(config, [service], always_accumulate={POOL: FREE_GAS})
    return Devnet(directory, config, config.chain_spec(), state)


@pytest.fixture(scope="module")
def deposits() -> list[Transaction]:
    """Two proven deposits (real spend circuit) at the genesis anchor, epoch 0."""
    anchor = PoolState.genesis(CONFIG, BALANCES).trees.anchor
    recipient = SpendingKey.from_seed(b"recipient".ljust(32, b"\0"))
    made = []
    for account, amount in ((ALICE, 1_000), (BOB, 2_000)):
        plan = TransactionPlan(
            chain_id=CHAIN,
            anchor=anchor,
            epoch=0,
            lifetime=LIFETIME,
            change_key=recipient,
            payments=(Payment(recipient.address, amount),),
            deposit_from=account,
            deposit_amount=amount,
        )
        made.append(build_transaction(spend_keys(), plan))
    return made


# -- helpers ---------------------------------------------------------------------------------


def field(label: str) -> int:
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=31).digest(), "big")


def fake(
    label: str,
    *,
    deposit: tuple[SigningKey, int] | None = None,
    nullifiers: tuple[int, int] | None = None,
    spam_anchor: bytes | None = None,
    anchor: int | None = None,
    epoch: int = 0,
) -> Transaction:
    """An unproven transaction (for the stub verifier): a signed deposit or a transfer,
    with a solved spam proof on `spam_anchor` if given."""
    outputs = tuple(
        ShieldedOutput(field(f"{label}/cm{i}"), Tier.EPHEMERAL, bytes(226)) for i in range(2)
    )
    source = None
    if deposit is not None:
        source = DepositSource(bytes(deposit[0].verify_key), deposit[1], bytes(64))
    draft = Transaction(
        chain_id=CHAIN,
        anchor=PoolState.genesis(CONFIG, BALANCES).trees.anchor if anchor is None else anchor,
        epoch=epoch,
        nullifiers=nullifiers or (field(f"{label}/nf0"), field(f"{label}/nf1")),
        input_tiers=(Tier.EPHEMERAL, Tier.EPHEMERAL),
        outputs=outputs,  # type: ignore[arg-type]
        fee=0,
        deposit=source,
        withdrawal=None,
        spam_proof=None,
        personhood_proof=None,
        proof=bytes(256),
    )
    if deposit is not None:
        assert source is not None
        signature = deposit[0].sign(draft.tx_id).signature
        draft = replace(draft, deposit=replace(source, signature=signature))
    if spam_anchor is not None:
        proof = solve(spam_anchor, draft.tx_id, SPEC.tiers[0].difficulty_bits, tier=1)
        draft = replace(draft, spam_proof=proof.encode())
    return draft


def entropy(slot: int) -> bytes:
    return blake2b_256(b"eta0" + slot.to_bytes(4, "little"))


def pre_state(state: State) -> AccumulateState:
    """The accumulation state of a genesis state, as `import_block` builds it."""
    return AccumulateState(
        slot=state.slot,
        entropy=state.entropy[0],
        ready_queue=state.ready_queue,
        accumulated=state.accumulated,
        privileges=state.privileges,
        statistics={},
        accounts=state.services,
        staging_set=state.next_validators,
        auth_queue=state.auth_queues,
    )


def refine_report(
    accounts: Mapping[int, ServiceAccount],
    transactions: Sequence[Transaction],
    native: NativePool,
    spec: ChainSpec,
    accumulate_gas: int = ITEM_GAS,
) -> tuple[WorkReport, RefineOutcome]:
    """Ψ_R of one pool work item carrying `transactions`, and the report of its digest
    (with `accumulate_gas` for its accumulation)."""
    payload = POOL_BATCH.encode(tuple(tx.encode() for tx in transactions))
    item = WorkItem(
        POOL, NATIVE_POOL_CODE_HASH, REFINE_GAS_PER_TRANSACTION * 64, accumulate_gas, 0,
        payload, (), (),
    )
    context = RefineContext(bytes(32), bytes(32), bytes(32), bytes(32), 0, ())
    package = WorkPackage(POOL, authorizer_code_hash(), context, b"", b"", (item,))
    natives = {NATIVE_POOL_CODE_HASH: native}
    outcome = refine(0, 0, package, b"", [[]], 0, accounts, [[]], spec, natives=natives)  # type: ignore[dict-item]
    encoded = WORK_PACKAGE.encode(package)
    report = WorkReport(
        package_spec=WorkPackageSpec(blake2b_256(encoded), len(encoded), bytes(32), bytes(32), 0),
        context=context,
        core_index=0,
        authorizer_hash=authorizer_hash(),
        auth_gas_used=0,
        auth_output=b"",
        segment_root_lookup={},
        results=(item_digest(item, outcome.result, outcome.gas_used),),
    )
    return report, outcome


def block(
    pre: AccumulateState,
    slot: int,
    native: NativePool,
    spec: ChainSpec,
    reports: Sequence[WorkReport] = (),
) -> tuple[AccumulateState, Mapping[int, tuple[int, int]]]:
    """accumulate_block at `slot` with η'_0 = entropy(slot): the post-state and S."""
    pre = replace(pre, entropy=entropy(slot))
    natives = {NATIVE_POOL_CODE_HASH: native}
    inputs = AccumulateInput(slot, tuple(reports))
    post, summary = accumulate_block(pre, inputs, spec, natives=natives)  # type: ignore[arg-type]
    return post, summary.statistics


def read_item(accounts: Mapping[int, ServiceAccount], key: bytes) -> bytes | None:
    return accounts[POOL].entries.get(storage_key(POOL, key))


def loaded(accounts: Mapping[int, ServiceAccount]) -> PoolStorage:
    return PoolStorage.load(CONFIG, lambda key: read_item(accounts, key))


def storage_entries(devnet: Devnet, accounts: Mapping[int, ServiceAccount]) -> dict[bytes, bytes]:
    """The pool account's storage entries (its code and request entries left out)."""
    genesis = devnet.genesis.services[POOL].entries
    stored = {storage_key(POOL, key) for key in genesis_items(CONFIG, BALANCES, g_entropy(devnet))}
    other = {key for key in genesis if key not in stored}
    return {key: value for key, value in accounts[POOL].entries.items() if key not in other}


def without_outcome(devnet: Devnet, accounts: Mapping[int, ServiceAccount]) -> dict[bytes, bytes]:
    """The pool's storage entries but the `outcome` item."""
    ignore = storage_key(POOL, OUTCOME_KEY)
    return {k: v for k, v in storage_entries(devnet, accounts).items() if k != ignore}


def g_entropy(devnet: Devnet) -> bytes:
    return devnet.genesis.entropy[0]


def outcome_of(accounts: Mapping[int, ServiceAccount]) -> PoolOutcome:
    raw = read_item(accounts, OUTCOME_KEY)
    assert raw is not None
    return OUTCOME.decode(raw)


def outcome_accepted(outcome: PoolOutcome) -> tuple[bytes, ...]:
    return tuple(accepted.tx_id for accepted in outcome.accepted)


def stub_pool(devnet: Devnet) -> NativePool:
    return NativePool(CONFIG, AcceptAll(), devnet.spec)


def same_block(
    pre: AccumulateState, slot: int, devnet: Devnet, warm: NativePool, reports: Sequence[WorkReport]
) -> AccumulateState:
    """The block on a native that ran blocks before and on a fresh one: same post-state and
    the same gas (π_S must not depend on a node's memory)."""
    post, stats = block(pre, slot, warm, devnet.spec, reports)
    cold, cold_stats = block(pre, slot, stub_pool(devnet), devnet.spec, reports)
    assert cold.accounts == post.accounts and cold_stats == stats
    return post


# -- (1) refined deposits through jamcore: balances, notes, storage, reload --------------------


def test_proven_deposits_accumulate_through_jamcore(
    devnet: Devnet, deposits: list[Transaction]
) -> None:
    native = NativePool(CONFIG, SpendVerifier(spend_keys().verifying), devnet.spec)
    pre = pre_state(devnet.genesis)
    report, refined = refine_report(pre.accounts, deposits, native, devnet.spec)
    assert refined.result.tag == "ok" and refined.gas_used == 2 * REFINE_GAS_PER_TRANSACTION
    post, stats = block(pre, 1, native, devnet.spec, [report])
    pool = loaded(post.accounts).state
    # Balances moved, four notes (two per deposit) appended to the epoch-0 subtree.
    assert pool.balances == {bytes(ALICE.verify_key): 9_000, bytes(BOB.verify_key): 3_000}
    assert pool.pool_value == 3_000 and pool.trees.live.leaf_count() == 4
    outcome = outcome_of(post.accounts)
    assert [a.tx_id for a in outcome.accepted] == [tx.tx_id for tx in deposits]
    places = [(p.position, p.permanent) for a in outcome.accepted for p in a.outputs]
    assert places == [(0, False), (1, False), (2, False), (3, False)]
    assert outcome.rejected == () and (outcome.slot, outcome.epoch) == (1, 0)

    # The storage items are exactly what PoolStorage writes for the same block.
    window = RecentAnchors(SPEC.recent_anchors, (g_entropy(devnet),))
    reference = PoolStorage(
        PoolSnapshot(PoolState.genesis(CONFIG, BALANCES), window, UsedProofs())
    )
    items = {key: value for key, value in reference.all_items().items() if value}
    reads: list[bytes] = []
    lazy = LazyPoolStorage.load(CONFIG, lambda key: reads.append(key) or items.get(key))
    for storage in (reference, lazy):
        storage.snapshot.anchors.push(entropy(1))
        applied = storage.snapshot.service(AcceptAll()).apply_block(deposits)
        assert applied.accepted == outcome_accepted(outcome)
    changes = reference.take_changes()
    assert lazy.take_changes() == changes
    for key, value in changes.items():
        if value:
            items[key] = value
        else:
            items.pop(key, None)
    items[OUTCOME_KEY] = OUTCOME.encode(outcome)
    expected = {storage_key(POOL, key): value for key, value in items.items()}
    assert storage_entries(devnet, post.accounts) == expected
    assert loaded(post.accounts).state.digest() == reference.state.digest()
    # The gas (by hand): per transaction, and 10 per host call: the entropy fetch, the
    # outcome item's read (an earlier run of the same block?), the lazy reads, the changed
    # items and the outcome's write. The reads: 9 small items (meta, ring,
    # 5 tree sizes, anchors, personhood), the spam window and its one position, 4 `nf`
    # and 2 `bal` items, the ring level's 3 chunks (its leaf for epoch 0's subtree, which
    # grows from empty: no reads there; the permanent tree is empty: no root to read) and
    # the epoch's ephemeral batch count.
    assert len(reads) == 9 + 2 + 4 + 2 + 3 + 1
    calls = 1 + 1 + len(reads) + len(changes) + 1
    assert stats[POOL] == (2 * ACCUMULATE_GAS_PER_TRANSACTION + 10 * calls, 1)

    # A fresh NativePool reaches the same post-state and gas, on this block and on the next
    # (a NativePool that ran blocks against a new one, on a non-genesis state).
    cold, cold_stats = block(pre, 1, stub_pool(devnet), devnet.spec, [report])
    assert cold.accounts == post.accounts and cold_stats == stats
    same_block(post, 2, devnet, native, ())


# -- (2) a double spend and a stale spam anchor change nothing -------------------------------


def test_double_spend_and_stale_spam_anchor_are_rejected_in_accumulate(devnet: Devnet) -> None:
    native = stub_pool(devnet)
    first = fake("a", deposit=(ALICE, 100))
    report, _ = refine_report(devnet.genesis.services, [first], native, devnet.spec)
    one = same_block(pre_state(devnet.genesis), 1, devnet, native, [report])
    # Block 2's window is [η'_0 of block 1, of block 2]: the genesis entropy has left it.
    double = fake("b", deposit=(BOB, 50), nullifiers=(first.nullifiers[0], field("b/nf1")))
    stale = fake("c", spam_anchor=g_entropy(devnet))
    fresh = fake("d", spam_anchor=entropy(1))
    both, refined = refine_report(one.accounts, [double, stale, fresh], native, devnet.spec)
    # Refine passed all three: none of these checks is stateless.
    assert len(decode_refined(refined.result.value)) == 3
    post = same_block(one, 2, devnet, native, [both])
    outcome = outcome_of(post.accounts)
    assert [a.tx_id for a in outcome.accepted] == [fresh.tx_id]
    assert outcome.rejected == (double.tx_id, stale.tx_id)
    assert native.last_outcome is not None
    reasons = dict(native.last_outcome.rejected)
    assert "double spend" in reasons[double.tx_id] and "spam proof" in reasons[stale.tx_id]
    # Everything but the outcome is as if only `fresh` had come.
    alone, _ = refine_report(one.accounts, [fresh], native, devnet.spec)
    reference, _ = block(one, 2, stub_pool(devnet), devnet.spec, [alone])
    assert without_outcome(devnet, post.accounts) == without_outcome(devnet, reference.accounts)
    assert loaded(post.accounts).state.balances[bytes(BOB.verify_key)] == 5_000


# -- (3) an epoch change prunes: the keys are deleted ----------------------------------------


def test_epoch_change_deletes_pruned_keys(devnet: Devnet) -> None:
    native = stub_pool(devnet)
    deposit = fake("e", deposit=(ALICE, 10))
    report, _ = refine_report(devnet.genesis.services, [deposit], native, devnet.spec)
    one = same_block(pre_state(devnet.genesis), 1, devnet, native, [report])
    pruned = [
        *(nullifier_key(n) for n in deposit.nullifiers),
        bucket_key(0, False, 0),
        bucket_count_key(0, False),
        chunk_key(FIRST_SUBTREE, (0, 0)),  # the epoch-0 subtree's leaves (ring slot 0)
    ]
    assert all(read_item(one.accounts, key) is not None for key in pruned)
    # Epoch N + 1 = 3 (an always-accumulate block without reports): epoch 0's nullifiers
    # are pruned and its ring slot is reused, freeing its subtree.
    slot = devnet.spec.epoch_length * (LIFETIME + 1)
    post = same_block(one, slot, devnet, native, ())
    assert all(read_item(post.accounts, key) is None for key in pruned)
    state = loaded(post.accounts).state
    assert state.epoch == 3 and len(state.nullifiers) == 0 and state.trees.live.leaf_count() == 0
    assert outcome_of(post.accounts).epoch == 3


def pool_genesis(devnet: Devnet, notes: int, nullifiers: int, accounts: int) -> tuple[State, int]:
    """A genesis state whose pool already holds `notes` ephemeral notes of epoch 0 and as
    many permanent ones less 64, `nullifiers` revealed nullifiers and `accounts` more funded
    accounts; and the pool's anchor."""
    balances = dict(BALANCES) | {i.to_bytes(32, "big"): 1 for i in range(1, accounts + 1)}
    state = PoolState.genesis(CONFIG, balances)
    state.trees.live.append(range(1, notes + 1))
    state.trees.permanent.append(range(1, notes - 64 + 1))
    state.nullifiers.insert(
        RevealedNullifier(field(f"old/{i}"), 0, i % 2 == 0) for i in range(nullifiers)
    )
    anchor = state.trees.record_anchor()
    state.anchor_statistics[anchor] = state.statistics()
    window = RecentAnchors(SPEC.recent_anchors, (g_entropy(devnet),))
    storage = PoolStorage(PoolSnapshot(state, window, UsedProofs()))
    items = {key: value for key, value in storage.all_items().items() if value}
    service = GenesisService(POOL, NATIVE_POOL_CODE, 10**12, items, 1_000, 100)
    return genesis_state(devnet.config, [service], always_accumulate={POOL: FREE_GAS}), anchor


def test_the_gas_of_a_block_does_not_grow_with_the_pool(devnet: Devnet) -> None:
    """The same block on a pool of 100 notes and on one of 20,100 (both 4 past a multiple
    of 16: the frontier chunk of every stored level exists in both), with 20 against 5,000
    nullifiers and 3 against 2,000 accounts: the same gas, block after block, a fresh
    native matching one that ran the blocks before."""
    gas = []
    for notes, nullifiers, accounts in ((100, 20, 3), (20_100, 5_000, 2_000)):
        genesis, anchor = pool_genesis(devnet, notes, nullifiers, accounts)
        native = stub_pool(devnet)
        state = pre_state(genesis)
        used = []
        for slot in (1, 2, 3):
            txs = [
                *(fake(f"g{slot}/{i}", deposit=(ALICE, 1), anchor=anchor) for i in range(3)),
                fake(f"g{slot}/spam", spam_anchor=state.entropy, anchor=anchor),
                fake(f"g{slot}/x", nullifiers=(field("old/1"), field(f"g{slot}")), anchor=anchor),
            ]
            report, _ = refine_report(state.accounts, txs, native, devnet.spec)
            _, stats = block(state, slot, stub_pool(devnet), devnet.spec, [report])
            state, warm = block(state, slot, native, devnet.spec, [report])
            assert warm == stats and len(outcome_of(state.accounts).accepted) == 4
            used.append(stats[POOL])
        gas.append(used)
    assert gas[0] == gas[1]


def test_a_failed_block_changes_nothing(devnet: Devnet, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool reads its items lazily in every block and keeps nothing of them between
    blocks: a block that runs out of gas changes nothing, and the next block is the same on
    the native that failed and on a fresh one."""

    def whole(cls: type[PoolStorage], config: PoolConfig, read: object) -> PoolStorage:
        raise AssertionError("the native pool loaded the whole pool")

    monkeypatch.setattr(PoolStorage, "load", classmethod(whole))
    native = stub_pool(devnet)
    report, _ = refine_report(
        devnet.genesis.services, [fake("f", deposit=(ALICE, 7))], native, devnet.spec
    )
    one, _ = block(pre_state(devnet.genesis), 1, native, devnet.spec, [report])
    two, _ = block(one, 2, native, devnet.spec)
    # Too little gas for the reads: out of gas, collapsed to y (eq. B.12).
    starved = replace(two, privileges=replace(two.privileges, always_acc={POOL: 100}))
    failed, stats = block(starved, 3, native, devnet.spec)
    assert stats[POOL] == (100, 0)
    assert storage_entries(devnet, failed.accounts) == storage_entries(devnet, two.accounts)
    three, three_stats = block(two, 3, native, devnet.spec)
    fresh, fresh_stats = block(two, 3, stub_pool(devnet), devnet.spec)
    assert fresh.accounts == three.accounts and fresh_stats == three_stats


# -- (4) refine: a forged proof is left out; a full batch fits W_R -----------------------------


def test_refine_leaves_out_a_forged_proof(devnet: Devnet, deposits: list[Transaction]) -> None:
    native = NativePool(CONFIG, SpendVerifier(spend_keys().verifying), devnet.spec)
    forged = replace(deposits[1], proof=deposits[0].proof)  # a valid proof of another statement
    garbage = replace(deposits[1], proof=bytes(range(256)))  # not even curve points
    _, outcome = refine_report(
        devnet.genesis.services, [deposits[0], forged, garbage], native, devnet.spec
    )
    assert outcome.result.tag == "ok" and outcome.gas_used == 3 * REFINE_GAS_PER_TRANSACTION
    entries = decode_refined(outcome.result.value)
    assert entries == (RefinedEntry(None, strip_transaction(deposits[0])),)
    assert restore_transaction(entries[0].body).tx_id == deposits[0].tx_id


def test_a_full_batch_fits_the_report_output_limit(devnet: Devnet) -> None:
    assert devnet.spec.max_report_variable_size == W_R
    # Tier 1 may fill the whole block here (SPEC's quota, 32, would keep half of them).
    whole = replace(SPEC, tiers=(replace(SPEC.tiers[0], capacity_share_bps=10_000),))
    native = NativePool(replace(CONFIG, spec=whole), AcceptAll(), devnet.spec)
    transfers = [fake(f"t{i}", spam_anchor=g_entropy(devnet)) for i in range(64)]
    _, outcome = refine_report(devnet.genesis.services, transfers, native, devnet.spec)
    entries = decode_refined(outcome.result.value)
    assert len(entries) == 64 and len(outcome.result.value) <= W_R
    assert len(REFINED_ENTRY.encode(entries[0])) == 744  # the module docstring's figures
    # So do 64 deposits without spam proofs: the refined form drops their signatures.
    plain_deposits = [fake(f"d{i}", deposit=(ALICE, 1)) for i in range(64)]
    _, outcome = refine_report(devnet.genesis.services, plain_deposits, native, devnet.spec)
    entries = decode_refined(outcome.result.value)
    assert len(entries) == 64 and len(REFINED_ENTRY.encode(entries[0])) == 711
    assert restore_transaction(entries[0].body).tx_id == plain_deposits[0].tx_id
    # Spam-proof deposits (784 octets each) do not all fit: refine keeps 62 of 64.
    spam_deposits = [
        fake(f"s{i}", deposit=(ALICE, 1), spam_anchor=g_entropy(devnet)) for i in range(64)
    ]
    _, outcome = refine_report(devnet.genesis.services, spam_deposits, native, devnet.spec)
    entries = decode_refined(outcome.result.value)
    size = len(REFINED_ENTRY.encode(entries[0]))
    assert size == 784 and len(entries) == (W_R - 1) // size == 62
    assert len(outcome.result.value) <= W_R
    assert [restore_transaction(e.body).tx_id for e in entries] == [
        tx.tx_id for tx in spam_deposits[:62]
    ]
    # The largest entry: a spam-proof deposit with personhood outputs; the ring proof is
    # replaced by its 32-octet alias.
    personal = replace(spam_deposits[0], personhood_proof=bytes(784))
    largest = REFINED_ENTRY.encode(RefinedEntry(bytes(32), strip_transaction(personal)))
    assert len(largest) == 816 and (W_R - 1) // len(largest) == 60


# -- (5) capacity: a package never carries, a block never takes, more than its share -------


def spam_transfers(label: str, count: int, anchor: bytes) -> list[Transaction]:
    """Transfers paying with a tier-1 spam proof anchored on `anchor`."""
    return [fake(f"{label}/{i}", spam_anchor=anchor) for i in range(count)]


def free_deposits(label: str, count: int) -> list[Transaction]:
    """Deposits of 1 from Alice: free, no spam proof (the fee lane)."""
    return [fake(f"{label}/{i}", deposit=(ALICE, 1)) for i in range(count)]


class CountingPool(NativePool):
    """A native pool noting the slot of each Ψ_A invocation."""

    def __init__(self, config: PoolConfig, spec: ChainSpec) -> None:
        super().__init__(config, AcceptAll(), spec)
        self.runs: list[int] = []

    def accumulate(
        self,
        host: AccumulateHost,
        slot: int,
        service: int,
        inputs: Sequence[AccumulationInput],
    ) -> None:
        self.runs.append(slot)
        super().accumulate(host, slot, service, inputs)


def test_a_package_over_a_tier_quota_gets_only_the_quota(devnet: Devnet) -> None:
    quota = SPEC.tier_quota(1)
    assert (quota, SPEC.block_capacity) == (32, 64)
    spam, deposits = spam_transfers("over", 40, g_entropy(devnet)), free_deposits("over-d", 24)
    native = stub_pool(devnet)
    genesis = pre_state(devnet.genesis)
    # Refine keeps, in order, the tier's quota and the fee payers; the excess is left out.
    report, refined = refine_report(genesis.accounts, spam + deposits, native, devnet.spec)
    kept = [restore_transaction(e.body).tx_id for e in decode_refined(refined.result.value)]
    assert kept == [tx.tx_id for tx in spam[:quota] + deposits]
    assert refined.gas_used == 64 * REFINE_GAS_PER_TRANSACTION
    post, _ = block(genesis, 1, native, devnet.spec, [report])
    outcome = outcome_of(post.accounts)
    assert outcome_accepted(outcome) == tuple(kept)
    assert outcome.per_tier == (quota,) and not outcome.rejected and not outcome.deferred
    # A report carrying more (refined by a pool that allows tier 1 the whole block)
    # still gets only the quota from accumulate; the rest is deferred, not rejected.
    whole = replace(SPEC, tiers=(replace(SPEC.tiers[0], capacity_share_bps=10_000),))
    lax = NativePool(replace(CONFIG, spec=whole), AcceptAll(), devnet.spec)
    over, _ = refine_report(genesis.accounts, spam, lax, devnet.spec)
    post, _ = block(genesis, 1, native, devnet.spec, [over])
    outcome = outcome_of(post.accounts)
    assert outcome_accepted(outcome) == tuple(tx.tx_id for tx in spam[:quota])
    assert [(d.tx_id, d.lane) for d in outcome.deferred] == [(tx.tx_id, 1) for tx in spam[quota:]]
    assert outcome.per_tier == (quota,) and not outcome.rejected


@pytest.mark.parametrize("rounds", [1, 2])
def test_two_packages_in_one_block_share_its_capacity(devnet: Devnet, rounds: int) -> None:
    """Two reports accumulated in one block: 40 transactions (30 of tier 1), then 34 (10 of
    tier 1). The block takes 64, 32 of tier 1; the second's excess is deferred with the
    full lane, changes nothing, and the next block takes it. Δ+ (eq. 12.18) runs the pool
    once for both when their gas fits the block's, else once per round: the count is the
    block's either way."""
    gas = 9_000_000 if rounds == 1 else ITEM_GAS
    assert (2 * gas > devnet.spec.max_block_gas + FREE_GAS) == (rounds == 2)
    eta = entropy(1)  # block 1's entropy: still in the spam window at block 2 (K = 2)
    a = spam_transfers("two/a", 30, eta) + free_deposits("two/a-d", 10)
    b_spam, b_deposits = spam_transfers("two/b", 10, eta), free_deposits("two/b-d", 24)
    native = CountingPool(CONFIG, devnet.spec)
    genesis = pre_state(devnet.genesis)

    def reports(*batches: list[Transaction]) -> list[WorkReport]:
        return [refine_report(genesis.accounts, b, native, devnet.spec, gas)[0] for b in batches]

    post, stats = block(genesis, 1, native, devnet.spec, reports(a, b_spam + b_deposits))
    assert native.runs == [1] * rounds and stats[POOL][1] == 2
    outcome = outcome_of(post.accounts)
    taken = a + b_spam[:2] + b_deposits[:22]
    assert outcome_accepted(outcome) == tuple(tx.tx_id for tx in taken)
    assert outcome.per_tier == (32,) and not outcome.rejected
    assert [(d.tx_id, d.lane) for d in outcome.deferred] == [
        *((tx.tx_id, 1) for tx in b_spam[2:]),
        *((tx.tx_id, 0) for tx in b_deposits[22:]),
    ]
    reasons = native.deferral_reasons()
    assert "tier-1's quota of 32 spam-proof transactions in a block" in reasons[b_spam[2].tx_id]
    assert "pool capacity of 64 transactions" in reasons[b_deposits[22].tx_id]
    # The deferred changed nothing (balances, nullifiers, notes, used spam proofs): the
    # state is that of the same block without them.
    reference, _ = block(
        genesis, 1, stub_pool(devnet), devnet.spec, reports(a, b_spam[:2] + b_deposits[:22])
    )
    assert without_outcome(devnet, post.accounts) == without_outcome(devnet, reference.accounts)
    # Free to come again: the next block takes them.
    again = b_spam[2:] + b_deposits[22:]
    retry, _ = refine_report(post.accounts, again, native, devnet.spec)
    two, _ = block(post, 2, native, devnet.spec, [retry])
    outcome = outcome_of(two.accounts)
    assert outcome_accepted(outcome) == tuple(tx.tx_id for tx in again)
    assert outcome.per_tier == (8,) and not outcome.deferred and not outcome.rejected


# -- the full importer: an empty block runs the always-accumulate pool -----------------------


def test_import_block_runs_the_pool_every_block(devnet: Devnet) -> None:
    from tests.shielded.node.test_jam_genesis import author

    keys = [load_validator_secrets(devnet.directory, i) for i in range(6)]
    sealed = author(devnet.genesis, genesis_hash(devnet.config), 1, keys, devnet.spec)
    native = stub_pool(devnet)
    posterior = import_block(
        devnet.genesis, sealed, devnet.spec, natives={NATIVE_POOL_CODE_HASH: native}  # type: ignore[dict-item]
    )
    eta = posterior.entropy[0]
    window = loaded(posterior.services).snapshot.anchors
    assert window.hashes() == (g_entropy(devnet), eta)  # η'_0, not the block hash
    assert posterior.statistics.services[POOL].accumulate_count == 0
    anchor = loaded(posterior.services).state.trees.anchor
    assert outcome_of(posterior.services) == PoolOutcome(1, 0, anchor, (), (), (), (0,))
    assert posterior.statistics.services[POOL].accumulate_gas_used > 0
