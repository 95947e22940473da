"""Six `JamValidator`s on one in-process bus: pool transactions guaranteed, assured and
accumulated on jamcore's rules, catching up, time-outs, and refused blocks."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from jamcore.block import Block as JamBlock
from jamcore.block import DisputesExtrinsic, Extrinsic, block_codecs, header_hash
from jamcore.safrole.errors import BadSeal
from jamcore.state.keys import storage_key
from jamcore.work.availability import ValidatorShard
from jamcore.work.guarantee import AvailAssurance, ValidatorSignature
from jamcore.work.guarantor import guarantors_of
from shielded.circuits.artifacts import load_verifying
from shielded.circuits.spend import SpendStatement, SpendVerifier
from shielded.native_pool import (
    NATIVE_POOL_CODE_HASH,
    OUTCOME,
    OUTCOME_KEY,
    NativePool,
    PoolOutcome,
    genesis_service,
)
from shielded.node.genesis import GenesisConfig, ValidatorSecrets
from shielded.node.jam_authoring import seal_block
from shielded.node.jam_chain import InvalidBlock
from shielded.node.jam_genesis import genesis_state
from shielded.node.jam_messages import (
    Assurance,
    Block,
    Blocks,
    BlocksRequest,
    BundleShare,
    Guarantee,
    GuaranteeSignature,
    Message,
    MessageError,
    Outgoing,
    Shard,
    Transaction,
    decode_message,
    encode_message,
)
from shielded.node.jam_validator import JamValidator
from shielded.node.shards import ShardStore
from shielded.node.storage import ChainStore
from shielded.notes.note import Tier
from shielded.pool_storage import PoolStorage
from shielded.service import PoolConfig, PoolState
from shielded.spec import PoolSpec, SpamTier
from shielded.transaction import DepositSource, ShieldedOutput
from shielded.transaction import Transaction as PoolTransaction

POOL = 1
SPEC = PoolSpec(
    name="jam-validator-test",
    recent_anchors=2,
    note_lifetime_epochs=2,
    tiers=(SpamTier(name="tier-1", difficulty_bits=4, capacity_share_bps=5_000),),
)
CHAIN = b"jam-validator test chain".ljust(32, b"\0")
CONFIG = PoolConfig(
    spec=SPEC, chain_id=CHAIN, anchor_window=8, collateral_per_note=100, personhood_quota=1
)
ALICE = SigningKey(b"A" * 32)
BALANCES = {bytes(ALICE.verify_key): 10_000}
FREE_GAS = 5_000_000
"""chi_Z's free gas for the pool (its load charge and writes every block)."""
CORE = 0
EMPTY = Extrinsic((), (), (), (), DisputesExtrinsic((), (), ()))


class AcceptAll(SpendVerifier):
    """A spend verifier stub (where proofs do not matter)."""

    def __init__(self) -> None:
        self.vk_hash = "stub"

    def verify(self, statement: SpendStatement, proof: bytes) -> bool:
        return True


def field(label: str) -> int:
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=31).digest(), "big")


def fake(label: str, *, deposit: tuple[SigningKey, int]) -> PoolTransaction:
    """An unproven deposit (for the stub verifier) from a funded account, signed by it."""
    key, amount = deposit
    outputs = tuple(
        ShieldedOutput(field(f"{label}/cm{i}"), Tier.EPHEMERAL, bytes(226)) for i in range(2)
    )
    source = DepositSource(bytes(key.verify_key), amount, bytes(64))
    draft = PoolTransaction(
        chain_id=CHAIN,
        anchor=PoolState.genesis(CONFIG, BALANCES).trees.anchor,
        epoch=0,
        nullifiers=(field(f"{label}/nf0"), field(f"{label}/nf1")),
        input_tiers=(Tier.EPHEMERAL, Tier.EPHEMERAL),
        outputs=outputs,  # type: ignore[arg-type]
        fee=0,
        deposit=source,
        withdrawal=None,
        spam_proof=None,
        personhood_proof=None,
        proof=bytes(256),
    )
    signature = key.sign(draft.tx_id).signature
    return replace(draft, deposit=replace(source, signature=signature))


Drop = Callable[[int, int, Message], bool]
"""(sender, recipient, message) -> whether the bus loses it."""


class Bus:
    """Delivers every emitted message to its recipients, through its wire encoding, in
    order (FIFO), except those `drop` loses."""

    def __init__(self, validators: Sequence[JamValidator]) -> None:
        self.validators = list(validators)
        self.spec = validators[0].spec
        self.queue: deque[tuple[int, int, bytes]] = deque()
        self.drop: Drop | None = None
        self.sent: list[tuple[int, int, Message]] = []

    def send(self, sender: int, outgoing: Sequence[Outgoing]) -> None:
        for item in outgoing:
            data = encode_message(item.message, self.spec)
            for recipient in item.to:
                assert recipient != sender
                if self.drop is not None and self.drop(sender, recipient, item.message):
                    continue
                self.queue.append((sender, recipient, data))

    def run(self) -> None:
        while self.queue:
            sender, recipient, data = self.queue.popleft()
            message = decode_message(data, self.spec)
            self.sent.append((sender, recipient, message))
            self.send(recipient, self.validators[recipient].on_message(message))

    def slot(self, slot: int) -> None:
        """Slot `slot` on every validator in index order, each one's messages delivered
        before the next one's turn."""
        for validator in self.validators:
            self.send(validator.index, validator.on_slot(slot))
            self.run()

    def submit(self, index: int, transaction: bytes) -> None:
        self.send(index, self.validators[index].submit(transaction))
        self.run()


def make_validators(
    tmp_path: Path,
    config: GenesisConfig,
    keys: list[ValidatorSecrets],
    pool_config: PoolConfig,
    balances: dict[bytes, int],
    natives: Callable[[], NativePool],
) -> list[JamValidator]:
    """Six validators, each with its own chain store, shard store and native pool, on a
    genesis with the pool as an always-accumulate native service."""
    entropy = config.safrole_state().entropy[0]
    service = genesis_service(
        POOL, pool_config, balances, entropy, balance=10**12, min_item_gas=1_000, min_memo_gas=100
    )
    genesis = genesis_state(config, [service], always_accumulate={POOL: FREE_GAS})
    spec = config.chain_spec()
    return [
        JamValidator(
            key.index,
            key,
            config,
            ChainStore(tmp_path / f"chain-{key.index}.sqlite"),
            {NATIVE_POOL_CODE_HASH: natives()},
            genesis=genesis,
            shards=ShardStore(tmp_path / f"shards-{key.index}.sqlite", spec),
            pool_service=POOL,
            pool_core=CORE,
        )
        for key in keys
    ]


@pytest.fixture()
def stub_validators(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> list[JamValidator]:
    config = devnet[1]
    spec = config.chain_spec()
    return make_validators(
        tmp_path,
        config,
        validator_keys,
        CONFIG,
        BALANCES,
        lambda: NativePool(CONFIG, AcceptAll(), spec),
    )


def outcome(validator: JamValidator) -> PoolOutcome:
    """The pool's outcome item at the validator's head."""
    entries = validator.head_state().services[POOL].entries
    return OUTCOME.decode(entries[storage_key(POOL, OUTCOME_KEY)])


def blocks_of(validator: JamValidator) -> list[JamBlock]:
    codecs = block_codecs(validator.spec)
    head = validator.store.head
    stored = validator.store.canonical_range(1, 1_000)
    assert stored[-1].hash == head
    return [codecs.block.decode(b.block) for b in stored]


def run_until_accepted(
    bus: Bus, tx_ids: Sequence[bytes], first: int, last: int
) -> dict[bytes, int]:
    """Drive slots first..last until the pool's outcome item at validator 0's head names
    every tx of `tx_ids` accepted; the slot of each (checked at once, as the item is
    rewritten every block)."""
    accepted: dict[bytes, int] = {}
    for slot in range(first, last + 1):
        bus.slot(slot)
        item = outcome(bus.validators[0])
        for entry in item.accepted:
            accepted.setdefault(entry.tx_id, item.slot)
        if all(tx_id in accepted for tx_id in tx_ids):
            return accepted
    raise AssertionError(f"not accepted by slot {last}: {accepted}")


def assert_converged(validators: Sequence[JamValidator]) -> None:
    heads = {v.head_hash for v in validators}
    roots = {v.head_root() for v in validators}
    assert len(heads) == 1 and len(roots) == 1
    # The incremental trie agrees with a trie rebuilt from the store.
    validator = validators[0]
    validator.chain._trie = None
    assert validator.head_root() == roots.pop()


def check_pipeline(validators: Sequence[JamValidator], tx_ids: Sequence[bytes], slot: int) -> None:
    """The block accumulating at `slot` carries >= 5 assurances of the pool core, an
    earlier block the guarantee, and every validator knows the outcome."""
    spec = validators[0].spec
    blocks = {block.header.slot: block for block in blocks_of(validators[0])}
    accumulating = blocks[slot]
    assured = [a for a in accumulating.extrinsic.assurances if a.bitfield[0] >> CORE & 1]
    assert len(assured) >= spec.validators_super_majority == 5
    guaranteed = [s for s, block in blocks.items() if s < slot and block.extrinsic.guarantees]
    assert guaranteed, "no block carried the guarantee"
    guarantee = blocks[max(guaranteed)].extrinsic.guarantees[0]
    assert guarantee.report.core_index == CORE and len(guarantee.signatures) >= 2
    for validator in validators:
        for tx_id in tx_ids:
            assert validator.outcomes[tx_id] == (slot, True)
            assert tx_id not in validator.mempool
        assert not validator.inflight


def seal_any(
    validator: JamValidator, keys: Sequence[ValidatorSecrets], slot: int, body: Extrinsic = EMPTY
) -> JamBlock:
    """The block of `slot` on the validator's head, sealed by whichever key seals it."""
    head, parent, root = validator.head_state(), validator.head_hash, validator.head_root()
    for key in keys:
        block = seal_block(head, parent, root, slot, key.bandersnatch_secret, body, validator.spec)
        if block is not None:
            return block
    raise AssertionError(f"no sealer for slot {slot}")


def extend(validator: JamValidator, keys: Sequence[ValidatorSecrets], slot: int) -> bytes:
    """Seal and import an empty block of `slot` on the validator's head; its encoding."""
    encoded = block_codecs(validator.spec).block.encode(seal_any(validator, keys, slot))
    assert validator.import_block(encoded).status == "imported"
    return encoded


# -- messages ---------------------------------------------------------------------------------


def test_messages_round_trip_and_bad_bytes_are_refused(
    stub_validators: list[JamValidator], validator_keys: list[ValidatorSecrets]
) -> None:
    validator = stub_validators[0]
    spec = validator.spec
    block = block_codecs(spec).block.encode(seal_any(validator, validator_keys, 1))
    shard = ValidatorShard(3, b"abc", (b"x" * 12,), (bytes(32),))
    messages: list[Message] = [
        Transaction(b"tx"),
        BundleShare(1, 0, 7, bytes(range(32)), b"bundle"),
        GuaranteeSignature(bytes(32), 7, ValidatorSignature(2, bytes(64))),
        Shard(bytes(32), 7, shard),
        Assurance(AvailAssurance(bytes(32), b"\x01", 4, bytes(64))),
        Block(5, block),
        BlocksRequest(0, 3, 64),
        Blocks(2, (block, block)),
    ]
    for message in messages:
        encoded = encode_message(message, spec)
        assert decode_message(encoded, spec) == message
    share = encode_message(messages[1], spec)
    for bad in (b"", b"\xff", share[:-1], share + b"\0"):
        with pytest.raises(MessageError):
            decode_message(bad, spec)
    with pytest.raises(MessageError):  # a block message whose block does not decode
        decode_message(encode_message(Block(0, b"junk"), spec), spec)
    with pytest.raises(MessageError):  # a bitfield of the wrong size
        encode_message(Assurance(AvailAssurance(bytes(32), b"\x01\x00", 4, bytes(64))), spec)


# -- the pipeline -----------------------------------------------------------------------------


def test_a_transaction_is_guaranteed_assured_and_accumulated(
    stub_validators: list[JamValidator],
) -> None:
    validators = stub_validators
    bus = Bus(validators)
    transactions = [fake("jv/a", deposit=(ALICE, 100)), fake("jv/b", deposit=(ALICE, 200))]
    bus.submit(3, transactions[0].encode())
    bus.submit(4, transactions[1].encode())
    ids = [tx.tx_id for tx in transactions]
    assert all(tx_id in v.mempool for v in validators for tx_id in ids)
    accepted = run_until_accepted(bus, ids, 1, 8)
    slot = accepted[ids[0]]
    assert accepted[ids[1]] == slot  # one package of both
    check_pipeline(validators, ids, slot)
    assert_converged(validators)
    # Bundles went to the core's co-guarantors only, signatures back to the builder.
    shares = [(s, r) for s, r, m in bus.sent if isinstance(m, BundleShare)]
    genesis = validators[0].chain.genesis_hash
    assert shares and all(s != r for s, r in shares)
    signers = {r for s, r, m in bus.sent if isinstance(m, GuaranteeSignature)}
    assert signers == {s for s, _ in shares}
    assert genesis != validators[0].head_hash
    assert not any(v.refused for v in validators)


def test_proven_deposits_accumulate_in_the_native_pool(
    tmp_path: Path,
    devnet: tuple[Path, GenesisConfig],
    validator_keys: list[ValidatorSecrets],
    deposits: list[PoolTransaction],
) -> None:
    directory, config = devnet
    spec = config.chain_spec()
    verifying = load_verifying(directory / "circuit", config.vk_hash)
    pool_config = PoolConfig(chain_id=bytes.fromhex(config.chain_id))
    validators = make_validators(
        tmp_path,
        config,
        validator_keys,
        pool_config,
        config.balances(),
        lambda: NativePool(pool_config, SpendVerifier(verifying), spec),
    )
    bus = Bus(validators)
    for index, deposit in enumerate(deposits):
        bus.submit(index, deposit.encode())
    ids = [deposit.tx_id for deposit in deposits]
    accepted = run_until_accepted(bus, ids, 1, 8)
    check_pipeline(validators, ids, accepted[ids[0]])
    assert_converged(validators)
    entries = validators[2].head_state().services[POOL].entries
    pool = PoolStorage.load(pool_config, lambda key: entries.get(storage_key(POOL, key))).state
    assert pool.pool_value == 3_000 and pool.trees.live.leaf_count() == 4


# -- faults -----------------------------------------------------------------------------------


def test_an_offline_validator_catches_up_on_the_blocks_it_missed(
    stub_validators: list[JamValidator],
) -> None:
    validators = stub_validators
    bus = Bus(validators)
    offline = 5
    bus.drop = lambda sender, recipient, _: offline in (sender, recipient)
    for slot in range(1, 6):
        bus.slot(slot)
    main = validators[0]
    missed = [b.hash for b in main.store.canonical_range(1, 100)]
    assert missed and not any(validators[offline].store.is_canonical(h) for h in missed)
    bus.drop = None
    transaction = fake("jv/late", deposit=(ALICE, 5))
    bus.submit(offline, transaction.encode())  # submitted to the validator that was away
    accepted = run_until_accepted(bus, [transaction.tx_id], 6, 11)
    assert all(validators[offline].store.is_canonical(h) for h in missed)
    check_pipeline(validators, [transaction.tx_id], accepted[transaction.tx_id])
    assert_converged(validators)
    assert any(isinstance(m, Blocks) for _, r, m in bus.sent if r == offline)


def test_a_partition_heals_onto_the_longer_branch(stub_validators: list[JamValidator]) -> None:
    validators = stub_validators
    bus = Bus(validators)
    side = {0: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1}
    bus.drop = lambda sender, recipient, _: side[sender] != side[recipient]
    for slot in range(1, 6):
        bus.slot(slot)
    heads = {v.head_hash for v in validators}
    assert len(heads) == 2  # each side built its own branch
    bus.drop = None
    transaction = fake("jv/healed", deposit=(ALICE, 9))
    bus.submit(1, transaction.encode())
    accepted = run_until_accepted(bus, [transaction.tx_id], 6, 11)
    check_pipeline(validators, [transaction.tx_id], accepted[transaction.tx_id])
    assert_converged(validators)
    assert any(isinstance(m, Blocks) for _, _, m in bus.sent)


def test_a_bundle_that_arrives_before_its_anchor_block_waits_for_it(
    stub_validators: list[JamValidator], validator_keys: list[ValidatorSecrets]
) -> None:
    validators = stub_validators
    spec = validators[0].spec
    transaction = fake("jv/early", deposit=(ALICE, 3))
    for validator in validators:
        validator.submit(transaction.encode())
    # The builder of slot 1 (its guarantors, by slot mod 3) alone gets block 1 first.
    slot = 1
    assigned = guarantors_of(CORE, validators[0].head_state(), slot, spec)
    builder = validators[assigned[slot % len(assigned)]]
    block = extend(builder, validator_keys, slot)
    shares = [o for o in builder.on_slot(slot) if isinstance(o.message, BundleShare)]
    assert len(shares) == 1 and shares[0].message.anchor == builder.head_hash
    co = validators[shares[0].to[0]]
    assert co.on_message(shares[0].message) == []  # anchor unknown: kept
    answer = co.on_message(Block(builder.index, block))
    signatures = [o for o in answer if isinstance(o.message, GuaranteeSignature)]
    assert [o.to for o in signatures] == [(builder.index,)]
    followups = builder.on_message(signatures[0].message)
    assert any(isinstance(o.message, Guarantee) for o in followups)
    assert sum(isinstance(o.message, Shard) for o in followups) == spec.validators_count - 1


def test_dropped_shards_time_the_report_out_and_the_transaction_is_packaged_again(
    stub_validators: list[JamValidator],
) -> None:
    validators = stub_validators
    spec = validators[0].spec
    bus = Bus(validators)
    first: list[bytes] = []

    def drop(sender: int, recipient: int, message: Message) -> bool:
        """The first package's shards reach two validators only (the builder among them)."""
        if not isinstance(message, Shard):
            return False
        first.append(message.erasure_root) if not first else None
        victims = [i for i in range(spec.validators_count) if i != sender][:4]
        return message.erasure_root == first[0] and recipient in victims

    bus.drop = drop
    transaction = fake("jv/timeout", deposit=(ALICE, 7))
    bus.submit(0, transaction.encode())
    accepted = run_until_accepted(bus, [transaction.tx_id], 1, 11)
    slot = accepted[transaction.tx_id]
    blocks = blocks_of(validators[0])
    guaranteed = [
        (block.header.slot, g.report) for block in blocks for g in block.extrinsic.guarantees
    ]
    assert len(guaranteed) == 2  # the timed-out package, then the new one
    (reported, timed_out), (_, again) = guaranteed
    assert timed_out.package_spec.erasure_root == first[0]
    assert again.package_spec.hash != timed_out.package_spec.hash
    # The first report stayed pending until report slot + U (eq. 11.17), never assured
    # by five validators, and was never accumulated.
    for block in blocks:
        count = sum(a.bitfield[0] >> CORE & 1 for a in block.extrinsic.assurances)
        if reported < block.header.slot < reported + spec.assurance_timeout_period:
            assert count < spec.validators_super_majority
    assert slot > reported + spec.assurance_timeout_period
    state = validators[0].head_state()
    assert all(timed_out.package_spec.hash not in packages for packages in state.accumulated)
    check_pipeline(validators, [transaction.tx_id], slot)
    assert_converged(validators)


def test_an_invalid_block_is_refused_and_changes_nothing(
    stub_validators: list[JamValidator], validator_keys: list[ValidatorSecrets]
) -> None:
    validators = stub_validators
    bus = Bus(validators)
    bus.slot(1)
    validator = validators[2]
    codecs = block_codecs(validator.spec)
    block = seal_any(validator, validator_keys, 2)
    forged = bytes([block.header.seal[0] ^ 1]) + block.header.seal[1:]
    bad = codecs.block.encode(replace(block, header=replace(block.header, seal=forged)))
    before = (
        validator.head_hash,
        validator.head_root(),
        validator.store.max_height(),
        dict(validator.store.items()),
    )
    with pytest.raises(InvalidBlock) as refused:
        validator.import_block(bad)
    assert isinstance(refused.value.cause, BadSeal)
    with pytest.raises(InvalidBlock):
        validator.import_block(b"not a block")
    # From a peer, the bad block is refused, never raised.
    assert validator.on_message(Block(0, bad)) == [] and validator.refused
    after = (
        validator.head_hash,
        validator.head_root(),
        validator.store.max_height(),
        dict(validator.store.items()),
    )
    assert after == before
    assert not validator.store.has_block(header_hash(block.header, validator.spec))
    assert validator.import_block(codecs.block.encode(block)).status == "imported"


def test_the_longer_branch_wins_unless_it_reverts_a_final_block(
    stub_validators: list[JamValidator], validator_keys: list[ValidatorSecrets]
) -> None:
    a, b, c = stub_validators[:3]
    keys = validator_keys
    x = [extend(a, keys, slot) for slot in (1, 2)]
    y = [extend(b, keys, slot) for slot in (3, 4, 5)]
    outcomes = [a.import_block(block).status for block in y]
    assert outcomes == ["fork", "fork", "reorg"]
    assert a.head_hash == b.head_hash and a.head_root() == b.head_root()
    assert_converged([a, b])
    # A final block is never reverted: the longer branch is kept as a fork.
    for block in x:
        c.import_block(block)
    assert c.finalize(c.head_hash)
    final = c.head_hash
    assert [c.import_block(block).status for block in y] == ["fork", "fork", "fork"]
    assert c.head_hash == final
    assert c.import_block(y[-1]).status == "known"


class RejectMarked(AcceptAll):
    """Accepts every proof but the marked one (all 0xff): a broken copy of a transaction."""

    def verify(self, statement: SpendStatement, proof: bytes) -> bool:
        return proof != b"\xff" * 256


def test_a_gossiped_copy_with_a_broken_proof_does_not_stand_in_for_the_transaction(
    tmp_path: Path, devnet: tuple[Path, GenesisConfig], validator_keys: list[ValidatorSecrets]
) -> None:
    """tx ids do not cover proofs: a peer's copy with a broken proof has the valid
    transaction's id, so it is checked before it may take the mempool's slot for that id."""
    config = devnet[1]
    spec = config.chain_spec()
    validators = make_validators(
        tmp_path,
        config,
        validator_keys,
        CONFIG,
        BALANCES,
        lambda: NativePool(CONFIG, RejectMarked(), spec),
    )
    good = fake("gossip", deposit=(ALICE, 100))
    broken = replace(good, proof=b"\xff" * 256)
    assert broken.tx_id == good.tx_id
    target = validators[1]
    assert target.on_message(Transaction(broken.encode())) == []
    assert good.tx_id not in target.mempool
    assert "gossiped transaction" in target.refused[-1]
    target.on_message(Transaction(good.encode()))
    assert target.mempool.transactions[good.tx_id] == good.encode()
